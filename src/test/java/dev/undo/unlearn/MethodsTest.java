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
  void gradDiffWithRepNoiseAddsTheWeightedMmdOfTheForgetActivations() {
    try (Params p = Init.random(cfg, m, 5); Decoder d = new Decoder(cfg, m); NDScope s = new NDScope()) {
      Methods.RepNoise spec = new Methods.RepNoise(2.0, 1.0, 1, 9, 32, 0);
      Map<String, Double> terms = new LinkedHashMap<>();
      NDArray loss = Methods.gradDiff(data, 3.0, spec).objective(d, p, m).loss(2, 0, terms);
      // Independently: the MMD of the layer-1 residual of the same forget batch, the plain CEs.
      NDArray h = d.residual(p, Batches.tokens(m, data.forget().batch(2)), 1);
      double mmd = new Methods.RepNoiseTerm(spec, m).mmd(h, 2).getFloat();
      double ce = Methods.ce(d, p, m, data.forget().batch(2)).getFloat();
      double rce = Methods.ce(d, p, m, data.retain().batch(2)).getFloat();
      assertTrue(mmd > 1e-3, "the MMD term must not vanish here: " + mmd);
      assertEquals(mmd, terms.get("repnoise_mmd"), 1e-6);
      assertEquals(ce, terms.get("forget_ce"), 1e-5);
      assertEquals(-ce + 2.0 * mmd + 3.0 * rce, loss.getFloat(), 1e-4);
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

  /** KL(U ‖ p) per position, −log V − mean_v log p_v, averaged over positions, computed on the host in double. */
  static double klToUniformByHand(float[] logits, int vocab) {
    double total = 0;
    int positions = logits.length / vocab;
    for (int pos = 0; pos < positions; pos++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int v = 0; v < vocab; v++) {
        max = Math.max(max, logits[pos * vocab + v]);
      }
      double z = 0;
      for (int v = 0; v < vocab; v++) {
        z += Math.exp(logits[pos * vocab + v] - max);
      }
      double logZ = max + Math.log(z);
      double meanLogP = 0;
      for (int v = 0; v < vocab; v++) {
        meanLogP += (logits[pos * vocab + v] - logZ) / vocab;
      }
      total += -Math.log(vocab) - meanLogP;
    }
    return total / positions;
  }

  @Test
  void maxEntIsKlToUniformOnForgetPlusWeightedRetainCrossEntropy() {
    try (Params p = Init.random(cfg, m, 5); Decoder d = new Decoder(cfg, m); NDScope s = new NDScope()) {
      // Scale the embedding up so the outputs are far from uniform and the KL is well away from 0.
      float[] e = p.hostValues("embed_tokens.weight");
      for (int i = 0; i < e.length; i++) {
        e[i] *= 50;
      }
      p.get("embed_tokens.weight").set(e);
      Map<String, Double> terms = new LinkedHashMap<>();
      NDArray loss = Methods.maxEnt(data, 2.5, null).objective(d, p, m).loss(4, 0, terms);
      float[] logits = d.logits(p, Batches.tokens(m, data.forget().batch(4))).toFloatArray();
      double kl = klToUniformByHand(logits, cfg.vocabSize());
      double rce = Methods.ce(d, p, m, data.retain().batch(4)).getFloat();
      assertTrue(kl > 0.5, "the scaled model is far from uniform: KL " + kl);
      assertEquals(kl, terms.get("forget_kl_uniform"), 1e-4 * kl);
      assertEquals(rce, terms.get("retain_ce"), 1e-6);
      assertEquals(kl + 2.5 * rce, loss.getFloat(), 1e-4 * (kl + 2.5 * rce));
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
        double meanSq = sumSq / h.length;
        double lower = Math.pow(Math.sqrt(meanSq) - 6.5 / Math.sqrt(cfg.hiddenSize()), 2);
        assertTrue(terms.get("forget_mse") >= lower - 1e-4, "MSE is at least the gap of the RMS norms");
        // c = 0: the target is the origin, so the term is exactly mean(h²).
        Map<String, Double> t0 = new LinkedHashMap<>();
        Methods.rmu(data, base, List.of(0, 1), 1, 0.0, 1, 77, null, cfg).objective(d, p, m).loss(0, 0, t0);
        assertEquals(meanSq, t0.get("forget_mse"), 1e-6 * meanSq);
        // The same u at two coefficients: mse(c) − mean(h²) − c²/d = −2c·mean(h·u)/d must be linear in c, which
        // holds only if |u| = 1 and the target is c·u.
        double dd = cfg.hiddenSize();
        double[] cs = {2.0, 6.5};
        double[] slope = new double[2];
        for (int i = 0; i < 2; i++) {
          Map<String, Double> ti = new LinkedHashMap<>();
          Methods.rmu(data, base, List.of(0, 1), 1, cs[i], 1, 77, null, cfg).objective(d, p, m).loss(0, 0, ti);
          slope[i] = (ti.get("forget_mse") - meanSq - cs[i] * cs[i] / dd) / cs[i];
        }
        assertEquals(slope[0], slope[1], 1e-5, "cross term per unit c");
        assertEquals(terms.get("forget_mse"), meanSq + 6.5 * slope[1] + 6.5 * 6.5 / dd, 1e-5);
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

  /** Squared MMD with kernel exp(−|a−b|²/bw), as the biased estimate mean k(x,x) + mean k(y,y) − 2 mean k(x,y). */
  static double mmdByHand(float[][] x, float[][] y, double bw) {
    return kernelMean(x, x, bw) + kernelMean(y, y, bw) - 2 * kernelMean(x, y, bw);
  }

  static double kernelMean(float[][] a, float[][] b, double bw) {
    double s = 0;
    for (float[] ai : a) {
      for (float[] bj : b) {
        double d2 = 0;
        for (int k = 0; k < ai.length; k++) {
          d2 += (ai[k] - bj[k]) * (double) (ai[k] - bj[k]);
        }
        s += Math.exp(-d2 / bw);
      }
    }
    return s / (a.length * (double) b.length);
  }

  @Test
  void repNoiseMmdIsZeroForIdenticalSamplesAndTheFormulaOtherwise() {
    try (NDScope s = new NDScope()) {
      // σ = 0 makes the noise sample exactly the origin, so the term can be computed by hand.
      Methods.RepNoiseTerm t = new Methods.RepNoiseTerm(new Methods.RepNoise(1.0, 0.0, 0, 3, 64, 0), m);
      NDArray zeros = m.zeros(new ai.djl.ndarray.types.Shape(2, 32, 16));
      assertEquals(0.0, t.mmd(zeros, 0).getFloat(), 0.0, "activations equal to the noise sample: MMD 0");
      // 64 positions of (2, 32, 16), all sampled (stride 1); bandwidth 0 means d = 16.
      java.util.SplittableRandom rnd = new java.util.SplittableRandom(9);
      float[] hv = new float[2 * 32 * 16];
      for (int i = 0; i < hv.length; i++) {
        hv[i] = (float) (Init.gaussian(rnd) * 0.7 + 0.3);
      }
      float[][] x = new float[64][16];
      float[][] y = new float[64][16];
      for (int i = 0; i < 64; i++) {
        System.arraycopy(hv, i * 16, x[i], 0, 16);
      }
      NDArray h = m.create(hv, new ai.djl.ndarray.types.Shape(2, 32, 16));
      double expected = mmdByHand(x, y, 16);
      assertTrue(expected > 0.05, "non-trivial case: " + expected);
      assertEquals(expected, t.mmd(h, 0).getFloat(), 1e-5);
      // With 16 of 64 positions sampled, the stride is 4: positions 0, 4, 8, …
      Methods.RepNoiseTerm t16 = new Methods.RepNoiseTerm(new Methods.RepNoise(1.0, 0.0, 0, 3, 16, 0), m);
      float[][] x16 = new float[16][];
      for (int i = 0; i < 16; i++) {
        x16[i] = x[4 * i];
      }
      assertEquals(mmdByHand(x16, new float[16][16], 16), t16.mmd(h, 0).getFloat(), 1e-5);
      // Far-from-Gaussian activations against real N(0, 1) noise score well above 0.
      Methods.RepNoiseTerm g = new Methods.RepNoiseTerm(new Methods.RepNoise(1.0, 1.0, 0, 3, 64, 0), m);
      NDArray far = m.randomNormal(new ai.djl.ndarray.types.Shape(2, 32, 16)).mul(5f).add(3f);
      assertTrue(g.mmd(far, 0).getFloat() > 0.01, "far-from-Gaussian activations have positive MMD");
    }
  }
}
