package dev.undo.unlearn;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.BatchSampler;
import dev.undo.eval.EvalSuite;
import dev.undo.eval.Evaluator;
import dev.undo.model.Decoder;
import dev.undo.model.Params;
import dev.undo.pretrain.Pretrain;
import dev.undo.run.Compute;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.run.Provenance;
import dev.undo.run.Seeds;
import dev.undo.run.SettingData;
import dev.undo.run.SourceModel;
import dev.undo.run.StageDir;
import dev.undo.train.AdamW;
import dev.undo.train.Checkpoint;
import dev.undo.train.LrSchedule;
import dev.undo.train.TrainingRun;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The unlearning stage (PAPER.md §Pipeline 2): fine-tune a copy of a pretrained model with GradDiff, MaxEnt or RMU
 * (optionally RepNoise, SAM) at a constant learning rate, no warmup, no weight decay. The forget and retain data
 * are the two sides of the base model's own pretraining mixture; for arithmetic the retain side is English plus
 * + and −, so English is guarded too.
 */
public final class Unlearn {
  private Unlearn() {}

  public record Summary(Path stage, Map<String, Double> metrics, Map<String, Double> before, Compute compute) {}

  public static Summary run(ExperimentConfig cfg, JsonNode resolved, String method, double lr, Path base, Path out,
      boolean progress) {
    StageDir stage = new StageDir(out);
    if (stage.isDone()) {
      return summary(stage);
    }
    try (NDManager m = NDManager.newBaseManager(); Checkpoint.Loaded baseCk = Checkpoint.load(base, m)) {
      SourceModel src = SourceModel.of(base, baseCk.provenance());
      String setting = src.setting();
      ExperimentConfig.Setting s = cfg.setting(setting);
      ExperimentConfig.UnlearnSpec u = s.unlearn();
      if (!(lr > 0)) {
        throw new IllegalArgumentException("unlearn.lr must be > 0, got " + lr);
      }
      if (u.steps() < 1 || u.batchSize() < 1 || u.evalEvery() < 1) {
        throw new IllegalArgumentException("unlearn.steps, unlearn.batch_size and unlearn.eval_every must be >= 1");
      }
      ObjectNode stageConfig = Json.MAPPER.createObjectNode();
      stageConfig.put("stage", "unlearn");
      stageConfig.put("setting", setting);
      stageConfig.put("method", method);
      stageConfig.put("lr", lr);
      stageConfig.put("base", base.toString());
      // Later stages read the data protocol from here: it is the base model's, not this run's preset.
      ObjectNode exp = src.experimentTree().deepCopy();
      exp.set(setting, ((ObjectNode) resolved.get(setting)).deepCopy());
      ((ObjectNode) exp.get(setting)).set("data", src.experimentTree().get(setting).get("data"));
      ((ObjectNode) exp.get(setting)).set("pretrain", src.experimentTree().get(setting).get("pretrain"));
      stageConfig.set("experiment", exp);
      Json.writeAtomic(stage.config(), stageConfig);

      SettingData data = SettingData.load(setting, src.data());
      int seqLen = src.seqLen();
      long fSeed = Seeds.derive(cfg.seed(), setting + "/unlearn/forget");
      long rSeed = Seeds.derive(cfg.seed(), setting + "/unlearn/retain");
      Methods.Data md = new Methods.Data(
          new BatchSampler(baseCk.tokenizer(), data.forget(), u.batchSize(), seqLen, fSeed),
          new BatchSampler(baseCk.tokenizer(), data.retain(), u.batchSize(), seqLen, rSeed));
      long methodSeed = Seeds.derive(cfg.seed(), setting + "/unlearn/" + method);
      Methods.Method meth = method(method, u, md, baseCk.params(), baseCk.config(), methodSeed);
      double samRho = u.sam().path("enabled").asBoolean(false) ? u.sam().path("rho").asDouble() : 0;
      if (samRho > 0 && method.equals("graddiff")) {
        throw new IllegalArgumentException("unlearn.sam is an option of maxent and rmu, not graddiff");
      }

      try (Decoder dec = new Decoder(baseCk.config(), m)) {
        EvalSuite suite = new EvalSuite(data, s.eval(), baseCk.tokenizer(), seqLen);
        Evaluator ev = new Evaluator(dec, baseCk.tokenizer(), m, s.eval().batchSize());
        long tokensPerStep = 2L * u.batchSize() * seqLen; // a forget and a retain batch
        TrainingRun.Spec spec = new TrainingRun.Spec("unlearn " + method + " lr=" + lr, u.steps(), 1, 1.0,
            LrSchedule.constant(lr), new AdamW.Hyper(0.9, 0.95, 1e-8, 0.0), u.evalEvery(), u.steps(),
            tokensPerStep, meth.frozenForwardTokensPerStep(), seqLen, progress, samRho);
        Map<String, Long> seeds = new LinkedHashMap<>();
        seeds.put("run", cfg.seed());
        seeds.put("forget_data", fSeed);
        seeds.put("retain_data", rSeed);
        seeds.put("method", methodSeed);
        Map<String, String> ident = new LinkedHashMap<>(data.identity());
        ident.put("forget_mixture", md.forget().mixture().describe());
        ident.put("retain_mixture", md.retain().mixture().describe());
        TrainingRun.Result r = TrainingRun.run(stage, spec, baseCk.config(), baseCk.tokenizer(), m,
            () -> baseCk.params().copy(m), meth::trainable, p -> meth.objective(dec, p, m),
            evaluation(suite, ev, seqLen), null,
            c -> Provenance.create("unlearn_" + method, stageConfig, seeds, ident,
                Map.of("base", Provenance.parent(base.toString(), baseCk.provenance())), c));
        Map<String, Double> before = firstEval(stage);
        try (Params p = r.params()) {
          ObjectNode rec = Pretrain.evalRecord(setting, r.finalMetrics(), r.compute());
          ObjectNode b = rec.putObject("before");
          before.forEach(b::put);
          rec.put("method", method);
          rec.put("lr", lr);
          Json.writeAtomic(stage.file("eval.json"), rec);
        }
        stage.markDone();
        return new Summary(out, r.finalMetrics(), before, r.compute());
      }
    }
  }

