package dev.undo.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.Batch;
import dev.undo.data.BatchSampler;
import dev.undo.data.DocumentSource;
import dev.undo.data.Kind;
import dev.undo.data.Mixture;
import dev.undo.data.Op;
import dev.undo.data.Problem;
import dev.undo.eval.EvalSuite;
import dev.undo.eval.Evaluator;
import dev.undo.model.Decoder;
import dev.undo.model.Params;
import dev.undo.pretrain.Pretrain;
import dev.undo.run.Compute;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.run.Seeds;
import dev.undo.run.SettingData;
import dev.undo.run.SourceModel;
import dev.undo.run.StageDir;
import dev.undo.train.AdamW;
import dev.undo.train.Checkpoint;
import dev.undo.train.Listeners;
import dev.undo.train.Losses;
import dev.undo.train.LrSchedule;
import dev.undo.train.Optimizer;
import dev.undo.train.Sgd;
import dev.undo.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Relearning attacks (PAPER.md §Pipeline 5): fine-tune copies of a model on forget data at each learning rate of a
 * grid (constant LR), evaluating forget and retain every k steps. The adversary picks, at each step budget, the
 * learning rate (and seed) that restores the most: the worst case for the defender, summarised in
 * {@code attack.json}.
 *
 * <p>Attack data never contains an evaluation item: arithmetic attack streams drop any equation that is in the
 * evaluation sets (word problems are evaluated on held-out templates the stream never uses), and language attacks
 * train on the Korean training split and are scored on the held-out split.
 *
 * <p>Each (lr, seed) run writes {@code runs/<lr>_s<seed>.json} when it ends; a rerun skips finished runs.
 */
public final class Relearn {
  private Relearn() {}

  /** An attack's settings (from {@code attack:} in the preset, overridable on the command line). */
  public record Options(String data, List<Double> lrs, long steps, long evalEvery, int batchSize, String optimizer,
      List<Long> seeds, List<Long> reportSteps, int evalProblemsPerCell, int ceSequences, int loraRank, double loraAlpha) {
    public static Options of(ExperimentConfig.AttackSpec a) {
      return new Options(a.data(), a.lrs(), a.steps(), a.evalEvery(), a.batchSize(), a.optimizer(), a.seeds(),
          a.reportSteps(), a.evalProblemsPerCell(), a.ceSequences(), a.loraRank(), a.loraAlpha());
    }

    void validate() {
      if (!data.equals("forget") && !data.equals("mixture")) {
        throw new IllegalArgumentException("attack.data must be forget or mixture, got '" + data + "'");
      }
      if (!optimizer.equals("adamw") && !optimizer.equals("sgd")) {
        throw new IllegalArgumentException("attack.optimizer must be adamw or sgd, got '" + optimizer + "'");
      }
      if (lrs.isEmpty() || seeds.isEmpty()) {
        throw new IllegalArgumentException("attack.lrs and attack.seeds must not be empty");
      }
      for (double lr : lrs) {
        if (!(lr > 0)) {
          throw new IllegalArgumentException("attack.lrs: " + lr + " is not > 0");
        }
      }
      if (steps < 1 || evalEvery < 1 || batchSize < 1 || evalProblemsPerCell < 1 || ceSequences < 1 || loraRank < 0) {
        throw new IllegalArgumentException("attack.steps, eval_every, batch_size, eval_problems_per_cell, ce_sequences "
            + "must be >= 1 and lora_rank >= 0");
      }
    }
  }

  /** One evaluation of one attack run. */
  public record Point(long step, double forget, double retain) {}

  public record Curve(double lr, long seed, List<Point> points, Compute compute) {}

  /** Worst case at a step budget: the attacker's best forget value and the choice that reached it. */
  public record Worst(long step, double forget, double lr, long seed) {}

  public record Result(Path dir, String forgetMetric, boolean higherIsMoreForgotten, List<Worst> worstCase,
      Map<String, Double> forgetAt, double auc, Long stepsToThreshold, Compute compute) {}

