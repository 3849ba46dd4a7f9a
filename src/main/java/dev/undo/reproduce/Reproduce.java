package dev.undo.reproduce;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.attack.Relearn;
import dev.undo.pretrain.Pretrain;
import dev.undo.run.Compute;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.run.Provenance;
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
import java.util.function.Supplier;

/**
 * The paper's experiments at our scale, as one resumable pipeline (PAPER.md §Claims). For each setting and seed:
 * pretrain the base and the data-filtered model; distill the filtered model into a random init (oracle); fine-tune
 * the base to match the oracle (oracle matching); unlearn with each method (LR sweep, teacher chosen by rule);
 * Unlearn-and-Distill each teacher; UNDO's α sweep on one method's teacher; attack every resulting model with the
 * same adversary. Each stage is a folder with a DONE marker, so a killed run picks up where it stopped. Writes
 * {@code manifest.json} (every model, its metrics, compute and attack), then the report.
 */
public final class Reproduce {
  private Reproduce() {}

  /** One step of the plan: a name for the progress display and the work. */
  record Step(String name, Runnable work) {}

  public static Path run(ExperimentConfig cfg, ObjectNode tree, List<String> settings, Path out, boolean progress) {
    long t0 = System.nanoTime();
    ExperimentConfig.ReproduceSpec r = cfg.reproduce();
    Map<String, List<Model>> models = new LinkedHashMap<>();
    List<Step> plan = new ArrayList<>();
    for (String setting : settings) {
      cfg.setting(setting); // validates the name
      List<Model> list = new ArrayList<>();
      models.put(setting, list);
      for (long seed : r.seeds()) {
        ObjectNode t = tree.deepCopy();
        t.put("seed", seed);
        planSetting(ExperimentConfig.from(t), t, setting, seed, out, list, plan, progress);
      }
    }
    execute(plan, out);
    double wall = (System.nanoTime() - t0) / 1e9 + previousWall(out);
    Json.writeAtomic(out.resolve("manifest.json"), manifest(cfg, out, models, wall));
    return out.resolve("manifest.json");
  }

  /** A model the pipeline makes, and where its stage and attack live (relative to the run folder). */
  static final class Model {
    final String name;
    final String kind;
    final String method;
    final Double alpha;
    final long seed;
    final String stage;
    final String attack;
    final List<String> ancestors = new ArrayList<>(); // stages whose compute this model needs beyond the base

    Model(String name, String kind, String method, Double alpha, long seed, String stage, String attack) {
      this.name = name;
      this.kind = kind;
      this.method = method;
      this.alpha = alpha;
      this.seed = seed;
      this.stage = stage;
      this.attack = attack;
    }
  }

