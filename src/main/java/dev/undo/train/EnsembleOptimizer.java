package dev.undo.train;

import dev.undo.model.EnsembleParams;
import java.util.Arrays;
import java.util.List;

/**
 * What an ensemble training loop needs of an optimizer over {@link EnsembleParams}: per-member clipping, a step
 * with a learning rate per member and an {@code active} mask, and zeroing. The ensemble counterpart of
 * {@link Optimizer}; member k's numbers equal what {@link Optimizer} would do to member k trained alone.
 */
public interface EnsembleOptimizer extends AutoCloseable {
  /** The stacked parameters this optimizer updates; all others are never touched. */
  List<String> trainable();

  int members();

  /**
   * Measures each member's global gradient L2 norm over its slices of the trainable parameters and scales member
   * k's gradients so that norm is at most {@code maxNorm[k]} ({@code ≤ 0}: member k is only measured). Returns the
   * norms before clipping, {@code (K)}.
   */
  double[] clipGradients(EnsembleParams params, double[] maxNorm);

  /**
   * One update with member k's learning rate {@code lr[k]}. Members with {@code active[k] == false} are left
   * bit-identical (weights and optimizer state; their step counter does not advance): a member that met its stop
   * rule, or one that resumed from a later step than the others. Call outside gradient recording.
   */
  void step(EnsembleParams params, double[] lr, boolean[] active);

  /** {@link #step(EnsembleParams, double[], boolean[])} with every member active. */
  default void step(EnsembleParams params, double[] lr) {
    boolean[] all = new boolean[members()];
    Arrays.fill(all, true);
    step(params, lr, all);
  }

  /** Sets the trainable parameters' gradients to zero (they accumulate otherwise). */
  void zeroGradients(EnsembleParams params);

  @Override
  void close();
}
