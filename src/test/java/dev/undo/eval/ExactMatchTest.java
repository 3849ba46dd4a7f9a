package dev.undo.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.undo.data.ArithmeticConfig;
import dev.undo.data.ArithmeticGenerator;
import dev.undo.data.Kind;
import dev.undo.data.Op;
import dev.undo.data.Problem;
import dev.undo.data.Tokenizer;
import dev.undo.model.Decoder;
import dev.undo.model.Engines;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.train.AdamW;
import dev.undo.train.Autograd;
import dev.undo.train.Losses;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

class ExactMatchTest {
  static final Tokenizer TOK = Tokenizer.build(List.of("0123456789 +-*/=\nAnswer: how many apples.?"), 1);

  /** Ids the model "predicts" at every scored position of a batch when it answers {@code said[problem]}. */
  private static long[] picksSaying(ExactMatch.Batch b, String[] said) {
    long[] picks = new long[b.predictions()];
    int from = 0;
    for (int r = 0; r < b.rows(); r++) {
      int[] ids = TOK.encode(said[b.problems()[r]]);
      for (int i = from; i < b.rowEnds()[r]; i++) {
        picks[i] = i - from < ids.length ? ids[i - from] : Tokenizer.PAD_ID;
      }
      from = b.rowEnds()[r];
    }
    return picks;
  }

  private static boolean[] verdicts(ExactMatch.Prepared prep, String... said) {
    long[][] picks = new long[prep.batches().size()][];
    for (int b = 0; b < picks.length; b++) {
      picks[b] = picksSaying(prep.batches().get(b), said);
    }
    return ExactMatch.score(picks, prep).solved();
  }

  @Test
  void onlyTheAnswerFollowedByWhitespaceCounts() {
    List<String> prompts = List.of("3 + 4 = ", "12 - 0 = ", "how many apples? Answer: ", "9 * 1 = ");
    List<String> answers = List.of("7", "12", "12", "9");
    for (int batchSize : new int[] {1, 3, 100}) {
      ExactMatch.Prepared prep = ExactMatch.prepare(prompts, answers, TOK, 64, batchSize);
      assertEquals(4, prep.size());
      assertArrayEquals(new boolean[] {true, true, true, true}, verdicts(prep, "7 ", "12\n", "12 ", "9 "));
      // A wrong digit, a digit more, a period, and the pad token after a right answer are all wrong.
      assertArrayEquals(new boolean[] {false, false, false, false}, verdicts(prep, "8 ", "123", "12.", "9"));
      // Leading whitespace, "012" and "12.0" were right under the old numeric rule; not under this one.
      assertArrayEquals(new boolean[] {false, false, false, true}, verdicts(prep, " 7", "012", "12.0", "9\n"));
      assertFalse(Evaluator.matches("12.", "13"));
      assertTrue(Evaluator.matches("012", "12") && Evaluator.matches("12.0", "12") && Evaluator.matches(" 7", "7"));
    }
  }

  @Test
  void eachRowHoldsItsPromptAndAnswerAndScoresTheRightPositions() {
    ExactMatch.Prepared prep = ExactMatch.prepare(List.of("1 = ", "12 * 7 = "), List.of("1", "84"), TOK, 64, 10);
    ExactMatch.Batch b = prep.batches().get(0);
    // Longest row first: "12 * 7 = 84" (11 tokens), then "1 = 1" right-padded with the pad id.
    assertArrayEquals(new int[] {1, 0}, b.problems());
    assertEquals(11, b.width());
    long[] row1 = Arrays.copyOfRange(b.tokens(), 11, 22);
    long[] want = new long[11];
    int[] ids = TOK.encode("1 = 1");
    for (int i = 0; i < ids.length; i++) {
      want[i] = ids[i];
    }
    assertArrayEquals(want, row1);
    // Row 0: columns 8, 9, 10 predict '8', '4', terminator; row 1: columns 3, 4 predict '1', terminator.
    assertArrayEquals(new long[] {8, 9, 10, 11 + 3, 11 + 4}, b.positions());
    int t = ExactMatch.TERMINATOR;
    assertArrayEquals(new int[] {TOK.encode("8")[0], TOK.encode("4")[0], t, TOK.encode("1")[0], t}, b.expected());
    assertArrayEquals(new int[] {3, 5}, b.rowEnds());
    assertEquals(2 * 11, ExactMatch.forwardTokens(prep));
  }

