package dev.undo.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a run directory by hand (manifest.json plus one attack.json per model) whose right answers are known.
 *
 * <p>Curves are given as relearned fractions per evaluated step and converted into the setting's metric with the
 * setting's own anchors (the filtered and base models' unattacked values), so a test says "this model relearns
 * 80% by step 40" and the file holds the ×÷ accuracy or Korean CE that means exactly that.
 */
final class SyntheticRun {
  static final ObjectMapper MAPPER = new ObjectMapper();
  /** Every attack evaluates these steps; the report steps are {@link #REPORT_STEPS}. */
  static final long[] STEPS = {0, 10, 40, 100, 500};
  static final long[] REPORT_STEPS = {0, 40, 500};
  /** The data-filtering pretrain's FLOPs: the unit of every compute fraction. */
  static final double FILTERED_FLOPS = 1e12;

  final Path dir;
  final ObjectNode manifest = MAPPER.createObjectNode();
  private final ObjectNode settings;
  private final List<Runnable> attacks = new ArrayList<>();
  private final java.util.Map<String, Setting> made = new java.util.HashMap<>();

  SyntheticRun(Path dir, String preset) {
    this.dir = dir;
    manifest.put("preset", preset);
    manifest.put("seed", 1234);
    manifest.putArray("seeds").add(1234);
    manifest.put("wall_seconds", 1234.5);
    settings = manifest.putObject("settings");
  }

  /** Arithmetic: ×÷ accuracy, lower = more forgotten; filtered at 0.1, base at 0.9. Same object on every call. */
  Setting arithmetic() {
    return made.computeIfAbsent("arithmetic",
        k -> new Setting(k, "forget_acc", false, "retain_acc", true, 0.1, 0.9));
  }

  /** Language: Korean CE, higher = more forgotten; filtered at 6.0, base at 2.0; retain is English CE. */
  Setting language() {
    return made.computeIfAbsent("language", k -> new Setting(k, "kor_ce", true, "eng_ce", false, 6.0, 2.0));
  }

  void write() throws IOException {
    Files.createDirectories(dir);
    attacks.forEach(Runnable::run);
    Files.writeString(dir.resolve("manifest.json"), MAPPER.writerWithDefaultPrettyPrinter()
        .writeValueAsString(manifest));
  }

  final class Setting {
    final String name;
    final double filteredValue;
    final double baseValue;
    private final ArrayNode models;

    Setting(String name, String forget, boolean higherForgotten, String retain, boolean retainHigher,
        double filteredValue, double baseValue) {
      this.name = name;
      this.filteredValue = filteredValue;
      this.baseValue = baseValue;
      ObjectNode s = settings.putObject(name);
      s.put("forget_metric", forget);
      s.put("higher_is_more_forgotten", higherForgotten);
      s.put("retain_metric", retain);
      s.put("retain_higher_is_better", retainHigher);
      s.put("reference", "filtered");
      models = s.putArray("models");
    }

    /** The metric value that is relearned fraction {@code rf} of the way from filtered to base. */
    double value(double rf) {
      return filteredValue + rf * (baseValue - filteredValue);
    }

    /**
     * Adds a model whose worst-case curve is {@code rf} (one relearned fraction per {@link #STEPS} entry).
     * {@code retain} is its retain metric, {@code addedFlops} its compute beyond the base pretrain.
     */
    ObjectNode model(String kind, String method, Double alpha, long seed, double retain, double addedFlops,
        double... rf) {
      if (rf.length != STEPS.length) {
        throw new IllegalArgumentException("one relearned fraction per step");
      }
      String name = kind + (method == null ? "" : "_" + method) + (alpha == null ? "" : "_a" + alpha) + "_s" + seed;
      String forgetMetric = settings.get(this.name).get("forget_metric").asText();
      String retainMetric = settings.get(this.name).get("retain_metric").asText();
      ObjectNode m = models.addObject();
      m.put("name", name);
      m.put("kind", kind);
      if (method == null) {
        m.putNull("method");
      } else {
        m.put("method", method);
      }
      if (alpha == null) {
        m.putNull("alpha");
      } else {
        m.put("alpha", alpha);
      }
      m.put("seed", seed);
      m.put("stage", this.name + "/" + name);
      String attackDir = this.name + "/attack/" + name;
      m.put("attack", attackDir);
      ObjectNode metrics = m.putObject("metrics");
      metrics.put(retainMetric, retain);
      metrics.put(forgetMetric, value(rf[0]));
      m.set("compute", compute(kind.equals("filtered") ? FILTERED_FLOPS : addedFlops));
      m.set("added_compute", compute(addedFlops));
      m.putNull("kl_to_teacher");
      boolean higher = settings.get(this.name).get("higher_is_more_forgotten").asBoolean();
      attacks.add(() -> writeAttack(dir.resolve(attackDir), forgetMetric, higher, rf));
      return m;
    }

