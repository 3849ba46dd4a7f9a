package dev.undo.undo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import dev.undo.model.Engines;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import org.junit.jupiter.api.Test;

class NoiseTest {
  static final ModelConfig CFG = new ModelConfig(300, 64, 2, 4, 256, 32, 10000, 1e-6);

  @Test
  void alphaZeroLeavesWeightsBitIdentical() {
    try (NDManager m = Engines.newManager(); Params p = Init.random(CFG, m, 3); Params q = p.copy(m)) {
      Noise.apply(q, 0.0, 0.1, 99);
      for (String n : p.names()) {
        assertArrayEquals(p.hostValues(n), q.hostValues(n), n);
      }
    }
  }

  @Test
  void alphaOneBetaOneGivesXavierUniformStatisticsAndResetsNormGains() {
    try (NDManager m = Engines.newManager(); Params p = Init.random(CFG, m, 3)) {
      p.get("norm.weight").set(new float[64]); // any values: α = 1 must zero them
      Noise.apply(p, 1.0, 1.0, 7);
      String name = "layers.0.mlp.up_proj.weight"; // (256, 64)
      float[] v = p.hostValues(name);
      double bound = Math.sqrt(6.0 / (64 + 256));
      double mean = 0;
      double var = 0;
      double max = 0;
      for (float x : v) {
        mean += x;
        max = Math.max(max, Math.abs(x));
      }
      mean /= v.length;
      for (float x : v) {
        var += (x - mean) * (x - mean);
      }
      var /= v.length;
      assertEquals(0, mean, 3 * Math.sqrt(bound * bound / 3 / v.length), "mean");
      assertEquals(bound * bound / 3, var, 0.05 * bound * bound / 3, "variance of U(-a, a) is a^2/3");
      assertEquals(true, max <= bound, "within the Xavier bound");
      for (float x : p.hostValues("layers.1.input_layernorm.weight")) {
        assertEquals(0f, x, "vectors shrink to 0, i.e. gain 1 under the 1 + w convention");
      }
    }
  }

  @Test
  void shrinkAndPerturbIsTheStatedMixture() {
    try (NDManager m = Engines.newManager(); Params p = Init.random(CFG, m, 3); Params q = p.copy(m);
        Params z = p.copy(m)) {
      Noise.apply(q, 0.4, 0.1, 11);
      Noise.apply(z, 1.0, 0.1, 11); // same seed: z = 0.1·N exactly
      String name = "layers.1.self_attn.q_proj.weight";
      float[] a = p.hostValues(name);
      float[] b = q.hostValues(name);
      float[] n = z.hostValues(name);
      for (int i = 0; i < a.length; i++) {
        assertEquals(0.6 * a[i] + 0.4 * n[i], b[i], 1e-6);
      }
      float[] gp = p.hostValues("norm.weight");
      float[] gq = q.hostValues("norm.weight");
      for (int i = 0; i < gp.length; i++) {
        assertEquals(0.6 * gp[i], gq[i], 1e-7);
      }
    }
  }

  @Test
  void rejectsAlphaOutsideUnitInterval() {
    try (NDManager m = Engines.newManager(); Params p = Init.random(CFG, m, 3)) {
      assertThrows(IllegalArgumentException.class, () -> Noise.apply(p, 1.5, 0.1, 1));
    }
  }
}
