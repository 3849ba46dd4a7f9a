package dev.undo.eval;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The 95% intervals every reported number carries: Wilson's score interval for an accuracy (k of n items), and a
 * percentile bootstrap over held-out windows for a mean cross-entropy (windows resampled with replacement, the CE
 * recomputed as total loss over total tokens). The bootstrap is seeded, so an interval repeats exactly.
 */
public final class Intervals {
  /** The standard normal quantile of 97.5%: two-sided 95%. */
  public static final double Z95 = 1.959963984540054;

  private Intervals() {}

  /** Wilson's score interval of k successes in n trials, {lo, hi}; NaNs when n = 0. */
  public static double[] wilson(long k, long n) {
    if (n <= 0) {
      return new double[] {Double.NaN, Double.NaN};
    }
    double p = (double) k / n;
    double z2 = Z95 * Z95;
    double denom = 1 + z2 / n;
    double centre = (p + z2 / (2.0 * n)) / denom;
    double half = Z95 * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denom;
    return new double[] {Math.max(0, centre - half), Math.min(1, centre + half)};
  }

  /**
   * Percentile bootstrap interval, {lo, hi}, of sum(sums)/sum(counts) over windows resampled with replacement
   * {@code samples} times from a generator seeded with {@code seed}.
   */
  public static double[] bootstrapRatio(double[] sums, long[] counts, int samples, long seed) {
    int n = sums.length;
    if (n == 0) {
      return new double[] {Double.NaN, Double.NaN};
    }
    SplittableRandom rnd = new SplittableRandom(seed);
    double[] stats = new double[samples];
    for (int s = 0; s < samples; s++) {
      double num = 0;
      long den = 0;
      for (int i = 0; i < n; i++) {
        int j = rnd.nextInt(n);
        num += sums[j];
        den += counts[j];
      }
      stats[s] = den == 0 ? Double.NaN : num / den;
    }
    Arrays.sort(stats);
    return new double[] {stats[(int) Math.floor(0.025 * (samples - 1))], stats[(int) Math.ceil(0.975 * (samples - 1))]};
  }
}