    private void writeAttack(Path out, String metric, boolean higher, double[] rf) {
      ObjectNode a = MAPPER.createObjectNode();
      a.put("forget_metric", metric);
      a.put("higher_is_more_forgotten", higher);
      ArrayNode wc = a.putArray("worst_case");
      ObjectNode at = a.putObject("forget_at");
      for (int i = 0; i < STEPS.length; i++) {
        ObjectNode w = wc.addObject();
        w.put("step", STEPS[i]);
        w.put("forget", value(rf[i]));
        w.put("lr", 1e-3);
        w.put("seed", 0);
        for (long r : REPORT_STEPS) {
          if (r == STEPS[i]) {
            at.put(Long.toString(r), value(rf[i]));
          }
        }
      }
      a.put("auc", value(rf[rf.length - 1]));
      a.set("compute", compute(1e9));
      ArrayNode curves = a.putArray("curves");
      ObjectNode c = curves.addObject();
      c.put("lr", 1e-3);
      c.put("seed", 0);
      ArrayNode pts = c.putArray("points");
      for (int i = 0; i < STEPS.length; i++) {
        pts.addObject().put("step", STEPS[i]).put("forget", value(rf[i])).put("retain", 0.5);
      }
      try {
        Files.createDirectories(out);
        Files.writeString(out.resolve("attack.json"), MAPPER.writeValueAsString(a));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }

  static ObjectNode compute(double totalFlops) {
    ObjectNode c = MAPPER.createObjectNode();
    c.put("train_flops", totalFlops * 0.9);
    c.put("forward_flops", totalFlops * 0.1);
    c.put("train_tokens", 1000);
    c.put("forward_tokens", 100);
    c.put("steps", 10);
    c.put("wall_seconds", 1.0);
    c.put("total_flops", totalFlops);
    return c;
  }

  // ---- canned scenarios --------------------------------------------------------------------------------------

  static final List<String> METHODS = List.of("graddiff", "maxent", "rmu");

  /**
   * The paper's picture: oracle matching relearns like the base while the oracle stays near filtering; Unlearn
   * relearns within 40 steps while Unlearn-and-Distill stays near filtering; UNDO's robustness and compute grow
   * with α, its largest α is within 0.05 of filtering at 70% of the filtering compute, and UNDO keeps the most
   * retain performance. {@code retainSign} is +1 where higher retain is better, −1 where lower is.
   */
  static void paperLike(Setting s, long seed, double retainBase, double retainSign) {
    s.model("base", null, null, seed, retainBase, 0, 1, 1, 1, 1, 1);
    s.model("filtered", null, null, seed, retainBase - 0.01 * retainSign, FILTERED_FLOPS, 0, .05, .1, .15, .25);
    s.model("oracle", null, null, seed, retainBase - 0.02 * retainSign, 2e12, 0, .05, .1, .15, .25);
    s.model("oracle_matching", null, null, seed, retainBase - 0.02 * retainSign, 3e11, 0, .5, .8, .9, .95)
        .put("kl_to_teacher", 0.01);
    for (String m : METHODS) {
      s.model("unlearn", m, null, seed, retainBase - 0.15 * retainSign, 1e10, .05, .6, .85, .9, .95);
      s.model("unlearn_distill", m, null, seed, retainBase - 0.10 * retainSign, 1.0e12, .02, .06, .12, .18, .3);
      s.model("undo", m, 0.2, seed, retainBase - 0.05 * retainSign, 2e11, .04, .3, .5, .6, .7);
      s.model("undo", m, 0.5, seed, retainBase - 0.06 * retainSign, 4e11, .03, .15, .3, .4, .5);
      s.model("undo", m, 0.8, seed, retainBase - 0.07 * retainSign, 7e11, .02, .08, .14, .2, .3);
    }
  }
}
