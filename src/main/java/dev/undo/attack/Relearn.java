package dev.undo.attack;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.Batch;
import dev.undo.data.BatchSampler;
import dev.undo.data.Mixture;
import dev.undo.eval.Evaluator;
import dev.undo.model.Decoder;
import dev.undo.model.Params;
import dev.undo.run.Compute;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.run.Names;
import dev.undo.run.Provenance;
import dev.undo.run.Seeds;
import dev.undo.run.SourceModel;
import dev.undo.run.TaskSpec;
import dev.undo.stage.Stage;
import dev.undo.stage.StageContext;
import dev.undo.stage.Specs;
import dev.undo.stage.StageSpec;
import dev.undo.task.Evaluation;
import dev.undo.task.Metric;
import dev.undo.task.Task;
import dev.undo.task.Tasks;
import dev.undo.train.AdamW;
import dev.undo.train.Batches;
import dev.undo.train.Checkpoint;
import dev.undo.train.Listeners;
import dev.undo.train.Losses;
import dev.undo.train.LrSchedule;
import dev.undo.train.Optimizer;
import dev.undo.train.Sgd;
import dev.undo.train.Trainer;
import dev.undo.train.DivergedException;
import dev.undo.train.EnsembleAdamW;
import dev.undo.train.EnsembleLosses;
import dev.undo.train.EnsembleOptimizer;
import dev.undo.train.EnsembleSgd;
import dev.undo.train.EnsembleTrainer;
import dev.undo.model.EnsembleDecoder;
import dev.undo.model.EnsembleParams;
import dev.undo.eval.EnsembleEvaluator;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Relearning attacks (docs/PROTOCOL.md §Pipeline 5): fine-tune copies of a model on forget data at each learning rate of a
 * grid (constant LR), evaluating forget and retain every k steps. The adversary picks, at each step budget, the
 * learning rate (and seed) that restores the most: the worst case for the defender, summarised in
 * {@code attack.json}.
 *
 * <p>Attack data never contains an evaluation item: arithmetic attack streams drop any equation that is in the
 * evaluation sets (word problems are evaluated on held-out templates the stream never uses), and language attacks
 * train on the Korean training split and are scored on the held-out split.
 *
 * <p>Each (lr, seed) run writes {@code runs/<lr>_s<seed>.json} when it ends; a rerun skips finished runs.
 * {@code attack_timing.json} says where this process's wall time went (training or evaluation: {@link Timing}).
 */
public final class Relearn implements Stage<Relearn.Spec, Relearn.Result> {
  public static final Relearn STAGE = new Relearn();

  private Relearn() {}

  /**
   * One attack on one model: the attacker's settings ({@code attack:} in the preset), the stage evaluation whose
   * items the attack data must avoid, an optional forget value whose first crossing is reported, and the seed.
   */
  public record Spec(Path model, ExperimentConfig.AttackSpec attack, ExperimentConfig.EvalSpec eval, Double threshold,
      long seed) implements StageSpec {
    @Override
    public Map<String, Path> inputs() {
      return Map.of("model", model);
    }

    /** The same attack with the evaluation's summary cells fixed (reproduce: the base model's cells). */
    public Spec withSummaryCells(List<String> cells) {
      return new Spec(model, attack, eval.withSummaryCells(cells), threshold, seed);
    }

    public static Spec of(ExperimentConfig cfg, String setting, Path model, Double threshold) {
      return new Spec(model, cfg.setting(setting).attack(), cfg.setting(setting).eval(), threshold, cfg.seed());
    }
  }

  /** One evaluation of one attack run: the forget metric with its interval, and the retain metric. */
  public record Point(long step, double forget, double lo, double hi, double retain) {}

  /** One attack run: the data it trained on, its learning rate and seed, its evaluations and compute. */
  public record Curve(String data, double lr, long seed, List<Point> points, Compute compute) {}

