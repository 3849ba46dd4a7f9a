package dev.undo.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.undo.data.Problem;
import dev.undo.data.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Exact-match accuracy by one teacher-forced forward pass: THE accuracy rule of this project.
 *
 * <p><b>Rule.</b> A problem is solved iff greedy decoding from its prompt would emit exactly the tokens of its
 * answer and then a terminator, i.e. a whitespace token (one whose text starts with a whitespace character: a
 * space, a newline, …). Nothing else counts: "012", "12.0", " 12" and a "12" followed by a digit, a period or the
 * pad token are all wrong answers to "12".
 *
 * <p><b>Why one pass is enough.</b> Greedy decoding feeds its own argmax back. As long as those argmaxes equal
 * the answer, the sequence it has built is exactly {@code prompt + answer[0..i)}, so feeding {@code prompt +
 * answer} once and reading the argmax at the n + 1 positions that predict {@code answer[0]}, …, {@code
 * answer[n-1]} and the terminator answers the same question: the first position whose argmax differs is where
 * greedy decoding would have left the answer, and then both say "wrong". The tokenizer is character-level
 * ({@link Tokenizer}: the ids of {@code prompt + answer} are the ids of {@code prompt} followed by those of {@code
 * answer}), so no re-tokenization can make the two differ. {@code ExactMatchTest} checks per-problem verdicts of
 * this class against {@link Evaluator#greedyVerdicts} (the same rule on top of the cached greedy decoder) on
 * models from fresh to trained. One pass runs each problem through the model once, where greedy decoding runs the
 * prompt and then n + 1 single-token steps.
 *
 * <p><b>Context.</b> Each row keeps the end of its prompt so that prompt + answer + 1 fits {@code max_seq_len}
 * (the same crop as greedy decoding of n + 1 tokens), independently of the other rows of its batch. An answer
 * that leaves no prompt token is an error. Rows are right-padded: under the causal mask a position never sees
 * later ones, so padding changes nothing at the scored positions.
 *
 * <p><b>Use.</b> {@link #prepare} builds the token batches, the scored positions and the expected ids once per
 * evaluation set; any forward pass that yields logits {@code (B, T, V)} or {@code (K, B, T, V)} for a batch can be
 * reduced with {@link #pick} and scored with {@link #score}/{@link #scoreEach}, so a single model ({@link
 * Evaluator#exactMatch}) and an ensemble share the rule. Scoring is pure host code over the picked ids.
 */
public final class ExactMatch {
  /**
   * Default cap on a batch's padded tokens (rows × width), under the caller's row limit. A forward pass over a
   * (100 × 165)-token batch of word problems cost 1.6–1.8× the CPU time per token of (16–32)-row batches on this
   * 2-core machine (BENCHMARKS.md): the attention scores and MLP activations of a big batch no longer fit in cache.
   * Short rows (equations) still batch up to the row limit.
   */
  public static final int BATCH_TOKENS = 4096;

  /** Value of {@link Batch#expected} where the prediction must be a whitespace token (the terminator). */
  public static final int TERMINATOR = -1;

  private ExactMatch() {}

  /**
   * One forward pass worth of rows.
   *
   * @param problems index in the evaluation set of each row
   * @param width columns of {@code tokens} (the longest row)
   * @param tokens {@code rows × width} ids, row-major, right-padded with {@link Tokenizer#PAD_ID}
   * @param positions flat index {@code row * width + column} of every scored prediction, row by row: row {@code r}
   *     owns {@code [rowEnds[r-1], rowEnds[r])} (from 0 for row 0), n + 1 of them for an answer of n tokens
   * @param expected the id each scored prediction must be, or {@link #TERMINATOR} for any whitespace token
   * @param rowEnds end (exclusive) of each row's scored predictions in {@code positions}
   */
  public record Batch(int[] problems, int width, long[] tokens, long[] positions, int[] expected, int[] rowEnds) {
    public int rows() {
      return problems.length;
    }

    /** Scored predictions of the batch, {@code positions.length}. */
    public int predictions() {
      return positions.length;
    }

    /** The input ids as an int64 array {@code (rows, width)} owned by {@code m}. */
    public NDArray tokens(NDManager m) {
      return m.create(tokens, new Shape(rows(), width));
    }

    /** {@link #positions} as an int64 array {@code (predictions)} owned by {@code m}. */
    public NDArray positions(NDManager m) {
      return m.create(positions, new Shape(positions.length));
    }
  }

  /**
   * An evaluation set ready to score: its batches and the tokenizer's whitespace ids. Immutable; build it once
   * per evaluation set and reuse it for every model (or ensemble) evaluated on that set.
   */
  public static final class Prepared {
    private final List<Batch> batches;
    private final int size;
    private final boolean[] whitespace;

    private Prepared(List<Batch> batches, int size, boolean[] whitespace) {
      this.batches = List.copyOf(batches);
      this.size = size;
      this.whitespace = whitespace;
    }

    public List<Batch> batches() {
      return batches;
    }

    /** Number of problems. */
    public int size() {
      return size;
    }

    /** Whether {@code id} is a terminator; ids outside the tokenizer's vocabulary are not. */
    public boolean isWhitespace(long id) {
      return id >= 0 && id < whitespace.length && whitespace[(int) id];
    }
  }

  /** Per-problem verdicts (in the evaluation set's order) and how many are solved. */
  public record Verdicts(boolean[] solved, int correct) {
    public static Verdicts of(boolean[] solved) {
      int c = 0;
      for (boolean s : solved) {
        c += s ? 1 : 0;
      }
      return new Verdicts(solved, c);
    }

    public int size() {
      return solved.length;
    }

    /** Fraction solved; NaN for an empty set. */
    public double accuracy() {
      return solved.length == 0 ? Double.NaN : (double) correct / solved.length;
    }
  }

  /** {@link #prepare(List, List, Tokenizer, int, int)} over the prompts and answers of arithmetic problems. */
  public static Prepared prepare(List<Problem> problems, Tokenizer tok, int maxSeqLen, int batchSize) {
    return prepare(problems, tok, maxSeqLen, batchSize, BATCH_TOKENS);
  }

  /** {@link #prepare(List, Tokenizer, int, int)} with batches of at most {@code maxTokens} padded tokens. */
  public static Prepared prepare(List<Problem> problems, Tokenizer tok, int maxSeqLen, int batchSize,
      int maxTokens) {
    List<String> prompts = new ArrayList<>(problems.size());
    List<String> answers = new ArrayList<>(problems.size());
    for (Problem p : problems) {
      prompts.add(p.prompt());
      answers.add(p.answer());
    }
    return prepare(prompts, answers, tok, maxSeqLen, batchSize, maxTokens);
  }

  /**
   * Tokenizes, crops and batches an evaluation set. Rows are grouped by length (longest first) so that a batch
   * carries little padding; verdicts come back in the given order regardless.
   *
   * @param maxSeqLen the model's context; each prompt keeps its last {@code maxSeqLen - n - 1} tokens
   * @param batchSize most rows per forward pass
   * @throws IllegalArgumentException naming the problem, for an empty prompt or answer, or an answer of n tokens
   *     with {@code n + 2 > maxSeqLen} (no prompt token would be left to predict its first token)
   */
  public static Prepared prepare(
      List<String> prompts, List<String> answers, Tokenizer tok, int maxSeqLen, int batchSize) {
    return prepare(prompts, answers, tok, maxSeqLen, batchSize, BATCH_TOKENS);
  }

  /**
   * {@link #prepare(List, List, Tokenizer, int, int)} with batches of at most {@code maxTokens} padded tokens (rows
   * × width; a single row longer than that still forms a batch).
   */
  public static Prepared prepare(List<String> prompts, List<String> answers, Tokenizer tok, int maxSeqLen,
      int batchSize, int maxTokens) {
    if (prompts.size() != answers.size()) {
      throw new IllegalArgumentException(prompts.size() + " prompts but " + answers.size() + " answers");
    }
    int n = prompts.size();
    int[][] prompt = new int[n][];
    int[][] answer = new int[n][];
    for (int i = 0; i < n; i++) {
      prompt[i] = tok.encode(prompts.get(i));
      answer[i] = tok.encode(answers.get(i));
    }
    return prepareIds(prompt, answer, tok, maxSeqLen, batchSize, maxTokens);
  }

  /** {@link #prepare(List, List, Tokenizer, int, int)} from token ids (for tests that score arbitrary ids). */
  static Prepared prepareIds(int[][] prompts, int[][] answers, Tokenizer tok, int maxSeqLen, int batchSize,
      int maxTokens) {
    if (batchSize < 1 || maxTokens < 1) {
      throw new IllegalArgumentException("batchSize and maxTokens must be >= 1, got " + batchSize + ", " + maxTokens);
    }
    int n = prompts.length;
    int[][] prompt = new int[n][];
    int[][] answer = answers;
    for (int i = 0; i < n; i++) {
      prompt[i] = croppedPrompt(i, prompts[i], answers[i], tok, maxSeqLen);
    }
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    // Stable: equal lengths keep their order, so the batches are a function of the inputs alone.
    Arrays.sort(order, Comparator.comparingInt((Integer i) -> prompt[i].length + answer[i].length).reversed());
    List<Batch> batches = new ArrayList<>();
    for (int start = 0, rows; start < n; start += rows) {
      // Longest row first, so the first row's length is the batch's width.
      int first = prompt[order[start]].length + answer[order[start]].length;
      rows = Math.min(Math.min(batchSize, Math.max(1, maxTokens / first)), n - start);
      int[] problems = new int[rows];
      int width = 0;
      int predictions = 0;
      for (int r = 0; r < rows; r++) {
        problems[r] = order[start + r];
        width = Math.max(width, prompt[problems[r]].length + answer[problems[r]].length);
        predictions += answer[problems[r]].length + 1;
      }
      long[] tokens = new long[rows * width]; // zero = Tokenizer.PAD_ID
      long[] positions = new long[predictions];
      int[] expected = new int[predictions];
      int[] rowEnds = new int[rows];
      int k = 0;
      for (int r = 0; r < rows; r++) {
        int[] pr = prompt[problems[r]];
        int[] an = answer[problems[r]];
        for (int j = 0; j < pr.length; j++) {
          tokens[r * width + j] = pr[j];
        }
        for (int j = 0; j < an.length; j++) {
          tokens[r * width + pr.length + j] = an[j];
        }
        // The logits at column c predict the token at c + 1: the last prompt column predicts answer[0], …, the
        // last answer column predicts the terminator.
        for (int j = 0; j <= an.length; j++) {
          positions[k] = (long) r * width + pr.length - 1 + j;
          expected[k] = j < an.length ? an[j] : TERMINATOR;
          k++;
        }
        rowEnds[r] = k;
      }
      batches.add(new Batch(problems, width, tokens, positions, expected, rowEnds));
    }
    return new Prepared(batches, n, whitespaceIds(tok));
  }

  /**
   * The prompt's ids, cropped at the start so that it, the answer and the terminator fit {@code maxSeqLen}: the
   * context greedy decoding of n + 1 tokens would see ({@link Evaluator#greedyVerdicts} crops the same way).
   */
  static int[] croppedPrompt(int index, int[] prompt, int[] answer, Tokenizer tok, int maxSeqLen) {
    int n = answer.length;
    if (n == 0) {
      throw new IllegalArgumentException("problem " + index + " (" + quote(tok, prompt) + "): empty answer");
    }
    if (prompt.length == 0) {
      throw new IllegalArgumentException("problem " + index + " (answer " + quote(tok, answer) + "): empty prompt");
    }
    int room = maxSeqLen - n - 1;
    if (room < 1) {
      throw new IllegalArgumentException("problem " + index + " (" + quote(tok, prompt) + " -> " + quote(tok, answer)
          + "): answer of " + n + " tokens cannot be scored within max_seq_len " + maxSeqLen + " (needs " + (n + 2)
          + ": one prompt token, the answer, the terminator)");
    }
    return prompt.length <= room ? prompt : Arrays.copyOfRange(prompt, prompt.length - room, prompt.length);
  }

  private static String quote(Tokenizer tok, int[] ids) {
    String oneLine = tok.decode(ids).replace("\n", "\\n");
    return "'" + (oneLine.length() > 40 ? oneLine.substring(0, 37) + "..." : oneLine) + "'";
  }

  /**
   * Whitespace ids of a tokenizer: those whose text on its own starts with a whitespace character (the same
   * test greedy decoding uses to end an answer). Pad decodes to nothing and is not one.
   */
  public static boolean[] whitespaceIds(Tokenizer tok) {
    boolean[] ws = new boolean[tok.vocabSize()];
    for (int id = 0; id < ws.length; id++) {
      String piece = tok.decode(new int[] {id});
      ws[id] = !piece.isEmpty() && Character.isWhitespace(piece.charAt(0));
    }
    return ws;
  }

  /**
   * The argmax ids at a batch's scored positions, copied to the host. {@code logits} is {@code (B, T, V)} for one
   * model or {@code (K, B, T, V)} for K models run together; the result holds {@code K · predictions} ids,
   * model-major (model k's at {@code [k · predictions, (k + 1) · predictions)}). Call it inside the forward pass's
   * {@code NDScope}: the argmax and the gather run on the engine and only the picked ids cross to the host.
   */
  public static long[] pick(NDArray logits, Batch batch) {
    Shape s = logits.getShape();
    int dims = s.dimension();
    if (dims != 3 && dims != 4) {
      throw new IllegalArgumentException("logits must be (B, T, V) or (K, B, T, V), got " + s);
    }
    long k = dims == 4 ? s.get(0) : 1;
    if (s.get(dims - 3) != batch.rows() || s.get(dims - 2) != batch.width()) {
      throw new IllegalArgumentException(
          "logits " + s + " do not match the batch (" + batch.rows() + " rows x " + batch.width() + " columns)");
    }
    long cells = (long) batch.rows() * batch.width();
    int m = batch.predictions();
    long[] index = new long[(int) k * m];
    for (int j = 0; j < k; j++) {
      for (int i = 0; i < m; i++) {
        index[j * m + i] = j * cells + batch.positions()[i];
      }
    }
    NDArray ids = logits.argMax(dims - 1); // (K?, B, T)
    return ids.take(ids.getManager().create(index, new Shape(index.length))).toLongArray();
  }

  /**
   * Verdicts of one model over the whole set from the ids {@link #pick}ed per batch ({@code picks[b]} for
   * {@code prepared.batches().get(b)}).
   */
  public static Verdicts score(long[][] picks, Prepared prepared) {
    Verdicts[] v = scoreEach(picks, prepared);
    if (v.length != 1) {
      throw new IllegalArgumentException("picks hold " + v.length + " models; use scoreEach");
    }
    return v[0];
  }

  /**
   * Verdicts of each of K models, from ids picked for K models at once ({@code picks[b]} holds {@code K ·
   * predictions} ids of batch b, model-major, as {@link #pick} returns for {@code (K, B, T, V)} logits).
   */
  public static Verdicts[] scoreEach(long[][] picks, Prepared prepared) {
    List<Batch> batches = prepared.batches();
    if (picks.length != batches.size()) {
      throw new IllegalArgumentException(picks.length + " pick arrays for " + batches.size() + " batches");
    }
    int models = batches.isEmpty() ? 1 : picks[0].length / Math.max(1, batches.get(0).predictions());
    boolean[][] solved = new boolean[models][prepared.size()];
    for (int b = 0; b < batches.size(); b++) {
      Batch batch = batches.get(b);
      int m = batch.predictions();
      if (picks[b].length != models * m) {
        throw new IllegalArgumentException("batch " + b + ": " + picks[b].length + " ids, expected " + models
            + " model(s) x " + m + " predictions");
      }
      for (int k = 0; k < models; k++) {
        int from = 0;
        for (int r = 0; r < batch.rows(); r++) {
          boolean ok = true;
          for (int i = from; i < batch.rowEnds()[r] && ok; i++) {
            long got = picks[b][k * m + i];
            int want = batch.expected()[i];
            ok = want == TERMINATOR ? prepared.isWhitespace(got) : got == want;
          }
          solved[k][batch.problems()[r]] = ok;
          from = batch.rowEnds()[r];
        }
      }
    }
    Verdicts[] out = new Verdicts[models];
    for (int k = 0; k < models; k++) {
      out[k] = Verdicts.of(solved[k]);
    }
    return out;
  }

  /**
   * The rule applied to a greedy continuation: {@code generated} starts with the answer's ids and the id after
   * them is whitespace. Used by the greedy reference ({@link Evaluator#greedyVerdicts}).
   */
  public static boolean solvedBy(int[] generated, int[] answer, boolean[] whitespace) {
    if (generated.length < answer.length + 1) {
      return false;
    }
    for (int i = 0; i < answer.length; i++) {
      if (generated[i] != answer[i]) {
        return false;
      }
    }
    int t = generated[answer.length];
    return t >= 0 && t < whitespace.length && whitespace[t];
  }

  /**
   * Tokens one scoring pass over {@code prepared} runs through the model, padding included, for the compute
   * ledger: each problem once (prompt + answer), not once per generated token as greedy decoding does.
   */
  public static long forwardTokens(Prepared prepared) {
    long t = 0;
    for (Batch b : prepared.batches()) {
      t += (long) b.rows() * b.width();
    }
    return t;
  }
}