  static void planSetting(ExperimentConfig cfg, ObjectNode tree, String setting, long seed, Path out,
      List<Model> models, List<Step> plan, boolean progress) {
    ExperimentConfig.Setting s = cfg.setting(setting);
    ExperimentConfig.ReproduceSpec r = cfg.reproduce();
    String root = setting + "/s" + seed;
    Path dir = out.resolve(root);
    Model base = add(models, new Model("base", "base", null, null, seed, root + "/base", root + "/attack/base"));
    plan.add(new Step(setting + " pretrain base", () ->
        Pretrain.run(cfg, tree, setting, false, dir.resolve("base"), progress)));
    Model filtered = add(models, new Model("filtered", "filtered", null, null, seed, root + "/filtered",
        root + "/attack/filtered"));
    plan.add(new Step(setting + " pretrain data-filtered", () ->
        Pretrain.run(cfg, tree, setting, true, dir.resolve("filtered"), progress)));
    Model oracle = add(models, new Model("oracle", "oracle", null, null, seed, root + "/oracle",
        root + "/attack/oracle"));
    oracle.ancestors.add(root + "/filtered");
    plan.add(new Step(setting + " oracle (filtered -> random init)", () ->
        Distill.run(cfg, tree, dir.resolve("filtered"), new Distill.StudentInit("random", null), 1, 0,
            s.distill().stopRule(), dir.resolve("oracle"), progress)));
    Model om = add(models, new Model("oracle_matching", "oracle_matching", null, null, seed,
        root + "/oracle_matching", root + "/attack/oracle_matching"));
    om.ancestors.add(root + "/filtered");
    om.ancestors.add(root + "/oracle");
    ObjectNode omTree = tree.deepCopy();
    ConfigLoader.set(omTree, setting + ".distill.max_steps", Long.toString(r.oracleMatchingSteps()));
    ExperimentConfig omCfg = ExperimentConfig.from(omTree);
    plan.add(new Step(setting + " oracle matching (base -> oracle outputs)", () ->
        Distill.run(omCfg, omTree, dir.resolve("oracle"), new Distill.StudentInit("checkpoint", dir.resolve("base")),
            0, 0, "fixed", dir.resolve("oracle_matching"), progress)));

    List<String> methods = new ArrayList<>(r.methods());
    methods.addAll(r.variants());
    Map<String, Supplier<Path>> teachers = new LinkedHashMap<>();
    for (String method : methods) {
      String[] parts = method.split("\\+");
      String baseMethod = parts[0];
      ObjectNode mTree = tree.deepCopy();
      for (int i = 1; i < parts.length; i++) {
        if (!parts[i].equals("repnoise") && !parts[i].equals("sam")) {
          throw new IllegalArgumentException("reproduce.variants: unknown add-on '" + parts[i] + "' in " + method
              + " (use repnoise or sam)");
        }
        ConfigLoader.set(mTree, setting + ".unlearn." + parts[i] + ".enabled", "true");
      }
      ExperimentConfig mCfg = ExperimentConfig.from(mTree);
      String mDir = "unlearn/" + method.replace('+', '_');
      Path sweepDir = dir.resolve(mDir);
      Supplier<Path> teacher = () -> Sweep.selected(sweepDir);
      teachers.put(method, teacher);
      List<Double> lrs = r.sweep() ? s.unlearn().sweepLrs() : List.of(s.unlearn().lr());
      plan.add(new Step(setting + " unlearn " + method + " (" + lrs.size() + " LRs)", () ->
          Sweep.run(mCfg, mTree, baseMethod, lrs, dir.resolve("base"), sweepDir, progress)));
      Model u = add(models, new Model("unlearn_" + method, "unlearn", method, null, seed, null,
          root + "/attack/unlearn_" + method.replace('+', '_')));
      u.ancestors.add(root + "/" + mDir);
      Model uad = add(models, new Model("unlearn_distill_" + method, "unlearn_distill", method, 1.0, seed,
          root + "/unlearn_distill/" + method.replace('+', '_'),
          root + "/attack/unlearn_distill_" + method.replace('+', '_')));
      uad.ancestors.add(root + "/" + mDir);
      plan.add(new Step(setting + " Unlearn-and-Distill " + method, () ->
          Distill.run(cfg, tree, teacher.get(), new Distill.StudentInit("random", null), 1, 0, s.distill().stopRule(),
              out.resolve(uad.stage), progress)));
    }
    if (!methods.contains(r.undoMethod())) {
      throw new IllegalArgumentException("reproduce.undo_method '" + r.undoMethod() + "' is not among the methods "
          + methods);
    }
    for (double alpha : s.distill().alphaSweep()) {
      String a = String.format(Locale.ROOT, "%.2f", alpha);
      Model m = add(models, new Model("undo_" + r.undoMethod() + "_a" + a, "undo", r.undoMethod(), alpha, seed,
          root + "/undo/" + r.undoMethod().replace('+', '_') + "_a" + a,
          root + "/attack/undo_" + r.undoMethod().replace('+', '_') + "_a" + a));
      m.ancestors.add(root + "/unlearn/" + r.undoMethod().replace('+', '_'));
      plan.add(new Step(setting + " UNDO " + r.undoMethod() + " alpha=" + a, () ->
          Distill.run(cfg, tree, teachers.get(r.undoMethod()).get(), new Distill.StudentInit("noised", null), alpha,
              s.distill().beta(), s.distill().stopRule(), out.resolve(m.stage), progress)));
    }
    // Attacks last, with one adversary for all, and the half-way threshold between filtered and base.
    Relearn.Options o = Relearn.Options.of(s.attack());
    for (Model m : new ArrayList<>(models)) {
      if (m.seed != seed) {
        continue;
      }
      plan.add(new Step(setting + " attack " + m.name, () -> {
        Path modelDir = m.stage != null ? out.resolve(m.stage) : teacherOf(out, m);
        Relearn.run(cfg, tree, modelDir, out.resolve(m.attack), o, threshold(dir, setting), progress);
      }));
    }
  }

  private static Model add(List<Model> models, Model m) {
    models.add(m);
    return m;
  }

  /** The selected teacher of an unlearn model (its stage is the sweep's choice). */
  static Path teacherOf(Path out, Model m) {
    return Sweep.selected(out.resolve(m.ancestors.get(0)));
  }

  /** Half-way between the data-filtered and the base model's forget metric. */
  static Double threshold(Path dir, String setting) {
    String key = setting.equals("arithmetic") ? "forget_acc" : "kor_ce";
    JsonNode b = Json.read(dir.resolve("base/eval.json"), JsonNode.class);
    JsonNode f = Json.read(dir.resolve("filtered/eval.json"), JsonNode.class);
    return (b.path("metrics").path(key).asDouble() + f.path("metrics").path(key).asDouble()) / 2;
  }

