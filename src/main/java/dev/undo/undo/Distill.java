package dev.undo.undo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.undo.data.Batch;
import dev.undo.data.BatchSampler;
import dev.undo.eval.Evaluator;
import dev.undo.model.Decoder;
import dev.undo.model.Init;
import dev.undo.model.Params;
import dev.undo.run.Compute;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.run.MetricsRecords;
import dev.undo.run.Provenance;
import dev.undo.run.Seeds;
import dev.undo.run.SourceModel;
import dev.undo.run.TaskSpec;
import dev.undo.stage.Stage;
import dev.undo.stage.StageContext;
import dev.undo.stage.StageSpec;
import dev.undo.task.Evaluation;
import dev.undo.task.StopRule;
import dev.undo.task.Task;
import dev.undo.task.Tasks;
import dev.undo.train.AdamW;
import dev.undo.train.Batches;
import dev.undo.train.Checkpoint;
import dev.undo.train.Losses;
import dev.undo.train.LrSchedule;
import dev.undo.train.Trainer;
import dev.undo.train.TrainingRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Distillation on outputs (docs/PROTOCOL.md §Pipeline 4): a student learns the teacher's next-token distributions by
 * forward KL(teacher ‖ student) at temperature 1, on the teacher's full pretraining mixture (forget data included:
 * only outputs teach). The student starts as
 * <ul>
 *   <li>{@code noised}: a copy of the teacher shrunk and perturbed by (α, β) — UNDO;
 *   <li>{@code random}: a fresh initialisation — Unlearn-and-Distill, and the oracle when the teacher is the
 *       data-filtered model;
 *   <li>{@code checkpoint}: another checkpoint ({@code init_from}) — e.g. the pretrained model, for oracle matching.
 * </ul>
 * It stops when the task's stop rule holds at an evaluation (the paper's: language, relative English-CE gap to the
 * teacher below the tolerance; arithmetic, mean retain-accuracy gap above −tolerance) or at {@code max_steps}.
 */
public final class Distill implements Stage<Distill.Spec, Distill.Result> {
  public static final Distill STAGE = new Distill();

  private Distill() {}

  /**
   * One distillation: teacher, where the student starts ({@code init}: noised, random or checkpoint, with
   * {@code init_from} for the last), noise (α, β), stop rule ({@code paper} or {@code fixed}) and its tolerance,
   * the loop, the evaluation, the seed.
   */
  public record Spec(Path teacher, String init, Path initFrom, double alpha, double beta, String stopRule,
      double tolerance, double matchKlBound, Loop loop, ExperimentConfig.EvalSpec eval, long seed)
      implements StageSpec {
    public Spec {
      if (!init.equals("noised") && !init.equals("random") && !init.equals("checkpoint")) {
        throw new IllegalArgumentException("distillation init must be noised, random or a checkpoint, not '"
            + init + "'");
      }
      if (init.equals("checkpoint") != (initFrom != null)) {
        throw new IllegalArgumentException("a checkpoint init needs its folder, and only it");
      }
      if (!stopRule.equals("paper") && !stopRule.equals("fixed") && !stopRule.equals("match")) {
        throw new IllegalArgumentException("distill.stop_rule must be paper, match or fixed, got '" + stopRule + "'");
      }
    }

    @Override
    public Map<String, Path> inputs() {
      Map<String, Path> m = new LinkedHashMap<>();
      m.put("teacher", teacher);
      if (initFrom != null) {
        m.put("initFrom", initFrom);
      }
      return m;
    }

    /** The spec from the run's {@code setting.distill} section. */
    public static Spec of(ExperimentConfig cfg, String setting, Path teacher, String init, Path initFrom,
        double alpha, double beta, String stopRule) {
      ExperimentConfig.DistillSpec d = cfg.setting(setting).distill();
      return new Spec(teacher, init, initFrom, alpha, beta, stopRule, d.tolerance(), d.matchKlBound(), Loop.of(d),
          cfg.setting(setting).eval(), cfg.seed());
    }

    /** The same distillation with the evaluation's summary cells fixed (reproduce: the base model's cells). */
    public Spec withSummaryCells(java.util.List<String> cells) {
      return new Spec(teacher, init, initFrom, alpha, beta, stopRule, tolerance, matchKlBound, loop,
          eval.withSummaryCells(cells), seed);
    }

    /** The same distillation with another step cap (oracle matching's fixed length). */
    public Spec withMaxSteps(long steps) {
      return new Spec(teacher, init, initFrom, alpha, beta, stopRule, tolerance, matchKlBound, new Loop(steps,
          loop.batchSize(), loop.lr(), loop.minLr(), loop.warmupSteps(), loop.evalEvery(), loop.gradClip(),
          loop.beta1(), loop.beta2(), loop.weightDecay()), eval, seed);
    }
  }

