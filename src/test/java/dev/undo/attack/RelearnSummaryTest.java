package dev.undo.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.undo.run.Compute;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code Relearn.summarise} on hand-made curves with hand-computed answers: the worst case over learning rates and
 * seeds at each evaluated step, the report steps, the area under the worst-case curve, and the first crossing of the
 * threshold.
 */
class RelearnSummaryTest {
  static Relearn.Curve curve(double lr, long seed, double... stepAndForget) {
    List<Relearn.Point> pts = new ArrayList<>();
    for (int i = 0; i < stepAndForget.length; i += 2) {
      pts.add(new Relearn.Point((long) stepAndForget[i], stepAndForget[i + 1], 0.5));
    }
    return new Relearn.Curve(lr, seed, pts, Compute.ZERO);
  }

  static Map<String, Double> at(Object... keyAndValue) {
    Map<String, Double> m = new LinkedHashMap<>();
    for (int i = 0; i < keyAndValue.length; i += 2) {
      m.put((String) keyAndValue[i], (Double) keyAndValue[i + 1]);
    }
    return m;
  }

  /** Arithmetic: forget accuracy, higher = less forgotten, so the attacker takes the maximum. */
  @Test
  void accuracyWorstCaseIsTheMaximumPerStepWithTheChoiceThatReachedIt() {
    List<Relearn.Curve> curves = List.of(
        curve(1e-3, 0, 0, 0.10, 5, 0.30, 10, 0.20),
        curve(1e-4, 0, 0, 0.10, 5, 0.25, 10, 0.40),
        curve(1e-4, 1, 0, 0.10, 5, 0.05, 10, 0.35));
    Relearn.Summary s = Relearn.summarise(false, curves, List.of(0L, 5L, 7L, 10L, 20L), 0.28);
    // Step 0: all equal, the first curve keeps it (a later one must be strictly better to replace it).
    assertEquals(List.of(new Relearn.Worst(0, 0.10, 1e-3, 0), new Relearn.Worst(5, 0.30, 1e-3, 0),
        new Relearn.Worst(10, 0.40, 1e-4, 0)), s.worstCase());
    // Report steps: 7 was not evaluated and takes the last evaluated step before it (5); 20 is past the attack.
    assertEquals(at("0", 0.10, "5", 0.30, "7", 0.30, "10", 0.40), s.forgetAt());
    // Trapezoids: 5·(0.10 + 0.30)/2 + 5·(0.30 + 0.40)/2 = 1.0 + 1.75 = 2.75, per step over 10 steps.
    assertEquals(0.275, s.auc(), 1e-12);
    // 0.30 at step 5 is the first worst-case value >= 0.28.
    assertEquals(5L, s.stepsToThreshold());
    assertNull(Relearn.summarise(false, curves, List.of(0L), 0.5).stepsToThreshold(), "never reached");
    assertNull(Relearn.summarise(false, curves, List.of(0L), null).stepsToThreshold(), "no threshold");
  }

  /**
   * As currently defined the worst case at a step is the best value any (lr, seed) has at that very step, not the
   * best over that step and the earlier ones: a curve that peaks at step 5 and falls back does not hold the step-10
   * value up.
   */
  @Test
  void theWorstCaseAtAStepIsTakenAtThatStepNotAsARunningMaximum() {
    List<Relearn.Curve> curves = List.of(
        curve(1e-3, 0, 0, 0.10, 5, 0.30, 10, 0.20),
        curve(1e-4, 0, 0, 0.10, 5, 0.25, 10, 0.15));
    Relearn.Summary s = Relearn.summarise(false, curves, List.of(0L, 5L, 10L), null);
    assertEquals(List.of(new Relearn.Worst(0, 0.10, 1e-3, 0), new Relearn.Worst(5, 0.30, 1e-3, 0),
        new Relearn.Worst(10, 0.20, 1e-3, 0)), s.worstCase());
    assertEquals(at("0", 0.10, "5", 0.30, "10", 0.20), s.forgetAt());
    // 5·(0.10 + 0.30)/2 + 5·(0.30 + 0.20)/2 = 1.0 + 1.25 = 2.25 over 10 steps.
    assertEquals(0.225, s.auc(), 1e-12);
  }

  /** Language: Korean CE, higher = more forgotten, so the attacker takes the minimum; unequal step spacing. */
  @Test
  void crossEntropyWorstCaseIsTheMinimumAndTheAreaUsesTheRealStepWidths() {
    List<Relearn.Curve> curves = List.of(
        curve(7e-4, 0, 0, 4.0, 2, 3.0, 8, 2.5),
        curve(1e-5, 0, 0, 4.0, 2, 3.5, 8, 1.5));
    Relearn.Summary s = Relearn.summarise(true, curves, List.of(0L, 2L, 8L), 2.8);
    assertEquals(List.of(new Relearn.Worst(0, 4.0, 7e-4, 0), new Relearn.Worst(2, 3.0, 7e-4, 0),
        new Relearn.Worst(8, 1.5, 1e-5, 0)), s.worstCase());
    assertEquals(at("0", 4.0, "2", 3.0, "8", 1.5), s.forgetAt());
    // 2·(4.0 + 3.0)/2 + 6·(3.0 + 1.5)/2 = 7.0 + 13.5 = 20.5 over 8 steps.
    assertEquals(2.5625, s.auc(), 1e-12);
    // CE at or below 2.8 first at step 8 (3.0 at step 2 is not).
    assertEquals(8L, s.stepsToThreshold());
  }

  @Test
  void anAttackOfZeroStepsHasTheUnattackedValueAsItsArea() {
    Relearn.Summary s = Relearn.summarise(true, List.of(curve(1e-3, 0, 0, 3.25)), List.of(0L, 40L), 3.0);
    assertEquals(List.of(new Relearn.Worst(0, 3.25, 1e-3, 0)), s.worstCase());
    assertEquals(at("0", 3.25), s.forgetAt());
    assertEquals(3.25, s.auc(), 0.0);
    assertNull(s.stepsToThreshold());
  }
}
