package dev.undo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.attack.Relearn;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "relearn", mixinStandardHelpOptions = true,
    description = {"Relearning attack (PAPER.md §Pipeline 5): fine-tune copies of a model on forget data at each "
        + "learning rate; the adversary takes the best LR at every step budget.",
        "Writes OUT/attack.json (worst case, forget at 0/40/500 steps, AUC) and OUT/runs/*.json (every curve)."})
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
    ObjectNode tree = options.tree(setting);
    ExperimentConfig cfg = options.config(tree);
    Relearn.Options d = Relearn.Options.of(cfg.setting(setting).attack());
    Relearn.Options o = new Relearn.Options(data != null ? data : d.data(), lrs != null ? lrs : d.lrs(),
        steps != null ? steps : d.steps(), evalEvery != null ? evalEvery : d.evalEvery(), d.batchSize(),
        optimizer != null ? optimizer : d.optimizer(), seeds != null ? seeds : d.seeds(), d.reportSteps(),
        d.evalProblemsPerCell(), d.ceSequences(), loraRank != null ? loraRank : d.loraRank(), d.loraAlpha());
    Relearn.run(cfg, tree, model, out, o, threshold, !options.quiet);
    ObjectNode n = Json.read(out.resolve("attack.json"), ObjectNode.class);
    n.remove("curves");
    System.out.println(n.toPrettyString());
    return 0;
  }
}
