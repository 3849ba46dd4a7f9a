package dev.undo.run;

import ai.djl.engine.Engine;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/**
 * Where an artefact came from (Tribuo's habit): stage, resolved config, seeds, data identities, parent checkpoints,
 * software versions and the compute spent. Stored as {@code provenance.json} in every checkpoint.
 */
public final class Provenance {
  private Provenance() {}

  public static ObjectNode create(String stage, JsonNode config, Map<String, Long> seeds, Map<String, String> data,
      Map<String, JsonNode> parents, Compute compute) {
    ObjectNode p = Json.MAPPER.createObjectNode();
    p.put("stage", stage);
    p.put("undo_version", version());
    ObjectNode sw = p.putObject("software");
    sw.put("java", System.getProperty("java.version"));
    sw.put("djl", Engine.getDjlVersion());
    sw.put("engine", Engine.getInstance().getEngineName() + " " + Engine.getInstance().getVersion());
    sw.put("threads", System.getProperty("ai.djl.pytorch.num_threads", "?"));
    sw.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
    ObjectNode s = p.putObject("seeds");
    seeds.forEach(s::put);
    ObjectNode d = p.putObject("data");
    data.forEach(d::put);
    ObjectNode par = p.putObject("parents");
    parents.forEach(par::set);
    p.set("compute", Json.MAPPER.valueToTree(compute));
    p.set("config", config);
    return p;
  }

  /** The compute recorded in a provenance object, or zero when absent. */
  public static Compute compute(JsonNode provenance) {
    JsonNode c = provenance.get("compute");
    if (c == null || c.isNull()) {
      return Compute.ZERO;
    }
    return new Compute(c.path("train_flops").asDouble(), c.path("forward_flops").asDouble(),
        c.path("train_tokens").asLong(), c.path("forward_tokens").asLong(), c.path("steps").asLong(),
        c.path("wall_seconds").asDouble());
  }

  public static String version() {
    String v = Provenance.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  /** A short summary of a parent checkpoint for the child's provenance: its path, stage and config hash. */
  public static ObjectNode parent(String path, JsonNode parentProvenance) {
    ObjectNode n = Json.MAPPER.createObjectNode();
    n.put("path", path);
    n.put("stage", parentProvenance.path("stage").asText("?"));
    n.set("seeds", parentProvenance.path("seeds"));
    n.set("compute", parentProvenance.path("compute"));
    return n;
  }
}
