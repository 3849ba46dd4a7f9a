package dev.undo.stage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.run.Fingerprint;
import dev.undo.run.Json;
import dev.undo.train.Checkpoint;
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
 * A stage's fingerprint: {@link Fingerprint} (SHA-256 of canonical JSON: keys sorted, numbers by value) of its
 * kind, its spec with each input path replaced by the content hash of that input, and any extra identities the
 * stage declares (corpus hashes). Two runs with equal fingerprints compute the same result (for the same thread count), so a finished
 * stage with the same fingerprint may be reused and a checkpoint with the same fingerprint resumed; anything else
 * is another configuration.
 *
 * <p>The content hash of a checkpoint covers its weights, model config and tokenizer — not its provenance, which
 * holds wall times. A finished stage without a checkpoint (an attack, a teacher selection) is identified by its
 * recorded fingerprint. A plain file is hashed as it is.
 */
public final class StageFingerprint {
  private StageFingerprint() {}

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
    return n;
  }

  public static String of(ObjectNode canonical) {
    return Fingerprint.of(canonical);
  }

  /**
   * The content hash of an input: a checkpoint folder (or a stage folder holding {@code checkpoint/}) hashes its
   * weights, config and tokenizer; a finished stage folder without one gives its recorded fingerprint; a file its
   * bytes. A checkpoint is first checked against its {@code checksums.json} ({@link Checkpoint#verify}), so a
   * corrupt, truncated or edited input is a one-line error naming the file before the stage writes anything.
   */
  public static String inputHash(String role, Path p) {
    Path ck = checkpointDir(p);
    if (ck != null) {
      Checkpoint.verify(ck);
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

  /**
   * The folder holding {@code model.safetensors} (or the {@code checksums.json} that lists it, so that a checkpoint
   * missing its weights is reported as such): {@code p}, {@code p/checkpoint}, or a crash's {@code .old} copy.
   */
  static Path checkpointDir(Path p) {
    for (Path c : List.of(p, p.resolve("checkpoint"))) {
      if (isCheckpoint(c)) {
        return c;
      }
      Path old = c.resolveSibling(c.getFileName() + ".old");
      if (isCheckpoint(old)) {
        return old;
      }
    }
    return null;
  }

  private static boolean isCheckpoint(Path c) {
    return Files.isRegularFile(c.resolve("model.safetensors")) || Files.isRegularFile(c.resolve(Checkpoint.CHECKSUMS));
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
      return java.util.HexFormat.of().formatHex(md.digest());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + files + ": " + e.getMessage(), e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** What differs between a recorded canonical record and a new one, for the error that names it. */
  public static List<String> differences(JsonNode was, JsonNode now) {
    return Fingerprint.differences(was, now, 4);
  }
}
