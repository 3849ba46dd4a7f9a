package dev.undo.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.undo.data.Problem;
import dev.undo.data.Tokenizer;
import dev.undo.model.Decoder;
import dev.undo.model.Params;
import dev.undo.train.Losses;
import java.util.ArrayList;
import java.util.List;

/**
 * The two measurements of docs/PROTOCOL.md: cross-entropy on held-out text, and exact-match accuracy on arithmetic
 * problems. Both run without autograd and batch their work. Accuracy follows the rule of {@link ExactMatch} (greedy
 * decoding would emit the answer's tokens, then whitespace) and is scored by one teacher-forced forward pass;
 * greedy decoding ({@link #greedy}) remains for prompts without a known answer and as the tested reference.
 *
 * <p>Greedy decoding without a cache, like one-pass scoring, pads rows on the right. Under a causal mask a position
 * never sees the positions after it, so right padding changes nothing before each row's last real token, and a
 * whole batch of prompts of different lengths decodes together exactly as each would alone.
 */
public final class Evaluator {
  private final Decoder decoder;
  private final Tokenizer tokenizer;
  private final NDManager manager;
  private final int batchSize;

  public Evaluator(Decoder decoder, Tokenizer tokenizer, NDManager manager, int batchSize) {
    this.decoder = decoder;
    this.tokenizer = tokenizer;
    this.manager = manager;
    this.batchSize = batchSize;
  }

  /**
   * Mean CE over a set of token windows and the number of scored tokens, with each window's CE sum and token count
   * (for a bootstrap interval over windows, eval/Intervals).
   */
  public record Ce(double ce, long tokens, double[] windowSums, long[] windowTokens) {}

  /**
   * Held-out windows: documents joined by newlines, cut into consecutive windows of {@code seqLen + 1} tokens, the
   * first {@code maxWindows} kept. Deterministic, so every evaluation of a run scores the same tokens.
   */
  public static List<int[]> windows(Tokenizer tok, List<String> docs, int seqLen, int maxWindows) {
    List<int[]> out = new ArrayList<>();
    int[] buf = new int[seqLen + 1];
    int fill = 0;
    for (String doc : docs) {
      int[] ids = tok.encode(doc + "\n");
      for (int id : ids) {
        buf[fill++] = id;
        if (fill == buf.length) {
          out.add(buf.clone());
          if (out.size() == maxWindows) {
            return out;
          }
          fill = 0;
        }
      }
    }
    if (fill > 1 && out.size() < maxWindows) {
      // The tail is scored too (short corpora); its missing targets are ignored.
      int[] tail = new int[seqLen + 1];
      java.util.Arrays.fill(tail, -1);
      System.arraycopy(buf, 0, tail, 0, fill);
      out.add(tail);
    }
    return out;
  }

  /**
   * Windows {@code start ..< start + size} as a batch: inputs (−1 padding read as token 0) and next-token targets
   * (−1 where there is none), both (rows × width) row-major; adds each window's target count to {@code counts}.
   */
  record WindowBatch(int rows, int width, long[] inputs, int[] targets) {
    static WindowBatch of(List<int[]> windows, int start, int size, long[] counts) {
      List<int[]> chunk = windows.subList(start, Math.min(windows.size(), start + size));
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
      return new WindowBatch(b, t, in, tg);
    }
  }

  /** Mean next-token CE over the windows (each of length seqLen + 1; −1 entries are padding). */
  public Ce crossEntropy(Params p, List<int[]> windows) {
    double sum = 0;
    long count = 0;
    double[] sums = new double[windows.size()];
    long[] counts = new long[windows.size()];
    for (int start = 0; start < windows.size(); start += batchSize) {
      WindowBatch wb = WindowBatch.of(windows, start, batchSize, counts);
      int b = wb.rows();
      int t = wb.width();
      long[] in = wb.inputs();
      int[] tg = wb.targets();
      try (NDScope scope = new NDScope()) {
        NDArray tokens = manager.create(in, new Shape(b, t));
        Losses.Targets targets = Losses.Targets.of(manager, tg, b, t);
        NDArray perToken = Losses.tokenCrossEntropy(decoder.logits(p, tokens), targets);
        double[] rows = perToken.sum(new int[] {1}).toType(ai.djl.ndarray.types.DataType.FLOAT64, false)
            .toDoubleArray();
        for (int i = 0; i < b; i++) {
          sums[start + i] = rows[i];
          sum += rows[i];
        }
        count += targets.realPositions();
      }
    }
    return new Ce(count == 0 ? Double.NaN : sum / count, count, sums, counts);
  }