  /**
   * The adversary's best result within a step budget: the least-forgotten value (with its interval) over every
   * run and every evaluation at or before {@code step}, which run reached it and at which step ({@code at}).
   */
  public record Worst(long step, double forget, double lo, double hi, String data, double lr, long seed, long at) {}

  /**
   * {@code attack.json}: the forget metric and its direction, the items (accuracy) or windows (CE) one evaluation
   * scores, the worst case at every evaluated step and at the report steps (with intervals), its area under the
   * curve (per step), the first step at which it crossed the threshold (when one was given), compute, every curve,
   * and provenance.
   */
  public record Result(String forgetMetric, boolean higherIsMoreForgotten, int evalItems, int evalWindows,
      List<Worst> worstCase, Map<String, Double> forgetAt, Map<String, Double> forgetAtLo,
      Map<String, Double> forgetAtHi, double auc, @JsonInclude(JsonInclude.Include.NON_NULL) Double threshold,
      @JsonInclude(JsonInclude.Include.NON_NULL) Long stepsToThreshold, Compute compute, List<Curve> curves,
      JsonNode provenance) {}

  /**
   * {@code attack_timing.json}: wall seconds this process spent on the attack, split by phase — the model's step-0
   * evaluation (shared by every run), the evaluations during the runs, and everything else of the runs (training:
   * sampling, forward, backward, optimizer, copying weights). {@code path} is "ensemble" (all runs as one, {@code
   * attack.batched}) or "sequential"; {@code runs} counts the runs trained here (a resumed attack skips finished
   * ones). Diagnostics ({@code undo bench --attack} reads it): no result depends on it.
   */
  public record Timing(String path, int runs, double baseEvalSeconds, double trainSeconds, double evalSeconds) {
    public static final String FILE = "attack_timing.json";

    public static Timing read(Path stageDir) {
      return Specs.MAPPER.convertValue(Json.read(stageDir.resolve(FILE), JsonNode.class), Timing.class);
    }
  }

  @Override
  public String kind() {
    return "relearn";
  }

  @Override
  public Class<Spec> specType() {
    return Spec.class;
  }

  @Override
  public Class<Result> resultType() {
    return Result.class;
  }

  @Override
  public String resultFile() {
    return "attack.json";
  }

