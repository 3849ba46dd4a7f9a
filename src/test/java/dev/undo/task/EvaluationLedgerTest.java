package dev.undo.task;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.undo.data.Kind;
import dev.undo.data.Op;
import dev.undo.data.Problem;
import dev.undo.data.Tokenizer;
import dev.undo.eval.Evaluator;
import dev.undo.eval.ExactMatch;
import dev.undo.model.Decoder;
import dev.undo.model.Engines;
import dev.undo.model.ModelConfig;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The compute ledger charges an arithmetic evaluation what it runs: its held-out windows and, for accuracy, the
 * tokens of the one teacher-forced pass over each problem (eval/ExactMatch), as the evaluator batches them; not the
 * prefix recomputed for every token of an autoregressive decode.
 */
class EvaluationLedgerTest {
  @Test
  void arithmeticEvaluationChargesTheOnePassTokens() {
    Engines.start(1);
    ExperimentConfig c = ExperimentConfig.from(ConfigLoader.resolve("micro", Map.of()));
    ExperimentConfig.Setting s = c.setting("arithmetic");
    ArithmeticTask task = (ArithmeticTask) Tasks.of("arithmetic", c);
    Tokenizer tok = task.buildTokenizer();
    int seqLen = s.pretrain().seqLen();
    ExperimentConfig.EvalSpec spec = s.eval();
    Evaluation evaluation = task.evaluation(spec, tok, seqLen);
    ModelConfig cfg = new ModelConfig(tok.vocabSize(), 32, 2, 2, 64, seqLen, 10000, 1e-6);
    long onePass = 0;
    long real = 0;
    long decode = 0;
    try (NDManager m = Engines.newManager(); Decoder d = new Decoder(cfg, m)) {
      Evaluator ev = new Evaluator(d, tok, m, spec.batchSize());
      for (Op op : Op.values()) {
        for (Kind k : Kind.values()) {
          List<Problem> cell = task.generator().evalSet(op, k, spec.nPerCell(), spec.seed());
          // The batches the evaluator runs for this cell on a model of context seqLen.
          onePass += ExactMatch.forwardTokens(ev.prepare(cell));
          for (Problem pr : cell) {
            int n = tok.encode(pr.answer()).length;
            real += Math.min(tok.encode(pr.prompt()).length, seqLen - n - 1) + n;
            decode += (long) (pr.prompt().length() + 2) * (pr.answer().length() + 1);
          }
        }
      }
    }
    long ce = evaluation.forwardTokens() - onePass;
    assertTrue(ce > 0 && ce % seqLen == 0, "the rest are whole held-out windows of " + seqLen + ": " + ce);
    assertTrue(ce / seqLen <= spec.ceSequences(), ce / seqLen + " windows");
    // Each problem once, padding to its batch's longest row included; far less than decoding token by token.
    assertTrue(onePass >= real && onePass < 2 * real, onePass + " one-pass tokens for " + real + " real ones");
    assertTrue(onePass * 2 < decode, onePass + " one-pass tokens vs " + decode + " for greedy decoding");
  }
}
