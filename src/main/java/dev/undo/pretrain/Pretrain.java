package dev.undo.pretrain;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.undo.data.Batch;
import dev.undo.data.BatchSampler;
import dev.undo.data.Tokenizer;
import dev.undo.eval.Evaluator;
import dev.undo.model.Decoder;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.run.Compute;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Seeds;
import dev.undo.run.TaskSpec;
import dev.undo.stage.Stage;
import dev.undo.stage.StageContext;
import dev.undo.stage.StageSpec;
import dev.undo.task.Task;
import dev.undo.task.Tasks;
import dev.undo.train.AdamW;
import dev.undo.train.Batches;
import dev.undo.train.Checkpoint;
import dev.undo.train.Losses;
import dev.undo.train.LrSchedule;
import dev.undo.train.Trainer;
import dev.undo.train.TrainingRun;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Pretraining from scratch (docs/PROTOCOL.md §Pipeline 1): AdamW, warmup then cosine to min_lr, grad clip, packed
 * sequences drawn from the task's mixture. With {@code filterForget} the forget data is left out of the mixture:
 * the data-filtering gold standard every robustness number is compared with.
 *
 * <p>Writes a stage folder (see {@code stage/StageRunner}): config.json, metrics.jsonl, checkpoint/, eval.json
 * ({@link Result}), DONE.
 */
public final class Pretrain implements Stage<Pretrain.Spec, Pretrain.Result> {
  public static final Pretrain STAGE = new Pretrain();

  private Pretrain() {}

  /** Everything that shapes a pretrained model: the task's data, the model shape, the loop, the evaluation, the seed. */
  public record Spec(String setting, JsonNode data, ExperimentConfig.ModelSpec model, ExperimentConfig.TrainSpec train,
      ExperimentConfig.EvalSpec eval, long seed, boolean filterForget) implements StageSpec {
    /** The spec of {@code setting} in a resolved configuration. */
    public static Spec of(ExperimentConfig cfg, String setting, boolean filterForget) {
      ExperimentConfig.Setting s = cfg.setting(setting);
      return new Spec(setting, s.data(), cfg.model(), s.pretrain(), s.eval(), cfg.seed(), filterForget);
    }
  }

  /** {@code eval.json}: final metrics (as {@code undo eval --json}) and compute. */
  public record Result(String setting, Map<String, Double> metrics, Compute compute) {}

  @Override
  public String kind() {
    return "pretrain";
  }

  @Override
  public Class<Spec> specType() {
    return Spec.class;
  }

  @Override
  public Class<Result> resultType() {
    return Result.class;
  }

  /** The corpora are named by path in the spec; their contents enter the fingerprint. */
  @Override
  public Map<String, String> identity(Spec spec) {
    return Tasks.of(spec.setting(), spec.data()).identity();
  }

  @Override
  public String lrKey(Spec spec) {
    return spec.setting() + ".pretrain.lr";
  }

  @Override
  public Result run(Spec spec, StageContext ctx) {
    ExperimentConfig.TrainSpec t = spec.train();
    Task task = Tasks.of(spec.setting(), spec.data());
    String setting = spec.setting();
    boolean filter = spec.filterForget();
    Tokenizer tok = Checkpoint.exists(ctx.dir().checkpoint())
        ? Tokenizer.load(Checkpoint.resolve(ctx.dir().checkpoint()).resolve(Checkpoint.TOKENIZER))
        : task.buildTokenizer();
    ModelConfig mc = modelConfig(spec.model(), tok.vocabSize(), t.seqLen());
    long initSeed = Seeds.derive(spec.seed(), setting + "/pretrain/init");
    long dataSeed = Seeds.derive(spec.seed(), setting + "/pretrain/data" + (filter ? "/filtered" : ""));
    BatchSampler sampler = new BatchSampler(tok, task.pretrainMixture(filter), t.batchSize(), t.seqLen(), dataSeed);

    try (NDManager m = NDManager.newBaseManager(); Decoder dec = new Decoder(mc, m)) {
      Evaluator ev = new Evaluator(dec, tok, m, spec.eval().batchSize());
      TrainingRun.Spec loop = TrainingRun.loop()
          .name((filter ? "pretrain-filtered " : "pretrain ") + setting)
          .steps(t.steps())
          .gradAccum(t.gradAccum())
          .gradClip(t.gradClip())
          .schedule(LrSchedule.warmupCosine(t.lr(), t.minLr(), t.warmupSteps(), t.steps()))
          .optimizer(new AdamW.Hyper(t.beta1(), t.beta2(), 1e-8, t.weightDecay()))
          .evalEvery(t.evalEvery())
          .checkpointEvery(t.checkpointEvery())
          .batchTokens((long) t.batchSize() * t.seqLen(), t.seqLen())
          .progress(ctx.progress())
          .build();
      Map<String, Long> seeds = new LinkedHashMap<>();
      seeds.put("run", spec.seed());
      seeds.put("init", initSeed);
      seeds.put("data", dataSeed);
      Map<String, String> ident = new LinkedHashMap<>(task.identity());
      ident.put("tokenizer_sha256", tok.sha256());
      ident.put("mixture", sampler.mixture().describe());
      TaskSpec protocol = new TaskSpec(setting, spec.data(), t.seqLen());
      TrainingRun.Result r = TrainingRun.job(ctx.dir(), loop, mc, tok, m)
          .init(() -> Init.random(mc, m, initSeed))
          .objective(p -> objective(dec, p, sampler, t.gradAccum(), m))
          .evaluation(task.evaluation(spec.eval(), tok, t.seqLen()).with(ev))
          .resumable(ctx.acceptedFingerprints())
          .provenance(ctx.fingerprint(), c -> ctx.provenance(protocol, seeds, ident, Map.of(), c))
          .run();
      r.params().close();
      return new Result(setting, r.finalMetrics(), r.compute());
    }
  }

  /** Next-token CE on the step's batch; micro-batch k of step s is the sampler's batch s·accum + k. */
  static Trainer.Objective objective(Decoder dec, Params p, BatchSampler sampler, int accum, NDManager m) {
    return (step, micro, terms) -> {
      Batch b = sampler.batch(step * accum + micro);
      return Losses.crossEntropy(dec.logits(p, Batches.tokens(m, b)), Batches.targets(m, b));
    };
  }

  /** The model shape of a spec: the named size with any dimension the spec sets overriding it. */
  public static ModelConfig modelConfig(ExperimentConfig.ModelSpec ms, int vocab, int seqLen) {
    ModelConfig base = ModelConfig.named(ms.size(), vocab, Math.max(ms.maxSeqLen(), seqLen));
    return new ModelConfig(vocab,
        ms.hiddenSize() > 0 ? ms.hiddenSize() : base.hiddenSize(),
        ms.numLayers() > 0 ? ms.numLayers() : base.numLayers(),
        ms.numHeads() > 0 ? ms.numHeads() : base.numHeads(),
        ms.intermediateSize() > 0 ? ms.intermediateSize() : base.intermediateSize(),
        base.maxSeqLen(), base.ropeTheta(), base.rmsNormEps());
  }
}
