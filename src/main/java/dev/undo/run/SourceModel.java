package dev.undo.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;

/**
 * What a later stage needs to know about the model it starts from, read from that checkpoint's provenance: the
 * setting and the experiment configuration it was trained under (so unlearning and attacks draw the same forget and
 * retain data the model was pretrained on), and the sequence length.
 */
public record SourceModel(Path dir, String setting, ExperimentConfig experiment, ObjectNode experimentTree,
    JsonNode provenance) {

  public static SourceModel of(Path dir, JsonNode provenance) {
    JsonNode cfg = provenance.path("config");
    String setting = cfg.path("setting").asText("");
    JsonNode exp = cfg.path("experiment");
    if (setting.isEmpty() || !exp.isObject()) {
      throw new IllegalArgumentException(dir + ": provenance.json names no setting/experiment; was this checkpoint "
          + "made by undo?");
    }
    // Stored trees are laid over today's defaults, so checkpoints written before a key was added still load.
    ObjectNode tree = ConfigLoader.preset("defaults");
    ConfigLoader.merge(tree, exp, "");
    return new SourceModel(dir, setting, ExperimentConfig.from(tree), tree, provenance);
  }

  public ExperimentConfig.DataSpec data() {
    return experiment.setting(setting).data();
  }

  public int seqLen() {
    return experiment.setting(setting).pretrain().seqLen();
  }
}
