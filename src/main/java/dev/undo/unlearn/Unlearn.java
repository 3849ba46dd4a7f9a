package dev.undo.unlearn;

import ai.djl.ndarray.NDManager;
import dev.undo.data.BatchSampler;
import dev.undo.eval.Evaluator;
import dev.undo.model.Decoder;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.run.Compute;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Provenance;
import dev.undo.run.Seeds;
import dev.undo.run.SourceModel;
import dev.undo.run.TaskSpec;
import dev.undo.stage.Stage;
import dev.undo.stage.StageContext;
import dev.undo.stage.StageSpec;
import dev.undo.task.Task;
import dev.undo.task.Tasks;
import dev.undo.train.AdamW;
import dev.undo.train.Checkpoint;
import dev.undo.train.LrSchedule;
import dev.undo.run.MetricsRecords;
import dev.undo.train.TrainingRun;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The unlearning stage (docs/PROTOCOL.md §Pipeline 2): fine-tune a copy of a pretrained model with GradDiff, MaxEnt or RMU
 * (optionally RepNoise, SAM) at a constant learning rate, no warmup. The forget and retain data are the two sides
 * of the base model's own pretraining mixture (its task protocol, not this run's preset); for arithmetic the retain
 * side is English plus + and −, so English is guarded too.
 */
public final class Unlearn implements Stage<Unlearn.Spec, Unlearn.Result> {
  public static final Unlearn STAGE = new Unlearn();

  private Unlearn() {}

  /**
   * One unlearning run: the base checkpoint, the method and learning rate, the loop and optimizer, the method's
   * loss settings (only the chosen method's block; RepNoise and SAM only when enabled), the evaluation, the seed.
   */
  public record Spec(Path base, String method, double lr, Loop loop, Loss loss, ExperimentConfig.EvalSpec eval,
      long seed) implements StageSpec {
    @Override
    public Map<String, Path> inputs() {
      return Map.of("base", base);
    }

    /** The same run with the evaluation's summary cells fixed (reproduce: the base model's cells). */
    public Spec withSummaryCells(java.util.List<String> cells) {
      return new Spec(base, method, lr, loop, loss, eval.withSummaryCells(cells), seed);
    }

    /** The spec of one run of {@code method} at {@code lr} on {@code base}, from the run's {@code setting} section. */
    public static Spec of(ExperimentConfig cfg, String setting, Path base, String method, double lr) {
      ExperimentConfig.UnlearnSpec u = cfg.setting(setting).unlearn();
      if (!(lr > 0)) {
        throw new IllegalArgumentException("unlearning learning rate must be > 0, got " + lr);
      }
      Loss loss = switch (method) {
        case "graddiff" -> new Loss(u.graddiff(), null, null, u.repnoise().enabled() ? u.repnoise() : null,
            u.repnoise().enabled() ? u.rmu().targetLayer() : null, u.sam().enabled() ? u.sam() : null);
        case "maxent" -> new Loss(null, u.maxent(), null, u.repnoise().enabled() ? u.repnoise() : null,
            u.repnoise().enabled() ? u.rmu().targetLayer() : null, u.sam().enabled() ? u.sam() : null);
        case "rmu" -> new Loss(null, null, u.rmu(), u.repnoise().enabled() ? u.repnoise() : null,
            u.repnoise().enabled() ? u.rmu().targetLayer() : null, u.sam().enabled() ? u.sam() : null);
        default -> throw new IllegalArgumentException("unknown unlearning method '" + method
            + "' (use graddiff, maxent or rmu)");
      };
      return new Spec(base, method, lr, new Loop(u.steps(), u.batchSize(), u.evalEvery(), u.gradClip(), u.beta1(),
          u.beta2(), u.weightDecay()), loss, cfg.setting(setting).eval(), cfg.seed());
    }
  }

  /** Steps, batch size (of each of the forget and retain batches), evaluation cadence, AdamW settings. */
  public record Loop(long steps, int batchSize, long evalEvery, double gradClip, double beta1, double beta2,
      double weightDecay) {}

  /**
   * The loss: exactly one of {@code graddiff, maxent, rmu}; RepNoise (with the layer whose activations it reads:
   * {@code unlearn.rmu.target_layer}, clamped to the model) and SAM when enabled.
   */
  public record Loss(ExperimentConfig.GradDiffSpec graddiff, ExperimentConfig.MaxEntSpec maxent,
      ExperimentConfig.RmuSpec rmu, ExperimentConfig.RepNoiseSpec repnoise, Integer repnoiseLayer,
      ExperimentConfig.SamSpec sam) {}

  /** {@code eval.json}: metrics after unlearning, compute, the base model's metrics ("before"), method and LR. */
  public record Result(String setting, Map<String, Double> metrics, Compute compute, Map<String, Double> before,
      String method, double lr) {}

