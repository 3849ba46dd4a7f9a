package dev.undo.data;

import java.util.Arrays;

/**
 * One training batch of token ids, flattened row-major: element {@code (row, t)} is at {@code row * seqLen + t}.
 * {@code targets[i]} is the token that follows {@code inputs[i]}; a target of {@link #IGNORE} contributes no
 * loss (for padded batches built elsewhere; {@link BatchSampler} fills every position).
 *
 * @param batchSize rows (B)
 * @param seqLen positions per row (T)
 * @param inputs B·T input ids
 * @param targets B·T next-token ids or {@link #IGNORE}
 */
public record Batch(int batchSize, int seqLen, int[] inputs, int[] targets) {
  /** Target value that means "no loss at this position". */
  public static final int IGNORE = -1;

  public Batch {
    if (batchSize < 1 || seqLen < 1) {
      throw new IllegalArgumentException("batchSize and seqLen must be >= 1, got " + batchSize + ", " + seqLen);
    }
    long n = (long) batchSize * seqLen;
    if (inputs.length != n || targets.length != n) {
      throw new IllegalArgumentException(
          "expected " + n + " inputs and targets, got " + inputs.length + " and " + targets.length);
    }
  }

  public int input(int row, int t) {
    return inputs[row * seqLen + t];
  }

  public int target(int row, int t) {
    return targets[row * seqLen + t];
  }

  /** Content equality: two batches are equal when they hold the same ids, which is what resume relies on. */
  @Override
  public boolean equals(Object o) {
    return o instanceof Batch b
        && batchSize == b.batchSize
        && seqLen == b.seqLen
        && Arrays.equals(inputs, b.inputs)
        && Arrays.equals(targets, b.targets);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * (31 * batchSize + seqLen) + Arrays.hashCode(inputs)) + Arrays.hashCode(targets);
  }

  @Override
  public String toString() {
    return "Batch[" + batchSize + "x" + seqLen + "]";
  }
}
