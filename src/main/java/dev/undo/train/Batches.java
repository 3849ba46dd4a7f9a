package dev.undo.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.undo.data.Batch;

/** A host {@link Batch} as engine arrays: input token ids and loss targets. */
public final class Batches {
  private Batches() {}

  /** Input ids {@code (B, T)} int64. */
  public static NDArray tokens(NDManager m, Batch b) {
    long[] in = new long[b.inputs().length];
    for (int i = 0; i < in.length; i++) {
      in[i] = b.inputs()[i];
    }
    return m.create(in, new Shape(b.batchSize(), b.seqLen()));
  }

  /** Next-token targets and mask of the batch. */
  public static Losses.Targets targets(NDManager m, Batch b) {
    return Losses.Targets.of(m, b.targets(), b.batchSize(), b.seqLen());
  }
}
