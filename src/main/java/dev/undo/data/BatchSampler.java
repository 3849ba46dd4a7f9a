package dev.undo.data;

import java.util.Objects;
import java.util.Random;

/**
 * Packs documents from a {@link Mixture} into fixed-length training batches (docs/PROTOCOL.md, "Settings": documents
 * packed into fixed-length sequences separated by newlines).
 *
 * <p>Each row comes from one source, drawn with the mixture probabilities, and is filled with that source's
 * documents joined by the newline token until it holds T+1 tokens; inputs are the first T, targets the last T.
 * Rows always start at a document start, which is also where evaluation prompts start. A document longer than
 * the row is cut; its tail is not carried over, because carrying state between steps would break the property
 * below.
 *
 * <p>A batch is a pure function of (seed, step): row {@code r} of step {@code s} uses its own generator seeded
 * with a hash of (seed, s, r). Resuming after a crash therefore needs only the step number, and any step can be
 * regenerated for debugging.
 */
public final class BatchSampler {
  private final Tokenizer tokenizer;
  private final Mixture mixture;
  private final int batchSize;
  private final int seqLen;
  private final long seed;

  public BatchSampler(Tokenizer tokenizer, Mixture mixture, int batchSize, int seqLen, long seed) {
    this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
    this.mixture = Objects.requireNonNull(mixture, "mixture");
    if (batchSize < 1 || seqLen < 1) {
      throw new IllegalArgumentException("batchSize and seqLen must be >= 1, got " + batchSize + ", " + seqLen);
    }
    this.batchSize = batchSize;
    this.seqLen = seqLen;
    this.seed = seed;
  }

  /** The batch of training step {@code step}; the same step always gives the same batch. */
  public Batch batch(long step) {
    int[] inputs = new int[batchSize * seqLen];
    int[] targets = new int[batchSize * seqLen];
    int[] row = new int[seqLen + 1];
    for (int r = 0; r < batchSize; r++) {
      Random rnd = rowRandom(step, r);
      DocumentSource source = mixture.pick(rnd);
      fill(source, rnd, row);
      System.arraycopy(row, 0, inputs, r * seqLen, seqLen);
      System.arraycopy(row, 1, targets, r * seqLen, seqLen);
    }
    return new Batch(batchSize, seqLen, inputs, targets);
  }

  /** Index (in {@link Mixture#entries()}) of the source that row {@code row} of step {@code step} came from. */
  public int sourceIndex(long step, int row) {
    if (row < 0 || row >= batchSize) {
      throw new IndexOutOfBoundsException("row " + row + " outside batch of " + batchSize);
    }
    return mixture.pickIndex(rowRandom(step, row));
  }

  private Random rowRandom(long step, int row) {
    return new Random(Mix.of(seed, step, row));
  }

  private void fill(DocumentSource source, Random rnd, int[] row) {
    int pos = 0;
    boolean first = true;
    // Every document after the first adds at least its separator, so this ends even if a source yields "".
    while (pos < row.length) {
      String doc = source.next(rnd);
      if (!first) {
        row[pos++] = tokenizer.newlineId();
      }
      first = false;
      pos = tokenizer.encodeInto(doc, row, pos);
    }
  }

  public Tokenizer tokenizer() {
    return tokenizer;
  }

  public Mixture mixture() {
    return mixture;
  }

  public int batchSize() {
    return batchSize;
  }

  public int seqLen() {
    return seqLen;
  }

  public long seed() {
    return seed;
  }
}