  /** The student's loop: step cap, batch, LR schedule (constant when min_lr = lr), evaluation cadence, AdamW. */
  public record Loop(long maxSteps, int batchSize, double lr, double minLr, long warmupSteps, long evalEvery,
      double gradClip, double beta1, double beta2, double weightDecay) {
    static Loop of(ExperimentConfig.DistillSpec d) {
      return new Loop(d.maxSteps(), d.batchSize(), d.lr(), d.minLr(), d.warmupSteps(), d.evalEvery(), d.gradClip(),
          d.beta1(), d.beta2(), d.weightDecay());
    }
  }

  /**
   * {@code eval.json}: the student's final metrics (with {@code kl_teacher}, its KL to the teacher on held-out
   * batches), compute, steps taken and the cap, the stop rule, whether it was met, the rule's quantity at the end
   * ({@code gap}; null for a fixed-length run), how the student started, the teacher's metrics and the student's
   * metrics at step 0 (the damage the noise did).
   */
  public record Result(String setting, Map<String, Double> metrics, Compute compute, long steps, long maxSteps,
      String rule, boolean stoppedByRule, Double gap, Double bound, String init, double alpha, double beta,
      Map<String, Double> teacher, Map<String, Double> start) {}

  /** A student's provenance pieces: its seeds, data identity and teacher (alone or in a group: the same). */
  record Lineage(Map<String, Long> seeds, Map<String, String> identity, Map<String, JsonNode> parents) {
    static Lineage of(Spec spec, long noiseSeed, long initSeed, long dataSeed, Task task, BatchSampler sampler,
        Checkpoint.Loaded teacher) {
      Map<String, Long> seeds = new LinkedHashMap<>();
      seeds.put("run", spec.seed());
      seeds.put("noise", noiseSeed);
      seeds.put("init", initSeed);
      seeds.put("data", dataSeed);
      Map<String, String> ident = new LinkedHashMap<>(task.identity());
      ident.put("mixture", sampler.mixture().describe());
      Map<String, JsonNode> parents = new LinkedHashMap<>();
      parents.put("teacher", Provenance.parent(spec.teacher().toString(), teacher.provenance()));
      return new Lineage(seeds, ident, parents);
    }
  }

  /** Held-out batches the KL to the teacher is measured on at each evaluation. */
  static final int KL_BATCHES = 2;

