package dev.undo.cli;

import dev.undo.attack.Relearn;
import dev.undo.run.ExperimentConfig;
import dev.undo.stage.StageRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code undo bench --attack}: the relearning attack (docs/PROTOCOL.md §Pipeline 5) on one model, run twice in one
 * process through the attack stage itself — every (data, LR, seed) run alone ({@code attack.batched: false}, the
 * sequential path) and all of them as one ensemble ({@code attack.batched: true}) — with the wall and CPU time of
 * each, its split into training and evaluation (the stage's {@code attack_timing.json}), and whether both gave the
 * same curves and the same worst case. Prints numbers; asserts nothing.
 */
final class AttackBench {
  /**
   * Cross-entropy points may differ by the rounding of batched products (BatchedAttackTest); accuracies are counts
   * of the same items and must be equal.
   */
  static final double CE_RELATIVE_TOLERANCE = 1e-4;

  private AttackBench() {}

  /** One path: its result, the stage's wall and CPU seconds (one process, so CPU time is the attack's), its split. */
  record Side(Relearn.Result result, double seconds, double cpuSeconds, Relearn.Timing timing) {}

  /** Runs the attack stage of {@code spec} in a fresh folder {@code dir} and times it. */
  static Side measure(Relearn.Spec spec, Path dir) {
    if (Files.exists(dir)) {
      throw new IllegalArgumentException(dir + " exists: the bench times a fresh attack, never a finished one");
    }
    long c0 = EnsembleBench.cpuNanos();
    long t0 = System.nanoTime();
    Relearn.Result r = StageRunner.run(Relearn.STAGE, spec, dir, StageRunner.Options.QUIET);
    double s = (System.nanoTime() - t0) / 1e9;
    double cpu = (EnsembleBench.cpuNanos() - c0) / 1e9;
    return new Side(r, s, cpu, Relearn.Timing.read(dir));
  }

  /** The same attack on the sequential ({@code false}) or ensemble ({@code true}) path. */
  static Relearn.Spec batched(Relearn.Spec s, boolean batched) {
    ExperimentConfig.AttackSpec a = s.attack();
    return new Relearn.Spec(s.model(), new ExperimentConfig.AttackSpec(a.data(), a.lrs(), a.steps(), a.evalEvery(),
        a.batchSize(), a.optimizer(), a.beta1(), a.beta2(), a.gradClip(), a.seeds(), a.reportSteps(),
        a.evalProblemsPerCell(), a.ceSequences(), a.loraRank(), a.loraAlpha(), batched), s.eval(), s.threshold(),
        s.seed());
  }

  /**
   * Whether two attacks agree: the same runs in the same order, every curve point at the same step with equal
   * forget value, interval and retain value (accuracy tasks exactly; cross-entropy within {@link
   * #CE_RELATIVE_TOLERANCE}), and the same worst case at every step (value, and which run reached it when).
   * {@code firstDifference} names the first disagreement (null when the same).
   */
  record Comparison(boolean same, int points, double maxAbsDiff, double maxRelDiff, String firstDifference) {}

  static Comparison compare(Relearn.Result a, Relearn.Result b) {
    // Accuracy tasks score items, cross-entropy tasks windows (Evaluation.forgetItems / windows).
    boolean accuracy = a.evalItems() > 0;
    Diff d = new Diff(accuracy);
    if (a.curves().size() != b.curves().size()) {
      d.differ(a.curves().size() + " runs vs " + b.curves().size());
    }
    for (int i = 0; i < Math.min(a.curves().size(), b.curves().size()); i++) {
      Relearn.Curve x = a.curves().get(i);
      Relearn.Curve y = b.curves().get(i);
      String run = String.format(Locale.ROOT, "run %s lr=%s seed=%d", x.data(), x.lr(), x.seed());
      if (!x.data().equals(y.data()) || x.lr() != y.lr() || x.seed() != y.seed()) {
        d.differ(run + " vs run " + y.data() + " lr=" + y.lr() + " seed=" + y.seed());
        continue;
      }
      if (x.points().size() != y.points().size()) {
        d.differ(run + ": " + x.points().size() + " vs " + y.points().size() + " evaluations");
      }
      for (int j = 0; j < Math.min(x.points().size(), y.points().size()); j++) {
        Relearn.Point p = x.points().get(j);
        Relearn.Point q = y.points().get(j);
        String at = run + " step " + p.step();
        if (p.step() != q.step()) {
          d.differ(at + " vs step " + q.step());
        }
        d.value(at + " forget", p.forget(), q.forget());
        d.value(at + " forget interval low", p.lo(), q.lo());
        d.value(at + " forget interval high", p.hi(), q.hi());
        d.value(at + " retain", p.retain(), q.retain());
        d.points++;
      }
    }
    if (a.worstCase().size() != b.worstCase().size()) {
      d.differ("worst case at " + a.worstCase().size() + " vs " + b.worstCase().size() + " steps");
    }
    for (int i = 0; i < Math.min(a.worstCase().size(), b.worstCase().size()); i++) {
      Relearn.Worst x = a.worstCase().get(i);
      Relearn.Worst y = b.worstCase().get(i);
      String at = "worst case at step " + x.step();
      if (x.step() != y.step() || !x.data().equals(y.data()) || x.lr() != y.lr() || x.seed() != y.seed()
          || x.at() != y.at()) {
        d.differ(String.format(Locale.ROOT, "%s: %s lr=%s seed=%d step %d vs step %d: %s lr=%s seed=%d step %d", at,
            x.data(), x.lr(), x.seed(), x.at(), y.step(), y.data(), y.lr(), y.seed(), y.at()));
      }
      d.value(at, x.forget(), y.forget());
    }
    return new Comparison(d.first == null, d.points, d.maxAbs, d.maxRel, d.first);
  }

  /** Running state of a comparison. */
  private static final class Diff {
    final boolean exact;
    int points;
    double maxAbs;
    double maxRel;
    String first;

    Diff(boolean exact) {
      this.exact = exact;
    }

    void differ(String what) {
      if (first == null) {
        first = what;
      }
    }

    void value(String what, double x, double y) {
      if (Double.isNaN(x) || Double.isNaN(y)) {
        if (Double.isNaN(x) != Double.isNaN(y)) {
          differ(what + ": " + x + " vs " + y);
        }
        return;
      }
      double abs = Math.abs(x - y);
      double rel = abs == 0 ? 0 : abs / Math.max(Math.abs(x), Math.abs(y));
      maxAbs = Math.max(maxAbs, abs);
      maxRel = Math.max(maxRel, rel);
      if (exact ? x != y : rel > CE_RELATIVE_TOLERANCE) {
        differ(what + ": " + x + " vs " + y);
      }
    }
  }

  /**
   * The bench: the ensemble path first, then the sequential one (so a warm-up cost, if any, falls on the ensemble;
   * {@code sequentialFirst} swaps them, to see how much the order matters on a busy machine), each in its own folder
   * under {@code work}. Returns the JSON record {@code undo bench --attack --json} prints.
   */
  static Map<String, Object> run(Relearn.Spec spec, Path work, int threads, boolean sequentialFirst) {
    ExperimentConfig.AttackSpec a = spec.attack();
    String loadBefore = loadAverage();
    Side first = measure(batched(spec, !sequentialFirst), work.resolve(sequentialFirst ? "sequential" : "ensemble"));
    Side second = measure(batched(spec, sequentialFirst), work.resolve(sequentialFirst ? "ensemble" : "sequential"));
    Side ens = sequentialFirst ? second : first;
    Side seq = sequentialFirst ? first : second;
    String loadAfter = loadAverage();
    Comparison c = compare(seq.result(), ens.result());
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("bench", "relearning attack: sequential vs ensemble");
    r.put("sequential_seconds", round(seq.seconds()));
    r.put("ensemble_seconds", round(ens.seconds()));
    r.put("speedup", round(seq.seconds() / ens.seconds()));
    r.put("members", seq.result().curves().size());
    r.put("same_results", c.same());
    r.put("tolerance", seq.result().evalItems() > 0 ? "accuracy: equal counts (exact)"
        : "cross-entropy: " + CE_RELATIVE_TOLERANCE + " relative");
    r.put("points_compared", c.points());
    r.put("max_abs_diff", c.maxAbsDiff());
    r.put("max_rel_diff", c.maxRelDiff());
    r.put("first_difference", c.firstDifference());
    r.put("sequential_train_seconds", round(seq.timing().trainSeconds()));
    r.put("sequential_eval_seconds", round(seq.timing().evalSeconds()));
    r.put("ensemble_train_seconds", round(ens.timing().trainSeconds()));
    r.put("ensemble_eval_seconds", round(ens.timing().evalSeconds()));
    r.put("train_speedup", round(seq.timing().trainSeconds() / ens.timing().trainSeconds()));
    r.put("eval_speedup", round(seq.timing().evalSeconds() / ens.timing().evalSeconds()));
    r.put("base_eval_seconds", round(seq.timing().baseEvalSeconds()));
    r.put("sequential_cpu_seconds", round(seq.cpuSeconds()));
    r.put("ensemble_cpu_seconds", round(ens.cpuSeconds()));
    r.put("cpu_speedup", round(seq.cpuSeconds() / ens.cpuSeconds()));
    r.put("steps", a.steps());
    r.put("eval_every", a.evalEvery());
    r.put("evals_per_run", seq.result().curves().get(0).points().size() - 1);
    r.put("eval_items", seq.result().evalItems());
    r.put("eval_windows", seq.result().evalWindows());
    r.put("eval_problems_per_cell", a.evalProblemsPerCell());
    r.put("data", a.data());
    r.put("lrs", a.lrs());
    r.put("seeds", a.seeds());
    r.put("batch_size", a.batchSize());
    r.put("threads", threads);
    r.put("order", sequentialFirst ? List.of("sequential", "ensemble") : List.of("ensemble", "sequential"));
    r.put("loadavg_before", loadBefore);
    r.put("loadavg_after", loadAfter);
    Relearn.Worst w = seq.result().worstCase().get(seq.result().worstCase().size() - 1);
    Map<String, Object> worst = new LinkedHashMap<>();
    worst.put(seq.result().forgetMetric(), w.forget());
    worst.put("data", w.data());
    worst.put("lr", w.lr());
    worst.put("at_step", w.at());
    r.put("worst_case_final", worst);
    return r;
  }

  /** The readable form of {@link #run}'s record. */
  @SuppressWarnings("unchecked")
  static String table(Map<String, Object> r) {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "relearning attack: %s runs (data %s x %d LRs x seeds %s), %s steps, "
        + "evaluation every %s steps on %s forget items, %s thread(s)%n", r.get("members"), r.get("data"),
        ((List<?>) r.get("lrs")).size(), r.get("seeds"), r.get("steps"), r.get("eval_every"), r.get("eval_items"),
        r.get("threads")));
    b.append(String.format(Locale.ROOT, "%-11s %10s %10s %10s %10s%n", "path", "wall s", "train s", "eval s",
        "CPU s"));
    b.append(String.format(Locale.ROOT, "%-11s %10.1f %10.1f %10.1f %10.1f%n", "sequential",
        r.get("sequential_seconds"), r.get("sequential_train_seconds"), r.get("sequential_eval_seconds"),
        r.get("sequential_cpu_seconds")));
    b.append(String.format(Locale.ROOT, "%-11s %10.1f %10.1f %10.1f %10.1f%n", "ensemble", r.get("ensemble_seconds"),
        r.get("ensemble_train_seconds"), r.get("ensemble_eval_seconds"), r.get("ensemble_cpu_seconds")));
    b.append(String.format(Locale.ROOT, "%-11s %9.2fx %9.2fx %9.2fx %9.2fx%n", "speedup", r.get("speedup"),
        r.get("train_speedup"), r.get("eval_speedup"), r.get("cpu_speedup")));
    b.append(String.format(Locale.ROOT, "wall s includes loading the model, building the evaluation and the step-0 "
        + "evaluation (%.1f s); order: %s. Load average %s before, %s after.%n", r.get("base_eval_seconds"),
        String.join(" first, then ", (List<String>) r.get("order")), r.get("loadavg_before"), r.get("loadavg_after")));
    b.append(String.format(Locale.ROOT, "same results: %s (%s points; %s; max relative difference %.2g)%s%n",
        (boolean) r.get("same_results") ? "yes" : "NO", r.get("points_compared"), r.get("tolerance"),
        r.get("max_rel_diff"), r.get("first_difference") == null ? "" : "; first difference: "
            + r.get("first_difference")));
    b.append("adversary's final worst case: ").append(r.get("worst_case_final")).append('\n');
    return b.toString();
  }

  /** The first three fields of /proc/loadavg ("" off Linux): how busy the machine was. */
  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }

  static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