  @Override
  public Result run(Spec spec, StageContext ctx) {
    ExperimentConfig.AttackSpec o = spec.attack();
    Path out = ctx.dir().path();
    List<Curve> curves = new ArrayList<>();
    Metric fm;
    ObjectNode provenance;
    Evaluation suite;
    try (NDManager m = NDManager.newBaseManager(); Checkpoint.Loaded ck = Checkpoint.load(spec.model(), m);
        Decoder dec = new Decoder(ck.config(), m)) {
      TaskSpec protocol = SourceModel.task(spec.model(), ck.provenance());
      Task task = Tasks.of(protocol.setting(), protocol.data());
      int seqLen = protocol.seqLen();
      ExperimentConfig.EvalSpec full = spec.eval();
      suite = task.attackEvaluation(full.withSizes(o.evalProblemsPerCell(), o.ceSequences()), ck.tokenizer(), seqLen);
      Evaluator ev = new Evaluator(dec, ck.tokenizer(), m, full.batchSize());
      fm = task.forgetMetric();
      Metric rm = task.retainMetric();
      try {
        Files.createDirectories(out.resolve("runs"));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("cannot create " + out.resolve("runs"), e);
      }
      // The step-0 point is the same for every run: evaluate the model once.
      long e0 = System.nanoTime();
      Map<String, Double> m0 = suite.evaluate(ev, ck.params());
      double baseEvalSeconds = (System.nanoTime() - e0) / 1e9;
      Point p0 = point(0, m0, fm, rm);
      long evalTokens = suite.forwardTokens();
      Map<String, Long> seeds = new LinkedHashMap<>();
      seeds.put("run", spec.seed());
      Map<String, String> ident = new LinkedHashMap<>(task.identity());
      // Every (data, LR, seed) run the adversary may choose; finished ones (a resumed attack) are read back.
      List<Run> pending = new ArrayList<>();
      Map<String, Curve> done = new LinkedHashMap<>();
      Map<String, Mixture> mixtures = new LinkedHashMap<>();
      for (String data : o.data()) {
        Mixture attackData = task.attackMixture(data, full);
        mixtures.put(data, attackData);
        ident.put("attack_mixture_" + data, attackData.describe());
        for (double lr : o.lrs()) {
          for (long seed : o.seeds()) {
            long dataSeed = Seeds.derive(spec.seed(), protocol.setting() + "/attack/data/" + seed
                + (data.equals("forget") ? "" : "/" + data));
            seeds.put("data/" + data + "/" + seed, dataSeed);
            Run run = new Run(data, lr, seed, dataSeed, out.resolve("runs").resolve(runName(data, lr, seed) + ".json"));
            if (Files.exists(run.file())) {
              done.put(run.file().toString(), Json.read(run.file(), Curve.class));
            } else {
              pending.add(run);
            }
          }
        }
      }
      Attack attack = new Attack(ck, dec, m, o, seqLen, suite, p0, fm, rm, evalTokens, spec.seed(), ctx.progress());
      boolean together = o.batched() && o.loraRank() == 0 && pending.size() > 1;
      long t0 = System.nanoTime();
      if (together) {
        attack.together(pending, mixtures, full.batchSize()).forEach(c -> done.put(c.file, c.curve));
      } else {
        for (Run run : pending) {
          done.put(run.file().toString(), attack.alone(run, mixtures.get(run.data()), ev));
        }
      }
      double runsSeconds = (System.nanoTime() - t0) / 1e9;
      double evalSeconds = attack.evalNanos / 1e9;
      Json.writeStringAtomic(out.resolve(Timing.FILE), Specs.MAPPER.valueToTree(new Timing(together ? "ensemble"
          : "sequential", pending.size(), baseEvalSeconds, runsSeconds - evalSeconds, evalSeconds)).toPrettyString()
          + "\n");
      // Curves in the configured order (data, LR, seed), whatever order they finished in.
      for (String data : o.data()) {
        for (double lr : o.lrs()) {
          for (long seed : o.seeds()) {
            curves.add(done.get(out.resolve("runs").resolve(runName(data, lr, seed) + ".json").toString()));
          }
        }
      }
      provenance = ctx.provenance(protocol, seeds, ident,
          Map.of("model", Provenance.parent(spec.model().toString(), ck.provenance())), Compute.ZERO);
    }
    Summary s = summarise(fm.higherIsBetter(), curves, o.reportSteps(), spec.threshold());
    Compute total = Compute.ZERO;
    for (Curve c : curves) {
      total = total.plus(c.compute());
    }
    provenance.set("compute", Json.MAPPER.valueToTree(total));
    return new Result(fm.key(), fm.higherIsBetter(), suite.forgetItems(), suite.windows(), s.worstCase(),
        s.forgetAt(), s.forgetAtLo(), s.forgetAtHi(), s.auc(), spec.threshold(),
        spec.threshold() == null ? null : s.stepsToThreshold(), total, curves, provenance);
  }

  /** An evaluation as a curve point: the forget metric with its interval, and the retain metric. */
  static Point point(long step, Map<String, Double> m, Metric forget, Metric retain) {
    return new Point(step, forget.of(m), m.getOrDefault(forget.key() + "_lo", Double.NaN),
        m.getOrDefault(forget.key() + "_hi", Double.NaN), retain.of(m));
  }

  /** One attack run the adversary may choose: data, LR, seed, its data stream's seed, and its result file. */
  record Run(String data, double lr, long seed, long dataSeed, Path file) {}

  /** A finished run and its file. */
  record Done(String file, Curve curve) {}