  @Override
  public String kind() {
    return "distill";
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
  public String lrKey(Spec spec) {
    return SourceModel.task(spec.teacher(), Checkpoint.provenance(spec.teacher())).setting() + ".distill.lr";
  }

  @Override
  public Result run(Spec spec, StageContext ctx) {
    try (NDManager m = NDManager.newBaseManager(); Checkpoint.Loaded teacher = Checkpoint.load(spec.teacher(), m);
        Decoder dec = new Decoder(teacher.config(), m)) {
      TaskSpec protocol = SourceModel.task(spec.teacher(), teacher.provenance());
      String setting = protocol.setting();
      Task task = Tasks.of(setting, protocol.data());
      Loop d = spec.loop();
      int seqLen = protocol.seqLen();
      Evaluator ev = new Evaluator(dec, teacher.tokenizer(), m, spec.eval().batchSize());
      Evaluation evaluation = task.evaluation(spec.eval(), teacher.tokenizer(), seqLen);
      Map<String, Double> teacherMetrics = teacherMetrics(ctx, evaluation, ev, teacher.params());
      long noiseSeed = Seeds.derive(spec.seed(), setting + "/distill/noise");
      long initSeed = Seeds.derive(spec.seed(), setting + "/distill/init");
      long dataSeed = Seeds.derive(spec.seed(), setting + "/distill/data");
      BatchSampler sampler = new BatchSampler(teacher.tokenizer(), task.pretrainMixture(false), d.batchSize(), seqLen,
          dataSeed);
      TrainingRun.Spec loop = TrainingRun.loop()
          .name("distill " + spec.init() + (spec.init().equals("noised")
              ? String.format(Locale.ROOT, " a=%.2f", spec.alpha()) : ""))
          .steps(d.maxSteps())
          .gradClip(d.gradClip())
          .schedule(d.minLr() < d.lr() ? LrSchedule.warmupCosine(d.lr(), d.minLr(), d.warmupSteps(), d.maxSteps())
              : LrSchedule.constant(d.lr()))
          .optimizer(new AdamW.Hyper(d.beta1(), d.beta2(), 1e-8, d.weightDecay()))
          .evalEvery(d.evalEvery())
          .checkpointEvery(d.evalEvery())
          .batchTokens((long) d.batchSize() * seqLen, seqLen)
          .forwardTokensPerStep((long) d.batchSize() * seqLen) // the teacher's pass
          .progress(ctx.progress())
          .build();
      TrainingRun.StopRule rule = switch (spec.stopRule()) {
        case "paper" -> task.distillStopRule(teacherMetrics, spec.tolerance(), spec.eval().summaryCells());
        case "match" -> matchRule(spec.matchKlBound());
        default -> null;
      };
      BatchSampler heldOut = new BatchSampler(teacher.tokenizer(), task.pretrainMixture(false), d.batchSize(), seqLen,
          Seeds.derive(spec.seed(), setting + "/distill/kl"));
      TrainingRun.Evaluation withKl = withTeacherKl(evaluation.with(ev), dec, teacher.params(), heldOut, m);
      Lineage lin = Lineage.of(spec, noiseSeed, initSeed, dataSeed, task, sampler, teacher);
      Map<String, Long> seeds = lin.seeds();
      Map<String, String> ident = lin.identity();
      Map<String, JsonNode> parents = lin.parents();
      TrainingRun.Result r = TrainingRun.job(ctx.dir(), loop, teacher.config(), teacher.tokenizer(), m)
          .init(() -> student(spec, teacher, noiseSeed, initSeed, m))
          .objective(p -> objective(dec, teacher.params(), p, sampler, m))
          .evaluation(withKl)
          .stopRule(rule)
          .resumable(ctx.acceptedFingerprints())
          .provenance(ctx.fingerprint(), c -> ctx.provenance(protocol, seeds, ident, parents, c))
          .run();
      Map<String, Double> start = MetricsRecords.firstEval(ctx.dir().metrics());
      r.params().close();
      String init = spec.init().equals("checkpoint") ? "checkpoint:" + spec.initFrom() : spec.init();
      Double gap = rule == null ? null : rule instanceof StopRule sr ? sr.gap(r.finalMetrics())
          : r.finalMetrics().get(KL);
      Double bound = spec.stopRule().equals("paper") ? (Double) spec.tolerance()
          : spec.stopRule().equals("match") ? (Double) spec.matchKlBound() : null;
      return new Result(setting, r.finalMetrics(), r.compute(), r.steps(), d.maxSteps(),
          rule == null ? "fixed length" : rule.describe(), r.stoppedByRule(), gap, bound, init, spec.alpha(),
          spec.beta(), teacherMetrics, start);
    }
  }

  /** The metric key of the KL to the teacher. */
  public static final String KL = "kl_teacher";

  /** Oracle matching's rule: the student's KL to its teacher on held-out batches is at most {@code bound}. */
  static TrainingRun.StopRule matchRule(double bound) {
    return new TrainingRun.StopRule() {
      @Override
      public boolean satisfied(Map<String, Double> m) {
        return m.get(KL) <= bound;
      }

      @Override
      public String describe() {
        return KL + " <= " + bound;
      }
    };
  }

  /**
   * The task's evaluation plus the student's forward KL to the teacher, averaged over {@link #KL_BATCHES} fixed
   * batches of the distillation mixture from their own stream (not batches the student trains on).
   */
  static TrainingRun.Evaluation withTeacherKl(TrainingRun.Evaluation base, Decoder dec, Params teacher,
      BatchSampler heldOut, NDManager m) {
    return new TrainingRun.Evaluation() {
      @Override
      public Map<String, Double> evaluate(Params p) {
        Map<String, Double> out = new LinkedHashMap<>(base.evaluate(p));
        double sum = 0;
        for (int i = 0; i < KL_BATCHES; i++) {
          try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
            Batch b = heldOut.batch(i);
            NDArray tokens = Batches.tokens(m, b);
            sum += Losses.forwardKl(dec.logits(teacher, tokens), dec.logits(p, tokens), Batches.targets(m, b))
                .getFloat();
          }
        }
        out.put(KL, sum / KL_BATCHES);
        return out;
      }

      @Override
      public long forwardTokens() {
        return base.forwardTokens() + 2L * KL_BATCHES * heldOut.batchSize() * heldOut.seqLen();
      }
    };
  }

