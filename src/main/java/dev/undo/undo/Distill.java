package dev.undo.undo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.Batch;
import dev.undo.data.BatchSampler;
import dev.undo.data.Kind;
import dev.undo.data.Op;
import dev.undo.eval.EvalSuite;
import dev.undo.eval.Evaluator;
import dev.undo.model.Decoder;
import dev.undo.model.Init;
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
import dev.undo.train.Losses;
import dev.undo.train.LrSchedule;
import dev.undo.train.Trainer;
import dev.undo.train.TrainingRun;
import dev.undo.unlearn.Unlearn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Distillation on outputs (PAPER.md §Pipeline 4): a student learns the teacher's next-token distributions by
 * forward KL(teacher ‖ student) at temperature 1, on the teacher's full pretraining mixture (forget data included:
 * only outputs teach). The student starts as
 * <ul>
 *   <li>{@code noised}: a copy of the teacher shrunk and perturbed by (α, β) — UNDO;
 *   <li>{@code random}: a fresh initialisation — Unlearn-and-Distill, and the oracle when the teacher is the
 *       data-filtered model;
 *   <li>a checkpoint folder — e.g. the pretrained model, for oracle matching.
 * </ul>
 * It stops when the stop rule holds at an evaluation (the paper's: language, relative English-CE gap to the teacher
 * below the tolerance; arithmetic, mean retain-accuracy gap above −tolerance) or at {@code max_steps}.
 */
public final class Distill {
  private Distill() {}

  /** Where the student starts. */
  public record StudentInit(String kind, Path dir) {
    public static StudentInit parse(String s) {
      if (s.equals("noised") || s.equals("random")) {
        return new StudentInit(s, null);
      }
      if (!Files.isDirectory(Path.of(s))) {
        throw new IllegalArgumentException("--init must be noised, random or a checkpoint folder; '" + s
            + "' is none of these");
      }
      return new StudentInit("checkpoint", Path.of(s));
    }

    public String describe() {
      return dir == null ? kind : kind + ":" + dir;
    }
  }

  public record Summary(Path stage, Map<String, Double> metrics, Map<String, Double> teacher,
      Map<String, Double> start, long steps, boolean stoppedByRule, Compute compute) {}

  public static Summary run(ExperimentConfig cfg, JsonNode resolved, Path teacherDir, StudentInit init,
      double alpha, double beta, String stopRule, Path out, boolean progress) {
    StageDir stage = new StageDir(out);
    if (stage.isDone()) {
      return summary(stage);
    }
    try (NDManager m = NDManager.newBaseManager(); Checkpoint.Loaded teacher = Checkpoint.load(teacherDir, m);
        Decoder dec = new Decoder(teacher.config(), m)) {
      SourceModel src = SourceModel.of(teacherDir, teacher.provenance());
      String setting = src.setting();
      ExperimentConfig.Setting s = cfg.setting(setting);
      ExperimentConfig.DistillSpec d = s.distill();
      if (!stopRule.equals("paper") && !stopRule.equals("fixed")) {
        throw new IllegalArgumentException("distill.stop_rule must be paper or fixed, got '" + stopRule + "'");
      }
      if (d.maxSteps() < 1 || d.batchSize() < 1 || d.evalEvery() < 1 || !(d.lr() > 0)) {
        throw new IllegalArgumentException("distill.max_steps, batch_size, eval_every must be >= 1 and lr > 0");
      }
      int seqLen = src.seqLen();
      ObjectNode stageConfig = Json.MAPPER.createObjectNode();
      stageConfig.put("stage", "distill");
      stageConfig.put("setting", setting);
      stageConfig.put("teacher", teacherDir.toString());
      stageConfig.put("init", init.describe());
      stageConfig.put("alpha", alpha);
      stageConfig.put("beta", beta);
      stageConfig.put("stop_rule", stopRule);
      ObjectNode exp = src.experimentTree().deepCopy();
      ObjectNode cur = ((ObjectNode) resolved.get(setting)).deepCopy();
      cur.set("data", src.experimentTree().get(setting).get("data"));
      cur.set("pretrain", src.experimentTree().get(setting).get("pretrain"));
      exp.set(setting, cur);
      stageConfig.set("experiment", exp);
      Json.writeAtomic(stage.config(), stageConfig);

      SettingData data = SettingData.load(setting, src.data());
      EvalSuite suite = new EvalSuite(data, s.eval(), teacher.tokenizer(), seqLen);
      Evaluator ev = new Evaluator(dec, teacher.tokenizer(), m, s.eval().batchSize());
      Map<String, Double> teacherMetrics = teacherMetrics(stage, suite, ev, teacher.params());
      long noiseSeed = Seeds.derive(cfg.seed(), setting + "/distill/noise");
      long initSeed = Seeds.derive(cfg.seed(), setting + "/distill/init");
      long dataSeed = Seeds.derive(cfg.seed(), setting + "/distill/data");
      BatchSampler sampler = new BatchSampler(teacher.tokenizer(), data.pretrain(false), d.batchSize(), seqLen,
          dataSeed);
      ExperimentConfig.TrainSpec pre = src.experiment().setting(setting).pretrain();
      TrainingRun.Spec spec = new TrainingRun.Spec("distill " + init.kind() + (init.kind().equals("noised")
          ? String.format(Locale.ROOT, " a=%.2f", alpha) : ""), d.maxSteps(), 1, pre.gradClip(),
          d.minLr() < d.lr() ? LrSchedule.warmupCosine(d.lr(), d.minLr(), d.warmupSteps(), d.maxSteps())
              : LrSchedule.constant(d.lr()),
          new AdamW.Hyper(pre.beta1(), pre.beta2(), 1e-8, pre.weightDecay()), d.evalEvery(), d.evalEvery(),
          (long) d.batchSize() * seqLen, (long) d.batchSize() * seqLen, seqLen, progress, 0);
      TrainingRun.StopRule rule = stopRule.equals("fixed") ? null : paperRule(setting, teacherMetrics, d.tolerance());
      Map<String, Long> seeds = new LinkedHashMap<>();
      seeds.put("run", cfg.seed());
      seeds.put("noise", noiseSeed);
      seeds.put("init", initSeed);
      seeds.put("data", dataSeed);
      Map<String, String> ident = new LinkedHashMap<>(data.identity());
      ident.put("mixture", sampler.mixture().describe());
      Map<String, JsonNode> parents = new LinkedHashMap<>();
      parents.put("teacher", Provenance.parent(teacherDir.toString(), teacher.provenance()));
      TrainingRun.Result r = TrainingRun.run(stage, spec, teacher.config(), teacher.tokenizer(), m,
          () -> student(init, teacher, alpha, beta, noiseSeed, initSeed, m),
          Params::names,
          p -> objective(dec, teacher.params(), p, sampler, m),
          Unlearn.evaluation(suite, ev, seqLen), rule,
          c -> Provenance.create("distill", stageConfig, seeds, ident, parents, c));
      Map<String, Double> start = Unlearn.firstEval(stage);
      try (Params p = r.params()) {
        ObjectNode rec = Pretrain.evalRecord(setting, r.finalMetrics(), r.compute());
        rec.put("steps", r.steps());
        rec.put("stopped_by_rule", r.stoppedByRule());
        rec.put("init", init.describe());
        rec.put("alpha", alpha);
        rec.put("beta", beta);
        rec.set("teacher", Json.MAPPER.valueToTree(teacherMetrics));
        rec.set("start", Json.MAPPER.valueToTree(start));
        Json.writeAtomic(stage.file("eval.json"), rec);
      }
      stage.markDone();
      return new Summary(out, r.finalMetrics(), teacherMetrics, start, r.steps(), r.stoppedByRule(), r.compute());
    }
  }

