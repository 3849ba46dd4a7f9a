package dev.undo.unlearn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.undo.data.BatchSampler;
import dev.undo.data.Tokenizer;
import dev.undo.model.Decoder;
import dev.undo.model.Engines;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.pretrain.Pretrain;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import dev.undo.task.ArithmeticTask;
import dev.undo.task.Tasks;
import dev.undo.train.Batches;
import dev.undo.train.AdamW;
import dev.undo.train.LrSchedule;
import dev.undo.train.Trainer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Each unlearning loss against an independent computation of its formula; RMU trains only what it should. */
class MethodsTest {
  static NDManager m;
  static Tokenizer tok;
  static Methods.Data data;
  static ModelConfig cfg;

  @BeforeAll
  static void setUp() {
    m = Engines.newManager();
    ExperimentConfig c = ExperimentConfig.from(ConfigLoader.resolve("micro", Map.of()));
    ArithmeticTask sd = (ArithmeticTask) Tasks.of("arithmetic", c);
    tok = sd.buildTokenizer();
    cfg = new ModelConfig(tok.vocabSize(), 32, 3, 2, 64, 32, 10000, 1e-6);
    data = new Methods.Data(new BatchSampler(tok, sd.forgetMixture(), 4, 32, 1),
        new BatchSampler(tok, sd.retainMixture(), 4, 32, 2));
  }

  @AfterAll
  static void tearDown() {
    m.close();
  }

  @Test
  void gradDiffWithZeroRetainWeightIsMinusForgetCrossEntropy() {
    try (Params p = Init.random(cfg, m, 5); Decoder d = new Decoder(cfg, m); NDScope s = new NDScope()) {
      Map<String, Double> terms = new LinkedHashMap<>();
      NDArray loss = Methods.gradDiff(data, 0.0).objective(d, p, m).loss(3, 0, terms);
      double ce = Methods.ce(d, p, m, data.forget().batch(3)).getFloat();
      assertEquals(-ce, loss.getFloat(), 1e-6);
      assertEquals(ce, terms.get("forget_ce"), 1e-6);
      // With α_r = 15 the retain CE enters with that weight.
      NDArray l15 = Methods.gradDiff(data, 15.0).objective(d, p, m).loss(3, 0, new LinkedHashMap<>());
      double rce = Methods.ce(d, p, m, data.retain().batch(3)).getFloat();
      assertEquals(-ce + 15 * rce, l15.getFloat(), 1e-4);
    }
  }

  @Test
  void maxEntOfAModelWithUniformOutputsHasZeroForgetTerm() {
    try (Params p = Init.random(cfg, m, 5); Decoder d = new Decoder(cfg, m); NDScope s = new NDScope()) {
      // A zero embedding makes every logit zero (the LM head is tied), so p is exactly uniform.
      p.get("embed_tokens.weight").set(new float[(int) p.get("embed_tokens.weight").size()]);
      Map<String, Double> terms = new LinkedHashMap<>();
      Methods.maxEnt(data, 1.0, null).objective(d, p, m).loss(0, 0, terms);
      assertEquals(0.0, terms.get("forget_kl_uniform"), 1e-5); // float32 log-softmax of 0s
      assertEquals(Math.log(cfg.vocabSize()), terms.get("retain_ce"), 1e-5);
    }
  }

  @Test
  void rmuForgetTermIsMseToScaledUnitVectorAndOnlyDownProjectionsTrain() {
    try (Params base = Init.random(cfg, m, 5); Params p = base.copy(m); Decoder d = new Decoder(cfg, m)) {
      Methods.Method rmu = Methods.rmu(data, base, List.of(0, 1), 1, 6.5, 1.0, 77, null, cfg);
      assertEquals(List.of("layers.0.mlp.down_proj.weight", "layers.1.mlp.down_proj.weight"), rmu.trainable(p));
      Trainer.Objective obj = rmu.objective(d, p, m);
      try (NDScope s = new NDScope()) {
        Map<String, Double> terms = new LinkedHashMap<>();
        obj.loss(0, 0, terms);
        // Identical weights: the retain term (MSE to the frozen model) is exactly 0.
        assertEquals(0.0, terms.get("retain_mse"), 0.0);
        // Forget term by hand: mean over (B, T, d) of (h - c·u)^2 with |u| = 1, so mean(h^2) - 2c·mean(h·u)/d + c²/d.
        float[] h = d.residual(p, Batches.tokens(m, data.forget().batch(0)), 1).toFloatArray();
        double sumSq = 0;
        for (float v : h) {
          sumSq += v * v;
        }
        double lower = Math.pow(Math.sqrt(sumSq / h.length) - 6.5 / Math.sqrt(cfg.hiddenSize()), 2);
        assertTrue(terms.get("forget_mse") >= lower - 1e-4, "MSE is at least the gap of the RMS norms");
      }
      for (String n : List.of("layers.0.mlp.down_proj.weight", "layers.1.mlp.down_proj.weight")) {
        p.get(n).setRequiresGradient(true);
      }
      try (AdamW opt = new AdamW(new AdamW.Hyper(0.9, 0.95, 1e-8, 0), p, rmu.trainable(p), m)) {
        new Trainer(p, opt, obj, new Trainer.Settings(3, 1, 1.0, LrSchedule.constant(1e-2), 128)).run(0);
      }
      for (String n : p.names()) {
        boolean trained = rmu.trainable(p).contains(n);
        boolean same = java.util.Arrays.equals(base.hostValues(n), p.hostValues(n));
        if (trained) {
          assertFalse(same, n + " should have moved");
        } else {
          assertArrayEquals(base.hostValues(n), p.hostValues(n), n + " must stay bit-identical");
        }
      }
    }
  }

  @Test
  void rmuRejectsBandsThatCannotReachTheTargetLayer() {
    try (Params base = Init.random(cfg, m, 5)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> Methods.rmu(data, base, List.of(2), 1, 6.5, 1.0, 1, null, cfg));
      assertTrue(e.getMessage().contains("target_layer"), e.getMessage());
    }
  }

  @Test
  void repNoiseMmdIsZeroForIdenticalSamplesAndPositiveOtherwise() {
    try (NDScope s = new NDScope()) {
      Methods.RepNoiseTerm t = new Methods.RepNoiseTerm(new Methods.RepNoise(1.0, 1.0, 0, 3, 64, 0), m);
      NDArray h = m.randomNormal(new ai.djl.ndarray.types.Shape(2, 32, 16)).mul(5f).add(3f);
      assertTrue(t.mmd(h, 0).getFloat() > 0.01, "far-from-Gaussian activations have positive MMD");
    }
  }
}
