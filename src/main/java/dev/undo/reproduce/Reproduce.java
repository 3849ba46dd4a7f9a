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
import dev.undo.train.Autograd;
import dev.undo.undo.Distill;
import dev.undo.unlearn.Sweep;
import dev.undo.unlearn.Unlearn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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

  /**
   * One step of the plan: an id (its folder), a name for the progress display, the steps it needs, the work, and
   * its estimated cost (forward-token equivalents: training counts 3 per token, a teacher forward 1) used to start
   * the longest remaining chain of work first.
   */
  record Step(String id, String name, List<String> deps, Runnable work, double cost) {
    Step(String id, String name, List<String> deps, Runnable work) {
      this(id, name, deps, work, 1);
    }
  }

  public static Path run(ExperimentConfig cfg, ObjectNode tree, List<String> settings, Path out, boolean progress) {
    long t0 = System.nanoTime();
    double before = previousWall(out);
    int workers = workers(cfg);
    boolean bars = progress && workers == 1; // side-by-side stages print start/done lines instead of bars
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
        planSetting(ExperimentConfig.from(t), t, setting, seed, out, list, plan, bars);
      }
    }
    execute(plan, out, workers);
    double wall = before + (System.nanoTime() - t0) / 1e9;
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
    int tok = s.pretrain().seqLen();
    double pretrainCost = 3.0 * s.pretrain().steps() * s.pretrain().batchSize() * tok;
    double distillCost = 4.0 * s.distill().maxSteps() * s.distill().batchSize() * tok;
    double omCost = 4.0 * r.oracleMatchingSteps() * s.distill().batchSize() * tok;
    double attackCost = 3.0 * s.attack().lrs().size() * s.attack().seeds().size() * s.attack().steps()
        * s.attack().batchSize() * tok;
    Model base = add(models, new Model("base", "base", null, null, seed, root + "/base", root + "/attack/base"));
    plan.add(new Step(base.stage, setting + " pretrain base", List.of(), () ->
        Pretrain.run(cfg, tree, setting, false, dir.resolve("base"), progress), pretrainCost));
    Model filtered = add(models, new Model("filtered", "filtered", null, null, seed, root + "/filtered",
        root + "/attack/filtered"));
    plan.add(new Step(filtered.stage, setting + " pretrain data-filtered", List.of(), () ->
        Pretrain.run(cfg, tree, setting, true, dir.resolve("filtered"), progress), pretrainCost));
    Model oracle = add(models, new Model("oracle", "oracle", null, null, seed, root + "/oracle",
        root + "/attack/oracle"));
    oracle.ancestors.add(root + "/filtered");
    plan.add(new Step(oracle.stage, setting + " oracle (filtered -> random init)", List.of(filtered.stage), () ->
        Distill.run(cfg, tree, dir.resolve("filtered"), new Distill.StudentInit("random", null), 1, 0,
            s.distill().stopRule(), dir.resolve("oracle"), progress), distillCost));
    Model om = add(models, new Model("oracle_matching", "oracle_matching", null, null, seed,
        root + "/oracle_matching", root + "/attack/oracle_matching"));
    om.ancestors.add(root + "/filtered");
    om.ancestors.add(root + "/oracle");
    ObjectNode omTree = tree.deepCopy();
    ConfigLoader.set(omTree, setting + ".distill.max_steps", Long.toString(r.oracleMatchingSteps()));
    ExperimentConfig omCfg = ExperimentConfig.from(omTree);
    plan.add(new Step(om.stage, setting + " oracle matching (base -> oracle outputs)",
        List.of(base.stage, oracle.stage), () ->
        Distill.run(omCfg, omTree, dir.resolve("oracle"), new Distill.StudentInit("checkpoint", dir.resolve("base")),
            0, 0, "fixed", dir.resolve("oracle_matching"), progress), omCost));

    List<String> methods = new ArrayList<>(r.methods());
    methods.addAll(r.variants());
    Map<String, Supplier<Path>> teachers = new LinkedHashMap<>();
    Map<String, String> producer = new LinkedHashMap<>(); // model name -> the step that makes it
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
      List<Double> lrs = r.sweep() ? mCfg.setting(setting).unlearn().sweepLrs(baseMethod)
          : List.of(s.unlearn().lr());
      String sweepStep = root + "/" + mDir;
      plan.add(new Step(sweepStep, setting + " unlearn " + method + " (" + lrs.size() + " LRs)", List.of(base.stage),
          () -> Sweep.run(mCfg, mTree, baseMethod, lrs, dir.resolve("base"), sweepDir, progress),
          6.0 * lrs.size() * s.unlearn().steps() * s.unlearn().batchSize() * tok));
      Model u = add(models, new Model("unlearn_" + method, "unlearn", method, null, seed, null,
          root + "/attack/unlearn_" + method.replace('+', '_')));
      u.ancestors.add(root + "/" + mDir);
      producer.put(u.name, sweepStep);
      Model uad = add(models, new Model("unlearn_distill_" + method, "unlearn_distill", method, 1.0, seed,
          root + "/unlearn_distill/" + method.replace('+', '_'),
          root + "/attack/unlearn_distill_" + method.replace('+', '_')));
      uad.ancestors.add(root + "/" + mDir);
      plan.add(new Step(uad.stage, setting + " Unlearn-and-Distill " + method, List.of(sweepStep), () ->
          Distill.run(cfg, tree, teacher.get(), new Distill.StudentInit("random", null), 1, 0, s.distill().stopRule(),
              out.resolve(uad.stage), progress), distillCost));
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
      plan.add(new Step(m.stage, setting + " UNDO " + r.undoMethod() + " alpha=" + a,
          List.of(root + "/unlearn/" + r.undoMethod().replace('+', '_')), () ->
          Distill.run(cfg, tree, teachers.get(r.undoMethod()).get(), new Distill.StudentInit("noised", null), alpha,
              s.distill().beta(), s.distill().stopRule(), out.resolve(m.stage), progress), distillCost));
    }
    // Attacks last, with one adversary for all, and the half-way threshold between filtered and base.
    Relearn.Options o = Relearn.Options.of(s.attack());
    for (Model m : new ArrayList<>(models)) {
      if (m.seed != seed) {
        continue;
      }
      List<String> deps = new ArrayList<>(List.of(base.stage, filtered.stage));
      String made = m.stage != null ? m.stage : producer.get(m.name);
      if (!deps.contains(made)) {
        deps.add(made);
      }
      plan.add(new Step(m.attack, setting + " attack " + m.name, deps, () -> {
        Path modelDir = m.stage != null ? out.resolve(m.stage) : teacherOf(out, m);
        Relearn.run(cfg, tree, modelDir, out.resolve(m.attack), o, threshold(dir, setting), progress);
      }, attackCost));
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

  /**
   * Runs the plan on {@code workers} threads: a step starts once the steps it depends on are done; among ready
   * steps, the one heading the costliest remaining chain of work starts first (ties: plan order). Each stage's
   * numbers depend only on its inputs, seed and intra-op thread count, not on what runs beside it, so the schedule
   * does not change results. Prints a line when a stage starts and ends, with
   * an ETA from the stages that did work; a failed stage stops new starts and is rethrown once the running ones end.
   */
  static void execute(List<Step> plan, Path out, int workers) {
    Set<String> ids = new HashSet<>();
    for (Step st : plan) {
      if (!ids.add(st.id())) {
        throw new IllegalStateException("two plan steps share the id " + st.id());
      }
    }
    for (Step st : plan) {
      for (String d : st.deps()) {
        if (!ids.contains(d)) {
          throw new IllegalStateException("plan step " + st.id() + " depends on unknown step " + d);
        }
      }
    }
    List<Step> order = byPriority(plan);
    double before = previousWall(out);
    long t0 = System.nanoTime();
    Object lock = new Object();
    Set<String> done = new HashSet<>();
    Set<String> started = new HashSet<>();
    List<String> running = new ArrayList<>();
    double[] work = {0, 0}; // nanos spent in stages that did work, and their estimated cost
    double[] left = {plan.stream().mapToDouble(Step::cost).sum()}; // estimated cost of the steps not done
    Throwable[] failure = {null};
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, workers), r -> {
      Thread t = new Thread(r, "reproduce-worker");
      t.setDaemon(true);
      return t;
    });
    try {
      synchronized (lock) {
        while (done.size() < plan.size()) {
          if (failure[0] == null) {
            for (Step st : order) {
              if (running.size() >= workers) {
                break;
              }
              if (started.contains(st.id()) || !done.containsAll(st.deps())) {
                continue;
              }
              started.add(st.id());
              running.add(st.name());
              System.err.printf(Locale.ROOT, "[%d/%d] start %s%s%n", started.size(), plan.size(), st.name(),
                  running.size() > 1 ? "  (running: " + String.join(", ", running) + ")" : "");
              pool.execute(() -> {
                long t = System.nanoTime();
                Throwable err = null;
                try {
                  Autograd.off(); // libtorch records gradients on new threads by default; training turns it on
                  st.work().run();
                } catch (Throwable e) {
                  err = e;
                }
                long spent = System.nanoTime() - t;
                synchronized (lock) {
                  running.remove(st.name());
                  if (err != null) {
                    if (failure[0] == null) {
                      failure[0] = err;
                    }
                  } else {
                    done.add(st.id());
                    left[0] -= st.cost();
                    if (spent > 2_000_000_000L) { // a skipped (DONE) stage takes well under a second
                      work[0] += spent;
                      work[1] += st.cost();
                    }
                    // ETA: time per unit of estimated cost so far, times the cost left, shared by the workers.
                    String eta = work[1] == 0 ? "?"
                        : duration((long) (work[0] / work[1] * Math.max(0, left[0]) / Math.max(1, workers)));
                    System.err.printf(Locale.ROOT, "[%d/%d] done  %s in %s (ETA %s)%n", done.size(), plan.size(),
                        st.name(), duration(spent), eta);
                    Json.writeAtomic(out.resolve("progress.json"), Map.of("done", done.size(), "of", plan.size(),
                        "last", st.name(), "wall_seconds", before + (System.nanoTime() - t0) / 1e9));
                  }
                  lock.notifyAll();
                }
              });
            }
          }
          if (failure[0] != null && running.isEmpty()) {
            break;
          }
          if (failure[0] == null && running.isEmpty() && done.size() < plan.size()) {
            throw new IllegalStateException("plan has steps that can never start (a dependency cycle)");
          }
          try {
            lock.wait();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for stages", e);
          }
        }
      }
    } finally {
      pool.shutdown();
    }
    if (failure[0] instanceof RuntimeException re) {
      throw re;
    }
    if (failure[0] instanceof Error er) {
      throw er;
    }
    if (failure[0] != null) {
      throw new IllegalStateException(failure[0]);
    }
  }

  /** The plan sorted by the cost of the longest chain each step starts (its own cost plus its costliest dependent's). */
  static List<Step> byPriority(List<Step> plan) {
    Map<String, Double> chain = new java.util.HashMap<>();
    // Dependents come after their dependencies in plan order, so one backward pass sees every dependent first.
    for (int i = plan.size() - 1; i >= 0; i--) {
      Step st = plan.get(i);
      double rest = 0;
      for (int j = i + 1; j < plan.size(); j++) {
        if (plan.get(j).deps().contains(st.id())) {
          rest = Math.max(rest, chain.getOrDefault(plan.get(j).id(), 0.0));
        }
      }
      chain.put(st.id(), st.cost() + rest);
    }
    List<Step> order = new ArrayList<>(plan);
    order.sort(java.util.Comparator.comparingDouble((Step st) -> -chain.get(st.id())));
    return order;
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