  static Params student(StudentInit init, Checkpoint.Loaded teacher, double alpha, double beta, long noiseSeed,
      long initSeed, NDManager m) {
    switch (init.kind()) {
      case "noised": {
        Params p = teacher.params().copy(m);
        Noise.apply(p, alpha, beta, noiseSeed);
        return p;
      }
      case "random":
        return Init.random(teacher.config(), m, initSeed);
      default: {
        Checkpoint.Loaded other = Checkpoint.load(init.dir(), m);
        if (!other.config().equals(teacher.config()) || !other.tokenizer().sha256().equals(teacher.tokenizer().sha256())) {
          other.close();
          throw new IllegalArgumentException("--init " + init.dir() + " has a different model shape or tokenizer "
              + "than the teacher");
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
      NDArray tokens = Pretrain.tokensOf(m, b);
      Losses.Targets t = Losses.Targets.of(m, b.targets(), b.batchSize(), b.seqLen());
      // The teacher's weights do not require gradients, so no graph is recorded through it.
      NDArray teacherLogits = dec.logits(teacher, tokens);
      return Losses.forwardKl(teacherLogits, dec.logits(student, tokens), t);
    };
  }

  /** The paper's stop rule against the teacher's metrics. */
  public static TrainingRun.StopRule paperRule(String setting, Map<String, Double> teacher, double tol) {
    boolean arith = setting.equals("arithmetic");
    return new TrainingRun.StopRule() {
      @Override
      public boolean satisfied(Map<String, Double> m) {
        if (arith) {
          return retainGap(m, teacher) > -tol;
        }
        double t = teacher.get("eng_ce");
        return (m.get("eng_ce") - t) / t < tol;
      }

      @Override
      public String describe() {
        return arith ? "mean retain-accuracy gap to the teacher > -" + tol
            : "relative English-CE gap to the teacher < " + tol;
      }
    };
  }

  /** Mean over the four retain cells (+ − × equation, word problem) of student − teacher accuracy. */
  public static double retainGap(Map<String, Double> student, Map<String, Double> teacher) {
    double sum = 0;
    int n = 0;
    for (Op op : Op.retainOps()) {
      for (Kind k : Kind.values()) {
        String key = op.key() + "_" + k.key() + "_acc";
        sum += student.get(key) - teacher.get(key);
        n++;
      }
    }
    return sum / n;
  }

  /** The teacher's metrics, computed once per stage and kept beside it so a resumed run does not redo them. */
  static Map<String, Double> teacherMetrics(StageDir stage, EvalSuite suite, Evaluator ev, Params teacher) {
    Path f = stage.file("teacher_eval.json");
    if (Files.exists(f)) {
      Map<String, Double> m = new LinkedHashMap<>();
      Json.read(f, JsonNode.class).fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asDouble()));
      return m;
    }
    Map<String, Double> m = suite.evaluate(ev, teacher);
    Json.writeAtomic(f, m);
    return m;
  }

  static Summary summary(StageDir stage) {
    JsonNode n = Json.read(stage.file("eval.json"), JsonNode.class);
    return new Summary(stage.path(), map(n.path("metrics")), map(n.path("teacher")), map(n.path("start")),
        n.path("steps").asLong(), n.path("stopped_by_rule").asBoolean(), Provenance.compute(n));
  }

  static Map<String, Double> map(JsonNode n) {
    Map<String, Double> m = new LinkedHashMap<>();
    n.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asDouble()));
    return m;
  }
}