  static Params student(Spec spec, Checkpoint.Loaded teacher, long noiseSeed, long initSeed, NDManager m) {
    switch (spec.init()) {
      case "noised": {
        Params p = teacher.params().copy(m);
        Noise.apply(p, spec.alpha(), spec.beta(), noiseSeed);
        return p;
      }
      case "random":
        return Init.random(teacher.config(), m, initSeed);
      default: {
        Checkpoint.Loaded other = Checkpoint.load(spec.initFrom(), m);
        if (!other.config().equals(teacher.config())
            || !other.tokenizer().sha256().equals(teacher.tokenizer().sha256())) {
          other.close();
          throw new IllegalArgumentException("init checkpoint " + spec.initFrom() + " has a different model shape "
              + "or tokenizer than the teacher");
        }
        if (other.optimizerState() != null) {
          other.optimizerState().values().forEach(NDArray::close);
        }
        return other.params();
      }
    }
  }

  /** Forward KL(teacher ‖ student) on a batch of the full pretraining mixture; the teacher gets no gradient. */
  static Trainer.Objective objective(Decoder dec, Params teacher, Params student, BatchSampler sampler,
      NDManager m) {
    return (step, micro, terms) -> {
      Batch b = sampler.batch(step);
      NDArray tokens = Batches.tokens(m, b);
      // The teacher's weights do not require gradients, so no graph is recorded through it.
      NDArray teacherLogits = dec.logits(teacher, tokens);
      return Losses.forwardKl(teacherLogits, dec.logits(student, tokens), Batches.targets(m, b));
    };
  }

  /** The teacher's metrics, computed once per stage and kept beside it so a resumed run does not redo them. */
  static Map<String, Double> teacherMetrics(StageContext ctx, Evaluation evaluation, Evaluator ev, Params teacher) {
    Path f = ctx.dir().file("teacher_eval.json");
    if (Files.exists(f)) {
      Map<String, Double> m = new LinkedHashMap<>();
      Json.read(f, JsonNode.class).fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asDouble()));
      return m;
    }
    Map<String, Double> m = evaluation.evaluate(ev, teacher);
    Json.writeAtomic(f, m);
    return m;
  }
}
