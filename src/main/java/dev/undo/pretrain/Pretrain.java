package dev.undo.pretrain;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.Batch;
import dev.undo.data.BatchSampler;
import dev.undo.data.Tokenizer;
import dev.undo.eval.EvalSuite;
import dev.undo.eval.Evaluator;
import dev.undo.model.Decoder;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.run.Compute;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.run.Provenance;
import dev.undo.run.Seeds;
import dev.undo.run.SettingData;
import dev.undo.run.StageDir;
import dev.undo.train.AdamW;
import dev.undo.train.Checkpoint;
import dev.undo.train.Losses;
import dev.undo.train.LrSchedule;
import dev.undo.train.Trainer;
import dev.undo.train.TrainingRun;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Pretraining from scratch (PAPER.md §Pipeline 1): AdamW, warmup then cosine to min_lr, grad clip, packed
 * sequences drawn from the setting's mixture. With {@code filterForget} the forget data is left out of the mixture:
 * the data-filtering gold standard every robustness number is compared with.
 *
 * <p>Writes a stage folder: config.json, metrics.jsonl, checkpoint/, eval.json (final metrics), DONE.
 */
public final class Pretrain {
  private Pretrain() {}

  /** The outcome of a (possibly already finished) pretraining stage. */
  public record Summary(Path stage, Map<String, Double> metrics, Compute compute) {}

  public static Summary run(ExperimentConfig cfg, JsonNode resolved, String setting, boolean filterForget, Path out,
      boolean progress) {
    StageDir stage = new StageDir(out);
    if (stage.isDone()) {
      return summary(stage);
    }
    ExperimentConfig.Setting s = cfg.setting(setting);
    ExperimentConfig.TrainSpec t = s.pretrain();
    ObjectNode stageConfig = Json.MAPPER.createObjectNode();
    stageConfig.put("stage", "pretrain");
    stageConfig.put("setting", setting);
    stageConfig.put("filter_forget", filterForget);
    stageConfig.set("experiment", resolved);
    Json.writeAtomic(stage.config(), stageConfig);

    SettingData data = SettingData.load(setting, s.data());
    Tokenizer tok = Checkpoint.exists(stage.checkpoint())
        ? Tokenizer.load(Checkpoint.resolve(stage.checkpoint()).resolve(Checkpoint.TOKENIZER))
        : data.buildTokenizer();
    ModelConfig mc = modelConfig(cfg.model(), tok.vocabSize(), t.seqLen());
    long initSeed = Seeds.derive(cfg.seed(), setting + "/pretrain/init");
    long dataSeed = Seeds.derive(cfg.seed(), setting + "/pretrain/data" + (filterForget ? "/filtered" : ""));
    BatchSampler sampler = new BatchSampler(tok, data.pretrain(filterForget), t.batchSize(), t.seqLen(), dataSeed);

    try (NDManager m = NDManager.newBaseManager(); Decoder dec = new Decoder(mc, m)) {
      EvalSuite suite = new EvalSuite(data, s.eval(), tok, t.seqLen());
      Evaluator ev = new Evaluator(dec, tok, m, s.eval().batchSize());
      TrainingRun.Evaluation evaluation = new TrainingRun.Evaluation() {
        @Override
        public Map<String, Double> evaluate(Params p) {
          return suite.evaluate(ev, p);
        }

        @Override
        public long forwardTokens() {
          return suite.forwardTokens(t.seqLen());
        }
      };
      TrainingRun.Spec spec = new TrainingRun.Spec(
          (filterForget ? "pretrain-filtered " : "pretrain ") + setting, t.steps(), t.gradAccum(), t.gradClip(),
          LrSchedule.warmupCosine(t.lr(), t.minLr(), t.warmupSteps(), t.steps()),
          new AdamW.Hyper(t.beta1(), t.beta2(), 1e-8, t.weightDecay()), t.evalEvery(), t.checkpointEvery(),
          (long) t.batchSize() * t.seqLen(), 0, t.seqLen(), progress, 0);
      Map<String, Long> seeds = new LinkedHashMap<>();
      seeds.put("run", cfg.seed());
      seeds.put("init", initSeed);
      seeds.put("data", dataSeed);
      Map<String, String> ident = new LinkedHashMap<>(data.identity());
      ident.put("tokenizer_sha256", tok.sha256());
      ident.put("mixture", sampler.mixture().describe());
      TrainingRun.Result r = TrainingRun.run(stage, spec, mc, tok, m,
          () -> Init.random(mc, m, initSeed),
          Params::names,
          p -> objective(dec, p, sampler, t.gradAccum(), m),
          evaluation, null,
          c -> Provenance.create(filterForget ? "pretrain_filtered" : "pretrain", stageConfig, seeds, ident,
              Map.of(), c));
      try (Params p = r.params()) {
        Json.writeAtomic(stage.file("eval.json"), evalRecord(setting, r.finalMetrics(), r.compute()));
      }
      stage.markDone();
      return new Summary(out, r.finalMetrics(), r.compute());
    }
  }

  /** Next-token CE on the step's batch; micro-batch k of step s is the sampler's batch s·accum + k. */
  static Trainer.Objective objective(Decoder dec, Params p, BatchSampler sampler, int accum, NDManager m) {
    return (step, micro, terms) -> {
      Batch b = sampler.batch(step * accum + micro);
      NDArray tokens = tokensOf(m, b);
      Losses.Targets tg = Losses.Targets.of(m, b.targets(), b.batchSize(), b.seqLen());
      NDArray loss = Losses.crossEntropy(dec.logits(p, tokens), tg);
      return loss;
    };
  }

  public static NDArray tokensOf(NDManager m, Batch b) {
    long[] in = new long[b.inputs().length];
    for (int i = 0; i < in.length; i++) {
      in[i] = b.inputs()[i];
    }
    return m.create(in, new Shape(b.batchSize(), b.seqLen()));
  }

  public static ModelConfig modelConfig(ExperimentConfig.ModelSpec ms, int vocab, int seqLen) {
    ModelConfig base = ModelConfig.named(ms.size(), vocab, Math.max(ms.maxSeqLen(), seqLen));
    return new ModelConfig(vocab,
        ms.hiddenSize() > 0 ? ms.hiddenSize() : base.hiddenSize(),
        ms.numLayers() > 0 ? ms.numLayers() : base.numLayers(),
        ms.numHeads() > 0 ? ms.numHeads() : base.numHeads(),
        ms.intermediateSize() > 0 ? ms.intermediateSize() : base.intermediateSize(),
        base.maxSeqLen(), base.ropeTheta(), base.rmsNormEps());
  }

  /** {@code eval.json}: the final metrics in the same shape as {@code undo eval --json}, plus compute. */
  public static ObjectNode evalRecord(String setting, Map<String, Double> metrics, Compute compute) {
    ObjectNode n = Json.MAPPER.createObjectNode();
    n.put("setting", setting);
    ObjectNode mm = n.putObject("metrics");
    metrics.forEach(mm::put);
    n.set("compute", Json.MAPPER.valueToTree(compute));
    return n;
  }

  static Summary summary(StageDir stage) {
    JsonNode n = Json.read(stage.file("eval.json"), JsonNode.class);
    Map<String, Double> m = new LinkedHashMap<>();
    n.path("metrics").fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asDouble()));
    return new Summary(stage.path(), m, Provenance.compute(n));
  }
}
