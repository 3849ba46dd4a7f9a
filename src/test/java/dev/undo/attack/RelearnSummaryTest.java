package dev.undo.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.undo.run.Compute;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code Relearn.summarise} on hand-made curves with hand-computed answers: the adversary's best result within each
 * step budget (over every run and every evaluation up to that step), the report steps with intervals, the area
 * under the worst-case curve, and the first crossing of the threshold.
 */
class RelearnSummaryTest {
  /** A curve; each point's interval is its value ± 0.01 so the test can see which point an entry came from. */
  static Relearn.Curve curve(String data, double lr, long seed, double... stepAndForget) {
    List<Relearn.Point> pts = new ArrayList<>();
    for (int i = 0; i < stepAndForget.length; i += 2) {
      double v = stepAndForget[i + 1];
      pts.add(new Relearn.Point((long) stepAndForget[i], v, v - 0.01, v + 0.01, 0.5));
    }
    return new Relearn.Curve(data, lr, seed, pts, Compute.ZERO);
  }

  static Map<String, Double> at(Object... keyAndValue) {
    Map<String, Double> m = new LinkedHashMap<>();
    for (int i = 0; i < keyAndValue.length; i += 2) {
      m.put((String) keyAndValue[i], (Double) keyAndValue[i + 1]);
    }
    return m;
  }

  static Relearn.Worst worst(long step, double v, String data, double lr, long seed, long at) {
    return new Relearn.Worst(step, v, v - 0.01, v + 0.01, data, lr, seed, at);
  }

  /** Arithmetic: forget accuracy, higher = less forgotten, so the attacker takes the maximum. */
  @Test
  void accuracyWorstCaseIsTheBestSoFarOverEveryRunWithTheChoiceThatReachedIt() {
    List<Relearn.Curve> curves = List.of(
        curve("forget", 1e-3, 0, 0, 0.10, 5, 0.30, 10, 0.20),
        curve("forget", 1e-4, 0, 0, 0.10, 5, 0.25, 10, 0.40),
        curve("mixture", 1e-4, 1, 0, 0.10, 5, 0.05, 10, 0.35));
    Relearn.Summary s = Relearn.summarise(false, curves, List.of(0L, 5L, 7L, 10L, 20L), 0.28);
    // Step 0: all equal, the first curve keeps it (a later one must be strictly better to replace it).
    assertEquals(List.of(worst(0, 0.10, "forget", 1e-3, 0, 0), worst(5, 0.30, "forget", 1e-3, 0, 5),
        worst(10, 0.40, "forget", 1e-4, 0, 10)), s.worstCase());
    // Report steps: 7 was not evaluated and takes the last evaluated step before it (5); 20 is past the attack.
    assertEquals(at("0", 0.10, "5", 0.30, "7", 0.30, "10", 0.40), s.forgetAt());
    assertEquals(at("0", 0.09, "5", 0.29, "7", 0.29, "10", 0.39), round(s.forgetAtLo()));
    assertEquals(at("0", 0.11, "5", 0.31, "7", 0.31, "10", 0.41), round(s.forgetAtHi()));
    // Trapezoids: 5·(0.10 + 0.30)/2 + 5·(0.30 + 0.40)/2 = 1.0 + 1.75 = 2.75, per step over 10 steps.
    assertEquals(0.275, s.auc(), 1e-12);
    // 0.30 at step 5 is the first worst-case value >= 0.28.
    assertEquals(5L, s.stepsToThreshold());
    assertNull(Relearn.summarise(false, curves, List.of(0L), 0.5).stepsToThreshold(), "never reached");
    assertNull(Relearn.summarise(false, curves, List.of(0L), null).stepsToThreshold(), "no threshold");
  }

  /**
   * An attacker who can stop at any evaluation keeps the best model so far: a curve that peaks at step 5 and falls
   * back holds the step-10 value up, and the worst case never improves for the defender as the budget grows.
   */
  @Test
  void theWorstCaseIsARunningMaximumThatRemembersWhereItWasReached() {
    List<Relearn.Curve> curves = List.of(
        curve("forget", 1e-3, 0, 0, 0.10, 5, 0.30, 10, 0.20),
        curve("forget", 1e-4, 0, 0, 0.10, 5, 0.25, 10, 0.15));
    Relearn.Summary s = Relearn.summarise(false, curves, List.of(0L, 5L, 10L), null);
    assertEquals(List.of(worst(0, 0.10, "forget", 1e-3, 0, 0), worst(5, 0.30, "forget", 1e-3, 0, 5),
        worst(10, 0.30, "forget", 1e-3, 0, 5)), s.worstCase());
    assertEquals(at("0", 0.10, "5", 0.30, "10", 0.30), s.forgetAt());
    // 5·(0.10 + 0.30)/2 + 5·(0.30 + 0.30)/2 = 1.0 + 1.5 = 2.5 over 10 steps.
    assertEquals(0.25, s.auc(), 1e-12);
    for (int i = 1; i < s.worstCase().size(); i++) {
      assertTrue(s.worstCase().get(i).forget() >= s.worstCase().get(i - 1).forget(), "monotone");
    }
  }

  /** Language: Korean CE, higher = more forgotten, so the attacker takes the minimum; unequal step spacing. */
  @Test
  void crossEntropyWorstCaseIsTheRunningMinimumAndTheAreaUsesTheRealStepWidths() {
    List<Relearn.Curve> curves = List.of(
        curve("forget", 7e-4, 0, 0, 4.0, 2, 3.0, 8, 3.2),
        curve("forget", 1e-5, 0, 0, 4.0, 2, 3.5, 8, 1.5));
    Relearn.Summary s = Relearn.summarise(true, curves, List.of(0L, 2L, 8L), 2.8);
    assertEquals(List.of(worst(0, 4.0, "forget", 7e-4, 0, 0), worst(2, 3.0, "forget", 7e-4, 0, 2),
        worst(8, 1.5, "forget", 1e-5, 0, 8)), s.worstCase());
    assertEquals(at("0", 4.0, "2", 3.0, "8", 1.5), s.forgetAt());
    // 2·(4.0 + 3.0)/2 + 6·(3.0 + 1.5)/2 = 7.0 + 13.5 = 20.5 over 8 steps.
    assertEquals(2.5625, s.auc(), 1e-12);
    // CE at or below 2.8 first at step 8 (3.0 at step 2 is not).
    assertEquals(8L, s.stepsToThreshold());
  }

  @Test
  void anAttackOfZeroStepsHasTheUnattackedValueAsItsArea() {
    Relearn.Summary s = Relearn.summarise(true, List.of(curve("forget", 1e-3, 0, 0, 3.25)), List.of(0L, 40L), 3.0);
    assertEquals(List.of(worst(0, 3.25, "forget", 1e-3, 0, 0)), s.worstCase());
    assertEquals(at("0", 3.25), s.forgetAt());
    assertEquals(3.25, s.auc(), 0.0);
    assertNull(s.stepsToThreshold());
  }

  private static Map<String, Double> round(Map<String, Double> m) {
    Map<String, Double> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(k, Math.round(v * 1e9) / 1e9));
    return out;
  }
}
