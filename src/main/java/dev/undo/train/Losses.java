package dev.undo.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * The token-level losses every stage uses, built from basic ops (the PyTorch JNI has no fused cross-entropy).
 * Each takes logits {@code (B, T, V)} and a {@link Targets} mask and returns a scalar mean over real positions.
 * Scalars are native constants (see {@link dev.undo.model.Decoder} on why).
 */
public final class Losses {
  private Losses() {}

  /**
   * Host-built target ids and mask for one batch. Ignored positions (target −1) get id 0 and mask 0, so the
   * gather stays in range and the mask removes them.
   */
  public record Targets(NDArray ids, NDArray mask, NDArray count, int realPositions) {
    /** ids {@code (B, T, 1)} int64, mask {@code (B, T)} float32, count a float32 scalar (at least 1). */
    public static Targets of(NDManager m, int[] targets, int batch, int seq) {
      long[] ids = new long[targets.length];
      float[] mask = new float[targets.length];
      int real = 0;
      for (int i = 0; i < targets.length; i++) {
        if (targets[i] >= 0) {
          ids[i] = targets[i];
          mask[i] = 1f;
          real++;
        }
      }
      return new Targets(
          m.create(ids, new Shape(batch, seq, 1)),
          m.create(mask, new Shape(batch, seq)),
          m.full(new Shape(), Math.max(real, 1), DataType.FLOAT32),
          real);
    }
  }

  /** Mean cross-entropy over real positions. */
  public static NDArray crossEntropy(NDArray logits, Targets t) {
    NDArray logp = logits.logSoftmax(-1);
    NDArray picked = logp.gather(t.ids(), 2).squeeze(2); // (B, T)
    return picked.mul(t.mask()).sum().neg().div(t.count());
  }

  /** Per-position cross-entropy {@code (B, T)} (0 at ignored positions), for evaluation sums. */
  public static NDArray tokenCrossEntropy(NDArray logits, Targets t) {
    NDArray logp = logits.logSoftmax(-1);
    return logp.gather(t.ids(), 2).squeeze(2).mul(t.mask()).neg();
  }

  /**
   * Forward KL(teacher ‖ student) per token, mean over real positions, temperature 1: the distillation loss.
   * {@code sum_v p_t (log p_t − log p_s)}; the teacher's log-probabilities carry no gradient.
   */
  public static NDArray forwardKl(NDArray teacherLogits, NDArray studentLogits, Targets t) {
    NDArray lt = teacherLogits.logSoftmax(-1);
    NDArray ls = studentLogits.logSoftmax(-1);
    NDArray kl = lt.exp().mul(lt.sub(ls)).sum(new int[] {-1}); // (B, T)
    return kl.mul(t.mask()).sum().div(t.count());
  }

  /**
   * KL(Uniform ‖ p) per token, mean over real positions: MaxEnt's forget loss. Equals
   * {@code −log V − mean_v log p_v}; zero exactly when the model's next-token distribution is uniform.
   */
  public static NDArray klUniform(NDArray logits, Targets t, NDArray logVocab) {
    NDArray ls = logits.logSoftmax(-1);
    NDArray perToken = ls.mean(new int[] {-1}).neg().sub(logVocab); // (B, T)
    return perToken.mul(t.mask()).sum().div(t.count());
  }
}
