package dev.undo.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.undo.data.Tokenizer;
import dev.undo.model.Decoder;
import dev.undo.model.Engines;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EvaluatorTest {
  static final Tokenizer TOK = Tokenizer.build(List.of("0123456789 +-*/=\nAnswer: how many apples"), 1);

  @Test
  void batchedRightPaddedGreedyEqualsOneAtATime() {
    ModelConfig cfg = new ModelConfig(TOK.vocabSize(), 32, 2, 2, 64, 48, 10000, 1e-6);
    try (NDManager m = Engines.newManager(); Params p = Init.random(cfg, m, 9); Decoder d = new Decoder(cfg, m)) {
      // Bias the model toward digits and spaces so that rows finish at different steps.
      List<String> prompts = List.of("3 + 4 = ", "12 * 7 = ", "how many apples? Answer: ", "1 = ",
          "19 - 18 = ", "Answer: ");
      Evaluator batched = new Evaluator(d, TOK, m, 100);
      Evaluator single = new Evaluator(d, TOK, m, 1);
      List<String> a = batched.greedy(p, prompts, 5);
      List<String> b = single.greedy(p, prompts, 5);
      assertEquals(b, a);
      // And the same again with fresh weights, for a second pattern of finishing rows.
      try (Params q = Init.random(cfg, m, 10)) {
        assertEquals(single.greedy(q, prompts, 5), batched.greedy(q, prompts, 5));
      }
    }
  }

  @Test
  void answerMatchingFollowsThePaper() {
    assertTrue(Evaluator.matches("19\nfoo", "19"));
    assertTrue(Evaluator.matches(" 19 apples", "19"));
    assertTrue(Evaluator.matches("19.0", "19"));
    assertFalse(Evaluator.matches("190", "19"));
    assertFalse(Evaluator.matches("1 9", "19"));
    assertFalse(Evaluator.matches("", "19"));
  }

  @Test
  void crossEntropyWindowsCoverTheTextInOrder() {
    List<String> docs = new ArrayList<>();
    docs.add("1234567");
    docs.add("89");
    List<int[]> w = Evaluator.windows(TOK, docs, 4, 10);
    // "1234567\n89\n" is 11 tokens: two full windows of 5 and a tail of 1 token (no target: dropped).
    assertEquals(2, w.size());
    assertEquals(TOK.encode("12345")[0], w.get(0)[0]);
    assertEquals(TOK.encode("6")[0], w.get(1)[0]);
  }
}