  /** This evaluator as a {@link Scorer} of one model. */
  public Scorer scorer(Params p) {
    return new Scorer() {
      @Override
      public int members() {
        return 1;
      }

      @Override
      public long[] solved(List<Problem> problems) {
        if (problems.isEmpty()) {
          return new long[] {0};
        }
        return new long[] {exactMatch(p, prepare(problems)).correct()};
      }

      @Override
      public Ce[] crossEntropy(List<int[]> windows) {
        return new Ce[] {Evaluator.this.crossEntropy(p, windows)};
      }
    };
  }

  /**
   * Fraction of problems solved under the exact-match rule of {@link ExactMatch} (the answer's tokens, then a
   * whitespace token), scored by one teacher-forced forward pass per batch; NaN for no problems.
   */
  public double accuracy(Params p, List<Problem> problems) {
    if (problems.isEmpty()) {
      return Double.NaN;
    }
    return exactMatch(p, prepare(problems)).accuracy();
  }

  /** {@code problems} batched for one-pass scoring by this evaluator's model: its context, its batch size. */
  public ExactMatch.Prepared prepare(List<Problem> problems) {
    return ExactMatch.prepare(problems, tokenizer, decoder.config().maxSeqLen(), batchSize);
  }

  /** {@link #accuracy(Params, List)} for prompt and answer strings (e.g. {@code eval --prompts}). */
  public double accuracy(Params p, List<String> prompts, List<String> answers) {
    if (prompts.isEmpty()) {
      return Double.NaN;
    }
    return exactMatch(p, ExactMatch.prepare(prompts, answers, tokenizer, decoder.config().maxSeqLen(), batchSize))
        .accuracy();
  }

  /**
   * Per-problem verdicts of one model on a prepared evaluation set ({@link ExactMatch}): one forward pass per
   * batch over prompt + answer. Inside the pass, the final residual stream is gathered at the scored positions
   * only, so the LM head and the argmax run on n + 1 rows per problem and only those ids reach the host.
   */
  public ExactMatch.Verdicts exactMatch(Params p, ExactMatch.Prepared prepared) {
    List<ExactMatch.Batch> batches = prepared.batches();
    long[][] picks = new long[batches.size()][];
    int layers = decoder.config().numLayers();
    int d = decoder.config().hiddenSize();
    for (int b = 0; b < batches.size(); b++) {
      ExactMatch.Batch batch = batches.get(b);
      try (NDScope scope = new NDScope()) {
        NDArray x = decoder.residual(p, batch.tokens(manager), layers - 1); // (B, T, d)
        NDArray scored = x.reshape((long) batch.rows() * batch.width(), d).get(batch.positions(manager)); // (M, d)
        picks[b] = decoder.head(p, scored).argMax(1).toLongArray(); // (M)
      }
    }
    return ExactMatch.score(picks, prepared);
  }

  /**
   * The exact-match rule of {@link ExactMatch} on top of the cached greedy decoder: solved iff the continuation of
   * {@link #answerContinuations} is the answer followed by a whitespace token. Slower than {@link #exactMatch}; kept
   * as the reference the one-pass scoring is tested and benchmarked against.
   */
  public boolean[] greedyVerdicts(Params p, List<String> prompts, List<String> answers) {
    int[][] gen = answerContinuations(p, prompts, answers);
    boolean[] ws = ExactMatch.whitespaceIds(tokenizer);
    boolean[] out = new boolean[gen.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = ExactMatch.solvedBy(gen[i], tokenizer.encode(answers.get(i)), ws);
    }
    return out;
  }

  /**
   * Greedy continuation of each prompt by exactly n + 1 tokens, n = the length of its answer, with the prompt cropped
   * as one-pass scoring crops it (no early stop: the token after the answer counts whatever it is). Prompts are
   * decoded in groups of equal answer length.
   */
  public int[][] answerContinuations(Params p, List<String> prompts, List<String> answers) {
    int maxLen = decoder.config().maxSeqLen();
    int[][] out = new int[prompts.size()][];
    java.util.Map<Integer, List<Integer>> byLength = new java.util.TreeMap<>();
    for (int i = 0; i < prompts.size(); i++) {
      int[] answer = tokenizer.encode(answers.get(i));
      // The same checks and errors as one-pass scoring.
      ExactMatch.croppedPrompt(i, tokenizer.encode(prompts.get(i)), answer, tokenizer, maxLen);
      byLength.computeIfAbsent(answer.length, k -> new ArrayList<>()).add(i);
    }
    for (java.util.Map.Entry<Integer, List<Integer>> e : byLength.entrySet()) {
      List<String> group = new ArrayList<>();
      e.getValue().forEach(i -> group.add(prompts.get(i)));
      int[][] gen = greedyIds(p, group, e.getKey() + 1, false);
      for (int j = 0; j < gen.length; j++) {
        out[e.getValue().get(j)] = gen[j];
      }
    }
    return out;
  }

