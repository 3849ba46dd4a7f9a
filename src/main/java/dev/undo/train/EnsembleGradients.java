package dev.undo.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.undo.model.EnsembleParams;
import java.util.List;

/**
 * Per-member gradient arithmetic shared by {@link EnsembleAdamW} and {@link EnsembleSgd}: global-norm clipping
 * with one norm and one coefficient per member, zeroing, per-member factor vectors shaped to broadcast over a
 * stacked parameter, and the mask that keeps inactive members bit-identical.
 */
final class EnsembleGradients {
  private EnsembleGradients() {}

  /** Per-member clipping as {@link AdamW#clipGradients}, which is torch.nn.utils.clip_grad_norm_. */
  static double[] clip(EnsembleParams params, List<String> trainable, double[] maxNorm, NDManager tmp) {
    int members = params.size();
    check(maxNorm.length, members, "maxNorm");
    // Each member's sum of squares per parameter is a float32 reduction over its slice, accumulated across
    // parameters in float64 in the trainable order, as the single-model AdamW does on the host; one host read.
    NDArray acc = null;
    for (String n : trainable) {
      try (NDArray g = params.get(n).getGradient(); NDArray sq = g.mul(g)) {
        NDArray s = sq.sum(memberAxes(g)).toType(DataType.FLOAT64, false);
        s.attach(tmp);
        acc = acc == null ? s : acc.add(s);
        acc.attach(tmp);
      }
    }
    double[] norms = new double[members];
    if (acc == null) {
      return norms;
    }
    double[] sq = acc.toDoubleArray();
    float[] coef = new float[members];
    boolean any = false;
    for (int k = 0; k < members; k++) {
      norms[k] = Math.sqrt(sq[k]);
      coef[k] = 1f;
      if (maxNorm[k] > 0) {
        double c = maxNorm[k] / (norms[k] + 1e-6);
        if (c < 1.0) {
          coef[k] = (float) c;
          any = true;
        }
      }
    }
    if (any) {
      for (String n : trainable) {
        try (NDArray g = params.get(n).getGradient()) {
          g.muli(factor(tmp, coef, g.getShape().dimension()));
        }
      }
    }
    return norms;
  }

  static void zero(EnsembleParams params, List<String> trainable) {
    for (String n : trainable) {
      JniUtils.zeroGrad((PtNDArray) params.get(n));
    }
  }

  /** The axes of one member's slice: every axis but the leading member axis. */
  static int[] memberAxes(NDArray stacked) {
    int[] axes = new int[stacked.getShape().dimension() - 1];
    for (int i = 0; i < axes.length; i++) {
      axes[i] = i + 1;
    }
    return axes;
  }

  /** Per-member values as a float32 {@code (K, 1, …, 1)} of {@code rank} dimensions, to broadcast over a parameter. */
  static NDArray factor(NDManager m, float[] values, int rank) {
    long[] s = new long[rank];
    java.util.Arrays.fill(s, 1);
    s[0] = values.length;
    return m.create(values, new Shape(s));
  }

  /** The active mask as a boolean {@code (K, 1, …, 1)} of {@code rank} dimensions. */
  static NDArray mask(NDManager m, boolean[] active, int rank) {
    long[] s = new long[rank];
    java.util.Arrays.fill(s, 1);
    s[0] = active.length;
    return m.create(active, new Shape(s));
  }

  /**
   * {@code delta} where the member is active, {@code fill} elsewhere. With fill −0 an in-place {@code addi} and with
   * fill +0 an in-place {@code subi} is the exact identity on every float (signed zeros included), which is what
   * keeps an inactive member bit-identical: multiplying its delta by 0 instead would turn −0 weights into +0 and
   * ∞·0 into NaN.
   */
  static NDArray masked(NDArray delta, NDArray activeMask, NDArray fill) {
    // libtorch's where broadcasts the (K, 1, …) mask and the scalar fill; DJL's NDArrays.where insists on equal
    // shapes, so call the JNI directly.
    return JniUtils.where((PtNDArray) activeMask, (PtNDArray) delta, (PtNDArray) fill);
  }

  static void check(int length, int members, String what) {
    if (length != members) {
      throw new IllegalArgumentException(what + " has " + length + " entries for " + members + " members");
    }
  }

  static boolean all(boolean[] active) {
    for (boolean a : active) {
      if (!a) {
        return false;
      }
    }
    return true;
  }
}
