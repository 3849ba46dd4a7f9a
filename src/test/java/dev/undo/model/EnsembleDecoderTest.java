package dev.undo.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ensemble forward pass is {@link Decoder}'s, member by member: logits and residual streams for per-member and
 * shared batches; members go in and out of the stacked store as exact copies.
 */
class EnsembleDecoderTest {
  static final ModelConfig CFG = ModelConfig.named("micro", 48, 16);
  // The batched matmul may sum in another order than the single model's; logits are O(1).
  static final double TOL = 1e-5;
  static NDManager manager;

  @BeforeAll
  static void start() {
    manager = Engines.newManager();
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  /** Random weights with non-zero norm gains too (Init leaves them 0, which would hide a gain broadcast bug). */
  static Params member(long seed) {
    Params p = Init.random(CFG, manager, seed);
    SplittableRandom rnd = new SplittableRandom(seed + 100);
    for (String n : p.names()) {
      if (Params.shapeOf(CFG, n).dimension() == 1) {
        float[] w = new float[CFG.hiddenSize()];
        for (int i = 0; i < w.length; i++) {
          w[i] = (float) (0.3 * Init.gaussian(rnd));
        }
        p.put(n, p.manager().create(w, new Shape(w.length)));
      }
    }
    return p;
  }

  static long[] randomTokens(long seed, int n) {
    SplittableRandom rnd = new SplittableRandom(seed);
    long[] t = new long[n];
    for (int i = 0; i < n; i++) {
      t[i] = rnd.nextInt(CFG.vocabSize());
    }
    return t;
  }

  static double maxAbsDiff(NDArray a, NDArray b) {
    assertEquals(b.getShape(), a.getShape(), "shape");
    float[] x = a.toFloatArray();
    float[] y = b.toFloatArray();
    double m = 0;
    for (int i = 0; i < x.length; i++) {
      m = Math.max(m, Math.abs(x[i] - y[i]));
    }
    return m;
  }

  @Test
  void logitsAndResidualsEqualTheSingleDecoderPerMember() {
    int k = 3;
    int b = 2;
    int t = 16;
    List<Params> members = new ArrayList<>();
    for (int j = 0; j < k; j++) {
      members.add(member(j + 1));
    }
    try (EnsembleParams e = EnsembleParams.stack(members, manager);
        EnsembleDecoder ens = new EnsembleDecoder(CFG, k, manager);
        Decoder dec = new Decoder(CFG, manager);
        NDScope scope = new NDScope()) {
      e.validate(CFG, "test");
      NDArray perMember = manager.create(randomTokens(7, k * b * t), new Shape(k, b, t));
      NDArray shared = manager.create(randomTokens(8, b * t), new Shape(b, t));
      NDArray logitsPer = ens.logits(e, perMember);
      NDArray logitsShared = ens.logits(e, shared);
      NDArray hidden = ens.residual(e, perMember, 0);
      assertEquals(new Shape(k, b, t, CFG.vocabSize()), logitsPer.getShape());
      assertEquals(new Shape(k, b, t, CFG.hiddenSize()), hidden.getShape());
      double worst = 0;
      for (int j = 0; j < k; j++) {
        NDArray own = perMember.get(j);
        worst = Math.max(worst, maxAbsDiff(logitsPer.get(j), dec.logits(members.get(j), own)));
        worst = Math.max(worst, maxAbsDiff(logitsShared.get(j), dec.logits(members.get(j), shared)));
        worst = Math.max(worst, maxAbsDiff(hidden.get(j), dec.residual(members.get(j), own, 0)));
        worst = Math.max(worst, maxAbsDiff(ens.residual(e, shared, -1).get(j), dec.embed(members.get(j), shared)));
      }
      System.out.printf("ensemble forward vs single decoder, K=3: max |Δ| %.3g%n", worst);
      assertTrue(worst < TOL, "ensemble differs from the single decoder by " + worst);
      // Shorter sequences use the same slices of the RoPE tables and mask as the single model.
      NDArray shortTokens = shared.get(new NDIndex(":, 0:5"));
      double shortDiff = maxAbsDiff(ens.logits(e, shortTokens).get(1), dec.logits(members.get(1), shortTokens));
      assertTrue(shortDiff < TOL, "short sequence differs by " + shortDiff);
      // The members really differ, so the comparison above could fail.
      assertTrue(maxAbsDiff(logitsShared.get(0), logitsShared.get(1)) > 0.01);
      assertThrows(IllegalArgumentException.class,
          () -> ens.logits(e, manager.create(randomTokens(9, 2 * b * t), new Shape(2, b, t))));
    } finally {
      members.forEach(Params::close);
    }
  }

  @Test
  void membersRoundTripBitExactly() {
    List<Params> members = List.of(member(1), member(2), member(3));
    try (Params other = member(4); EnsembleParams e = EnsembleParams.stack(members, manager)) {
      assertEquals(3, e.size());
      assertEquals(Params.names(CFG), e.names());
      assertEquals(members.get(0).count(), e.memberCount());
      for (int j = 0; j < 3; j++) {
        try (Params out = e.member(j, manager)) {
          assertBitEqual(members.get(j), out);
        }
      }
      e.setMember(1, other);
      try (Params m0 = e.member(0, manager); Params m1 = e.member(1, manager); Params m2 = e.member(2, manager)) {
        assertBitEqual(members.get(0), m0);
        assertBitEqual(other, m1);
        assertBitEqual(members.get(2), m2);
      }
      // A copy: changing the extracted member leaves the ensemble alone, and vice versa.
      try (Params m1 = e.member(1, manager)) {
        m1.get("norm.weight").addi(manager.ones(new Shape(CFG.hiddenSize())));
        try (Params again = e.member(1, manager)) {
          assertBitEqual(other, again);
        }
      }
      assertThrows(IllegalArgumentException.class, () -> e.member(3, manager));
    } finally {
      members.forEach(Params::close);
    }
  }

  static void assertBitEqual(Params want, Params got) {
    assertEquals(want.names(), got.names());
    for (String n : want.names()) {
      assertEquals(want.get(n).getShape(), got.get(n).getShape(), n);
      assertArrayEquals(want.get(n).toFloatArray(), got.get(n).toFloatArray(), 0f, n);
    }
  }
}