  public static Result run(ExperimentConfig cfg, JsonNode resolved, Path model, Path out, Options o,
      Double threshold, boolean progress) {
    o.validate();
    StageDir stage = new StageDir(out);
    if (stage.isDone()) {
      return read(out);
    }
    List<Curve> curves = new ArrayList<>();
    String forgetKey;
    boolean higherForgotten;
    try (NDManager m = NDManager.newBaseManager(); Checkpoint.Loaded ck = Checkpoint.load(model, m);
        Decoder dec = new Decoder(ck.config(), m)) {
      SourceModel src = SourceModel.of(model, ck.provenance());
      String setting = src.setting();
      ExperimentConfig.Setting s = cfg.setting(setting);
      ObjectNode stageConfig = Json.MAPPER.createObjectNode();
      stageConfig.put("stage", "relearn");
      stageConfig.put("setting", setting);
      stageConfig.put("model", model.toString());
      stageConfig.set("options", Json.MAPPER.valueToTree(o));
      Json.writeAtomic(stage.config(), stageConfig);

      SettingData data = SettingData.load(setting, src.data());
      int seqLen = src.seqLen();
      ExperimentConfig.EvalSpec full = s.eval();
      EvalSuite suite = new EvalSuite(data, new ExperimentConfig.EvalSpec(o.evalProblemsPerCell(), full.seed(),
          o.ceSequences(), full.batchSize()), ck.tokenizer(), seqLen);
      Evaluator ev = new Evaluator(dec, ck.tokenizer(), m, full.batchSize());
      EvalSuite.Metric fm = suite.forgetMetric();
      EvalSuite.Metric rm = suite.retainMetric();
      forgetKey = fm.key();
      higherForgotten = fm.higherIsBetter();
      Mixture attackData = attackMixture(data, o.data(), full);
      try {
        Files.createDirectories(out.resolve("runs"));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("cannot create " + out.resolve("runs"), e);
      }
      // The step-0 point is the same for every run: evaluate the model once.
      Map<String, Double> m0 = suite.evaluate(ev, ck.params());
      Point p0 = new Point(0, m0.get(fm.key()), m0.get(rm.key()));
      long evalTokens = suite.forwardTokens(seqLen);
      for (double lr : o.lrs()) {
        for (long seed : o.seeds()) {
          Path f = out.resolve("runs").resolve(Sweepless.name(lr, seed) + ".json");
          if (Files.exists(f)) {
            curves.add(readCurve(f));
            continue;
          }
          long dataSeed = Seeds.derive(cfg.seed(), setting + "/attack/data/" + seed);
          BatchSampler sampler = new BatchSampler(ck.tokenizer(), attackData, o.batchSize(), seqLen, dataSeed);
          long t0 = System.nanoTime();
          List<Point> pts = new ArrayList<>();
          pts.add(p0);
          attackOnce(dec, ck.params(), sampler, o, lr, Seeds.derive(cfg.seed(), "attack/lora/" + seed), m,
              progress ? String.format(Locale.ROOT, "attack lr=%.0e seed=%d", lr, seed) : null,
              p -> {
                Map<String, Double> mm = suite.evaluate(ev, p.params());
                pts.add(new Point(p.step(), mm.get(fm.key()), mm.get(rm.key())));
              });
          long evals = pts.size() - 1;
          Compute c = Compute.training(ck.config(), seqLen, o.steps() * o.batchSize() * (long) seqLen, o.steps())
              .plus(Compute.forward(ck.config(), seqLen, evals * evalTokens))
              .withWallSeconds((System.nanoTime() - t0) / 1e9);
          Curve curve = new Curve(lr, seed, pts, c);
          Json.writeAtomic(f, curve);
          curves.add(curve);
        }
      }
    }
    Result r = summarise(out, forgetKey, higherForgotten, curves, o.reportSteps(), threshold);
    write(out, r, curves, threshold);
    stage.markDone();
    return r;
  }

