package dev.undo.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.undo.data.Problem;
import dev.undo.data.Tokenizer;
import dev.undo.model.Decoder;
import dev.undo.model.EnsembleDecoder;
import dev.undo.model.EnsembleParams;
import dev.undo.model.Params;
import dev.undo.train.EnsembleLosses;
import java.util.List;

/**
 * {@link Evaluator}'s measurements for every member of an ensemble at once: held-out windows are shared by all
 * members, so one batched forward scores them all; problems are scored the same way. Member k's numbers equal
 * {@link Evaluator}'s on member k alone (up to float rounding of the batched products; tested).
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
      List<int[]> chunk = windows.subList(start, Math.min(windows.size(), start + chunkSize));
      int b = chunk.size();
      int t = chunk.get(0).length - 1;
      long[] in = new long[b * t];
      int[] tg = new int[b * t];
      for (int i = 0; i < b; i++) {
        int[] w = chunk.get(i);
        for (int j = 0; j < t; j++) {
          in[i * t + j] = Math.max(w[j], 0);
          tg[i * t + j] = w[j] < 0 ? -1 : w[j + 1];
          counts[start + i] += tg[i * t + j] < 0 ? 0 : 1;
        }
      }
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

  /** Per member, the number of problems solved under {@link Evaluator}'s rule. */
  long[] solvedBy(EnsembleParams p, List<Problem> problems) {
    long[] out = new long[p.size()];
    try (Decoder single = new Decoder(decoder.config(), manager)) {
      Evaluator ev = new Evaluator(single, tokenizer, manager, batchSize);
      for (int m = 0; m < p.size(); m++) {
        try (Params member = p.member(m, manager)) {
          out[m] = ev.scorer(member).solved(problems)[0];
        }
      }
    }
    return out;
  }
}