  @Test
  void longPromptsLoseTheirStartRowByRowAndAnAnswerThatCannotFitIsAnError() {
    String longPrompt = "how many apples? how many apples? Answer: ";
    ExactMatch.Prepared prep =
        ExactMatch.prepare(List.of(longPrompt, longPrompt, "1 = "), List.of("1", "12345", "2"), TOK, 16, 100);
    ExactMatch.Batch b = prep.batches().get(0);
    // Each prompt keeps max_seq_len - n - 1 tokens of its end, whatever the other rows' answers are.
    assertEquals(16 - 1, b.width());
    assertArrayEquals(new int[] {0, 1, 2}, b.problems());
    String row0 = TOK.decode(toInts(Arrays.copyOfRange(b.tokens(), 0, 15)));
    String row1 = TOK.decode(toInts(Arrays.copyOfRange(b.tokens(), 15, 30)));
    assertEquals(longPrompt.substring(longPrompt.length() - 14) + "1", row0);
    assertEquals(longPrompt.substring(longPrompt.length() - 10) + "12345", row1);
    assertEquals(3 * 15, ExactMatch.forwardTokens(prep));
    // A token cap splits the batch: two rows of 15 tokens fill 30, the short row goes on alone.
    ExactMatch.Prepared capped = ExactMatch.prepare(
        List.of(longPrompt, longPrompt, "1 = "), List.of("1", "12345", "2"), TOK, 16, 100, 30);
    assertEquals(2, capped.batches().size());
    assertArrayEquals(new int[] {0, 1}, capped.batches().get(0).problems());
    assertEquals(5, capped.batches().get(1).width());
    assertEquals(2 * 15 + 5, ExactMatch.forwardTokens(capped));

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ExactMatch.prepare(List.of("1 = ", "2 = "), List.of("1", "123456789012345"), TOK, 16, 100));
    assertTrue(e.getMessage().startsWith("problem 1 ('2 = ' -> '123456789012345')"), e.getMessage());
    assertTrue(e.getMessage().contains("max_seq_len 16") && !e.getMessage().contains("\n"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> ExactMatch.prepare(List.of("1 = "), List.of(""), TOK, 16, 100));
  }

  @Test
  void pickGathersTheArgmaxAtTheScoredPositionsOfOneOrSeveralModels() {
    ExactMatch.Prepared prep = ExactMatch.prepare(List.of("1 = ", "12 * 7 = "), List.of("1", "84"), TOK, 64, 10);
    ExactMatch.Batch b = prep.batches().get(0);
    int v = TOK.vocabSize();
    int k = 2;
    float[] logits = new float[k * b.rows() * b.width() * v];
    long[] want = new long[k * b.predictions()];
    for (int model = 0; model < k; model++) {
      for (int cell = 0; cell < b.rows() * b.width(); cell++) {
        int id = (cell * 7 + model * 3) % v; // a different argmax at every cell and for every model
        logits[(model * b.rows() * b.width() + cell) * v + id] = 1f;
      }
      for (int i = 0; i < b.predictions(); i++) {
        want[model * b.predictions() + i] = (b.positions()[i] * 7 + model * 3) % v;
      }
    }
    try (NDManager m = Engines.newManager()) {
      NDArray four = m.create(logits, new Shape(k, b.rows(), b.width(), v));
      assertArrayEquals(want, ExactMatch.pick(four, b));
      NDArray three = four.get(1);
      assertArrayEquals(Arrays.copyOfRange(want, b.predictions(), 2 * b.predictions()), ExactMatch.pick(three, b));
    }
    // Model 0 says "1 " and "84\n", model 1 gets the second wrong.
    long[] both = new long[2 * b.predictions()];
    long[] right = picksSaying(b, new String[] {"1 ", "84\n"});
    long[] wrong = picksSaying(b, new String[] {"1 ", "85\n"});
    System.arraycopy(right, 0, both, 0, right.length);
    System.arraycopy(wrong, 0, both, right.length, wrong.length);
    ExactMatch.Verdicts[] each = ExactMatch.scoreEach(new long[][] {both}, prep);
    assertEquals(2, each.length);
    assertArrayEquals(new boolean[] {true, true}, each[0].solved());
    assertArrayEquals(new boolean[] {true, false}, each[1].solved());
    assertEquals(0.5, each[1].accuracy());
  }

