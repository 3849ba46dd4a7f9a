package dev.undo.reproduce;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.attack.Relearn;
import dev.undo.pretrain.Pretrain;
import dev.undo.run.Compute;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Manifest;
import dev.undo.run.MetricsRecords;
import dev.undo.stage.StageRunner;
import dev.undo.task.Task;
import dev.undo.task.Tasks;
import dev.undo.undo.Distill;
import dev.undo.unlearn.Sweep;
import dev.undo.unlearn.Unlearn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code undo reproduce}: plan the experiment ({@link Planner}), run the plan on an executor ({@link Scheduler}),
 * then write {@code manifest.json} (every model, its metrics, compute and attack) from the finished folders. A
 * killed run picks up where it stopped: finished stages are skipped by fingerprint, a killed one resumes from its
 * checkpoint.
 */
public final class Reproduce {
  private Reproduce() {}

  public static Path run(ObjectNode tree, List<String> settings, Path out, Executor executor) {
    long t0 = System.nanoTime();
    double before = Scheduler.previousWall(out);
    Plan plan = Planner.plan(tree, settings, out);
    System.err.println(estimate(plan, ExperimentConfig.from(tree), executor.slots()));
    Scheduler.run(plan, executor, out);
    double wall = before + (System.nanoTime() - t0) / 1e9;
    ExperimentConfig cfg = ExperimentConfig.from(tree);
    Path file = out.resolve("manifest.json");
    StageRunner.writeResult(file, manifest(cfg, settings, plan, out, wall));
    return file;
  }

  /** The local executor of a configuration: {@link #workers} threads. */
  public static Executor localExecutor(ExperimentConfig cfg, boolean progress, boolean force) {
    int w = workers(cfg);
    return new LocalExecutor(w, new StageRunner.Options(progress && w == 1, force));
  }

  /**
   * One line: the plan's size and estimated wall time, and when some stages are already finished (a resumed or
   * extended run), the estimate for the rest.
   */
  public static String estimate(Plan plan, ExperimentConfig cfg, int slots) {
    ExperimentConfig.ReproduceSpec r = cfg.reproduce();
    java.util.function.ToDoubleFunction<Plan.Node> rate = n -> r.secondsPerUnit(Plan.kind(n));
    String rates = r.secondsPerUnitByKind().any()
        ? String.format(Locale.ROOT, "per-kind s/unit (reproduce.seconds_per_unit_by_kind: pretrain %.3g, unlearn "
            + "%.3g, distill %.3g, relearn %.3g)", r.secondsPerUnit("pretrain"), r.secondsPerUnit("unlearn"),
            r.secondsPerUnit("distill"), r.secondsPerUnit("relearn"))
        : String.format(Locale.ROOT, "%.3g s/unit (reproduce.seconds_per_unit)", r.secondsPerUnit());
    String line = String.format(Locale.ROOT, "plan: %d stages, cost %.3g units (critical path %.3g); estimate %s on %d "
        + "worker(s) at %s", plan.nodes().size(), plan.totalCost(), plan.criticalPath(),
        Scheduler.duration((long) (plan.estimateSeconds(slots, rate) * 1e9)), Math.max(1, slots), rates);
    Set<String> done = plan.finishedNodes();
    if (done.isEmpty()) {
      return line;
    }
    Plan left = plan.without(done);
    return line + String.format(Locale.ROOT, "; %d stages already finished (reused if their configuration is the "
        + "same), %s for the other %d", done.size(), Scheduler.duration((long) (left.estimateSeconds(slots, rate) * 1e9)),
        left.nodes().size());
  }