  /**
   * The runs of one attack on one model: {@link #alone} trains them one at a time (and is the only way for LoRA);
   * {@link #together} trains all of them as one ensemble — every run a member with its own data stream, learning
   * rate, clipping and optimizer state, one batched forward and backward per step and one batched evaluation —
   * which gives each run's curve as alone would (up to float rounding of batched products). It saves per-op
   * overhead, not arithmetic, and accuracy problems are still decoded member by member: on CPU at one thread it is
   * no faster (BENCHMARKS.md, "Relearning attack: sequential vs ensemble"; {@code undo bench --attack}).
   */
  final class Attack {
    final Checkpoint.Loaded ck;
    final Decoder dec;
    final NDManager m;
    final ExperimentConfig.AttackSpec o;
    final int seqLen;
    final Evaluation suite;
    final Point p0;
    final Metric fm;
    final Metric rm;
    final long evalTokens;
    final long runSeed;
    final boolean progress;
    /** Wall time spent in evaluations during the runs (for {@link Timing}). */
    long evalNanos;

    Attack(Checkpoint.Loaded ck, Decoder dec, NDManager m, ExperimentConfig.AttackSpec o, int seqLen,
        Evaluation suite, Point p0, Metric fm, Metric rm, long evalTokens, long runSeed, boolean progress) {
      this.ck = ck;
      this.dec = dec;
      this.m = m;
      this.o = o;
      this.seqLen = seqLen;
      this.suite = suite;
      this.p0 = p0;
      this.fm = fm;
      this.rm = rm;
      this.evalTokens = evalTokens;
      this.runSeed = runSeed;
      this.progress = progress;
    }

    Curve alone(Run run, Mixture data, Evaluator ev) {
      BatchSampler sampler = new BatchSampler(ck.tokenizer(), data, o.batchSize(), seqLen, run.dataSeed());
      long t0 = System.nanoTime();
      List<Point> pts = new ArrayList<>();
      pts.add(p0);
      long steps = attackOnce(dec, ck.params(), sampler, o, run.lr(), Seeds.derive(runSeed, "attack/lora/" + run.seed()),
          m, progress ? String.format(Locale.ROOT, "attack %s lr=%.0e seed=%d", run.data(), run.lr(), run.seed())
              : null,
          p -> {
            long e0 = System.nanoTime();
            pts.add(point(p.step(), suite.evaluate(ev, p.params()), fm, rm));
            evalNanos += System.nanoTime() - e0;
          });
      Curve curve = new Curve(run.data(), run.lr(), run.seed(), pts, compute(steps, pts.size() - 1)
          .withWallSeconds((System.nanoTime() - t0) / 1e9));
      Json.writeAtomic(run.file(), curve);
      return curve;
    }

    Compute compute(long steps, long evals) {
      return Compute.training(ck.config(), seqLen, steps * o.batchSize() * (long) seqLen, steps)
          .plus(Compute.evaluation(ck.config(), seqLen, evals * evalTokens));
    }