  /**
   * Per-problem verdicts under the rule used before one-pass scoring, kept only to measure how often the two
   * disagree ({@code undo bench --exact-match}): greedy decoding of the longest answer + 1 tokens (prompts cropped
   * for that many), then {@link #matches} on the first whitespace-separated word.
   */
  public boolean[] numericVerdicts(Params p, List<String> prompts, List<String> answers) {
    int maxAnswer = 0;
    for (String a : answers) {
      maxAnswer = Math.max(maxAnswer, tokenizer.encode(a).length);
    }
    List<String> generated = greedy(p, prompts, maxAnswer + 1);
    boolean[] out = new boolean[prompts.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = matches(generated.get(i), answers.get(i));
    }
    return out;
  }

  /**
   * The numeric rule used before {@link ExactMatch}: the first whitespace-separated word of the continuation equals
   * the answer, compared as numbers when both parse (so "012" and "12.0" count as 12). No longer the accuracy
   * rule; kept for {@link #numericVerdicts}.
   */
  public static boolean matches(String generated, String answer) {
    String g = generated.strip();
    int sp = 0;
    while (sp < g.length() && !Character.isWhitespace(g.charAt(sp))) {
      sp++;
    }
    String first = g.substring(0, sp);
    String a = answer.strip();
    try {
      return Math.abs(Double.parseDouble(first) - Double.parseDouble(a)) < 1e-6;
    } catch (NumberFormatException e) {
      return !first.isEmpty() && first.equals(a);
    }
  }

  /**
   * Greedy continuation of each prompt by up to {@code maxNew} tokens (prompts longer than the context keep their
   * end); a row stops once it has produced whitespace after its first non-whitespace character, since only the
   * first whitespace-separated word is of interest. Prompts are left-padded and decoded with a key-value cache:
   * one forward over the prompts, then one position per new token. Used where no answer is known; accuracy is
   * scored by {@link #exactMatch} instead.
   */
  public List<String> greedy(Params p, List<String> prompts, int maxNew) {
    List<String> out = new ArrayList<>();
    for (int[] ids : greedyIds(p, prompts, maxNew, true)) {
      out.add(tokenizer.decode(ids));
    }
    return out;
  }

  /**
   * The ids {@link #greedy} decodes; with {@code stopAfterWord} false every row gets exactly {@code maxNew}
   * tokens (the exact-match reference needs the token after the answer whatever it is).
   */
  int[][] greedyIds(Params p, List<String> prompts, int maxNew, boolean stopAfterWord) {
    int[][] out = new int[prompts.size()][];
    for (int start = 0; start < prompts.size(); start += batchSize) {
      int b = Math.min(batchSize, prompts.size() - start);
      int[][] rows = promptIds(prompts.subList(start, start + b), maxNew);
      int longest = java.util.Arrays.stream(rows).mapToInt(r -> r.length).max().orElse(0);
      int[] pad = new int[b];
      long[] buf = new long[b * longest]; // left-padded with token 0, which no real query can see
      for (int i = 0; i < b; i++) {
        pad[i] = longest - rows[i].length;
        for (int j = 0; j < rows[i].length; j++) {
          buf[i * longest + pad[i] + j] = rows[i][j];
        }
      }
      int[][] gen = new int[b][maxNew];
      int[] produced = new int[b];
      boolean[] finished = new boolean[b];
      boolean[] started = new boolean[b];
      try (Decoder.KvCache cache = new Decoder.KvCache(decoder.config().numLayers(), pad)) {
        long[] input = buf;
        for (int s = 0; s < maxNew; s++) {
          long[] next;
          try (NDScope scope = new NDScope()) {
            NDArray tokens = manager.create(input, new Shape(b, input.length / b));
            next = decoder.extend(p, tokens, cache).argMax(1).toLongArray();
            cache.commit();
          }
          boolean all = true;
          for (int i = 0; i < b; i++) {
            if (finished[i]) {
              continue;
            }
            gen[i][s] = (int) next[i];
            produced[i] = s + 1;
            finished[i] = stopAfterWord && track((int) next[i], started, i);
            all &= finished[i];
          }
          if (all) {
            break;
          }
          input = next;
        }
      }
      for (int i = 0; i < b; i++) {
        out[start + i] = java.util.Arrays.copyOf(gen[i], produced[i]);
      }
    }
    return out;
  }