  /** Builds the configured method; rejects settings a method does not use. */
  static Methods.Method method(String name, ExperimentConfig.UnlearnSpec u, Methods.Data md, Params frozen,
      dev.undo.model.ModelConfig mc, long seed) {
    boolean repOn = u.repnoise().path("enabled").asBoolean(false);
    int nLayers = mc.numLayers();
    JsonNode rmu = u.rmu();
    int target = rmu.path("target_layer").asInt(nLayers / 2);
    Methods.RepNoise rep = repOn ? new Methods.RepNoise(u.repnoise().path("weight").asDouble(),
        u.repnoise().path("noise_std").asDouble(1.0), Math.min(target, nLayers - 1), seed ^ 0x5EED) : null;
    switch (name) {
      case "graddiff":
        if (repOn) {
          throw new IllegalArgumentException("unlearn.repnoise is an option of maxent and rmu, not graddiff");
        }
        return Methods.gradDiff(md, number(u.graddiff(), "graddiff", "retain_weight"));
      case "maxent":
        return Methods.maxEnt(md, number(u.maxent(), "maxent", "retain_weight"), rep);
      case "rmu": {
        List<Integer> layers = new ArrayList<>();
        rmu.path("layers").forEach(n -> layers.add(n.asInt()));
        return Methods.rmu(md, frozen, layers, target, number(rmu, "rmu", "steering_coef"),
            number(rmu, "rmu", "retain_weight"), seed, rep, mc);
      }
      default:
        throw new IllegalArgumentException("unknown unlearning method '" + name + "' (use graddiff, maxent or rmu)");
    }
  }

  private static double number(JsonNode block, String method, String key) {
    JsonNode n = block.get(key);
    if (n == null || !n.isNumber()) {
      throw new IllegalArgumentException("unlearn." + method + "." + key + " must be a number");
    }
    return n.asDouble();
  }

  public static TrainingRun.Evaluation evaluation(EvalSuite suite, Evaluator ev, int seqLen) {
    return new TrainingRun.Evaluation() {
      @Override
      public Map<String, Double> evaluate(Params p) {
        return suite.evaluate(ev, p);
      }

      @Override
      public long forwardTokens() {
        return suite.forwardTokens(seqLen);
      }
    };
  }

  /** The step-0 evaluation in a stage's metrics log (the model before the stage changed it). */
  public static Map<String, Double> firstEval(StageDir stage) {
    Map<String, Double> m = new LinkedHashMap<>();
    for (JsonNode rec : dev.undo.run.MetricsLog.readAll(stage.metrics())) {
      if (rec.path("split").asText().equals("eval") && rec.path("step").asLong() == 0) {
        rec.fields().forEachRemaining(e -> {
          if (e.getValue().isNumber() && !e.getKey().equals("step")) {
            m.put(e.getKey(), e.getValue().asDouble());
          }
        });
        break;
      }
    }
    return m;
  }

  static Summary summary(StageDir stage) {
    JsonNode n = Json.read(stage.file("eval.json"), JsonNode.class);
    Map<String, Double> m = new LinkedHashMap<>();
    n.path("metrics").fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asDouble()));
    Map<String, Double> b = new LinkedHashMap<>();
    n.path("before").fields().forEachRemaining(e -> b.put(e.getKey(), e.getValue().asDouble()));
    return new Summary(stage.path(), m, b, Provenance.compute(n));
  }
}
