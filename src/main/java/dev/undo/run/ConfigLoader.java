package dev.undo.run;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.module.SimpleModule;
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

/**
 * Presets are YAML trees layered onto {@code presets/defaults.yaml} (which names every key), then
 * {@code --set a.b.c=value} overrides, then bound to typed records. Unknown keys, missing keys and values of the
 * wrong type are errors that name the key, so a typo never silently runs the default.
 *
 * <p>Integers are strict: a fraction for an integer key ({@code steps=1.5}) is an error, not a silent truncation
 * to 1; a float with an integral value ({@code 2.0}, {@code 1e4}, which YAML reads as floats) is accepted. Sizes
 * that decide memory and time have upper bounds ({@link #LIMITS}, checked by {@link #resolve}), so a typo like
 * {@code batch_size=32000} is a one-line error instead of an out-of-memory crash minutes later.
 */
public final class ConfigLoader {
  public static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  static final ObjectMapper BINDER = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .registerModule(new SimpleModule("strict-integers")
          .addDeserializer(int.class, new StrictInteger<>(int.class, Integer.MIN_VALUE, Integer.MAX_VALUE))
          .addDeserializer(Integer.class, new StrictInteger<>(Integer.class, Integer.MIN_VALUE, Integer.MAX_VALUE))
          .addDeserializer(long.class, new StrictInteger<>(long.class, Long.MIN_VALUE, Long.MAX_VALUE))
          .addDeserializer(Long.class, new StrictInteger<>(Long.class, Long.MIN_VALUE, Long.MAX_VALUE)));

  /** An inclusive range for a key; {@code why} ends the error message. */
  public record Limit(long min, long max, String why) {}

  /**
   * Upper (and lower) bounds by leaf key name, wherever the key appears: what a CPU run of these models can hold
   * in memory or finish, with room to spare. Larger values are almost certainly typos.
   */
  public static final Map<String, Limit> LIMITS = Map.ofEntries(
      Map.entry("batch_size", new Limit(1, 4096, "use grad_accum for larger effective batches")),
      Map.entry("seq_len", new Limit(2, 8192, "longer sequences do not fit in memory")),
      Map.entry("max_seq_len", new Limit(2, 8192, "longer sequences do not fit in memory")),
      Map.entry("grad_accum", new Limit(1, 4096, "")),
      Map.entry("steps", new Limit(0, 100_000_000, "")),
      Map.entry("max_steps", new Limit(0, 100_000_000, "")),
      Map.entry("warmup_steps", new Limit(0, 100_000_000, "")),
      Map.entry("oracle_matching_steps", new Limit(0, 100_000_000, "")),
      Map.entry("eval_every", new Limit(1, 100_000_000, "")),
      Map.entry("checkpoint_every", new Limit(1, 100_000_000, "")),
      Map.entry("n_per_cell", new Limit(1, 1_000_000, "")),
      Map.entry("eval_problems_per_cell", new Limit(1, 1_000_000, "")),
      Map.entry("ce_sequences", new Limit(1, 1_000_000, "")),
      Map.entry("threads", new Limit(0, 1024, "")),
      Map.entry("workers", new Limit(0, 1024, "")),
      Map.entry("hidden_size", new Limit(0, 65536, "")),
      Map.entry("num_layers", new Limit(0, 1024, "")),
      Map.entry("num_heads", new Limit(0, 1024, "")),
      Map.entry("intermediate_size", new Limit(0, 262144, "")),
      Map.entry("lora_rank", new Limit(0, 4096, "")));

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

  /**
   * A preset and the presets it extends, outermost first. A preset may start from another with {@code extends:
   * NAME} (a shipped preset or a file; a relative file path is tried beside the extending file first), then
   * override keys of it: {@code full} is {@code standard} with the paper's attack.
   */
  static List<ObjectNode> layers(String nameOrPath, List<String> seen) {
    if (seen.contains(nameOrPath)) {
      throw new IllegalArgumentException("preset " + nameOrPath + " extends itself (through " + seen + ")");
    }
    seen.add(nameOrPath);
    ObjectNode node = preset(nameOrPath);
    JsonNode ext = node.remove("extends");
    List<ObjectNode> out = new java.util.ArrayList<>();
    if (ext != null) {
      if (!ext.isTextual() || ext.asText().isBlank()) {
        throw new IllegalArgumentException("preset " + nameOrPath + ": 'extends' must name a preset, got " + ext);
      }
      String parent = ext.asText();
      Path beside = Path.of(nameOrPath).resolveSibling(parent);
      if (Files.isRegularFile(Path.of(nameOrPath)) && Files.isRegularFile(beside)) {
        parent = beside.toString();
      }
      out.addAll(layers(parent, seen));
    }
    out.add(node);
    return out;
  }

  public static List<String> shippedPresets() {
    return List.of("quick", "standard", "standard-tiny", "full", "paper", "micro");
  }

