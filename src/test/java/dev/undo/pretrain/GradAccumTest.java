package dev.undo.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.undo.data.Batch;
import dev.undo.data.BatchSampler;
import dev.undo.data.Tokenizer;
import dev.undo.model.Decoder;
import dev.undo.model.Engines;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import dev.undo.task.Task;
import dev.undo.task.Tasks;
import dev.undo.train.Batches;
import dev.undo.train.Losses;
import dev.undo.train.LrSchedule;
import dev.undo.train.Sgd;
import dev.undo.train.Trainer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Gradient accumulation: two micro-batches of B rows per step equal one batch of 2B rows made of the same two
 * micro-batches — which, by the pretraining objective's indexing, are the sampler's batches 2s and 2s + 1.
 */
class GradAccumTest {
  static final int B = 4;
  static final int T = 16;

  record Run(Params params, List<Trainer.StepResult> steps) {}

  static Run train(Params p, Trainer.Objective obj, int accum, int steps, NDManager m) {
    p.requireGradients();
    List<Trainer.StepResult> seen = new ArrayList<>();
    try (Sgd sgd = new Sgd(p, p.names(), m)) {
      Trainer t = new Trainer(p, sgd, obj, new Trainer.Settings(steps, accum, 0.0, LrSchedule.constant(0.5),
          (long) B * T));
      t.addListener(new Trainer.Listener() {
        @Override
        public boolean afterStep(Trainer.StepResult r) {
          seen.add(r);
          return false;
        }
      });
      t.run(0);
    }
    return new Run(p, seen);
  }

  /** Batches a and b stacked into one batch of twice the rows. */
  static Batch stack(Batch a, Batch b) {
    int[] in = Arrays.copyOf(a.inputs(), a.inputs().length * 2);
    int[] tg = Arrays.copyOf(a.targets(), a.targets().length * 2);
    System.arraycopy(b.inputs(), 0, in, a.inputs().length, b.inputs().length);
    System.arraycopy(b.targets(), 0, tg, a.targets().length, b.targets().length);
    return new Batch(a.batchSize() * 2, a.seqLen(), in, tg);
  }

  static double maxDiff(Params a, Params b) {
    double d = 0;
    for (String n : a.names()) {
      float[] x = a.hostValues(n);
      float[] y = b.hostValues(n);
      for (int i = 0; i < x.length; i++) {
        d = Math.max(d, Math.abs(x[i] - y[i]));
      }
    }
    return d;
  }

  @Test
  void twoMicroBatchesOfBEqualOneBatchOfTwoBFromTheSameSamplerIndices() {
    Engines.start(1);
    ExperimentConfig c = ExperimentConfig.from(ConfigLoader.resolve("micro", Map.of()));
    Task task = Tasks.of("arithmetic", c);
    Tokenizer tok = task.buildTokenizer();
    ModelConfig cfg = new ModelConfig(tok.vocabSize(), 32, 2, 2, 64, T, 10000, 1e-6);
    BatchSampler sampler = new BatchSampler(tok, task.pretrainMixture(false), B, T, 99);
    BatchSampler wide = new BatchSampler(tok, task.pretrainMixture(false), 2 * B, T, 99);
    try (NDManager m = Engines.newManager(); Decoder dec = new Decoder(cfg, m);
        Params accumulated = Init.random(cfg, m, 5); Params stacked = accumulated.copy(m);
        Params other = accumulated.copy(m)) {
      Run a = train(accumulated, Pretrain.objective(dec, accumulated, sampler, 2, m), 2, 3, m);
      Run b = train(stacked, (step, micro, terms) -> {
        Batch x = stack(sampler.batch(2 * step), sampler.batch(2 * step + 1));
        return Losses.crossEntropy(dec.logits(stacked, Batches.tokens(m, x)), Batches.targets(m, x));
      }, 1, 3, m);
      // A sampler of 2B rows draws other rows: the equality above is about the indexing, not any 2B batch.
      Run o = train(other, Pretrain.objective(dec, other, wide, 1, m), 1, 3, m);

      for (int s = 0; s < 3; s++) {
        // Both sides are mean CE over the same 2B·T tokens: (mean of B·T + mean of B·T) / 2.
        assertEquals(b.steps().get(s).loss(), a.steps().get(s).loss(), 1e-5, "loss of step " + s);
        assertEquals(b.steps().get(s).gradNorm(), a.steps().get(s).gradNorm(), 1e-5 * b.steps().get(s).gradNorm(),
            "gradient norm of step " + s);
        assertEquals(2L * B * T, a.steps().get(s).tokens());
      }
      double same = maxDiff(accumulated, stacked);
      double different = maxDiff(accumulated, other);
      assertTrue(same < 1e-6, "accum 2 × B vs one 2B batch of the same rows: weights differ by " + same);
      assertTrue(different > 1e-3, "another 2B batch must give other weights: " + different);
      assertNotEquals(a.steps().get(0).loss(), o.steps().get(0).loss());
    }
  }
}