    List<Done> together(List<Run> runs, Map<String, Mixture> mixtures, int evalBatch) {
      int k = runs.size();
      long t0 = System.nanoTime();
      BatchSampler[] samplers = new BatchSampler[k];
      LrSchedule[] schedules = new LrSchedule[k];
      long[] stepsOf = new long[k];
      double[] clip = new double[k];
      List<List<Point>> pts = new ArrayList<>();
      for (int j = 0; j < k; j++) {
        Run r = runs.get(j);
        samplers[j] = new BatchSampler(ck.tokenizer(), mixtures.get(r.data()), o.batchSize(), seqLen, r.dataSeed());
        schedules[j] = LrSchedule.constant(r.lr());
        stepsOf[j] = o.steps();
        clip[j] = o.gradClip();
        pts.add(new ArrayList<>(List.of(p0)));
      }
      long[] trained = new long[k];
      try (EnsembleParams ens = EnsembleParams.replicate(ck.params(), k, m);
          EnsembleDecoder edec = new EnsembleDecoder(ck.config(), k, m)) {
        List<String> names = ens.names();
        ens.requireGradients();
        EnsembleEvaluator eev = new EnsembleEvaluator(edec, ck.tokenizer(), m, evalBatch);
        boolean[] alive = EnsembleTrainer.allActive(k);
        try (EnsembleOptimizer opt = o.optimizer().equals("sgd") ? new EnsembleSgd(ens, names, m)
            : new EnsembleAdamW(new AdamW.Hyper(o.beta1(), o.beta2(), 1e-8, 0.0), ens, names, m)) {
          int b = o.batchSize();
          EnsembleTrainer.Objective obj = (step, micro, active, terms) -> {
            long[] in = new long[k * b * seqLen];
            int[][] tg = new int[k][];
            for (int j = 0; j < k; j++) {
              Batch batch = samplers[j].batch(step);
              int[] ids = batch.inputs();
              for (int i = 0; i < ids.length; i++) {
                in[j * ids.length + i] = ids[i];
              }
              tg[j] = batch.targets();
            }
            NDArray tokens = m.create(in, new Shape(k, b, seqLen));
            return EnsembleLosses.crossEntropy(edec.logits(ens, tokens), EnsembleLosses.Targets.of(m, tg, b, seqLen));
          };
          EnsembleTrainer tr = new EnsembleTrainer(ens, opt, obj, new EnsembleTrainer.Settings(stepsOf, 1, clip,
              schedules, (long) b * seqLen, true));
          tr.addListener(new EnsembleTrainer.Listener() {
            @Override
            public void afterStep(EnsembleTrainer.StepResult r, boolean[] stop) {
              long doneSteps = r.step() + 1;
              for (int j = 0; j < k; j++) {
                if (r.active()[j] && !r.diverged()[j]) {
                  trained[j] = doneSteps;
                }
                alive[j] &= !r.diverged()[j];
              }
              if (doneSteps % o.evalEvery() == 0 || doneSteps == o.steps()) {
                long e0 = System.nanoTime();
                try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
                  List<Map<String, Double>> ms = suite.evaluate(eev.scorer(ens));
                  for (int j = 0; j < k; j++) {
                    // A diverged run keeps the evaluations it had: the adversary would not pick a broken model.
                    if (alive[j]) {
                      pts.get(j).add(point(doneSteps, ms.get(j), fm, rm));
                    }
                  }
                }
                evalNanos += System.nanoTime() - e0;
              }
            }
          });
          tr.addListener(ensembleProgress(progress ? "attack x" + k : null, o.steps()));
          tr.run(new long[k]);
        }
      }
      double wall = (System.nanoTime() - t0) / 1e9;
      List<Done> out = new ArrayList<>();
      for (int j = 0; j < k; j++) {
        Run r = runs.get(j);
        Curve curve = new Curve(r.data(), r.lr(), r.seed(), pts.get(j),
            compute(trained[j], pts.get(j).size() - 1).withWallSeconds(wall / k));
        Json.writeAtomic(r.file(), curve);
        out.add(new Done(r.file().toString(), curve));
      }
      return out;
    }
  }

  /** A progress bar over the ensemble's steps (quiet when {@code task} is null). */
  static EnsembleTrainer.Listener ensembleProgress(String task, long steps) {
    Trainer.Listener single = Listeners.progress(task == null ? "" : task, 0, steps, task != null);
    return new EnsembleTrainer.Listener() {
      @Override
      public void afterStep(EnsembleTrainer.StepResult r, boolean[] stop) {
        single.afterStep(new Trainer.StepResult(r.step(), r.lr()[0], r.loss()[0], r.gradNorm()[0], Map.of(), 0));
      }

      @Override
      public void onEnd(long[] lastStep, boolean[] stoppedEarly) {
        single.onEnd(lastStep[0], false);
      }
    };
  }

  /** The evaluation hook of one run: the step and the weights the attack has at that step. */
  public record At(long step, Params params) {}

  /**
   * Runs one attack (full fine-tune or LoRA) on a copy of {@code model}; {@code onEval} sees every k-th step.
   * Returns the steps trained: a run that diverges stops there (its weights before the bad step are its last
   * evaluation's), since a learning rate that diverges is just a bad choice of the attacker.
   */
  static long attackOnce(Decoder dec, Params model, BatchSampler sampler, ExperimentConfig.AttackSpec o, double lr,
      long loraSeed,
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
          : new AdamW(new AdamW.Hyper(o.beta1(), o.beta2(), 1e-8, 0.0), trained, names, m)) {
        Trainer.Objective obj = (step, micro, terms) -> {
          Batch b = sampler.batch(step);
          Params eff = lo == null ? trained : lo.effective();
          return Losses.crossEntropy(dec.logits(eff, Batches.tokens(m, b)), Batches.targets(m, b));
        };
        Trainer tr = new Trainer(trained, opt, obj, new Trainer.Settings(o.steps(), 1, o.gradClip(), LrSchedule.constant(lr),
            (long) o.batchSize() * sampler.seqLen()));
        tr.addListener(Listeners.every(o.evalEvery(), o.steps(), done -> {
          try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
            onEval.accept(new At(done, lo == null ? trained : lo.effective()));
          }
          return false;
        }));
        tr.addListener(Listeners.progress(task == null ? "" : task, 0, o.steps(), task != null));
        try {
          return tr.run(0) + 1;
        } catch (DivergedException e) {
          return e.step();
        }
      }
    } finally {
      trained.close();
    }
  }

  /** The worst case over the attacker's choices and the numbers summarising it. */
  record Summary(List<Worst> worstCase, Map<String, Double> forgetAt, Map<String, Double> forgetAtLo,
      Map<String, Double> forgetAtHi, double auc, Long stepsToThreshold) {}

  /**
   * The adversary's best result within each step budget: at every evaluated step s, the least-forgotten value over
   * all runs and all their evaluations at steps ≤ s (an attacker who can stop at any evaluation keeps the best model
   * so far). It can only become less forgotten as s grows. The report steps read it at the largest evaluated step
   * ≤ the report step; the AUC is its trapezoid average over the attack.
   */
  static Summary summarise(boolean higherForgotten, List<Curve> curves, List<Long> reportSteps, Double threshold) {
    java.util.TreeMap<Long, Worst> atStep = new java.util.TreeMap<>();
    for (Curve c : curves) {
      for (Point p : c.points()) {
        Worst w = atStep.get(p.step());
        // The attacker wants the least forgotten value: lowest Korean CE, highest ×÷ accuracy.
        if (w == null || (higherForgotten ? p.forget() < w.forget() : p.forget() > w.forget())) {
          atStep.put(p.step(), new Worst(p.step(), p.forget(), p.lo(), p.hi(), c.data(), c.lr(), c.seed(),
              p.step()));
        }
      }
    }
    List<Worst> wc = new ArrayList<>();
    Worst best = null;
    for (Worst w : atStep.values()) {
      if (best == null || (higherForgotten ? w.forget() < best.forget() : w.forget() > best.forget())) {
        best = w;
      }
      wc.add(new Worst(w.step(), best.forget(), best.lo(), best.hi(), best.data(), best.lr(), best.seed(),
          best.at()));
    }
    Map<String, Double> at = new LinkedHashMap<>();
    Map<String, Double> lo = new LinkedHashMap<>();
    Map<String, Double> hi = new LinkedHashMap<>();
    long last = wc.get(wc.size() - 1).step();
    for (long s : reportSteps) {
      if (s > last) {
        continue;
      }
      Worst w = null;
      for (Worst x : wc) {
        if (x.step() <= s) {
          w = x;
        }
      }
      at.put(Long.toString(s), w.forget());
      lo.put(Long.toString(s), w.lo());
      hi.put(Long.toString(s), w.hi());
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
    return new Summary(wc, at, lo, hi, auc, reach);
  }

  /** The file name of one (data, LR, seed) run under {@code runs/}. */
  static String runName(String data, double lr, long seed) {
    return data + "_lr" + Names.lr(lr) + "_s" + seed;
  }
}