  /** The attack's data: forget-only, or the pretraining mixture (English and all operations). */
  static Mixture attackMixture(SettingData data, String which, ExperimentConfig.EvalSpec evalSpec) {
    Mixture base = which.equals("forget") ? data.forget() : data.pretrain(false);
    if (!data.isArithmetic()) {
      return base;
    }
    Set<String> excluded = new HashSet<>();
    for (Op op : Op.values()) {
      for (Problem p : data.generator().evalSet(op, Kind.EQUATION, evalSpec.nPerCell(), evalSpec.seed())) {
        excluded.add(p.text());
      }
    }
    List<Mixture.Entry> entries = new ArrayList<>();
    for (Mixture.Entry e : base.entries()) {
      DocumentSource src = e.source();
      entries.add(new Mixture.Entry(new DocumentSource() {
        @Override
        public String next(Random rnd) {
          for (int i = 0; i < 1000; i++) {
            String d = src.next(rnd);
            if (!excluded.contains(d)) {
              return d;
            }
          }
          throw new IllegalStateException("attack data: every sampled equation is in the evaluation set; widen the "
              + "operand ranges or shrink eval.n_per_cell");
        }

        @Override
        public String name() {
          return src.name() + " minus eval equations";
        }
      }, e.probability()));
    }
    return new Mixture(entries);
  }

  /** The evaluation hook of one run: the step and the weights the attack has at that step. */
  public record At(long step, Params params) {}

