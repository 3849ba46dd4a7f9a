package dev.undo.stage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.run.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A stage's fingerprint: SHA-256 of the canonical JSON (keys sorted at every level) of its kind, its spec with
 * each input path replaced by the content hash of that input, and any extra identities the stage declares (corpus
 * hashes). Two runs with equal fingerprints compute the same result (for the same thread count), so a finished
 * stage with the same fingerprint may be reused and a checkpoint with the same fingerprint resumed; anything else
 * is another configuration.
 *
 * <p>The content hash of a checkpoint covers its weights, model config and tokenizer — not its provenance, which
 * holds wall times. A finished stage without a checkpoint (an attack, a teacher selection) is identified by its
 * recorded fingerprint. A plain file is hashed as it is.
 */
public final class Fingerprint {
  private Fingerprint() {}

  /** The canonical JSON that is hashed, for {@code config.json} and for explaining a mismatch. */
  public static ObjectNode canonical(String kind, StageSpec spec, Map<String, String> identity) {
    ObjectNode j = Specs.MAPPER.valueToTree(spec);
    ObjectNode inputs = JsonNodeFactory.instance.objectNode();
    java.util.Set<String> fields = new java.util.HashSet<>();
    j.fieldNames().forEachRemaining(fields::add);
    for (Map.Entry<String, Path> e : new TreeMap<>(spec.inputs()).entrySet()) {
      // A role is a component name, or name[i] for the i-th path of a list component.
      String role = Specs.snake(e.getKey().replaceAll("\\[.*", "")) + e.getKey().replaceAll("^[^\\[]*", "");
      String component = role.replaceAll("\\[.*", "");
      if (!fields.contains(component)) {
        throw new IllegalStateException(spec.getClass().getSimpleName() + ": input role '" + role
            + "' is not a component of the spec");
      }
      j.remove(component);
      inputs.put(role, inputHash(role, e.getValue()));
    }
    ObjectNode n = JsonNodeFactory.instance.objectNode();
    n.put("stage", kind);
    n.set("spec", j);
    n.set("inputs", inputs);
    ObjectNode id = n.putObject("identity");
    new TreeMap<>(identity).forEach(id::put);
    return (ObjectNode) sorted(n);
  }

  public static String of(ObjectNode canonical) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      return hex(md.digest(Json.LINE.writeValueAsBytes(canonical)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String hex(byte[] digest) {
    StringBuilder sb = new StringBuilder();
    for (byte b : digest) {
      sb.append(String.format("%02x", b));
    }
    return sb.toString();
  }

  /**
   * The content hash of an input: a checkpoint folder (or a stage folder holding {@code checkpoint/}) hashes its
   * weights, config and tokenizer; a finished stage folder without one gives its recorded fingerprint; a file its
   * bytes.
   */
  public static String inputHash(String role, Path p) {
    Path ck = checkpointDir(p);
    if (ck != null) {
      return sha256(List.of(ck.resolve("model.safetensors"), ck.resolve("config.json"), ck.resolve("tokenizer.json")));
    }
    if (Files.isRegularFile(p.resolve(StageRunner.CONFIG)) && Files.exists(p.resolve(StageRunner.DONE))) {
      JsonNode c = Json.read(p.resolve(StageRunner.CONFIG), JsonNode.class);
      if (c.hasNonNull("fingerprint")) {
        return c.get("fingerprint").asText();
      }
    }
    if (Files.isRegularFile(p)) {
      return sha256(List.of(p));
    }
    throw new IllegalArgumentException("input " + role + ": " + p + " is not a checkpoint, a finished stage or a file");
  }

  /** The folder holding {@code model.safetensors}: {@code p}, {@code p/checkpoint}, or a crash's {@code .old} copy. */
  static Path checkpointDir(Path p) {
    for (Path c : List.of(p, p.resolve("checkpoint"))) {
      if (Files.isRegularFile(c.resolve("model.safetensors"))) {
        return c;
      }
      Path old = c.resolveSibling(c.getFileName() + ".old");
      if (Files.isRegularFile(old.resolve("model.safetensors"))) {
        return old;
      }
    }
    return null;
  }

  static String sha256(List<Path> files) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      for (Path f : files) {
        if (!Files.isRegularFile(f)) {
          throw new IllegalArgumentException("missing input file " + f);
        }
        try (InputStream in = Files.newInputStream(f)) {
          for (int r; (r = in.read(buf)) > 0; ) {
            md.update(buf, 0, r);
          }
        }
      }
      return hex(md.digest());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + files + ": " + e.getMessage(), e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A deep copy with object keys sorted, so equal values serialise to equal bytes. */
  static JsonNode sorted(JsonNode n) {
    if (n.isObject()) {
      ObjectNode out = JsonNodeFactory.instance.objectNode();
      List<String> keys = new ArrayList<>();
      n.fieldNames().forEachRemaining(keys::add);
      keys.sort(null);
      for (String k : keys) {
        out.set(k, sorted(n.get(k)));
      }
      return out;
    }
    if (n.isArray()) {
      ArrayNode out = JsonNodeFactory.instance.arrayNode();
      n.forEach(x -> out.add(sorted(x)));
      return out;
    }
    return n;
  }

  /**
   * The differences between two canonical records, as {@code key a ≠ b} for the first few differing leaves, for
   * the error that names what changed.
   */
  public static List<String> differences(JsonNode was, JsonNode now) {
    List<String> out = new ArrayList<>();
    diff("", was, now, out);
    return out;
  }

  private static void diff(String path, JsonNode a, JsonNode b, List<String> out) {
    if (a != null && b != null && a.isObject() && b.isObject()) {
      TreeMap<String, Boolean> keys = new TreeMap<>();
      a.fieldNames().forEachRemaining(k -> keys.put(k, true));
      b.fieldNames().forEachRemaining(k -> keys.put(k, true));
      for (Iterator<String> it = keys.keySet().iterator(); it.hasNext(); ) {
        String k = it.next();
        diff(path.isEmpty() ? k : path + "." + k, a.get(k), b.get(k), out);
      }
      return;
    }
    if (a == null || b == null || !a.equals(b)) {
      out.add(path + " " + show(a) + " ≠ " + show(b));
    }
  }

  private static String show(JsonNode n) {
    if (n == null) {
      return "(absent)";
    }
    String s = n.isTextual() ? n.asText() : n.toString();
    return s.length() > 40 ? s.substring(0, 12) + "…" : s;
  }
}