  /** Runs the plan with a "stage i of n" line and an ETA from the time of the stages that did work. */
  static void execute(List<Step> plan, Path out) {
    long workNanos = 0;
    int worked = 0;
    for (int i = 0; i < plan.size(); i++) {
      Step st = plan.get(i);
      String eta = worked == 0 ? "?" : duration((long) ((double) workNanos / worked * (plan.size() - i)));
      System.err.printf(Locale.ROOT, "[%d/%d] %s (ETA %s)%n", i + 1, plan.size(), st.name(), eta);
      long t = System.nanoTime();
      st.work().run();
      long spent = System.nanoTime() - t;
      if (spent > 2_000_000_000L) { // a skipped (DONE) stage takes well under a second
        workNanos += spent;
        worked++;
      }
      Json.writeAtomic(out.resolve("progress.json"), Map.of("done", i + 1, "of", plan.size(), "last", st.name(),
          "wall_seconds", previousWall(out) + spent / 1e9));
    }
  }

  static double previousWall(Path out) {
    Path p = out.resolve("progress.json");
    if (!Files.exists(p)) {
      return 0;
    }
    return Json.read(p, JsonNode.class).path("wall_seconds").asDouble();
  }

  static String duration(long nanos) {
    long s = nanos / 1_000_000_000L;
    return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  }

  static ObjectNode manifest(ExperimentConfig cfg, Path out, Map<String, List<Model>> models, double wall) {
    ObjectNode n = Json.MAPPER.createObjectNode();
    n.put("preset", cfg.name());
    n.put("seed", cfg.seed());
    ArrayNode seeds = n.putArray("seeds");
    cfg.reproduce().seeds().forEach(seeds::add);
    n.put("wall_seconds", wall);
    ObjectNode ss = n.putObject("settings");
    for (Map.Entry<String, List<Model>> e : models.entrySet()) {
      boolean arith = e.getKey().equals("arithmetic");
      ObjectNode so = ss.putObject(e.getKey());
      so.put("forget_metric", arith ? "forget_acc" : "kor_ce");
      so.put("higher_is_more_forgotten", !arith);
      so.put("retain_metric", arith ? "retain_acc" : "eng_ce");
      so.put("retain_higher_is_better", arith);
      so.put("reference", "filtered");
      ArrayNode arr = so.putArray("models");
      for (Model m : e.getValue()) {
        Path stageDir = m.stage != null ? out.resolve(m.stage) : teacherOf(out, m);
        JsonNode ev = Json.read(stageDir.resolve("eval.json"), JsonNode.class);
        ObjectNode o = arr.addObject();
        o.put("name", m.name);
        o.put("kind", m.kind);
        o.put("method", m.method);
        if (m.alpha == null) {
          o.putNull("alpha");
        } else {
          o.put("alpha", m.alpha);
        }
        o.put("seed", m.seed);
        o.put("stage", out.relativize(stageDir).toString());
        o.put("attack", m.attack);
        o.set("metrics", ev.path("metrics"));
        Compute own = Provenance.compute(ev);
        o.set("compute", Json.MAPPER.valueToTree(own));
        // Compute beyond the base pretrain: the stage itself plus the stages it needed (the sweep that chose an
        // unlearned teacher, the filtered model behind the oracle). An unlearned model's cost is its whole sweep.
        Compute added = m.kind.equals("unlearn") ? Compute.ZERO : own;
        for (String a : m.ancestors) {
          added = added.plus(stageCompute(out.resolve(a)));
        }
        o.set("added_compute", Json.MAPPER.valueToTree(added));
        if (m.kind.equals("oracle_matching")) {
          o.put("kl_to_teacher", lastTrainLoss(stageDir));
        } else {
          o.putNull("kl_to_teacher");
        }
      }
    }
    return n;
  }

  /** The last training loss of a stage (for a distillation: the forward KL to its teacher). */
  static double lastTrainLoss(Path stage) {
    double v = Double.NaN;
    for (JsonNode rec : dev.undo.run.MetricsLog.readAll(stage.resolve("metrics.jsonl"))) {
      if (rec.path("split").asText().equals("train")) {
        v = rec.path("loss").asDouble();
      }
    }
    return Double.isNaN(v) ? 0 : v;
  }

  /** Compute spent by a stage folder: its eval.json, or for a sweep the sum over its LR runs. */
  static Compute stageCompute(Path stage) {
    if (Files.exists(stage.resolve("eval.json"))) {
      return Provenance.compute(Json.read(stage.resolve("eval.json"), JsonNode.class));
    }
    Compute c = Compute.ZERO;
    if (Files.exists(stage.resolve("sweep.json"))) {
      for (JsonNode row : Json.read(stage.resolve("sweep.json"), JsonNode.class).path("rows")) {
        c = c.plus(Provenance.compute(Json.read(stage.resolve(row.get("dir").asText()).resolve("eval.json"),
            JsonNode.class)));
      }
    }
    return c;
  }
}