  /**
   * defaults ← preset ← overrides. Keys in {@code overrides} are dotted paths; a value parses as YAML (so
   * {@code 1e-3}, {@code true}, {@code [1, 2]} work) and must name a key that exists in the defaults.
   */
  public static ObjectNode resolve(String preset, Map<String, String> overrides) {
    ObjectNode tree = preset("defaults");
    if (preset != null && !preset.equals("defaults")) {
      for (ObjectNode layer : layers(preset, new java.util.ArrayList<>())) {
        merge(tree, layer, "");
      }
    }
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      set(tree, e.getKey(), e.getValue());
    }
    checkBounds(tree, "");
    return tree;
  }

  /**
   * Checks every number under a key named in {@link #LIMITS}, anywhere in {@code tree} ({@code where} is the dotted
   * path of {@code tree}, "" at the top). Values of the wrong type are left to {@link #bind}.
   *
   * @throws IllegalArgumentException "config key 'a.b.batch_size': 100000 is above the limit 4096 (…)"
   */
  public static void checkBounds(JsonNode tree, String where) {
    for (Iterator<Map.Entry<String, JsonNode>> it = tree.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = where.isEmpty() ? e.getKey() : where + "." + e.getKey();
      JsonNode v = e.getValue();
      if (v.isObject()) {
        checkBounds(v, key);
        continue;
      }
      Limit limit = LIMITS.get(e.getKey());
      if (limit == null || !v.isNumber()) {
        continue;
      }
      if (!v.isIntegralNumber() && v.asDouble() != Math.rint(v.asDouble())) {
        throw new IllegalArgumentException("config key '" + key + "': " + v.asText() + " is not an integer");
      }
      // Compared as doubles so that a huge value (1e30) is reported as written, not saturated to a long.
      double d = v.asDouble();
      if (d < limit.min() || d > limit.max()) {
        throw new IllegalArgumentException(outOfRange("config key '" + key + "'", v.asText(), d < limit.min(), limit));
      }
    }
  }

  /**
   * A bounds check for one value with a message naming it, for config keys checked elsewhere and for CLI options
   * ({@code name} is e.g. {@code "--batch-size"} or {@code "config key 'x.y'"}).
   *
   * @throws IllegalArgumentException "--batch-size: 0 is below the minimum 1"
   */
  public static long checkRange(String name, long value, long min, long max) {
    return checkRange(name, value, new Limit(min, max, ""));
  }

  private static long checkRange(String name, long value, Limit limit) {
    if (value < limit.min() || value > limit.max()) {
      throw new IllegalArgumentException(outOfRange(name, Long.toString(value), value < limit.min(), limit));
    }
    return value;
  }

  private static String outOfRange(String name, String value, boolean below, Limit limit) {
    String why = limit.why().isEmpty() ? "" : " (" + limit.why() + ")";
    return name + ": " + value + (below ? " is below the minimum " + limit.min() : " is above the limit " + limit.max())
        + why;
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
    } catch (NotAnInteger e) {
      throw new IllegalArgumentException("config key '" + path(where, e) + "': " + e.getOriginalMessage());
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

  /** Thrown by {@link StrictInteger}: the message is the complete reason ("1.5 is not an integer"). */
  static final class NotAnInteger extends InvalidFormatException {
    NotAnInteger(JsonParser p, String msg, Object value, Class<?> target) {
      super(p, msg, value, target);
    }
  }

  /**
   * Integers for the binder: JSON integers in range, and floats with an integral value; a fraction, an
   * out-of-range number or a string is an error (Jackson's default truncates 1.5 to 1 and parses "12").
   */
  static final class StrictInteger<T> extends StdDeserializer<T> {
    private final long min;
    private final long max;

    StrictInteger(Class<T> type, long min, long max) {
      super(type);
      this.min = min;
      this.max = max;
    }

    @Override
    public T deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      JsonToken t = p.currentToken();
      long v;
      if (t == JsonToken.VALUE_NUMBER_INT) {
        java.math.BigInteger b = p.getBigIntegerValue();
        if (b.compareTo(java.math.BigInteger.valueOf(min)) < 0 || b.compareTo(java.math.BigInteger.valueOf(max)) > 0) {
          throw new NotAnInteger(p, b + " is out of range (" + min + " to " + max + ")", b, handledType());
        }
        v = b.longValue();
      } else if (t == JsonToken.VALUE_NUMBER_FLOAT) {
        double d = p.getDoubleValue();
        String text = p.getText();
        if (!Double.isFinite(d) || d != Math.rint(d)) {
          throw new NotAnInteger(p, text + " is not an integer", d, handledType());
        }
        if (d < min || d > max) {
          throw new NotAnInteger(p, text + " is out of range (" + min + " to " + max + ")", d, handledType());
        }
        v = (long) d;
      } else {
        String text = t == JsonToken.VALUE_STRING ? "\"" + p.getText() + "\"" : p.getText();
        throw new NotAnInteger(p, text + " is not an integer", p.getText(), handledType());
      }
      Class<?> c = handledType();
      @SuppressWarnings("unchecked")
      T out = (T) (c == int.class || c == Integer.class ? (Object) Integer.valueOf((int) v) : (Object) Long.valueOf(v));
      return out;
    }
  }

  private static String rootMessage(Throwable t) {
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage();
  }

  private static String path(String where, MismatchedInputException e) {
    StringBuilder p = new StringBuilder(where);
    for (var r : e.getPath()) {
      if (r.getFieldName() != null) {
        p.append(p.length() == 0 ? "" : ".").append(r.getFieldName());
      } else {
        p.append('[').append(r.getIndex()).append(']');
      }
    }
    return p.toString();
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
