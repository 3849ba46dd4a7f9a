package dev.undo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.SourceModel;
import dev.undo.stage.StageRunner;
import dev.undo.train.Checkpoint;
import dev.undo.unlearn.Sweep;
import dev.undo.unlearn.Unlearn;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "unlearn", mixinStandardHelpOptions = true,
    description = {"Unlearn the forget capability of a pretrained model (docs/PROTOCOL.md §Pipeline 2).",
        "Methods: graddiff, maxent, rmu; RepNoise and SAM are options of each "
            + "(--set unlearn.repnoise.enabled=true, --set unlearn.sam.enabled=true).",
        "--sweep lr=A,B,... runs one model per value under OUT/lr_<v>/, writes OUT/sweep.csv and picks a teacher "
            + "(OUT/sweep.json, \"selected\")."})
final class UnlearnCommand implements Callable<Integer> {
  @Option(names = "--method", required = true, paramLabel = "graddiff|maxent|rmu")
  String method;

  @Option(names = "--model", required = true, paramLabel = "BASE_DIR", description = "Pretrained model.")
  Path model;

  @Option(names = "--out", required = true, paramLabel = "DIR")
  Path out;

  @Option(names = "--lr", paramLabel = "LR", description = "Learning rate (default: unlearn.lr of the preset).")
  Double lr;

  @Option(names = "--sweep", paramLabel = "lr=A,B,...", description = "Sweep the learning rate.")
  String sweep;

  @Mixin
  ConfigOptions options;

  @Override
  public Integer call() {
    String setting = setting(model);
    checkOverrides(method, options.overrides);
    ObjectNode tree = options.tree(setting);
    ExperimentConfig cfg = options.config(tree);
    if (sweep != null) {
      List<Double> lrs = parseSweep(sweep);
      List<Path> runs = new ArrayList<>();
      for (double v : lrs) {
        Path dir = Sweep.runDir(out, v);
        StageRunner.run(Unlearn.STAGE, Unlearn.Spec.of(cfg, setting, model, method, v), dir, options.run());
        runs.add(dir);
      }
      ExperimentConfig.UnlearnSpec u = cfg.setting(setting).unlearn();
      Sweep.Result r = StageRunner.run(Sweep.STAGE, new Sweep.Spec(method, lrs, runs, u.retainTolerance(),
          u.selectionSecondaryWeight()), out, options.run());
      Print.json(Map.of("selected", r.selected()));
      System.out.println("table: " + out.resolve("sweep.csv"));
      return 0;
    }
    double rate = lr != null ? lr : cfg.setting(setting).unlearn().lr();
    Print.json(StageRunner.run(Unlearn.STAGE, Unlearn.Spec.of(cfg, setting, model, method, rate), out,
        options.run()));
    return 0;
  }

  static List<Double> parseSweep(String sweep) {
    if (!sweep.startsWith("lr=")) {
      throw new IllegalArgumentException("--sweep takes lr=A,B,... (only the learning rate is swept)");
    }
    List<Double> lrs = new ArrayList<>();
    for (String v : sweep.substring(3).split(",")) {
      try {
        lrs.add(Double.parseDouble(v.trim()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--sweep: '" + v + "' is not a number");
      }
    }
    return lrs;
  }

  /** The setting a checkpoint was trained on (from its provenance). */
  static String setting(Path model) {
    return SourceModel.task(model, Checkpoint.provenance(model)).setting();
  }

  /** A loss weight or option of another method is an error, not silently ignored. */
  static void checkOverrides(String method, Map<String, String> overrides) {
    for (String k : overrides.keySet()) {
      for (String other : List.of("graddiff", "maxent", "rmu")) {
        if (!other.equals(method) && k.matches("(.*\\.)?unlearn\\." + other + "\\..*")) {
          throw new IllegalArgumentException("--set " + k + ": method " + method + " does not use unlearn." + other);
        }
      }
    }
  }
}
