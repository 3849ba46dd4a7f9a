package dev.undo.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.undo.data.ArithmeticConfig;
import dev.undo.data.ArithmeticGenerator;
import dev.undo.data.Kind;
import dev.undo.data.Op;
import dev.undo.data.Problem;
import dev.undo.data.Tokenizer;
import dev.undo.model.Decoder;
import dev.undo.model.EnsembleDecoder;
import dev.undo.model.EnsembleParams;
import dev.undo.model.Engines;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.train.AdamW;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Exact match for every member of an ensemble in one pass per batch gives each member the verdicts it gets alone:
 * from one-pass scoring of that member by {@link Evaluator}, and from greedy decoding, problem by problem.
 */
class EnsembleEvaluatorTest {
  @Test
  void everyMemberGetsItsOwnVerdictOnEveryProblem() {
    ArithmeticGenerator gen = new ArithmeticGenerator(new ArithmeticConfig(0, 9, 1, 9, 0.5));
    List<Problem> problems = new ArrayList<>();
    for (Op op : Op.values()) {
      for (Kind kind : Kind.values()) {
        problems.addAll(gen.evalSet(op, kind, 25, 1));
      }
    }
    List<Problem> equations = problems.stream().filter(x -> x.kind() == Kind.EQUATION).toList();
    List<String> prompts = problems.stream().map(Problem::prompt).toList();
    List<String> answers = problems.stream().map(Problem::answer).toList();
    Tokenizer tok = Tokenizer.build(problems.stream().map(Problem::text).toList(), 1);
    int seq = 24; // word problems are cropped to their end
    ModelConfig cfg = new ModelConfig(tok.vocabSize(), 64, 2, 2, 128, seq, 10000, 1e-6);
    int k = 3;
    Random rnd = new Random(1);
    try (NDManager m = Engines.newManager(); Decoder d = new Decoder(cfg, m);
        EnsembleDecoder ed = new EnsembleDecoder(cfg, k, m); Params p = Init.random(cfg, m, 1);
        Params random = Init.random(cfg, m, 2); Params blend = new Params(m)) {
      // Three different models: partly trained, trained, and the trained one blended with random weights.
      p.requireGradients();
      Params partly;
      try (AdamW adam = new AdamW(new AdamW.Hyper(0.9, 0.95, 1e-8, 0.0), p, p.names(), m)) {
        for (int step = 0; step < 120; step++) {
          ExactMatchTest.trainStep(d, p, adam, m, tok, equations, rnd, 64, seq, 3e-3);
        }
        partly = p.copy(m);
        for (int step = 120; step < 300; step++) {
          ExactMatchTest.trainStep(d, p, adam, m, tok, equations, rnd, 64, seq, 3e-3);
        }
      }
      for (String name : p.names()) {
        blend.put(name, p.get(name).mul((float) 0.7).add(random.get(name).mul((float) 0.3)));
      }
      List<Params> members = List.of(partly, p, blend);
      Evaluator ev = new Evaluator(d, tok, m, 100);
      // 100 rows / 3 members: the ensemble batches 33 rows at a time, the single evaluator 100.
      EnsembleEvaluator eev = new EnsembleEvaluator(ed, tok, m, 100);
      try (EnsembleParams ens = EnsembleParams.stack(members, m)) {
        ExactMatch.Verdicts[] together = eev.exactMatch(ens, eev.prepare(problems, k));
        long[] solved = eev.scorer(ens).solved(problems);
        assertEquals(k, together.length);
        for (int j = 0; j < k; j++) {
          ExactMatch.Verdicts alone = ev.exactMatch(members.get(j), ev.prepare(problems));
          boolean[] greedy = ev.greedyVerdicts(members.get(j), prompts, answers);
          assertArrayEquals(alone.solved(), together[j].solved(), "member " + j + " vs one-pass alone");
          assertArrayEquals(greedy, together[j].solved(), "member " + j + " vs greedy decoding");
          assertEquals(alone.correct(), solved[j], "member " + j);
          assertEquals(alone.correct(), ev.scorer(members.get(j)).solved(problems)[0], "member " + j);
          // Neither all nor nothing, so the comparison says something.
          assertTrue(alone.correct() > 0 && alone.correct() < problems.size(),
              "member " + j + " solves " + alone.correct() + " of " + problems.size());
        }
        System.out.println("[EnsembleEvaluatorTest] solved per member of " + problems.size() + ": "
            + Arrays.toString(solved));
        assertTrue(!Arrays.equals(together[0].solved(), together[1].solved())
            && !Arrays.equals(together[1].solved(), together[2].solved()), "the members must differ");
        assertArrayEquals(new long[k], eev.scorer(ens).solved(List.of()));
      }
    }
  }
}
