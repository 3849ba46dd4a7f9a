package dev.undo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.attack.Relearn;
import dev.undo.run.ExperimentConfig;
import dev.undo.stage.Specs;
import dev.undo.stage.StageRunner;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "relearn", mixinStandardHelpOptions = true,
    description = {"Relearning attack (docs/PROTOCOL.md §Pipeline 5): fine-tune copies of a model on forget data at each "
        + "learning rate; the adversary takes the best LR at every step budget.",
        "Writes OUT/attack.json (worst case, forget at the report steps, AUC) and OUT/runs/*.json (every curve)."})
final class RelearnCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "DIR")
  Path model;

  @Option(names = "--out", required = true, paramLabel = "DIR")
  Path out;

  @Option(names = "--data", paramLabel = "forget|mixture", description = "Attack data (default: attack.data).")
  String data;

  @Option(names = "--lrs", split = ",", paramLabel = "LR,...", description = "Learning-rate grid.")
  List<Double> lrs;

  @Option(names = "--steps", paramLabel = "N")
  Long steps;

  @Option(names = "--eval-every", paramLabel = "K")
  Long evalEvery;

  @Option(names = "--optimizer", paramLabel = "adamw|sgd")
  String optimizer;

  @Option(names = "--seeds", split = ",", paramLabel = "S,...")
  List<Long> seeds;

  @Option(names = "--lora-rank", paramLabel = "R", description = "LoRA relearning with rank R (0: full).")
  Integer loraRank;

  @Option(names = "--threshold", paramLabel = "V",
      description = "Forget value whose first crossing by the worst case is reported as steps_to_threshold.")
  Double threshold;

  @Mixin
  ConfigOptions options;

  @Override
  public Integer call() {
    String setting = UnlearnCommand.setting(model);
    if (data != null) {
      options.overrides.put("attack.data", data);
    }
    if (lrs != null) {
      options.overrides.put("attack.lrs", lrs.toString());
    }
    if (steps != null) {
      options.overrides.put("attack.steps", steps.toString());
    }
    if (evalEvery != null) {
      options.overrides.put("attack.eval_every", evalEvery.toString());
    }
    if (optimizer != null) {
      options.overrides.put("attack.optimizer", optimizer);
    }
    if (seeds != null) {
      options.overrides.put("attack.seeds", seeds.toString());
    }
    if (loraRank != null) {
      options.overrides.put("attack.lora_rank", loraRank.toString());
    }
    ObjectNode tree = options.tree(setting);
    ExperimentConfig cfg = options.config(tree);
    Relearn.Result r = StageRunner.run(Relearn.STAGE, Relearn.Spec.of(cfg, setting, model, threshold), out,
        options.run());
    ObjectNode n = Specs.MAPPER.valueToTree(r);
    n.remove("curves");
    n.remove("provenance");
    System.out.println(n.toPrettyString());
    return 0;
  }
}