  /** The plan as text: every node, its dependencies and estimated cost, and what each stage will be. */
  public static String describe(Plan plan) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%d nodes, estimated cost %.3g (critical path %.3g), in forward-token "
        + "equivalents%n", plan.nodes().size(), plan.totalCost(), plan.criticalPath()));
    for (Plan.Node n : plan.nodes()) {
      sb.append(String.format(Locale.ROOT, "%-52s cost %.3g%s%n", n.id(), n.cost(),
          n.deps().isEmpty() ? "" : "  after " + String.join(", ", n.deps())));
      for (Plan.Call c : n.calls()) {
        sb.append("    ").append(c.kind()).append(" -> ").append(c.dir());
        if (c.describe() != null) {
          sb.append("  (").append(c.describe()).append(")");
        }
        sb.append('\n');
      }
    }
    return sb.toString();
  }

  /**
   * Stages run side by side: reproduce.workers, or one per configured thread when it is 0. On a small CPU this is
   * faster than one stage on all threads: these models are too small for intra-op parallelism to pay off fully.
   */
  public static int workers(ExperimentConfig cfg) {
    int w = cfg.reproduce().workers();
    if (w < 0) {
      throw new IllegalArgumentException("reproduce.workers must be >= 0 (0 = one per thread), not " + w);
    }
    return w > 0 ? w : threads(cfg);
  }

  /** Intra-op threads of each stage when {@link #workers} stages run side by side. */
  public static int threadsPerStage(ExperimentConfig cfg) {
    return Math.max(1, threads(cfg) / workers(cfg));
  }

  /** The configured thread count, or the number of cores when it is 0. */
  private static int threads(ExperimentConfig cfg) {
    return cfg.threads() > 0 ? cfg.threads() : Runtime.getRuntime().availableProcessors();
  }

  static Manifest manifest(ExperimentConfig cfg, List<String> settings, Plan plan, Path out, double wall) {
    Map<String, Manifest.SettingEntry> ss = new LinkedHashMap<>();
    for (String setting : settings) {
      Task task = Tasks.of(setting, cfg);
      ExperimentConfig.Setting s = cfg.setting(setting);
      List<Plan.PlannedModel> mine = plan.models().stream().filter(m -> m.setting().equals(setting)).toList();
      List<String> cells = Planner.summaryCells(out, mine.stream().filter(m -> m.kind().equals("base"))
          .map(Plan.PlannedModel::stage).toList(), task, s.eval());
      List<Manifest.ModelEntry> models = new ArrayList<>();
      for (Plan.PlannedModel m : mine) {
        models.add(entry(out, m, task, cells, s.eval().nPerCell(), mine));
      }
      ExperimentConfig.AttackSpec a = s.attack();
      int items = 0;
      int windows = 0;
      for (Plan.PlannedModel m : mine) {
        Path f = out.resolve(m.attack()).resolve(Relearn.STAGE.resultFile());
        if (Files.exists(f)) {
          Relearn.Result r = StageRunner.result(Relearn.STAGE, out.resolve(m.attack()));
          items = r.evalItems();
          windows = r.evalWindows();
          break;
        }
      }
      Manifest.AttackEntry attack = new Manifest.AttackEntry(a.lrs(), a.data(), a.seeds(), a.steps(), a.evalEvery(),
          a.gradClip(), items, windows, a.reportSteps());
      ss.put(setting, new Manifest.SettingEntry(task.forgetMetric().key(), task.forgetMetric().higherIsBetter(),
          task.retainMetric().key(), task.retainMetric().higherIsBetter(), "filtered", cells, s.eval().cellFloor(),
          attack, models));
    }
    return new Manifest(cfg.name(), cfg.seed(), cfg.reproduce().seeds(), wall, cfg.reproduce().evidence(), ss);
  }

  private static Manifest.ModelEntry entry(Path out, Plan.PlannedModel m, Task task, List<String> cells, int n,
      List<Plan.PlannedModel> setting) {
    Path stageDir = Planner.modelDir(out, m);
    Map<String, Double> metrics;
    Compute own;
    Manifest.Student student = null;
    switch (m.kind()) {
      case "base", "filtered" -> {
        Pretrain.Result r = StageRunner.result(Pretrain.STAGE, stageDir);
        metrics = task.summarize(r.metrics(), cells, n);
        own = r.compute();
      }
      case "unlearn" -> {
        Unlearn.Result r = StageRunner.result(Unlearn.STAGE, stageDir);
        metrics = r.metrics();
        own = r.compute();
      }
      default -> {
        Distill.Result r = StageRunner.result(Distill.STAGE, stageDir);
        metrics = r.metrics();
        own = r.compute();
        student = new Manifest.Student(r.rule(), r.stoppedByRule(), r.steps(), r.maxSteps(),
            r.gap() == null ? Double.NaN : r.gap(), r.bound() == null ? Double.NaN : r.bound());
      }
    }
    // Compute beyond the base pretrain: the stage itself plus the stages it needed (the sweep that chose an
    // unlearned teacher, the filtered model behind the oracle). An unlearned model's cost is its whole sweep.
    Compute added = m.kind().equals("unlearn") ? Compute.ZERO : own;
    for (String a : m.ancestors()) {
      added = added.plus(stageCompute(out.resolve(a)));
    }
    Compute filtered = reference(out, setting, m.seed(), "filtered");
    Compute base = reference(out, setting, m.seed(), "base");
    // The chosen unlearning run, for models that start from an unlearned teacher.
    Compute chosen = Compute.ZERO;
    Compute sweep = Compute.ZERO;
    Double labelled = m.kind().equals("filtered") ? (Double) 1.0 : null;
    for (String a : m.ancestors()) {
      Path dir = out.resolve(a);
      if (Files.exists(dir.resolve(Sweep.STAGE.resultFile()))) {
        Path sel = Sweep.selected(dir);
        for (Path run : Sweep.runs(dir)) {
          Compute c = StageRunner.result(Unlearn.STAGE, run).compute();
          if (run.equals(sel.normalize())) {
            chosen = c;
          } else {
            sweep = sweep.plus(c);
          }
        }
        // Examples unlearning saw (forget and retain batches) over the base model's pretraining tokens.
        labelled = base.trainTokens() == 0 ? null : (double) chosen.trainTokens() / base.trainTokens();
      }
    }
    boolean distilled = student != null;
    long studentTokens = distilled ? own.trainTokens() : 0;
    double reference = filtered.methodFlops();
    Manifest.Ledger ledger = new Manifest.Ledger(distilled ? own.steps() : 0, studentTokens,
        filtered.trainTokens() == 0 ? Double.NaN : (double) studentTokens / filtered.trainTokens(),
        distilled ? own.trainFlops() : 0, distilled ? own.forwardFlops() : 0, chosen.methodFlops(),
        sweep.methodFlops(), added.evalFlops(),
        reference == 0 ? Double.NaN : ((distilled ? own.methodFlops() : 0) + chosen.methodFlops()) / reference);
    return new Manifest.ModelEntry(m.name(), m.kind(), m.method(), m.alpha(), m.seed(),
        out.relativize(stageDir).toString(), m.attack(), metrics, own, added, ledger, student, labelled);
  }

  /** The compute of a seed's reference model (base or filtered pretrain), or zero when the run has none. */
  private static Compute reference(Path out, List<Plan.PlannedModel> setting, long seed, String kind) {
    for (Plan.PlannedModel p : setting) {
      if (p.kind().equals(kind) && p.seed() == seed) {
        return StageRunner.result(Pretrain.STAGE, out.resolve(p.stage())).compute();
      }
    }
    return Compute.ZERO;
  }

  /** The last training loss of a stage (for a distillation: the forward KL to its teacher). */
  static double lastTrainLoss(Path stage) {
    double v = MetricsRecords.lastTrain(stage.resolve("metrics.jsonl"), "loss");
    return Double.isNaN(v) ? 0 : v;
  }

  /** Compute spent by a stage folder: its result, or for a sweep the sum over its LR runs. */
  static Compute stageCompute(Path stage) {
    if (Files.exists(stage.resolve(Sweep.STAGE.resultFile()))) {
      Compute c = Compute.ZERO;
      for (Path run : Sweep.runs(stage)) {
        c = c.plus(StageRunner.result(Unlearn.STAGE, run).compute());
      }
      return c;
    }
    if (Files.exists(stage.resolve("attack.json"))) {
      return StageRunner.result(Relearn.STAGE, stage).compute();
    }
    com.fasterxml.jackson.databind.JsonNode n = dev.undo.run.Json.read(stage.resolve("eval.json"),
        com.fasterxml.jackson.databind.JsonNode.class);
    return dev.undo.run.Provenance.compute(n);
  }
}
