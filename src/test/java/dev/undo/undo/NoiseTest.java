package dev.undo.undo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.undo.model.Engines;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Shrink-and-perturb against its formula. Every vector (the RMSNorm gains, zero in a fresh model) is first set to
 * non-zero values, so that "shrinks toward 0" is something the code has to do, not something a zero vector does
 * whatever the code does.
 */
class NoiseTest {
  static final ModelConfig CFG = new ModelConfig(300, 64, 2, 4, 256, 32, 10000, 1e-6);

  /** A fresh model whose norm gains are non-zero (0.5, 0.51, 0.52, … and the sign alternating per element). */
  static Params withNonZeroGains(NDManager m) {
    Params p = Init.random(CFG, m, 3);
    for (String n : vectors(p)) {
      float[] v = new float[(int) p.get(n).size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) ((i % 2 == 0 ? 1 : -1) * (0.5 + 0.01 * i));
      }
      p.get(n).set(v);
    }
    return p;
  }

  static List<String> vectors(Params p) {
    return p.names().stream().filter(n -> p.get(n).getShape().dimension() == 1).toList();
  }

  static List<String> matrices(Params p) {
    return p.names().stream().filter(n -> p.get(n).getShape().dimension() >= 2).toList();
  }

  @Test
  void theModelHasNormVectorsToShrink() {
    try (NDManager m = Engines.newManager(); Params p = withNonZeroGains(m)) {
      // Four norms per layer (Gemma-2) and the final norm: the vectors the tests below shrink.
      assertEquals(2 * 4 + 1, vectors(p).size(), vectors(p).toString());
      assertTrue(vectors(p).stream().allMatch(n -> n.endsWith("layernorm.weight") || n.equals("norm.weight")));
      assertEquals(0.5f, p.hostValues("norm.weight")[0]);
      assertEquals(-0.51f, p.hostValues("norm.weight")[1]);
    }
  }

  @Test
  void alphaZeroLeavesWeightsBitIdentical() {
    try (NDManager m = Engines.newManager(); Params p = withNonZeroGains(m); Params q = p.copy(m)) {
      Noise.apply(q, 0.0, 0.1, 99);
      for (String n : p.names()) {
        assertArrayEquals(p.hostValues(n), q.hostValues(n), n);
      }
    }
  }

  @Test
  void betaZeroShrinksEveryWeightByExactlyOneMinusAlpha() {
    try (NDManager m = Engines.newManager(); Params p = withNonZeroGains(m); Params q = p.copy(m)) {
      Noise.apply(q, 0.25, 0.0, 5);
      for (String n : p.names()) {
        float[] before = p.hostValues(n);
        float[] after = q.hostValues(n);
        for (int i = 0; i < before.length; i++) {
          assertEquals((float) (0.75 * before[i]), after[i], 0f, n + "[" + i + "]");
        }
      }
      assertEquals((float) (0.75 * 0.5), q.hostValues("norm.weight")[0], 0f);
      assertEquals((float) (0.75 * -0.51f), q.hostValues("layers.1.input_layernorm.weight")[1], 0f);
    }
  }

  @Test
  void alphaOneBetaOneGivesXavierUniformStatisticsAndResetsNormGains() {
    try (NDManager m = Engines.newManager(); Params p = withNonZeroGains(m)) {
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
      assertTrue(max <= bound, "within the Xavier bound");
      assertTrue(max > 0.95 * bound, "fills the Xavier range: max " + max + " of " + bound);
      // The embedding (300, 64) has its own bound.
      double embBound = Math.sqrt(6.0 / (64 + 300));
      double embMax = 0;
      for (float x : p.hostValues("embed_tokens.weight")) {
        embMax = Math.max(embMax, Math.abs(x));
      }
      assertTrue(embMax <= embBound && embMax > 0.95 * embBound, embMax + " vs bound " + embBound);
      for (String n : vectors(p)) {
        for (float x : p.hostValues(n)) {
          assertEquals(0f, x, 0f, n + ": vectors shrink to 0, i.e. gain 1 under the 1 + w convention");
        }
      }
    }
  }

  @Test
  void shrinkAndPerturbIsTheStatedMixture() {
    try (NDManager m = Engines.newManager(); Params p = withNonZeroGains(m); Params q = p.copy(m);
        Params z = p.copy(m)) {
      Noise.apply(q, 0.4, 0.1, 11);
      Noise.apply(z, 1.0, 1.0, 11); // same seed: z = N exactly (as float)
      for (String name : matrices(p)) {
        float[] a = p.hostValues(name);
        float[] b = q.hostValues(name);
        float[] n = z.hostValues(name);
        boolean moved = false;
        for (int i = 0; i < a.length; i++) {
          double expected = 0.6 * a[i] + 0.4 * 0.1 * n[i];
          // n is the drawn double rounded to float: allow that rounding (scaled by αβ) and one ulp of the result.
          assertEquals(expected, b[i], 0.04 * Math.ulp(n[i]) + Math.ulp((float) expected), name + "[" + i + "]");
          moved |= b[i] != a[i];
        }
        assertTrue(moved, name + " must change");
      }
      for (String name : vectors(p)) {
        float[] gp = p.hostValues(name);
        float[] gq = q.hostValues(name);
        for (int i = 0; i < gp.length; i++) {
          assertEquals((float) (0.6 * gp[i]), gq[i], 0f, name + "[" + i + "]");
          assertNotEquals(gp[i], gq[i], name + "[" + i + "] must shrink");
        }
      }
    }
  }

  @Test
  void theSameSeedNoisesIdenticallyAndAnotherSeedDifferently() {
    try (NDManager m = Engines.newManager(); Params p = withNonZeroGains(m); Params a = p.copy(m);
        Params b = p.copy(m); Params c = p.copy(m)) {
      Noise.apply(a, 0.5, 0.1, 21);
      Noise.apply(b, 0.5, 0.1, 21);
      Noise.apply(c, 0.5, 0.1, 22);
      String n = "layers.0.self_attn.q_proj.weight";
      assertArrayEquals(a.hostValues(n), b.hostValues(n));
      assertNotEquals(a.hostValues(n)[0], c.hostValues(n)[0]);
    }
  }

  @Test
  void rejectsAlphaOutsideUnitIntervalAndNegativeBeta() {
    try (NDManager m = Engines.newManager(); Params p = Init.random(CFG, m, 3)) {
      assertEquals("distill.alpha must be in [0, 1], got 1.5",
          assertThrows(IllegalArgumentException.class, () -> Noise.apply(p, 1.5, 0.1, 1)).getMessage());
      assertEquals("distill.alpha must be in [0, 1], got NaN",
          assertThrows(IllegalArgumentException.class, () -> Noise.apply(p, Double.NaN, 0.1, 1)).getMessage());
      assertEquals("distill.beta must be >= 0, got -0.1",
          assertThrows(IllegalArgumentException.class, () -> Noise.apply(p, 0.5, -0.1, 1)).getMessage());
    }
  }
}