  /**
   * Teacher forcing on a model's own greedy continuation reproduces that continuation token for token: the fact
   * the one-pass rule rests on, checked on random models where every position has a different, arbitrary argmax.
   */
  @Test
  void teacherForcedArgmaxReproducesGreedyTokensOnRandomModels() {
    ModelConfig cfg = new ModelConfig(TOK.vocabSize(), 32, 2, 2, 64, 48, 10000, 1e-6);
    List<String> prompts = List.of("3 + 4 = ", "12 * 7 = ", "how many apples? Answer: ", "1 = ", "19 - 18 = ",
        "Answer: ", "7 / 7 = ", "how many apples? how many apples? how many apples? Answer: ");
    int n = 4;
    try (NDManager m = Engines.newManager(); Decoder d = new Decoder(cfg, m)) {
      for (long seed = 20; seed < 24; seed++) {
        try (Params p = Init.random(cfg, m, seed)) {
          Evaluator ev = new Evaluator(d, TOK, m, 3);
          int[][] greedy = ev.greedyIds(p, prompts, n + 1, false);
          // The continuation's first n ids as the "answer", whatever they are (byte tokens, pad, ...).
          int[][] ps = new int[prompts.size()][];
          int[][] as = new int[prompts.size()][];
          for (int i = 0; i < ps.length; i++) {
            ps[i] = TOK.encode(prompts.get(i));
            as[i] = Arrays.copyOf(greedy[i], n);
          }
          ExactMatch.Prepared prep =
              ExactMatch.prepareIds(ps, as, TOK, cfg.maxSeqLen(), 5, ExactMatch.BATCH_TOKENS);
          boolean[] expected = new boolean[ps.length];
          for (int i = 0; i < ps.length; i++) {
            expected[i] = prep.isWhitespace(greedy[i][n]);
          }
          for (ExactMatch.Batch b : prep.batches()) {
            long[] picks;
            try (NDScope scope = new NDScope()) {
              picks = ExactMatch.pick(d.logits(p, b.tokens(m)), b);
            }
            int from = 0;
            for (int r = 0; r < b.rows(); r++) {
              int[] g = greedy[b.problems()[r]];
              for (int i = from; i < b.rowEnds()[r]; i++) {
                assertEquals(g[i - from], picks[i],
                    "seed " + seed + " problem " + b.problems()[r] + " step " + (i - from));
              }
              from = b.rowEnds()[r];
            }
          }
          // Solved exactly where the greedy token after the "answer" is whitespace.
          assertArrayEquals(expected, ev.exactMatch(p, prep).solved(), "seed " + seed);
        }
      }
    }
  }

