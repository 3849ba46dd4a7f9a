package dev.undo.run;

import ai.djl.engine.Engine;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Properties;

/**
 * Where an artefact came from (Tribuo's habit): stage, fingerprint and spec, the task protocol, seeds, data
 * identities, parent checkpoints, software (project version and git commit, Java, DJL, engine, threads) and the
 * compute spent. Stored as {@code provenance.json} in every checkpoint and beside every attack result.
 */
public final class Provenance {
  private Provenance() {}

  public static ObjectNode create(String stage, String fingerprint, JsonNode spec, TaskSpec task,
      Map<String, Long> seeds, Map<String, String> data, Map<String, JsonNode> parents, Compute compute) {
    ObjectNode p = Json.MAPPER.createObjectNode();
    p.put("stage", stage);
    p.put("fingerprint", fingerprint);
    p.put("undo_version", version());
    p.put("git_commit", gitCommit());
    ObjectNode sw = p.putObject("software");
    sw.put("java", System.getProperty("java.version"));
    sw.put("djl", Engine.getDjlVersion());
    sw.put("engine", Engine.getInstance().getEngineName() + " " + Engine.getInstance().getVersion());
    sw.put("threads", System.getProperty("ai.djl.pytorch.num_threads", "?"));
    sw.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
    if (task != null) {
      p.set("task", Json.MAPPER.valueToTree(task));
    }
    ObjectNode s = p.putObject("seeds");
    seeds.forEach(s::put);
    ObjectNode d = p.putObject("data");
    data.forEach(d::put);
    ObjectNode par = p.putObject("parents");
    parents.forEach(par::set);
    p.set("compute", Json.MAPPER.valueToTree(compute));
    p.set("spec", spec);
    return p;
  }

  /** The compute recorded in a provenance object, or zero when absent. */
  public static Compute compute(JsonNode provenance) {
    JsonNode c = provenance.get("compute");
    if (c == null || c.isNull()) {
      return Compute.ZERO;
    }
    return new Compute(c.path("train_flops").asDouble(), c.path("forward_flops").asDouble(),
        c.path("eval_flops").asDouble(), c.path("train_tokens").asLong(), c.path("forward_tokens").asLong(),
        c.path("eval_tokens").asLong(), c.path("steps").asLong(), c.path("wall_seconds").asDouble());
  }

  public static String version() {
    String v = Provenance.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  private static volatile String commit;

  /**
   * The git commit the code was built from, as recorded at build time in {@code undo-git.properties} (with a
   * {@code -dirty} suffix when the working tree had changes), or {@code "unknown"} outside a git checkout.
   */
  public static String gitCommit() {
    String c = commit;
    if (c == null) {
      c = "unknown";
      try (InputStream in = Provenance.class.getResourceAsStream("/undo-git.properties")) {
        if (in != null) {
          Properties p = new Properties();
          p.load(in);
          String id = p.getProperty("git.commit.id", "");
          if (!id.isEmpty() && !id.startsWith("$")) {
            c = id + ("true".equals(p.getProperty("git.dirty")) ? "-dirty" : "");
          }
        }
      } catch (IOException e) {
        // Keep "unknown": provenance must not fail a stage.
      }
      commit = c;
    }
    return c;
  }

  /** A short summary of a parent checkpoint for the child's provenance: its path, stage, fingerprint, seeds, compute. */
  public static ObjectNode parent(String path, JsonNode parentProvenance) {
    ObjectNode n = Json.MAPPER.createObjectNode();
    n.put("path", path);
    n.put("stage", parentProvenance.path("stage").asText("?"));
    n.put("fingerprint", parentProvenance.path("fingerprint").asText(""));
    n.set("seeds", parentProvenance.path("seeds"));
    n.set("compute", parentProvenance.path("compute"));
    return n;
  }
}
