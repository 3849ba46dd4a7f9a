package dev.undo.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Presets are YAML trees layered onto {@code presets/defaults.yaml} (which names every key), then
 * {@code --set a.b.c=value} overrides, then bound to typed records. Unknown keys, missing keys and values of the
 * wrong type are errors that name the key, so a typo never silently runs the default.
 */
public final class ConfigLoader {
  public static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  static final ObjectMapper BINDER = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES);

  private ConfigLoader() {}

  /** Reads a preset by name (shipped in the jar under presets/) or by file path. */
  public static ObjectNode preset(String nameOrPath) {
    Path p = Path.of(nameOrPath);
    try {
      if (Files.isRegularFile(p)) {
        return asObject(YAML.readTree(p.toFile()), p.toString());
      }
      String res = "/presets/" + nameOrPath + (nameOrPath.endsWith(".yaml") ? "" : ".yaml");
      try (InputStream in = ConfigLoader.class.getResourceAsStream(res)) {
        if (in == null) {
          throw new IllegalArgumentException("unknown preset '" + nameOrPath + "': not a file and not one of "
              + shippedPresets());
        }
        return asObject(YAML.readTree(in), res);
      }
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("preset " + nameOrPath + " is not valid YAML: "
          + e.getOriginalMessage() + " (line " + e.getLocation().getLineNr() + ")");
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read preset " + nameOrPath + ": " + e.getMessage());
    }
  }

  public static List<String> shippedPresets() {
    return List.of("quick", "full", "paper", "micro");
  }

  /**
   * defaults ← preset ← overrides. Keys in {@code overrides} are dotted paths; a value parses as YAML (so
   * {@code 1e-3}, {@code true}, {@code [1, 2]} work) and must name a key that exists in the defaults.
   */
  public static ObjectNode resolve(String preset, Map<String, String> overrides) {
    ObjectNode tree = preset("defaults");
    if (preset != null && !preset.equals("defaults")) {
      merge(tree, preset(preset), "");
    }
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      set(tree, e.getKey(), e.getValue());
    }
    return tree;
  }

  /** Sets one dotted key; the key must already exist (every legal key is in defaults.yaml). */
  public static void set(ObjectNode tree, String dotted, String value) {
    String[] parts = dotted.split("\\.");
    ObjectNode node = tree;
    for (int i = 0; i < parts.length - 1; i++) {
      JsonNode child = node.get(parts[i]);
      if (child == null || !child.isObject()) {
        throw new IllegalArgumentException("unknown config key '" + dotted + "' (no section '"
            + String.join(".", List.of(parts).subList(0, i + 1)) + "')");
      }
      node = (ObjectNode) child;
    }
    String leaf = parts[parts.length - 1];
    if (!node.has(leaf)) {
      throw new IllegalArgumentException("unknown config key '" + dotted + "' (known here: "
          + fieldNames(node) + ")");
    }
    JsonNode parsed;
    try {
      parsed = YAML.readTree(value);
    } catch (IOException e) {
      parsed = TextNode.valueOf(value);
    }
    if (parsed == null || parsed.isMissingNode()) {
      parsed = JsonNodeFactory.instance.nullNode();
    }
    node.set(leaf, parsed);
  }

  /** Deep merge; a key in {@code over} that the base lacks is an error naming its path. */
  static void merge(ObjectNode base, JsonNode over, String path) {
    for (Iterator<Map.Entry<String, JsonNode>> it = over.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
      JsonNode b = base.get(e.getKey());
      if (b == null) {
        throw new IllegalArgumentException("unknown config key '" + key + "' (known here: " + fieldNames(base) + ")");
      }
      if (b.isObject() && e.getValue().isObject()) {
        merge((ObjectNode) b, e.getValue(), key);
      } else {
        base.set(e.getKey(), e.getValue());
      }
    }
  }

  /** Binds a tree (or a subtree) to a record, turning Jackson's errors into one line naming the key. */
  public static <T> T bind(JsonNode tree, Class<T> type, String where) {
    try {
      return BINDER.treeToValue(tree, type);
    } catch (UnrecognizedPropertyException e) {
      throw new IllegalArgumentException("unknown config key '" + path(where, e) + "'");
    } catch (InvalidFormatException e) {
      throw new IllegalArgumentException("config key '" + path(where, e) + "': cannot use " + e.getValue()
          + " as " + e.getTargetType().getSimpleName());
    } catch (MismatchedInputException e) {
      throw new IllegalArgumentException("config key '" + path(where, e) + "': " + e.getOriginalMessage());
    } catch (JsonProcessingException e) {
      Throwable c = e.getCause() != null ? e.getCause() : e;
      throw new IllegalArgumentException("config " + where + ": " + c.getMessage());
    } catch (IllegalArgumentException e) {
      Throwable c = e.getCause() != null ? e.getCause() : e;
      throw new IllegalArgumentException("config " + where + ": " + rootMessage(c));
    }
  }

  private static String rootMessage(Throwable t) {
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage();
  }

  private static String path(String where, MismatchedInputException e) {
    String p = e.getPath().stream()
        .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
        .collect(Collectors.joining("."));
    return where.isEmpty() ? p : where + "." + p;
  }

  private static String fieldNames(JsonNode n) {
    StringBuilder sb = new StringBuilder();
    n.fieldNames().forEachRemaining(f -> sb.append(sb.length() == 0 ? "" : ", ").append(f));
    return sb.toString();
  }

  private static ObjectNode asObject(JsonNode n, String where) {
    if (n == null || !n.isObject()) {
      throw new IllegalArgumentException("preset " + where + " must be a YAML mapping at the top level");
    }
    return (ObjectNode) n;
  }
}