  /**
   * Whether row {@code i} is finished after producing {@code token}: whitespace once the answer has started ends it;
   * a non-whitespace token marks it started.
   */
  private boolean track(int token, boolean[] started, int i) {
    String piece = tokenizer.decode(new int[] {token});
    if (piece.isEmpty()) {
      return false;
    }
    if (Character.isWhitespace(piece.charAt(0))) {
      return started[i];
    }
    started[i] = true;
    return false;
  }

  /** Token ids of each prompt, cropped to its end so that {@code maxNew} more tokens fit in the context. */
  private int[][] promptIds(List<String> prompts, int maxNew) {
    int maxLen = decoder.config().maxSeqLen();
    int[][] rows = new int[prompts.size()][];
    for (int i = 0; i < rows.length; i++) {
      int[] ids = tokenizer.encode(prompts.get(i));
      int keep = Math.min(ids.length, maxLen - maxNew);
      rows[i] = java.util.Arrays.copyOfRange(ids, ids.length - keep, ids.length);
    }
    return rows;
  }

  /**
   * The same greedy decoding without a cache: right-padded rows, the whole prefix recomputed for every new token,
   * finished rows leaving the batch. Slower; kept as the reference the cached decoder is tested against.
   */
  public List<String> greedyNoCache(Params p, List<String> prompts, int maxNew) {
    List<String> out = new ArrayList<>();
    for (int start = 0; start < prompts.size(); start += batchSize) {
      int b = Math.min(batchSize, prompts.size() - start);
      int[][] rows = promptIds(prompts.subList(start, start + b), maxNew);
      int longest = java.util.Arrays.stream(rows).mapToInt(r -> r.length).max().orElse(0);
      int width = longest + maxNew;
      long[] buf = new long[b * width];
      int[] len = new int[b];
      int[][] gen = new int[b][maxNew];
      for (int i = 0; i < b; i++) {
        for (int j = 0; j < rows[i].length; j++) {
          buf[i * width + j] = rows[i][j];
        }
        len[i] = rows[i].length;
      }
      // Rows leave the batch once they have produced whitespace: only the first whitespace-separated token is
      // scored, so what follows cannot change the result, and most answers end after two or three tokens.
      boolean[] finished = new boolean[b];
      boolean[] started = new boolean[b]; // produced a non-whitespace character already
      int[] produced = new int[b];
      for (int s = 0; s < maxNew; s++) {
        int[] rowsActive = java.util.stream.IntStream.range(0, b).filter(i -> !finished[i]).toArray();
        if (rowsActive.length == 0) {
          break;
        }
        int cur = 0; // every active row's next position is < cur
        for (int i : rowsActive) {
          cur = Math.max(cur, len[i] + s);
        }
        int n = rowsActive.length;
        long[] next;
        try (NDScope scope = new NDScope()) {
          long[] view = new long[n * cur];
          for (int r = 0; r < n; r++) {
            System.arraycopy(buf, rowsActive[r] * width, view, r * cur, cur);
          }
          NDArray tokens = manager.create(view, new Shape(n, cur));
          NDArray argmax = decoder.logits(p, tokens).argMax(2); // (n, cur)
          long[] all = argmax.toLongArray();
          next = new long[n];
          for (int r = 0; r < n; r++) {
            next[r] = all[r * cur + len[rowsActive[r]] + s - 1];
          }
        }
        for (int r = 0; r < n; r++) {
          int i = rowsActive[r];
          gen[i][s] = (int) next[r];
          produced[i] = s + 1;
          buf[i * width + len[i] + s] = next[r];
          finished[i] = track((int) next[r], started, i);
        }
      }
      for (int i = 0; i < b; i++) {
        out.add(tokenizer.decode(java.util.Arrays.copyOf(gen[i], produced[i])));
      }
    }
    return out;
  }
}
