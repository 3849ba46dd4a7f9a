package dev.undo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.hf.HfFolder;
import dev.undo.pretrain.Pretrain;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.run.SourceModel;
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
    description = {"Unlearn the forget capability of a pretrained model (PAPER.md §Pipeline 2).",
        "Methods: graddiff, maxent, rmu; RepNoise and SAM are options of maxent and rmu "
            + "(--set unlearn.repnoise.enabled=true, --set unlearn.sam.enabled=true).",
        "--sweep lr=A,B,... runs one model per value under OUT/lr_<v>/, writes OUT/sweep.csv and picks a teacher "
            + "(OUT/selected.json)."})
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
      Sweep.Result r = Sweep.run(cfg, tree, method, lrs, model, out, !options.quiet);
      System.out.println(Json.MAPPER.valueToTree(Map.of("selected", Map.of("lr", r.selection().lr(), "dir",
          r.selection().dir().toString(), "reason", r.selection().reason()))).toPrettyString());
      System.out.println("table: " + out.resolve("sweep.csv"));
      return 0;
    }
    double rate = lr != null ? lr : cfg.setting(setting).unlearn().lr();
    Unlearn.Summary s = Unlearn.run(cfg, tree, method, rate, model, out, !options.quiet);
    ObjectNode rec = Pretrain.evalRecord(setting, s.metrics(), s.compute());
    ObjectNode b = rec.putObject("before");
    s.before().forEach(b::put);
    System.out.println(rec.toPrettyString());
    return 0;
  }

  static String setting(Path model) {
    if (HfFolder.isHfFolder(model)) {
      ObjectNode prov = HfFolder.provenance(model);
      if (prov.path("config").path("setting").asText("").isEmpty()) {
        throw new IllegalArgumentException(model + " is a Hugging Face folder that names no setting: run `undo import "
            + "--from " + model + " --out DIR --setting arithmetic|language` and unlearn DIR");
      }
      return SourceModel.of(model, prov).setting();
    }
    Path d = Checkpoint.resolve(model) != null ? Checkpoint.resolve(model)
        : Checkpoint.resolve(model.resolve("checkpoint"));
    if (d == null) {
      throw new IllegalArgumentException("no checkpoint at " + model);
    }
    return SourceModel.of(model, Json.read(d.resolve(Checkpoint.PROVENANCE), ObjectNode.class)).setting();
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
