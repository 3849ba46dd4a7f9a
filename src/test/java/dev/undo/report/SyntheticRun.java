package dev.undo.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.undo.attack.Relearn;
import dev.undo.run.Compute;
import dev.undo.run.Manifest;
import dev.undo.stage.Specs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a run directory by hand whose right answers are known: a typed {@link Manifest} and one typed
 * {@link Relearn.Result} per model, serialised by the pipeline's own mapper, so the files are exactly what
 * {@code undo reproduce} would write.
 *
 * <p>Curves are given as relearned fractions per evaluated step and converted into the setting's metric with the
 * setting's own anchors (the filtered and base models' unattacked values), so a test says "this model relearns
 * 80% by step 40" and the file holds the ×÷ accuracy or Korean CE that means exactly that. Every forget value gets
 * an interval of ± {@link ModelSpec#forgetHalfWidth} in the same units (relearned fraction), every retain value
 * ± {@link ModelSpec#retainHalfWidth} in the metric's units; a test widens them to see intervals decide.
 */
final class SyntheticRun {
  static final ObjectMapper MAPPER = new ObjectMapper();
  /** Every attack evaluates these steps; the report steps are {@link #REPORT_STEPS}. */
  static final long[] STEPS = {0, 10, 40, 100, 500};
  static final long[] REPORT_STEPS = {0, 40, 500};
  /** The data-filtering pretrain's FLOPs (training): the unit of every FLOPs fraction. */
  static final double FILTERED_FLOPS = 1e12;
  /** The arithmetic cells, retain (+ −) first. */
  static final List<String> CELLS = List.of("addition_equation_acc", "addition_word_problem_acc",
      "subtraction_equation_acc", "subtraction_word_problem_acc", "multiplication_equation_acc",
      "multiplication_word_problem_acc", "division_equation_acc", "division_word_problem_acc");

  final Path dir;
  String preset;
  boolean evidence = true;
  List<Long> seeds = new ArrayList<>(List.of(1234L));
  private final Map<String, Setting> settings = new LinkedHashMap<>();

  SyntheticRun(Path dir, String preset) {
    this.dir = dir;
    this.preset = preset;
  }

  /** Arithmetic: ×÷ accuracy, lower = more forgotten; filtered at 0.1, base at 0.9. Same object on every call. */
  Setting arithmetic() {
    return settings.computeIfAbsent("arithmetic",
        k -> new Setting(k, "forget_acc", false, "retain_acc", true, 0.1, 0.9));
  }

  /** Language: Korean CE, higher = more forgotten; filtered at 6.0, base at 2.0; retain is English CE. */
  Setting language() {
    return settings.computeIfAbsent("language", k -> new Setting(k, "kor_ce", true, "eng_ce", false, 6.0, 2.0));
  }

  void write() throws IOException {
    Files.createDirectories(dir);
    Map<String, Manifest.SettingEntry> entries = new LinkedHashMap<>();
    for (Setting s : settings.values()) {
      entries.put(s.name, s.write());
    }
    Manifest m = new Manifest(preset, seeds.get(0), List.copyOf(seeds), 1234.5, evidence, entries);
    Files.writeString(dir.resolve("manifest.json"), Specs.MAPPER.writeValueAsString(m));
  }

  final class Setting {
    final String name;
    final String forgetMetric;
    final boolean higherForgotten;
    final String retainMetric;
    final boolean retainHigher;
    final double filteredValue;
    final double baseValue;
    final List<ModelSpec> models = new ArrayList<>();

    Setting(String name, String forget, boolean higherForgotten, String retain, boolean retainHigher,
        double filteredValue, double baseValue) {
      this.name = name;
      this.forgetMetric = forget;
      this.higherForgotten = higherForgotten;
      this.retainMetric = retain;
      this.retainHigher = retainHigher;
      this.filteredValue = filteredValue;
      this.baseValue = baseValue;
    }

    /** The metric value that is relearned fraction {@code rf} of the way from filtered to base. */
    double value(double rf) {
      return filteredValue + rf * (baseValue - filteredValue);
    }

    /**
     * Adds a model whose worst-case curve is {@code rf} (one relearned fraction per {@link #STEPS} entry).
     * {@code retain} is its retain metric, {@code addedFlops} its compute beyond the base pretrain, which is also
     * its FLOPs ledger and, unless set, its paper ledger (both as fractions of {@link #FILTERED_FLOPS}).
     */
    ModelSpec model(String kind, String method, Double alpha, long seed, double retain, double addedFlops,
        double... rf) {
      if (rf.length != STEPS.length) {
        throw new IllegalArgumentException("one relearned fraction per step");
      }
      ModelSpec m = new ModelSpec(this, kind, method, alpha, seed, retain, addedFlops, rf.clone());
      models.add(m);
      return m;
    }

    private Manifest.SettingEntry write() {
      List<Manifest.ModelEntry> entries = new ArrayList<>();
      for (ModelSpec m : models) {
        entries.add(m.write());
      }
      boolean accuracy = retainHigher;
      return new Manifest.SettingEntry(forgetMetric, higherForgotten, retainMetric, retainHigher, "filtered",
          accuracy ? CELLS : List.of(), accuracy ? 0.2 : 0,
          new Manifest.AttackEntry(List.of(1e-3, 1e-4), List.of("forget", "mixture"), List.of(0L), 500, 10, 1.0,
              accuracy ? 200 : 0, accuracy ? 0 : 64, Arrays.stream(REPORT_STEPS).boxed().toList()),
          entries);
    }
  }

  /** One model to write; fields are set fluently before {@link SyntheticRun#write}. */
  final class ModelSpec {
    final Setting setting;
    final String kind;
    final String method;
    final Double alpha;
    final long seed;
    final double retain;
    final double addedFlops;
    final double[] rf;
    double forgetHalfWidth = 0.01;
    double retainHalfWidth = 0.005;
    boolean recovered = true;
    double gap = 0;
    double bound = 0.05;
    Double paperFraction;
    Double labelled;
    /** Per-run curves (relearned fractions per step) whose running best the worst case is; null: one run, rf. */
    double[][] runs;

    ModelSpec(Setting setting, String kind, String method, Double alpha, long seed, double retain, double addedFlops,
        double[] rf) {
      this.setting = setting;
      this.kind = kind;
      this.method = method;
      this.alpha = alpha;
      this.seed = seed;
      this.retain = retain;
      this.addedFlops = addedFlops;
      this.rf = rf;
    }

    String name() {
      return kind + (method == null ? "" : "_" + method) + (alpha == null ? "" : "_a" + alpha) + "_s" + seed;
    }

    ModelSpec notRecovered() {
      recovered = false;
      gap = -0.2;
      return this;
    }

    ModelSpec forgetHalfWidth(double w) {
      forgetHalfWidth = w;
      return this;
    }

    ModelSpec retainHalfWidth(double w) {
      retainHalfWidth = w;
      return this;
    }

    ModelSpec paperFraction(double f) {
      paperFraction = f;
      return this;
    }

    ModelSpec studentGap(double gap, double bound) {
      this.gap = gap;
      this.bound = bound;
      return this;
    }

    ModelSpec runs(double[]... runs) {
      this.runs = runs;
      return this;
    }

    private boolean distilled() {
      return List.of("oracle", "oracle_matching", "unlearn_distill", "undo").contains(kind);
    }

    /** A forget value of relearned fraction {@code f} with its interval, ends in the metric's order. */
    private double[] forget(double f) {
      double a = setting.value(f - forgetHalfWidth);
      double b = setting.value(f + forgetHalfWidth);
      return new double[] {setting.value(f), Math.min(a, b), Math.max(a, b)};
    }

    private Manifest.ModelEntry write() {
      Map<String, Double> metrics = new LinkedHashMap<>();
      double[] f0 = forget(rf[0]);
      if (setting.retainHigher) {
        // Every retain cell at the retain accuracy, every forget cell at the forget accuracy.
        for (String c : CELLS) {
          boolean retainCell = c.startsWith("addition") || c.startsWith("subtraction");
          double v = retainCell ? retain : f0[0];
          put(metrics, c, v, v - 0.05, v + 0.05);
        }
        put(metrics, "retain_acc", retain, retain - retainHalfWidth, retain + retainHalfWidth);
        put(metrics, "forget_acc", f0[0], f0[1], f0[2]);
        put(metrics, "eng_ce", 3.0, 2.9, 3.1);
      } else {
        put(metrics, setting.retainMetric, retain, retain - retainHalfWidth, retain + retainHalfWidth);
        put(metrics, setting.forgetMetric, f0[0], f0[1], f0[2]);
      }
      if (kind.equals("oracle_matching")) {
        metrics.put("kl_teacher", gap);
      }
      boolean filtered = kind.equals("filtered");
      Compute own = new Compute(filtered ? FILTERED_FLOPS : addedFlops, 0, 1e9, 1_000_000, 0, 1000, 100, 1);
      Compute added = new Compute(addedFlops, 0, 1e9, 1000, 0, 1000, 10, 1);
      double fraction = addedFlops / FILTERED_FLOPS;
      Manifest.Ledger ledger = new Manifest.Ledger(distilled() ? 100 : 0, 1000,
          paperFraction != null ? paperFraction : distilled() ? fraction : 0, addedFlops, 0, 0, 2e10, 1e9,
          filtered ? 0 : fraction);
      Manifest.Student student = distilled()
          ? new Manifest.Student("synthetic rule", recovered, recovered ? 100 : 400, 400, gap, bound) : null;
      Double lf = labelled != null ? labelled : filtered ? (Double) 1.0 : kind.startsWith("unlearn")
          || kind.equals("undo") ? (Double) 1e-4 : null;
      String attack = setting.name + "/attack/" + name();
      writeAttack(dir.resolve(attack));
      return new Manifest.ModelEntry(name(), kind, method, alpha, seed, setting.name + "/" + name(), attack, metrics,
          own, added, ledger, student, lf);
    }

    private void writeAttack(Path out) {
      List<Relearn.Worst> wc = new ArrayList<>();
      Map<String, Double> at = new LinkedHashMap<>();
      Map<String, Double> lo = new LinkedHashMap<>();
      Map<String, Double> hi = new LinkedHashMap<>();
      for (int i = 0; i < STEPS.length; i++) {
        double[] v = forget(rf[i]);
        wc.add(new Relearn.Worst(STEPS[i], v[0], v[1], v[2], "forget", 1e-3, 0, STEPS[i]));
        for (long r : REPORT_STEPS) {
          if (r == STEPS[i]) {
            at.put(Long.toString(r), v[0]);
            lo.put(Long.toString(r), v[1]);
            hi.put(Long.toString(r), v[2]);
          }
        }
      }
      List<Relearn.Curve> curves = new ArrayList<>();
      double[][] rs = runs == null ? new double[][] {rf} : runs;
      for (int k = 0; k < rs.length; k++) {
        List<Relearn.Point> pts = new ArrayList<>();
        for (int i = 0; i < STEPS.length; i++) {
          double[] v = forget(rs[k][i]);
          pts.add(new Relearn.Point(STEPS[i], v[0], v[1], v[2], retain));
        }
        curves.add(new Relearn.Curve("forget", k == 0 ? 1e-3 : 1e-4, 0, pts, Compute.ZERO));
      }
      Relearn.Result a = new Relearn.Result(setting.forgetMetric, setting.higherForgotten,
          setting.retainHigher ? 200 : 0, setting.retainHigher ? 0 : 64, wc, at, lo, hi, setting.value(rf[rf.length
          - 1]), null, null, new Compute(1e9, 0, 1e8, 1000, 0, 100, 10, 1), curves, null);
      try {
        Files.createDirectories(out);
        Files.writeString(out.resolve("attack.json"), Specs.MAPPER.writeValueAsString(a));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }

  private static void put(Map<String, Double> m, String key, double v, double lo, double hi) {
    m.put(key, v);
    m.put(key + "_lo", lo);
    m.put(key + "_hi", hi);
  }

  // ---- canned scenarios --------------------------------------------------------------------------------------

  static final List<String> METHODS = List.of("graddiff", "maxent", "rmu");
  static final double[] ALPHAS = {0.2, 0.4, 0.6, 0.8};

  /**
   * The paper's picture: oracle matching relearns like the base while the oracle stays near filtering; Unlearn
   * relearns within 40 steps while Unlearn-and-Distill stays near filtering; UNDO (of MaxEnt, as the pipeline's
   * undo_method) at α 0.2–0.8 with Unlearn-and-Distill at 1.0: robustness and compute grow with α, its largest α
   * is 0.05 short of filtering at 70% of the filtering compute, and UNDO keeps the most retain performance; the
   * RepNoise and SAM variants of MaxEnt relearn like Unlearn. {@code retainSign} is +1 where higher retain is
   * better, −1 where lower is.
   */
  static void paperLike(Setting s, long seed, double retainBase, double retainSign) {
    s.model("base", null, null, seed, retainBase, 0, 1, 1, 1, 1, 1);
    s.model("filtered", null, null, seed, retainBase - 0.01 * retainSign, FILTERED_FLOPS, 0, .05, .1, .15, .25);
    s.model("oracle", null, null, seed, retainBase - 0.02 * retainSign, 2e12, 0, .05, .1, .15, .25);
    s.model("oracle_matching", null, null, seed, retainBase - 0.02 * retainSign, 3e11, 0, .5, .8, .9, .95)
        .studentGap(0.01, 0.05);
    for (String m : METHODS) {
      s.model("unlearn", m, null, seed, retainBase - 0.15 * retainSign, 1e10, .05, .6, .85, .9, .95);
      s.model("unlearn_distill", m, 1.0, seed, retainBase - 0.10 * retainSign, 1.0e12, .02, .06, .12, .18, .3);
    }
    for (String v : List.of("maxent+repnoise", "maxent+sam")) {
      s.model("unlearn", v, null, seed, retainBase - 0.12 * retainSign, 1e10, .04, .5, .8, .9, .95);
    }
    for (int i = 0; i < ALPHAS.length; i++) {
      double rf500 = 0.7 - 0.4 * i / 3; // 0.7 … 0.3
      s.model("undo", "maxent", ALPHAS[i], seed, retainBase - (0.05 + 0.01 * i) * retainSign,
          (1 + 2 * i) * 1e11, .04 - 0.005 * i, rf500 * 0.4, rf500 * 0.7, rf500 * 0.85, rf500);
    }
  }
}
