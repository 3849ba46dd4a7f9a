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

  @Test
  void cachedLeftPaddedGreedyEqualsTheUncachedReference() {
    ModelConfig cfg = new ModelConfig(TOK.vocabSize(), 32, 2, 2, 64, 48, 10000, 1e-6);
    List<String> prompts = List.of("3 + 4 = ", "12 * 7 = ", "how many apples? Answer: ", "1 = ",
        "19 - 18 = ", "Answer: ", "7 / 7 = ");
    try (NDManager m = Engines.newManager(); Decoder d = new Decoder(cfg, m)) {
      for (long seed : new long[] {9, 10, 11, 12}) {
        try (Params p = Init.random(cfg, m, seed)) {
          Evaluator batched = new Evaluator(d, TOK, m, 100);
          List<String> reference = batched.greedyNoCache(p, prompts, 6);
          assertEquals(reference, batched.greedy(p, prompts, 6), "seed " + seed);
          assertEquals(reference, new Evaluator(d, TOK, m, 3).greedy(p, prompts, 6), "seed " + seed);
        }
      }
    }
  }

  @Test
  void cachedLogitsEqualTheFullForwardAtEveryNewPosition() {
    ModelConfig cfg = new ModelConfig(TOK.vocabSize(), 32, 2, 2, 64, 48, 10000, 1e-6);
    int[] a = TOK.encode("12 * 7 = 84");
    int[] b = TOK.encode("3 + 4 = 7");
    try (NDManager m = Engines.newManager(); Params p = Init.random(cfg, m, 5); Decoder d = new Decoder(cfg, m);
        Decoder.KvCache cache = new Decoder.KvCache(cfg.numLayers(), new int[] {0, a.length - b.length})) {
      // Prompts: all of a but its last 3 tokens, b left-padded to the same width; then feed 3 tokens one by one.
      int prompt = a.length - 3;
      long[] buf = new long[2 * prompt];
      int padB = a.length - b.length;
      for (int j = 0; j < prompt; j++) {
        buf[j] = a[j];
        buf[prompt + j] = j < padB ? 0 : b[j - padB];
      }
      float[][] full = {allLogits(d, p, m, a), allLogits(d, p, m, b)};
      for (int s = 0; s <= 3; s++) {
        long[] in;
        if (s == 0) {
          in = buf;
        } else {
          in = new long[] {a[prompt + s - 1], b[prompt - padB + s - 1]};
        }
        float[] got;
        try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
          got = d.extend(p, m.create(in, new ai.djl.ndarray.types.Shape(2, in.length / 2)), cache).toFloatArray();
          cache.commit();
        }
        int v = TOK.vocabSize();
        for (int r = 0; r < 2; r++) {
          int len = (r == 0 ? prompt : prompt - padB) + s; // real tokens seen by row r
          for (int k = 0; k < v; k++) {
            assertEquals(full[r][(len - 1) * v + k], got[r * v + k], 2e-5, "row " + r + " step " + s + " id " + k);
          }
        }
      }
    }
  }

  /** Logits at every position of one unpadded sequence, flattened (T * V). */
  private static float[] allLogits(Decoder d, Params p, NDManager m, int[] ids) {
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      l[i] = ids[i];
    }
    try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
      return d.logits(p, m.create(l, new ai.djl.ndarray.types.Shape(1, l.length))).toFloatArray();
    }
  }
}
