package dev.undo.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Interval and correlation arithmetic against textbook values. */
class StatsTest {
  @Test
  void studentTQuantilesMatchTables() {
    // t_{0.975, df} from any statistics table.
    assertEquals(12.7062, Stats.tQuantile(0.975, 1), 1e-4);
    assertEquals(4.3027, Stats.tQuantile(0.975, 2), 1e-4);
    assertEquals(2.7764, Stats.tQuantile(0.975, 4), 1e-4);
    assertEquals(2.2281, Stats.tQuantile(0.975, 10), 1e-4);
    assertEquals(2.0423, Stats.tQuantile(0.975, 30), 1e-4);
    assertEquals(1.9840, Stats.tQuantile(0.975, 100), 1e-4);
  }

  @Test
  void logGammaMatchesFactorials() {
    assertEquals(Math.log(24), Stats.logGamma(5), 1e-12);
    assertEquals(0.5 * Math.log(Math.PI), Stats.logGamma(0.5), 1e-12);
  }

  @Test
  void estimateOfThreeSeedsIsTheTInterval() {
    Map<Long, Double> v = new LinkedHashMap<>();
    v.put(1L, 1.0);
    v.put(2L, 2.0);
    v.put(3L, 3.0);
    Stats.Estimate e = Stats.estimate(v);
    // mean 2, sd 1, se 1/sqrt(3), t_{0.975,2} = 4.3027: half-width 2.4841.
    assertEquals(3, e.n());
    assertEquals(2.0, e.mean(), 1e-12);
    assertEquals(2 - 2.48414, e.lo(), 1e-4);
    assertEquals(2 + 2.48414, e.hi(), 1e-4);
    assertTrue(e.hasInterval());
  }

  @Test
  void oneSeedHasNoIntervalAndMissingSeedsAreLeftOut() {
    Map<Long, Double> v = new LinkedHashMap<>();
    v.put(1L, 0.4);
    v.put(2L, Double.NaN);
    Stats.Estimate e = Stats.estimate(v);
    assertEquals(1, e.n());
    assertFalse(e.hasInterval());
    assertEquals(0.4, e.lo());
    assertEquals(0.4, e.hi());
    assertTrue(Stats.estimate(Map.of(1L, Double.NaN)).empty());
  }

  @Test
  void spearmanUsesAverageRanksForTies() {
    assertArrayEquals(new double[] {1, 2.5, 2.5, 4}, Stats.ranks(new double[] {1, 5, 5, 9}), 1e-12);
    assertEquals(1.0, Stats.spearman(new double[] {1, 2, 3}, new double[] {10, 100, 1000}), 1e-12);
    assertEquals(-1.0, Stats.spearman(new double[] {1, 2, 3}, new double[] {3, 2, 1}), 1e-12);
    // Ranks x = 1,2,3,4 and y = 1,2.5,2.5,4: r = 4.5 / sqrt(5 · 4.5).
    assertEquals(4.5 / Math.sqrt(5 * 4.5), Stats.spearman(new double[] {1, 2, 3, 4}, new double[] {0, 7, 7, 9}),
        1e-12);
    assertEquals(0.0, Stats.spearman(new double[] {1, 2, 3}, new double[] {5, 5, 5}));
  }
}
