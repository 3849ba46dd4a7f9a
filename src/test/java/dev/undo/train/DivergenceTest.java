package dev.undo.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.undo.model.Engines;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A diverging step throws before the update: the weights and the optimizer state after the exception are
 * bit-identical to those before the failing step, and no listener sees that step.
 */
class DivergenceTest {
  static final ModelConfig CFG = new ModelConfig(40, 16, 1, 2, 32, 16, 10000, 1e-6);
  static final List<String> TRAINABLE = List.of("layers.0.mlp.up_proj.weight", "norm.weight");

  /** Host copies of the trainable weights and AdamW's moments. */
  static Map<String, float[]> snapshot(Params p, AdamW adam) {
    Map<String, float[]> s = new LinkedHashMap<>();
    for (String n : TRAINABLE) {
      s.put(n, p.hostValues(n));
    }
    adam.state().forEach((k, v) -> s.put(k, v.toFloatArray()));
    return s;
  }

  static void assertSame(Map<String, float[]> expected, Map<String, float[]> actual) {
    assertEquals(expected.keySet(), actual.keySet());
    expected.forEach((k, v) -> assertArrayEquals(v, actual.get(k), k));
  }

  /**
   * Runs sum(w²) over the trainable weights at {@code lr}, times NaN from step {@code nanAt} on (−1: never), for
   * {@code steps} steps; returns the snapshot before the failing step and the exception.
   */
  record Outcome(DivergedException error, Map<String, float[]> beforeFailingStep, Map<String, float[]> after,
      List<Long> stepsSeen) {}

  static Outcome run(double lr, long nanAt, double samRho) {
    Engines.start(1);
    try (NDManager m = Engines.newManager(); Params p = Init.random(CFG, m, 5)) {
      for (String n : TRAINABLE) {
        p.get(n).setRequiresGradient(true);
      }
      NDManager consts = m.newSubManager();
      NDArray nan = consts.full(new Shape(), Float.NaN, DataType.FLOAT32);
      try (AdamW adam = new AdamW(new AdamW.Hyper(0.9, 0.95, 1e-8, 0.0), p, TRAINABLE, m)) {
        Trainer.Objective sumOfSquares = (step, micro, terms) -> {
          NDArray loss = null;
          for (String n : TRAINABLE) {
            NDArray w = p.get(n);
            NDArray s = w.mul(w).sum();
            loss = loss == null ? s : loss.add(s);
          }
          return step >= nanAt && nanAt >= 0 ? loss.mul(nan) : loss;
        };
        List<Long> seen = new ArrayList<>();
        List<Map<String, float[]>> last = new ArrayList<>();
        last.add(snapshot(p, adam));
        Trainer t = new Trainer(p, adam, sumOfSquares,
            new Trainer.Settings(10, 1, 1.0, s -> lr, 1, samRho));
        t.addListener(new Trainer.Listener() {
          @Override
          public boolean afterStep(Trainer.StepResult r) {
            seen.add(r.step());
            last.set(0, snapshot(p, adam));
            return false;
          }
        });
        DivergedException e = assertThrows(DivergedException.class, () -> t.run(0));
        return new Outcome(e, last.get(0), snapshot(p, adam), seen);
      } finally {
        consts.close();
      }
    }
  }

  @Test
  void aNanLossAtStepKLeavesTheWeightsOfStepKMinusOne() {
    Outcome o = run(1e-2, 3, 0);
    assertEquals(List.of(0L, 1L, 2L), o.stepsSeen());
    assertEquals(3, o.error().step());
    assertTrue(Double.isNaN(o.error().loss()));
    assertSame(o.beforeFailingStep(), o.after());
    assertEquals("training diverged at step 3: loss NaN, gradient norm NaN at lr 0.01; the weights were NOT "
        + "updated (no checkpoint holds them). Rerun with a lower learning rate, e.g. --set <setting>.<stage>.lr="
        + "0.00100, to resume from the last checkpoint", o.error().getMessage());
    assertEquals("training diverged at step 3: loss NaN, gradient norm NaN at lr 0.01; the weights were NOT "
        + "updated (no checkpoint holds them). Rerun with a lower learning rate, e.g. --set arithmetic.pretrain.lr="
        + "0.00100, to resume from the last checkpoint",
        o.error().withLrKey("arithmetic.pretrain.lr").getMessage());
  }

  @Test
  void aHugeLearningRateDivergesAtTheNextStepWithoutTouchingTheWeights() {
    Outcome o = run(1e30, -1, 0);
    assertEquals(List.of(0L), o.stepsSeen());
    assertEquals(1, o.error().step());
    assertEquals(Double.POSITIVE_INFINITY, o.error().loss());
    assertSame(o.beforeFailingStep(), o.after());
  }

  @Test
  void withSamTheCheckComesBeforeThePerturbation() {
    Outcome o = run(1e-2, 2, 0.05);
    assertEquals(List.of(0L, 1L), o.stepsSeen());
    assertEquals(2, o.error().step());
    assertSame(o.beforeFailingStep(), o.after());
  }
}
