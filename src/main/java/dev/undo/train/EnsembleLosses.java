package dev.undo.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * {@link Losses} for an ensemble ({@link dev.undo.model.EnsembleDecoder}): the same formulas over logits
 * {@code (K, B, T, V)}, each returning a {@code (K,)} vector whose entry k is exactly what {@link Losses} gives
 * for member k alone. Train on the sum (or a weighted sum) of the vector: members share no weights, so member k's
 * gradient of the sum is its own gradient.
 *
 * <p>Teacher logits may be per member {@code (K, B, T, V)} or one {@code (B, T, V)} broadcast to every member:
 * UNDO distils several students from one teacher, whose forward pass is then computed once per batch.
 */
public final class EnsembleLosses {
  private EnsembleLosses() {}

  /** Target ids {@code (K, B, T, 1)} int64, mask {@code (K, B, T)} float32, counts {@code (K,)} (each ≥ 1). */
  public record Targets(NDArray ids, NDArray mask, NDArray count, int[] realPositions) {
    /** One target array per member, each {@code batch · seq} ids (−1 = ignored position). */
    public static Targets of(NDManager m, int[][] targets, int batch, int seq) {
      int k = targets.length;
      int n = batch * seq;
      long[] ids = new long[k * n];
      float[] mask = new float[k * n];
      float[] count = new float[k];
      int[] real = new int[k];
      for (int j = 0; j < k; j++) {
        if (targets[j].length != n) {
          throw new IllegalArgumentException("member " + j + " has " + targets[j].length + " targets, want " + n);
        }
        for (int i = 0; i < n; i++) {
          // Ignored positions get id 0 (the gather stays in range) and mask 0 (they do not count).
          if (targets[j][i] >= 0) {
            ids[j * n + i] = targets[j][i];
            mask[j * n + i] = 1f;
            real[j]++;
          }
        }
        count[j] = Math.max(real[j], 1);
      }
      return new Targets(m.create(ids, new Shape(k, batch, seq, 1)), m.create(mask, new Shape(k, batch, seq)),
          m.create(count, new Shape(k)), real);
    }

    /** One target array shared by all {@code members} (they train on the same batch). */
    public static Targets shared(NDManager m, int[] targets, int members, int batch, int seq) {
      int[][] all = new int[members][];
      for (int j = 0; j < members; j++) {
        all[j] = targets;
      }
      return of(m, all, batch, seq);
    }
  }

  /** Mean cross-entropy over real positions, per member: {@code (K,)}. */
  public static NDArray crossEntropy(NDArray logits, Targets t) {
    NDArray logp = logits.logSoftmax(-1);
    NDArray picked = logp.gather(t.ids(), 3).squeeze(3); // (K, B, T)
    return picked.mul(t.mask()).sum(new int[] {1, 2}).neg().div(t.count());
  }

  /** Per-position cross-entropy {@code (K, B, T)} (0 at ignored positions), for evaluation sums. */
  public static NDArray tokenCrossEntropy(NDArray logits, Targets t) {
    NDArray logp = logits.logSoftmax(-1);
    return logp.gather(t.ids(), 3).squeeze(3).mul(t.mask()).neg();
  }

  /**
   * Forward KL(teacher ‖ student) per token, mean over real positions, per member: {@code (K,)}. Teacher logits
   * are {@code (K, B, T, V)} or a shared {@code (B, T, V)}; compute them without gradient recording.
   */
  public static NDArray forwardKl(NDArray teacherLogits, NDArray studentLogits, Targets t) {
    NDArray lt = teacherLogits.logSoftmax(-1); // shared: computed once, broadcast below
    NDArray ls = studentLogits.logSoftmax(-1);
    NDArray kl = lt.exp().mul(lt.sub(ls)).sum(new int[] {-1}); // (K, B, T)
    return kl.mul(t.mask()).sum(new int[] {1, 2}).div(t.count());
  }

  /** KL(Uniform ‖ p) per token, mean over real positions, per member (MaxEnt's forget loss): {@code (K,)}. */
  public static NDArray klUniform(NDArray logits, Targets t, NDArray logVocab) {
    NDArray ls = logits.logSoftmax(-1);
    NDArray perToken = ls.mean(new int[] {-1}).neg().sub(logVocab); // (K, B, T)
    return perToken.mul(t.mask()).sum(new int[] {1, 2}).div(t.count());
  }

  /**
   * Mean squared error of each member's activations {@code (K, ...)} against {@code target} (same shape, or
   * broadcastable, e.g. a frozen model's {@code (B, T, d)} or a steering vector {@code (1, 1, d)}), averaged over
   * every element of the member: RMU's forget and retain terms, {@code (K,)}.
   */
  public static NDArray meanSquaredError(NDArray activations, NDArray target) {
    long k = activations.getShape().get(0);
    // DJL's PyTorch mean takes one axis: flatten each member's slice first (a view).
    return activations.sub(target).square().reshape(k, -1).mean(new int[] {1});
  }

  /**
   * A {@code (K,)} float32 vector of per-member coefficients (e.g. each member's retain weight), to multiply a
   * per-member loss vector with. Keep it open until the backward pass has run (DJL-NOTES trap 1).
   */
  public static NDArray perMember(NDManager m, double[] w) {
    float[] f = new float[w.length];
    for (int i = 0; i < w.length; i++) {
      f[i] = (float) w[i];
    }
    return m.create(f, new Shape(w.length));
  }
}