  @Override
  public String kind() {
    return "unlearn";
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
    return SourceModel.task(spec.base(), Checkpoint.provenance(spec.base())).setting() + ".unlearn.lr (or --lr)";
  }

  @Override
  public Result run(Spec spec, StageContext ctx) {
    try (NDManager m = NDManager.newBaseManager(); Checkpoint.Loaded baseCk = Checkpoint.load(spec.base(), m)) {
      TaskSpec protocol = SourceModel.task(spec.base(), baseCk.provenance());
      String setting = protocol.setting();
      Task task = Tasks.of(setting, protocol.data());
      int seqLen = protocol.seqLen();
      Loop u = spec.loop();
      long fSeed = Seeds.derive(spec.seed(), setting + "/unlearn/forget");
      long rSeed = Seeds.derive(spec.seed(), setting + "/unlearn/retain");
      Methods.Data md = new Methods.Data(
          new BatchSampler(baseCk.tokenizer(), task.forgetMixture(), u.batchSize(), seqLen, fSeed),
          new BatchSampler(baseCk.tokenizer(), task.retainMixture(), u.batchSize(), seqLen, rSeed));
      long methodSeed = Seeds.derive(spec.seed(), setting + "/unlearn/" + spec.method());
      Methods.Method meth = method(spec, md, baseCk.params(), baseCk.config(), methodSeed);
      double samRho = spec.loss().sam() != null ? spec.loss().sam().rho() : 0;

      try (Decoder dec = new Decoder(baseCk.config(), m)) {
        Evaluator ev = new Evaluator(dec, baseCk.tokenizer(), m, spec.eval().batchSize());
        TrainingRun.Spec loop = TrainingRun.loop()
            .name("unlearn " + spec.method() + " lr=" + spec.lr())
            .steps(u.steps())
            .gradClip(u.gradClip())
            .schedule(LrSchedule.constant(spec.lr()))
            .optimizer(new AdamW.Hyper(u.beta1(), u.beta2(), 1e-8, u.weightDecay()))
            .evalEvery(u.evalEvery())
            .checkpointEvery(u.steps())
            .batchTokens(2L * u.batchSize() * seqLen, seqLen) // a forget and a retain batch
            .forwardTokensPerStep(meth.frozenForwardTokensPerStep())
            .sam(samRho)
            .progress(ctx.progress())
            .build();
        Map<String, Long> seeds = new LinkedHashMap<>();
        seeds.put("run", spec.seed());
        seeds.put("forget_data", fSeed);
        seeds.put("retain_data", rSeed);
        seeds.put("method", methodSeed);
        Map<String, String> ident = new LinkedHashMap<>(task.identity());
        ident.put("forget_mixture", md.forget().mixture().describe());
        ident.put("retain_mixture", md.retain().mixture().describe());
        TrainingRun.Result r = TrainingRun.job(ctx.dir(), loop, baseCk.config(), baseCk.tokenizer(), m)
            .init(() -> baseCk.params().copy(m))
            .trainable(meth::trainable)
            .objective(p -> meth.objective(dec, p, m))
            .evaluation(task.evaluation(spec.eval(), baseCk.tokenizer(), seqLen).with(ev))
            .resumable(ctx.acceptedFingerprints())
          .provenance(ctx.fingerprint(), c -> ctx.provenance(protocol, seeds, ident,
                Map.of("base", Provenance.parent(spec.base().toString(), baseCk.provenance())), c))
            .run();
        Map<String, Double> before = MetricsRecords.firstEval(ctx.dir().metrics());
        r.params().close();
        return new Result(setting, r.finalMetrics(), r.compute(), before, spec.method(), spec.lr());
      }
    }
  }

  /** Builds the spec's method; rejects settings a method does not use. */
  static Methods.Method method(Spec spec, Methods.Data md, Params frozen, ModelConfig mc, long seed) {
    Loss l = spec.loss();
    Methods.RepNoise rep = l.repnoise() == null ? null : new Methods.RepNoise(l.repnoise().weight(),
        l.repnoise().noiseStd(), Math.min(l.repnoiseLayer(), mc.numLayers() - 1), seed ^ 0x5EED,
        l.repnoise().samples(), l.repnoise().bandwidth());
    return switch (spec.method()) {
      case "graddiff" -> Methods.gradDiff(md, l.graddiff().retainWeight(), rep);
      case "maxent" -> Methods.maxEnt(md, l.maxent().retainWeight(), rep);
      case "rmu" -> Methods.rmu(md, frozen, l.rmu().layers(), l.rmu().targetLayer(), l.rmu().steeringCoef(),
          l.rmu().retainWeight(), seed, rep, mc);
      default -> throw new IllegalArgumentException("unknown unlearning method '" + spec.method()
          + "' (use graddiff, maxent or rmu)");
    };
  }
}
