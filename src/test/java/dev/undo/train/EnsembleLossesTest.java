package dev.undo.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.undo.model.Engines;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Entry k of every per-member loss is {@link Losses}' value for member k alone, and hand values hold. */
class EnsembleLossesTest {
  static final int K = 3;
  static final int B = 2;
  static final int T = 5;
  static final int V = 7;

  static NDArray random(NDManager m, long seed, long... shape) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] v = new float[(int) new Shape(shape).size()];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (3 * rnd.nextDouble() - 1.5);
    }
    return m.create(v, new Shape(shape));
  }

  static int[] targets(long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    int[] t = new int[B * T];
    for (int i = 0; i < t.length; i++) {
      t[i] = rnd.nextInt(4) == 0 ? -1 : rnd.nextInt(V);
    }
    return t;
  }

  @Test
  void everyLossEqualsTheSingleModelLossPerMember() {
    try (NDManager m = Engines.newManager(); NDScope scope = new NDScope()) {
      NDArray logits = random(m, 1, K, B, T, V);
      NDArray teachers = random(m, 2, K, B, T, V);
      NDArray shared = random(m, 3, B, T, V);
      NDArray logV = m.full(new Shape(), (float) Math.log(V), DataType.FLOAT32);
      int[][] tg = {targets(4), targets(5), targets(6)};
      EnsembleLosses.Targets et = EnsembleLosses.Targets.of(m, tg, B, T);
      float[] ce = EnsembleLosses.crossEntropy(logits, et).toFloatArray();
      float[] klPer = EnsembleLosses.forwardKl(teachers, logits, et).toFloatArray();
      float[] klShared = EnsembleLosses.forwardKl(shared, logits, et).toFloatArray();
      float[] klU = EnsembleLosses.klUniform(logits, et, logV).toFloatArray();
      NDArray tokenCe = EnsembleLosses.tokenCrossEntropy(logits, et);
      assertEquals(new Shape(K, B, T), tokenCe.getShape());
      for (int k = 0; k < K; k++) {
        Losses.Targets t = Losses.Targets.of(m, tg[k], B, T);
        NDArray lk = logits.get(k);
        assertEquals(Losses.crossEntropy(lk, t).getFloat(), ce[k], 1e-6, "CE of member " + k);
        assertEquals(Losses.forwardKl(teachers.get(k), lk, t).getFloat(), klPer[k], 1e-6, "KL of member " + k);
        assertEquals(Losses.forwardKl(shared, lk, t).getFloat(), klShared[k], 1e-6, "shared KL of member " + k);
        assertEquals(Losses.klUniform(lk, t, logV).getFloat(), klU[k], 1e-6, "KL-uniform of member " + k);
        assertArrayEquals(Losses.tokenCrossEntropy(lk, t).toFloatArray(), tokenCe.get(k).toFloatArray(), 1e-6f);
      }
      // Hand values: zero logits give CE = ln V and KL to uniform = 0; a student equal to its teacher has KL 0.
      NDArray zeros = m.zeros(new Shape(K, B, T, V));
      EnsembleLosses.Targets sharedTargets = EnsembleLosses.Targets.shared(m, targets(7), K, B, T);
      for (float v : EnsembleLosses.crossEntropy(zeros, sharedTargets).toFloatArray()) {
        assertEquals(Math.log(V), v, 1e-6);
      }
      for (float v : EnsembleLosses.klUniform(zeros, sharedTargets, logV).toFloatArray()) {
        assertEquals(0, v, 1e-6);
      }
      for (float v : EnsembleLosses.forwardKl(logits, logits, et).toFloatArray()) {
        assertEquals(0, v, 1e-6);
      }
      // Per-member MSE: member k's mean of (h_k − target)².
      NDArray h = random(m, 8, K, B, T, 4);
      NDArray target = random(m, 9, 1, 1, 4);
      float[] mse = EnsembleLosses.meanSquaredError(h, target).toFloatArray();
      for (int k = 0; k < K; k++) {
        assertEquals(h.get(k).sub(target).square().mean().getFloat(), mse[k], 1e-6, "MSE of member " + k);
      }
    }
  }
}