  /**
   * Per-problem verdicts of one-pass scoring equal those of the rule on top of greedy decoding, on a micro model
   * fresh, partly trained and trained (it memorises the set's equations), and on two blends of the trained weights
   * with random ones (damaged models, whose argmaxes are less clear-cut). Word problems do not fit the 24-token
   * context, so their prompts are cropped; the model cannot solve them, but it answers them.
   */
  @Test
  void oneTeacherForcedPassGivesTheGreedyVerdictOfEveryProblem() {
    Comparison c = compareWhileTraining(new int[] {0, 150, 400}, new double[] {0.2, 0.4}, 25, 1);
    System.out.println("[ExactMatchTest] " + c);
    assertEquals(0, c.disagreements, c.toString());
    assertEquals(5 * 200, c.compared);
    assertEquals(0.0, c.accuracies[0], "a fresh model solves nothing");
    assertTrue(c.accuracies[1] > 0 && c.accuracies[1] < c.accuracies[2], "accuracy must grow: " + c);
    assertTrue(c.accuracies[2] > 0.25, "the trained model must solve most equations: " + c);
  }

  /** The same comparison, longer: 800 problems, more snapshots and blends, two training seeds. */
  @Test
  @Tag("slow")
  void oneTeacherForcedPassGivesTheGreedyVerdictOfEveryProblemLong() {
    for (long seed : new long[] {2, 3}) {
      Comparison c =
          compareWhileTraining(new int[] {0, 150, 300, 600, 1000}, new double[] {0.1, 0.3, 0.5, 0.7}, 100, seed);
      System.out.println("[ExactMatchTest slow] " + c);
      assertEquals(0, c.disagreements, c.toString());
      assertTrue(c.accuracies[4] > 0.25, c.toString());
    }
  }

  /**
   * Outcome of {@link #compareWhileTraining}: verdicts compared; how many one-pass verdicts differ from greedy
   * verdicts under the same rule, from the old numeric rule on the same greedy continuation, and from the old
   * procedure (numeric rule, every prompt of a call cropped for the longest answer); accuracies per snapshot, then
   * per blend.
   */
  record Comparison(int compared, int disagreements, int numericRule, int oldProcedure, double[] accuracies) {
    @Override
    public String toString() {
      return compared + " verdicts compared: " + disagreements + " one-pass/greedy disagreements; " + numericRule
          + " differ from the numeric rule, " + oldProcedure + " from the old procedure; accuracies "
          + Arrays.toString(accuracies);
    }
  }

  /**
   * Trains a micro model (context 24) on the equations of an evaluation set with operands up to 9 ({@code perCell}
   * problems per operation and kind) and compares one-pass verdicts with greedy verdicts, and with the old numeric
   * rule, at each snapshot step and then for blends {@code (1 - a) * trained + a * random} of the final weights.
   */
  static Comparison compareWhileTraining(int[] snapshots, double[] blends, int perCell, long seed) {
    ArithmeticGenerator gen = new ArithmeticGenerator(new ArithmeticConfig(0, 9, 1, 9, 0.5));
    List<Problem> problems = new ArrayList<>();
    for (Op op : Op.values()) {
      for (Kind kind : Kind.values()) {
        problems.addAll(gen.evalSet(op, kind, perCell, seed));
      }
    }
    List<Problem> equations = problems.stream().filter(x -> x.kind() == Kind.EQUATION).toList();
    List<String> prompts = problems.stream().map(Problem::prompt).toList();
    List<String> answers = problems.stream().map(Problem::answer).toList();
    Tokenizer tok = Tokenizer.build(problems.stream().map(Problem::text).toList(), 1);
    int seq = 24;
    ModelConfig cfg = new ModelConfig(tok.vocabSize(), 64, 2, 2, 128, seq, 10000, 1e-6);
    Random rnd = new Random(seed);
    int[] counts = new int[4]; // compared; one-pass vs greedy, vs the numeric rule, vs the old procedure
    double[] acc = new double[snapshots.length + blends.length];
    try (NDManager m = Engines.newManager(); Decoder d = new Decoder(cfg, m); Params p = Init.random(cfg, m, seed)) {
      p.requireGradients();
      Evaluator ev = new Evaluator(d, tok, m, 100);
      ExactMatch.Prepared prep = ExactMatch.prepare(problems, tok, seq, 100);
      try (AdamW adam = new AdamW(new AdamW.Hyper(0.9, 0.95, 1e-8, 0.0), p, p.names(), m)) {
        int step = 0;
        for (int s = 0; s < snapshots.length; s++) {
          for (; step < snapshots[s]; step++) {
            trainStep(d, p, adam, m, tok, equations, rnd, 64, seq, 3e-3);
          }
          acc[s] = compare(ev, tok, p, prep, problems, prompts, answers, counts);
        }
      }
      for (int b = 0; b < blends.length; b++) {
        try (Params random = Init.random(cfg, m, seed + 1 + b); Params blend = new Params(m)) {
          for (String name : p.names()) {
            blend.put(name, p.get(name).mul((float) (1 - blends[b])).add(random.get(name).mul((float) blends[b])));
          }
          acc[snapshots.length + b] = compare(ev, tok, blend, prep, problems, prompts, answers, counts);
        }
      }
    }
    return new Comparison(counts[0], counts[1], counts[2], counts[3], acc);
  }

