package dev.undo.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Interval arithmetic, seed summaries and line fits against textbook values. */
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

  private static Map<Long, Stats.Value> exact(double... vs) {
    Map<Long, Stats.Value> m = new LinkedHashMap<>();
    for (int i = 0; i < vs.length; i++) {
      m.put((long) i + 1, Double.isNaN(vs[i]) ? Stats.Value.MISSING : Stats.Value.exact(vs[i]));
    }
    return m;
  }

  @Test
  void estimateOfThreeExactSeedsIsTheTInterval() {
    Stats.Estimate e = Stats.estimate(exact(1, 2, 3));
    // mean 2, sd 1, se 1/sqrt(3), t_{0.975,2} = 4.3027: half-width 2.4841.
    assertEquals(3, e.n());
    assertEquals(2.0, e.mean(), 1e-12);
    assertEquals(2 - 2.48414, e.lo(), 1e-4);
    assertEquals(2 + 2.48414, e.hi(), 1e-4);
  }

  @Test
  void severalSeedsNeverLookSurerThanOneMeasurement() {
    // Three seeds that agree exactly, each measured to ±0.1: the interval is the mean measurement interval.
    Map<Long, Stats.Value> v = new LinkedHashMap<>();
    for (long s = 1; s <= 3; s++) {
      v.put(s, new Stats.Value(0.5, 0.4, 0.6));
    }
    Stats.Estimate e = Stats.estimate(v);
    assertEquals(0.4, e.lo(), 1e-12);
    assertEquals(0.6, e.hi(), 1e-12);
  }

  @Test
  void oneSeedKeepsItsOwnIntervalAndMissingSeedsAreLeftOut() {
    Map<Long, Stats.Value> v = new LinkedHashMap<>();
    v.put(1L, new Stats.Value(0.4, 0.3, 0.45));
    v.put(2L, Stats.Value.MISSING);
    Stats.Estimate e = Stats.estimate(v);
    assertEquals(1, e.n());
    assertEquals(0.3, e.lo());
    assertEquals(0.45, e.hi());
    assertTrue(Stats.estimate(exact(Double.NaN)).empty());
  }

  @Test
  void cornersGiveTheConservativeIntervalOfADerivedQuantity() {
    Stats.Value a = new Stats.Value(0.8, 0.7, 0.9);
    Stats.Value b = new Stats.Value(0.1, 0.05, 0.2);
    // A difference of independent values: [lo1 − hi2, hi1 − lo2].
    Stats.Value d = Stats.corners(x -> x[0] - x[1], a, b);
    assertEquals(0.7, d.v(), 1e-12);
    assertEquals(0.5, d.lo(), 1e-12);
    assertEquals(0.85, d.hi(), 1e-12);
    assertEquals(d, a.minus(b));
    // A ratio whose denominator may reach zero is unbounded.
    Stats.Value r = Stats.corners(x -> x[0] / x[1], a, new Stats.Value(0.1, 0.0, 0.2));
    assertEquals(8.0, r.v(), 1e-12);
    assertEquals(Double.POSITIVE_INFINITY, r.hi());
    assertFalse(Stats.corners(x -> x[0], Stats.Value.MISSING).finite());
  }

  @Test
  void fitOfALineHasItsSlopeRSquaredAndMonotonicity() {
    double[] x = {0, 1, 2, 3, 4};
    Stats.Value[] exactLine = new Stats.Value[5];
    Stats.Value[] noisy = new Stats.Value[5];
    double[] ys = {1.0, 1.9, 3.2, 3.9, 5.0}; // y ≈ 1 + x
    for (int i = 0; i < 5; i++) {
      exactLine[i] = Stats.Value.exact(1 + 2 * x[i]);
      noisy[i] = Stats.Value.exact(ys[i]);
    }
    Stats.Fit f = Stats.fit(x, exactLine);
    assertEquals(2.0, f.slope(), 1e-12);
    assertEquals(1.0, f.intercept(), 1e-12);
    assertEquals(1.0, f.r2(), 1e-12);
    assertEquals(1.0, f.monotone());
    assertEquals(2.0, f.slopeLo(), 1e-12);
    assertEquals(2.0, f.slopeHi(), 1e-12);
    // Sxx = 10, Sxy = 10: slope 1, intercept 1; residuals 0, −0.1, 0.2, −0.1, 0: SSR = 0.06, Syy = 10.06;
    // se = sqrt(0.06 / 3 / 10) = 0.044721; t_{0.975,3} = 3.18245.
    Stats.Fit g = Stats.fit(x, noisy);
    assertEquals(1.0, g.slope(), 1e-12);
    assertEquals(1 - 3.18245 * 0.0447214, g.slopeLo(), 1e-5);
    assertEquals(1 + 3.18245 * 0.0447214, g.slopeHi(), 1e-5);
    assertEquals(1 - 0.06 / 10.06, g.r2(), 1e-9);
    // Each y within ±0.5: the slope's measurement range is ±0.5 · Σ|x_i − x̄| / Sxx = ±0.5 · 6 / 10 = ±0.3.
    Stats.Value[] wide = new Stats.Value[5];
    for (int i = 0; i < 5; i++) {
      wide[i] = new Stats.Value(1 + 2 * x[i], 0.5 + 2 * x[i], 1.5 + 2 * x[i]);
    }
    Stats.Fit w = Stats.fit(x, wide);
    assertEquals(1.7, w.slopeLo(), 1e-12);
    assertEquals(2.3, w.slopeHi(), 1e-12);
  }
}
