package dev.undo.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.undo.data.Problem;
import dev.undo.data.Tokenizer;
import dev.undo.model.EnsembleDecoder;
import dev.undo.model.EnsembleParams;
import dev.undo.train.EnsembleLosses;
import java.util.Arrays;
import java.util.List;

/**
 * {@link Evaluator}'s measurements for every member of an ensemble at once: held-out windows and arithmetic problems
 * are shared by all members, so one batched forward scores them all (problems by {@link ExactMatch}'s one
 * teacher-forced pass). Member k's numbers equal {@link Evaluator}'s on member k alone (CE up to float rounding of
 * the batched products, verdicts problem by problem; tested).
 */
public final class EnsembleEvaluator {
  private final EnsembleDecoder decoder;
  private final Tokenizer tokenizer;
  private final NDManager manager;
  private final int batchSize;

  public EnsembleEvaluator(EnsembleDecoder decoder, Tokenizer tokenizer, NDManager manager, int batchSize) {
    this.decoder = decoder;
    this.tokenizer = tokenizer;
    this.manager = manager;
    this.batchSize = batchSize;
  }

  /** The members of {@code p} as one {@link Scorer}. */
  public Scorer scorer(EnsembleParams p) {
    return new Scorer() {
      @Override
      public int members() {
        return p.size();
      }

      @Override
      public long[] solved(List<Problem> problems) {
        return solvedBy(p, problems);
      }

      @Override
      public Evaluator.Ce[] crossEntropy(List<int[]> windows) {
        return EnsembleEvaluator.this.crossEntropy(p, windows);
      }
    };
  }

  /** Per member, mean CE over the windows (each {@code seqLen + 1} tokens, −1 = padding). */
  public Evaluator.Ce[] crossEntropy(EnsembleParams p, List<int[]> windows) {
    int k = p.size();
    double[][] sums = new double[k][windows.size()];
    long[] counts = new long[windows.size()];
    int chunkSize = Math.max(1, batchSize / k);
    for (int start = 0; start < windows.size(); start += chunkSize) {
      Evaluator.WindowBatch wb = Evaluator.WindowBatch.of(windows, start, chunkSize, counts);
      int b = wb.rows();
      int t = wb.width();
      long[] in = wb.inputs();
      int[] tg = wb.targets();
      try (NDScope scope = new NDScope()) {
        NDArray tokens = manager.create(in, new Shape(b, t));
        EnsembleLosses.Targets targets = EnsembleLosses.Targets.shared(manager, tg, k, b, t);
        NDArray perToken = EnsembleLosses.tokenCrossEntropy(decoder.logits(p, tokens), targets); // (K, B, T)
        double[] rows = perToken.sum(new int[] {2}).toType(DataType.FLOAT64, false).toDoubleArray(); // (K, B)
        for (int m = 0; m < k; m++) {
          for (int i = 0; i < b; i++) {
            sums[m][start + i] = rows[m * b + i];
          }
        }
      }
    }
    Evaluator.Ce[] out = new Evaluator.Ce[k];
    long total = 0;
    for (long c : counts) {
      total += c;
    }
    for (int m = 0; m < k; m++) {
      double sum = 0;
      for (double v : sums[m]) {
        sum += v;
      }
      out[m] = new Evaluator.Ce(total == 0 ? Double.NaN : sum / total, total, sums[m], counts.clone());
    }
    return out;
  }

  /** Per member, the number of problems solved under {@link ExactMatch}'s rule. */
  long[] solvedBy(EnsembleParams p, List<Problem> problems) {
    long[] out = new long[p.size()];
    if (problems.isEmpty()) {
      return out;
    }
    ExactMatch.Verdicts[] v = exactMatch(p, prepare(problems, p.size()));
    for (int m = 0; m < out.length; m++) {
      out[m] = v[m].correct();
    }
    return out;
  }

  /**
   * {@code problems} batched for one-pass scoring by a K-member ensemble: the single model's limits (rows, {@link
   * ExactMatch#BATCH_TOKENS}) divided by K, so that one forward of all members holds about as many activations as
   * one of a single model (the scope keeps them all until the batch is scored).
   */
  public ExactMatch.Prepared prepare(List<Problem> problems, int members) {
    return ExactMatch.prepare(problems, tokenizer, decoder.config().maxSeqLen(), Math.max(1, batchSize / members),
        Math.max(1, ExactMatch.BATCH_TOKENS / members));
  }

  /**
   * Per member, its verdict on every problem of {@code prepared}, for all members in one teacher-forced pass per
   * batch: the batch's tokens {@code (B, T)} are shared by the members, the ensemble forward gives logits {@code
   * (K, B, T, V)}, {@link ExactMatch#pick} takes each member's argmax at the scored positions (only those ids reach
   * the host) and {@link ExactMatch#scoreEach} compares them with the answers. Member k's verdicts are those of
   * {@link Evaluator#exactMatch} on member k alone (tested problem by problem).
   */
  public ExactMatch.Verdicts[] exactMatch(EnsembleParams p, ExactMatch.Prepared prepared) {
    List<ExactMatch.Batch> batches = prepared.batches();
    if (batches.isEmpty()) {
      ExactMatch.Verdicts[] none = new ExactMatch.Verdicts[p.size()];
      Arrays.fill(none, ExactMatch.Verdicts.of(new boolean[0]));
      return none;
    }
    long[][] picks = new long[batches.size()][];
    for (int b = 0; b < batches.size(); b++) {
      ExactMatch.Batch batch = batches.get(b);
      try (NDScope scope = new NDScope()) {
        NDArray logits = decoder.logits(p, batch.tokens(manager)); // (K, B, T, V)
        picks[b] = ExactMatch.pick(logits, batch); // K · predictions ids, member-major
      }
    }
    return ExactMatch.scoreEach(picks, prepared);
  }
}
