package dev.undo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.undo.model.Engines;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Hand-computed values for every loss (hand-computed, as docs/DESIGN.md asks of every loss). */
class LossesTest {
  static NDManager m;

  @BeforeAll
  static void start() {
    m = Engines.newManager();
  }

  @AfterAll
  static void stop() {
    m.close();
  }

  static Losses.Targets targets(int b, int t, int v) {
    int[] ids = new int[b * t];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = i % v;
    }
    ids[ids.length - 1] = -1; // one ignored position
    return Losses.Targets.of(m, ids, b, t);
  }

  @Test
  void crossEntropyOfZeroLogitsIsLogVocab() {
    NDArray logits = m.zeros(new Shape(2, 5, 7));
    assertEquals(Math.log(7), Losses.crossEntropy(logits, targets(2, 5, 7)).getFloat(), 1e-6);
  }

  @Test
  void crossEntropyIgnoresMaskedPositions() {
    // Put a huge wrong logit at the ignored position: the mean over the other 9 positions must not move.
    float[] v = new float[2 * 5 * 7];
    v[(2 * 5 - 1) * 7 + 3] = 100f;
    NDArray logits = m.create(v, new Shape(2, 5, 7));
    Losses.Targets t = targets(2, 5, 7);
    assertEquals(9, t.realPositions());
    assertEquals(Math.log(7), Losses.crossEntropy(logits, t).getFloat(), 1e-6);
  }

  @Test
  void crossEntropyOfAConfidentCorrectModelIsNearZero() {
    Losses.Targets t = targets(1, 3, 4);
    float[] v = new float[12];
    int[] ids = {0, 1, 2};
    for (int i = 0; i < 3; i++) {
      v[i * 4 + ids[i]] = 30f;
    }
    double expected = Math.log(1 + 3 * Math.exp(-30)); // exact CE of that softmax
    assertEquals(expected, Losses.crossEntropy(m.create(v, new Shape(1, 3, 4)), t).getFloat(), 1e-6);
  }

  @Test
  void klToUniformOfUniformLogitsIsZeroAndOfOneHotIsLogV() {
    NDArray logV = m.full(new Shape(), (float) Math.log(5), DataType.FLOAT32);
    Losses.Targets t = targets(2, 3, 5);
    assertEquals(0, Losses.klUniform(m.full(new Shape(2, 3, 5), 0.7f), t, logV).getFloat(), 1e-6);
    // Logits (L, 0, 0, 0, 0): KL(U||p) = -log V - mean(log p) -> log(e^L + 4) - L/5 - log 5.
    float big = 6f;
    float[] v = new float[2 * 3 * 5];
    for (int i = 0; i < 6; i++) {
      v[i * 5] = big;
    }
    double expected = Math.log(Math.exp(big) + 4) - big / 5.0 - Math.log(5);
    assertEquals(expected, Losses.klUniform(m.create(v, new Shape(2, 3, 5)), t, logV).getFloat(), 1e-5);
  }

  @Test
  void forwardKlOfIdenticalLogitsIsZeroAndMatchesHandValue() {
    NDArray a = m.randomNormal(new Shape(2, 3, 6));
    Losses.Targets t = targets(2, 3, 6);
    assertEquals(0, Losses.forwardKl(a, a, t).getFloat(), 1e-6);
    // Two-token vocabulary, one position: KL(p||q) for p = softmax(0, 1), q = softmax(0, 0).
    NDArray p = m.create(new float[] {0f, 1f}, new Shape(1, 1, 2));
    NDArray q = m.create(new float[] {0f, 0f}, new Shape(1, 1, 2));
    Losses.Targets one = Losses.Targets.of(m, new int[] {0}, 1, 1);
    double p1 = Math.exp(1) / (1 + Math.exp(1));
    double expected = (1 - p1) * Math.log((1 - p1) / 0.5) + p1 * Math.log(p1 / 0.5);
    assertEquals(expected, Losses.forwardKl(p, q, one).getFloat(), 1e-6);
  }
}
