package dev.undo.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.undo.data.Problem;
import dev.undo.data.Tokenizer;
import dev.undo.eval.Evaluator;
import dev.undo.eval.Scorer;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * An attack's repeated evaluation scores only the cells that enter the summaries, and gives exactly the summaries
 * (value and interval) the full evaluation gives: the same problems, fewer tokens. Scored here by a stand-in that
 * solves a fixed, answer-dependent subset of every cell, so the counts are neither 0 nor all.
 */
class AttackEvaluationTest {
  /** Solves a problem iff its answer's value is odd; CE fixed. */
  static final class OddSolver implements Scorer {
    int scored;

    @Override
    public int members() {
      return 1;
    }

    @Override
    public long[] solved(List<Problem> problems) {
      scored += problems.size();
      return new long[] {problems.stream().filter(p -> Math.floorMod(p.value(), 2) == 1).count()};
    }

    @Override
    public Evaluator.Ce[] crossEntropy(List<int[]> windows) {
      return new Evaluator.Ce[] {new Evaluator.Ce(2.0, 10, new double[] {4, 6, 10}, new long[] {2, 3, 5})};
    }
  }

  @Test
  void attackEvaluationKeepsTheSummariesAndDropsTheOtherCells() {
    List<String> cells = List.of("addition_equation_acc", "subtraction_equation_acc", "multiplication_equation_acc",
        "division_equation_acc");
    ExperimentConfig c = ExperimentConfig.from(ConfigLoader.resolve("micro", Map.of()));
    ExperimentConfig.EvalSpec spec = c.setting("arithmetic").eval().withSizes(40, 4);
    spec = new ExperimentConfig.EvalSpec(spec.nPerCell(), spec.seed(), spec.ceSequences(), spec.batchSize(),
        spec.cellFloor(), cells, spec.bootstrapSamples());
    ArithmeticTask task = (ArithmeticTask) Tasks.of("arithmetic", c);
    Tokenizer tok = task.buildTokenizer();
    int seqLen = c.setting("arithmetic").pretrain().seqLen();
    Evaluation full = task.evaluation(spec, tok, seqLen);
    Evaluation attack = task.attackEvaluation(spec, tok, seqLen);
    OddSolver a = new OddSolver();
    OddSolver b = new OddSolver();
    Map<String, Double> mf = full.evaluate(a).get(0);
    Map<String, Double> ma = attack.evaluate(b).get(0);
    assertEquals(8 * 40, a.scored);
    assertEquals(4 * 40, b.scored, "only the four equation cells");
    for (String k : List.of("retain_acc", "retain_acc_lo", "retain_acc_hi", "forget_acc", "forget_acc_lo",
        "forget_acc_hi", "eng_ce")) {
      assertEquals(mf.get(k), ma.get(k), k);
    }
    double f = mf.get("forget_acc");
    assertTrue(f > 0.2 && f < 0.8, "a count that can differ: " + f);
    assertFalse(ma.containsKey("addition_word_problem_acc"));
    assertEquals(full.forgetItems(), attack.forgetItems());
    assertEquals(80, attack.forgetItems());
    assertTrue(attack.forwardTokens() < full.forwardTokens(), "the ledger charges what the attack runs");
  }
}
