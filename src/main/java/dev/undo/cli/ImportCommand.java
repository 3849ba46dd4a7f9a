package dev.undo.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.hf.HfFolder;
import dev.undo.model.Engines;
import dev.undo.run.Compute;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.run.Provenance;
import dev.undo.run.SourceModel;
import dev.undo.run.TaskSpec;
import dev.undo.task.Tasks;
import dev.undo.train.Checkpoint;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "import", mixinStandardHelpOptions = true,
    description = {"Make a checkpoint from a Hugging Face Gemma-2 folder (config.json, model.safetensors or "
        + "shards, tokenizer.json): ours from `undo export --format hf`, or a model trained elsewhere whose config "
        + "our decoder computes exactly and whose tokenizer is a character vocabulary with byte fallback "
        + "(docs/MODEL.md lists the fields). Anything else is refused with one line naming the key.",
        "Later stages read the setting (which data to use) from the checkpoint: an export of ours carries it; for "
            + "a model from elsewhere give --setting (and --preset/--set for its experiment configuration).",
        "BF16/F16 weights are converted to float32."})
final class ImportCommand implements Callable<Integer> {
  @Option(names = "--from", required = true, paramLabel = "HF_DIR", description = "Hugging Face model folder.")
  Path from;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Checkpoint folder to write.")
  Path out;

  @Option(names = "--setting", paramLabel = "arithmetic|language|text",
      description = "Setting whose data later stages use (default: the one the export records).")
  String setting;

  @Option(names = "--max-seq-len", paramLabel = "N",
      description = "Context to build the decoder for (default: max_position_embeddings).")
  Integer maxSeqLen;

  @Mixin
  ConfigOptions options;

  @Override
  public Integer call() {
    if (!HfFolder.isHfFolder(from)) {
      throw new IllegalArgumentException(from + " is not a Hugging Face model folder (no config.json with a "
          + "model_type)");
    }
    Engines.start(options.threads == null ? 0 : options.threads);
    ObjectNode stageConfig = Json.MAPPER.createObjectNode();
    try (NDManager m = NDManager.newBaseManager()) {
      HfFolder.Contents src = HfFolder.read(from, m, maxSeqLen);
      try {
        TaskSpec task = null;
        ExperimentConfig.EvalSpec eval = null;
        if (setting != null) {
          ObjectNode tree = options.tree(setting);
          ExperimentConfig.Setting s = ExperimentConfig.from(tree).setting(setting); // fail before writing
          Tasks.of(setting, s.data());
          task = new TaskSpec(setting, s.data(), s.pretrain().seqLen());
          eval = s.eval();
        } else if (!options.overrides.isEmpty()) {
          throw new IllegalArgumentException("--set needs --setting");
        } else if (src.provenance().has("task") || src.provenance().has("config")) {
          task = SourceModel.task(from, src.provenance());
          eval = SourceModel.evalSpec(src.provenance());
        }
        if (eval != null) {
          // Later evaluations of the imported model use the evaluation its setting was measured with.
          stageConfig.set("eval", dev.undo.stage.Specs.MAPPER.valueToTree(eval));
        }
        stageConfig.put("from", from.toAbsolutePath().normalize().toString());
        if (maxSeqLen != null) {
          stageConfig.put("max_seq_len", maxSeqLen);
        }
        ObjectNode prov = Provenance.create("import", "", stageConfig, task, Map.of(), Map.of(),
            Map.of("source", Provenance.parent(from.toString(), src.provenance())), Compute.ZERO);
        if (task != null) {
          stageConfig.put("setting", task.setting());
        }
        Checkpoint.save(out, src.config(), src.params(), src.tokenizer(), prov, null, null);
      } finally {
        src.params().close();
      }
      ObjectNode rec = Json.MAPPER.createObjectNode();
      rec.put("out", out.toString());
      rec.put("from", from.toString());
      rec.put("exported_by_undo", src.fromUndo());
      rec.set("config", Json.MAPPER.valueToTree(src.config()));
      rec.put("setting", stageConfig.path("setting").asText(null));
      System.out.println(rec.toPrettyString());
    }
    if (!stageConfig.has("setting")) {
      System.err.println("note: " + out + " names no setting; eval needs --setting, and unlearn/distill/relearn "
          + "need `undo import --setting arithmetic|language|text`");
    }
    return 0;
  }
}
