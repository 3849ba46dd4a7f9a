package dev.undo.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;

/**
 * The task protocol of a checkpoint a stage starts from, read from its provenance ({@link TaskSpec}). Checkpoints
 * written before the protocol had its own key (undo ≤ 0.1 builds of November 2026) stored the whole experiment
 * tree instead; that form is still read.
 */
public final class SourceModel {
  private SourceModel() {}

  public static TaskSpec task(Path dir, JsonNode provenance) {
    JsonNode t = provenance.get("task");
    if (t != null && t.isObject()) {
      return new TaskSpec(t.path("setting").asText(), t.path("data"), t.path("seq_len").asInt());
    }
    JsonNode cfg = provenance.path("config");
    String setting = cfg.path("setting").asText("");
    JsonNode exp = cfg.path("experiment");
    if (setting.isEmpty() || !exp.isObject()) {
      throw new IllegalArgumentException(dir + " names no setting in its provenance (a model from elsewhere): run "
          + "`undo import --from " + dir + " --out NEW --setting arithmetic|language|text` first (eval takes "
          + "--setting directly)");
    }
    ObjectNode data = ((ObjectNode) exp.path(setting).path("data")).deepCopy();
    // Keys of the shared data section that the setting never read, dropped when each setting got its own.
    if (setting.equals("arithmetic")) {
      data.remove("korean");
      data.remove("korean_corpus");
    } else {
      for (String k : new String[] {"arithmetic", "add_sub_min", "add_sub_max", "mul_div_min", "mul_div_max",
          "word_problem_fraction"}) {
        data.remove(k);
      }
    }
    return new TaskSpec(setting, data, exp.path(setting).path("pretrain").path("seq_len").asInt());
  }

  /**
   * The evaluation settings the checkpoint's own stage used ({@code spec.eval} in its provenance, or the stored
   * experiment's section in the older form), or null when it has none (an imported model).
   */
  public static ExperimentConfig.EvalSpec evalSpec(JsonNode provenance) {
    JsonNode e = provenance.path("spec").path("eval");
    if (!e.isObject()) {
      JsonNode cfg = provenance.path("config");
      e = cfg.path("experiment").path(cfg.path("setting").asText("")).path("eval");
    }
    return e.isObject() ? ConfigLoader.bind(e, ExperimentConfig.EvalSpec.class, "provenance eval") : null;
  }
}
