package dev.undo.cli;

import dev.undo.attack.Probe;
import dev.undo.model.Engines;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.run.SourceModel;
import dev.undo.stage.StageRunner;
import dev.undo.train.Checkpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "probe", mixinStandardHelpOptions = true,
    description = {"Linear-probe attack: freeze each model and fit, per layer, a linear classifier for the forget "
        + "knowledge (arithmetic: first digit of x/÷ answers; language and text: next forget-corpus token).",
        "Writes OUT/<i>/probe.json per model and OUT/probe_table.json comparing them (test accuracy per layer)."})
final class ProbeCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, split = ",", paramLabel = "DIR[,DIR...]",
      description = "Models to probe (e.g. unlearned, data-filtered, base).")
  List<Path> models;

  @Option(names = "--out", required = true, paramLabel = "DIR")
  Path out;

  @Option(names = "--seed", defaultValue = "0")
  long seed;

  @Option(names = "--threads", paramLabel = "N")
  Integer threads;

  @Option(names = "--force", description = "Start over probe folders made with another configuration.")
  boolean force;

  @Override
  public Integer call() {
    Engines.start(threads == null ? 0 : threads);
    List<Probe.Result> results = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < models.size(); i++) {
      Path model = models.get(i);
      ExperimentConfig.EvalSpec eval = SourceModel.evalSpec(Checkpoint.provenance(model));
      if (eval == null) {
        eval = ExperimentConfig.from(ConfigLoader.resolve("defaults", Map.of())).arithmetic().eval();
      }
      Probe.Result r = StageRunner.run(Probe.STAGE, Probe.Spec.of(model, seed, eval), out.resolve(Integer.toString(i)),
          new StageRunner.Options(false, force));
      results.add(r);
      names.add(model.toString());
      System.out.printf(Locale.ROOT, "%s (%s; majority baseline %.3f)%n", model, r.task(), r.majorityBaseline());
      for (Probe.LayerResult l : r.layers()) {
        System.out.printf(Locale.ROOT, "  layer %2d  train %.3f  test %.3f%n", l.layer(), l.trainAcc(), l.testAcc());
      }
    }
    Json.writeAtomic(out.resolve("probe_table.json"), Probe.table(results, names));
    return 0;
  }
}
