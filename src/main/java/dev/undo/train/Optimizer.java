package dev.undo.train;

import dev.undo.model.Params;
import java.util.List;

/** What the training loop needs of an optimizer: clip, step, zero, over a fixed list of trainable parameters. */
public interface Optimizer extends AutoCloseable {
  List<String> trainable();

  /** Scales gradients to global norm ≤ maxNorm (≤ 0: only measure); returns the norm before clipping. */
  double clipGradients(Params params, double maxNorm);

  void step(Params params, double lr);

  void zeroGradients(Params params);

  @Override
  void close();
}