  /** Adds one model's comparisons to {@code counts} and returns its accuracy. */
  private static double compare(Evaluator ev, Tokenizer tok, Params p, ExactMatch.Prepared prep,
      List<Problem> problems, List<String> prompts, List<String> answers, int[] counts) {
    ExactMatch.Verdicts onePass = ev.exactMatch(p, prep);
    boolean[] greedy = ev.greedyVerdicts(p, prompts, answers);
    int[][] continuations = ev.answerContinuations(p, prompts, answers);
    boolean[] oldProcedure = ev.numericVerdicts(p, prompts, answers);
    for (int i = 0; i < greedy.length; i++) {
      boolean numeric = Evaluator.matches(tok.decode(continuations[i]), answers.get(i));
      counts[0]++;
      counts[1] += onePass.solved()[i] != greedy[i] ? 1 : 0;
      counts[2] += onePass.solved()[i] != numeric ? 1 : 0;
      counts[3] += onePass.solved()[i] != oldProcedure[i] ? 1 : 0;
    }
    assertEquals(onePass.accuracy(), ev.accuracy(p, problems), 0.0);
    return onePass.accuracy();
  }

  /**
   * One AdamW step on a batch of documents "prompt answer\n" drawn from {@code problems}, each cut to its last
   * seq + 1 tokens; the batch is as wide as its longest row.
   */
  static void trainStep(Decoder d, Params p, AdamW adam, NDManager m, Tokenizer tok,
      List<Problem> problems, Random rnd, int batch, int seq, double lr) {
    int[][] rows = new int[batch][];
    int width = 0;
    for (int b = 0; b < batch; b++) {
      int[] ids = tok.encode(problems.get(rnd.nextInt(problems.size())).text() + "\n");
      rows[b] = Arrays.copyOfRange(ids, Math.max(0, ids.length - seq - 1), ids.length);
      width = Math.max(width, rows[b].length - 1);
    }
    long[] in = new long[batch * width];
    int[] tg = new int[batch * width];
    Arrays.fill(tg, -1);
    for (int b = 0; b < batch; b++) {
      for (int j = 0; j < rows[b].length - 1; j++) {
        in[b * width + j] = rows[b][j];
        tg[b * width + j] = rows[b][j + 1];
      }
    }
    try (NDScope scope = new NDScope()) {
      NDArray tokens = m.create(in, new Shape(batch, width));
      Losses.Targets targets = Losses.Targets.of(m, tg, batch, width);
      try (Autograd gc = Autograd.record()) {
        gc.backward(Losses.crossEntropy(d.logits(p, tokens), targets));
      }
      adam.clipGradients(p, 1.0);
      adam.step(p, lr);
      adam.zeroGradients(p);
    }
  }

  private static int[] toInts(long[] ids) {
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }
}