  /** Runs one attack (full fine-tune or LoRA) on a copy of {@code model}; {@code onEval} sees every k-th step. */
  static void attackOnce(Decoder dec, Params model, BatchSampler sampler, Options o, double lr, long loraSeed,
      NDManager m, String task, java.util.function.Consumer<At> onEval) {
    Lora lora = null;
    Params trained;
    if (o.loraRank() > 0) {
      lora = new Lora(model, o.loraRank(), o.loraAlpha(), loraSeed, m);
      trained = lora.adapters();
    } else {
      trained = model.copy(m);
    }
    final Lora lo = lora;
    try {
      List<String> names = trained.names();
      for (String n : names) {
        trained.get(n).setRequiresGradient(true);
      }
      try (Optimizer opt = o.optimizer().equals("sgd") ? new Sgd(trained, names, m)
          : new AdamW(new AdamW.Hyper(0.9, 0.999, 1e-8, 0.0), trained, names, m)) {
        Trainer.Objective obj = (step, micro, terms) -> {
          Batch b = sampler.batch(step);
          NDArray tokens = Pretrain.tokensOf(m, b);
          Losses.Targets t = Losses.Targets.of(m, b.targets(), b.batchSize(), b.seqLen());
          Params eff = lo == null ? trained : lo.effective();
          return Losses.crossEntropy(dec.logits(eff, tokens), t);
        };
        Trainer tr = new Trainer(trained, opt, obj, new Trainer.Settings(o.steps(), 1, 0, LrSchedule.constant(lr),
            (long) o.batchSize() * sampler.seqLen()));
        tr.addListener(Listeners.every(o.evalEvery(), o.steps(), done -> {
          try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
            onEval.accept(new At(done, lo == null ? trained : lo.effective()));
          }
          return false;
        }));
        tr.addListener(Listeners.progress(task == null ? "" : task, 0, o.steps(), task != null));
        tr.run(0);
      }
    } finally {
      trained.close();
    }
  }

  /** Worst case over learning rates and seeds at every evaluated step, and the summary numbers. */
  static Result summarise(Path out, String key, boolean higherForgotten, List<Curve> curves, List<Long> reportSteps,
      Double threshold) {
    Map<Long, Worst> worst = new java.util.TreeMap<>();
    for (Curve c : curves) {
      for (Point p : c.points()) {
        Worst w = worst.get(p.step());
        // The attacker wants the least forgotten value: lowest Korean CE, highest ×÷ accuracy.
        boolean better = w == null || (higherForgotten ? p.forget() < w.forget() : p.forget() > w.forget());
        if (better) {
          worst.put(p.step(), new Worst(p.step(), p.forget(), c.lr(), c.seed()));
        }
      }
    }
    List<Worst> wc = new ArrayList<>(worst.values());
    Map<String, Double> at = new LinkedHashMap<>();
    long last = wc.get(wc.size() - 1).step();
    for (long s : reportSteps) {
      if (s > last) {
        continue;
      }
      Worst best = null;
      for (Worst w : wc) {
        if (w.step() <= s) {
          best = w;
        }
      }
      at.put(Long.toString(s), best.forget());
    }
    double area = 0;
    for (int i = 1; i < wc.size(); i++) {
      area += (wc.get(i).step() - wc.get(i - 1).step()) * (wc.get(i).forget() + wc.get(i - 1).forget()) / 2;
    }
    double auc = last == 0 ? wc.get(0).forget() : area / last;
    Long reach = null;
    if (threshold != null) {
      for (Worst w : wc) {
        if (higherForgotten ? w.forget() <= threshold : w.forget() >= threshold) {
          reach = w.step();
          break;
        }
      }
    }
    Compute total = Compute.ZERO;
    for (Curve c : curves) {
      total = total.plus(c.compute());
    }
    return new Result(out, key, higherForgotten, wc, at, auc, reach, total);
  }

  static void write(Path out, Result r, List<Curve> curves, Double threshold) {
    ObjectNode n = Json.MAPPER.createObjectNode();
    n.put("forget_metric", r.forgetMetric());
    n.put("higher_is_more_forgotten", r.higherIsMoreForgotten());
    ArrayNode wc = n.putArray("worst_case");
    for (Worst w : r.worstCase()) {
      ObjectNode o = wc.addObject();
      o.put("step", w.step());
      o.put("forget", w.forget());
      o.put("lr", w.lr());
      o.put("seed", w.seed());
    }
    ObjectNode at = n.putObject("forget_at");
    r.forgetAt().forEach(at::put);
    n.put("auc", r.auc());
    if (threshold != null) {
      n.put("threshold", threshold);
      if (r.stepsToThreshold() != null) {
        n.put("steps_to_threshold", r.stepsToThreshold());
      } else {
        n.putNull("steps_to_threshold");
      }
    }
    n.set("compute", Json.MAPPER.valueToTree(r.compute()));
    n.set("curves", Json.MAPPER.valueToTree(curves));
    Json.writeAtomic(out.resolve("attack.json"), n);
  }

  public static Result read(Path out) {
    JsonNode n = Json.read(out.resolve("attack.json"), JsonNode.class);
    List<Worst> wc = new ArrayList<>();
    n.path("worst_case").forEach(w -> wc.add(new Worst(w.get("step").asLong(), w.get("forget").asDouble(),
        w.get("lr").asDouble(), w.get("seed").asLong())));
    Map<String, Double> at = new LinkedHashMap<>();
    n.path("forget_at").fields().forEachRemaining(e -> at.put(e.getKey(), e.getValue().asDouble()));
    Long reach = n.hasNonNull("steps_to_threshold") ? n.get("steps_to_threshold").asLong() : null;
    return new Result(out, n.get("forget_metric").asText(), n.get("higher_is_more_forgotten").asBoolean(), wc, at,
        n.get("auc").asDouble(), reach, dev.undo.run.Provenance.compute(n));
  }

  /** All curves of a finished attack. */
  public static List<Curve> curves(Path out) {
    JsonNode n = Json.read(out.resolve("attack.json"), JsonNode.class);
    List<Curve> cs = new ArrayList<>();
    n.path("curves").forEach(c -> cs.add(Json.MAPPER.convertValue(c, Curve.class)));
    return cs;
  }

  static Curve readCurve(Path f) {
    return Json.read(f, Curve.class);
  }

  /** File names of runs. */
  static final class Sweepless {
    static String name(double lr, long seed) {
      return "lr" + dev.undo.run.Names.lr(lr) + "_s" + seed;
    }
  }
}
