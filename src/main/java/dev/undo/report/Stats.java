package dev.undo.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Means, Student-t confidence intervals and rank correlations for the claim checks. */
final class Stats {
  /** Two-sided confidence level of every interval in the report. */
  static final double CONFIDENCE = 0.95;

  private Stats() {}

  /**
   * A claim quantity measured once per seed. With two or more seeds, [lo, hi] is the t-interval of the mean at
   * {@link #CONFIDENCE}; with one seed there is no interval and both bounds are the value itself, so a verdict
   * that asks for "the interval's lower bound past the threshold" reduces to "the value past the threshold".
   */
  record Estimate(Map<Long, Double> perSeed, int n, double mean, double lo, double hi) {
    boolean hasInterval() {
      return n >= 2;
    }

    boolean empty() {
      return n == 0;
    }
  }

  /** Non-finite per-seed values (a seed missing a model or an attack) are left out, and listed as such. */
  static Estimate estimate(Map<Long, Double> perSeed) {
    List<Double> xs = new ArrayList<>();
    for (double v : perSeed.values()) {
      if (Double.isFinite(v)) {
        xs.add(v);
      }
    }
    int n = xs.size();
    Map<Long, Double> copy = Collections.unmodifiableMap(new LinkedHashMap<>(perSeed));
    if (n == 0) {
      return new Estimate(copy, 0, Double.NaN, Double.NaN, Double.NaN);
    }
    double mean = xs.stream().mapToDouble(Double::doubleValue).sum() / n;
    if (n == 1) {
      return new Estimate(copy, 1, mean, mean, mean);
    }
    double ss = 0;
    for (double x : xs) {
      ss += (x - mean) * (x - mean);
    }
    double half = tQuantile(0.5 + CONFIDENCE / 2, n - 1) * Math.sqrt(ss / (n - 1) / n);
    return new Estimate(copy, n, mean, mean - half, mean + half);
  }

  /** Spearman's rank correlation: Pearson's on average ranks (ties share their mean rank). */
  static double spearman(double[] x, double[] y) {
    return pearson(ranks(x), ranks(y));
  }

  /**
   * Pearson's correlation. A constant series has no variance and so no direction; it is scored 0, "does not grow
   * with the other", which is what a constant compute over α means for claim C3.
   */
  static double pearson(double[] x, double[] y) {
    if (x.length != y.length || x.length < 2) {
      throw new IllegalArgumentException("need two series of equal length >= 2");
    }
    double mx = Arrays.stream(x).average().orElseThrow();
    double my = Arrays.stream(y).average().orElseThrow();
    double sxy = 0;
    double sxx = 0;
    double syy = 0;
    for (int i = 0; i < x.length; i++) {
      sxy += (x[i] - mx) * (y[i] - my);
      sxx += (x[i] - mx) * (x[i] - mx);
      syy += (y[i] - my) * (y[i] - my);
    }
    if (sxx == 0 || syy == 0) {
      return 0;
    }
    return sxy / Math.sqrt(sxx * syy);
  }

  static double[] ranks(double[] v) {
    Integer[] idx = new Integer[v.length];
    for (int i = 0; i < v.length; i++) {
      idx[i] = i;
    }
    Arrays.sort(idx, (a, b) -> Double.compare(v[a], v[b]));
    double[] r = new double[v.length];
    for (int i = 0; i < v.length; ) {
      int j = i;
      while (j + 1 < v.length && v[idx[j + 1]] == v[idx[i]]) {
        j++;
      }
      double mean = (i + j) / 2.0 + 1;
      for (int k = i; k <= j; k++) {
        r[idx[k]] = mean;
      }
      i = j + 1;
    }
    return r;
  }

  /** The p-quantile of Student's t with {@code df} degrees of freedom (p > 0.5), by bisection on the CDF. */
  static double tQuantile(double p, int df) {
    if (!(p > 0.5 && p < 1) || df < 1) {
      throw new IllegalArgumentException("tQuantile needs 0.5 < p < 1 and df >= 1, got p=" + p + " df=" + df);
    }
    double lo = 0;
    double hi = 1;
    while (tCdf(hi, df) < p) {
      hi *= 2;
    }
    for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
      double mid = (lo + hi) / 2;
      if (tCdf(mid, df) < p) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return (lo + hi) / 2;
  }

  /** Student's t CDF for t >= 0: 1 − I_{df/(df+t²)}(df/2, 1/2) / 2. */
  static double tCdf(double t, int df) {
    double x = df / (df + t * t);
    return 1 - 0.5 * incompleteBeta(x, df / 2.0, 0.5);
  }

  /** Regularised incomplete beta I_x(a, b) by its continued fraction (Numerical Recipes, betacf). */
  static double incompleteBeta(double x, double a, double b) {
    if (x <= 0) {
      return 0;
    }
    if (x >= 1) {
      return 1;
    }
    double front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
    // The continued fraction converges fast only below the mean; use the symmetry I_x(a,b) = 1 − I_{1−x}(b,a).
    if (x < (a + 1) / (a + b + 2)) {
      return front * betaFraction(x, a, b) / a;
    }
    return 1 - front * betaFraction(1 - x, b, a) / b;
  }

  private static double betaFraction(double x, double a, double b) {
    final double tiny = 1e-300;
    double c = 1;
    double d = 1 - (a + b) * x / (a + 1);
    d = 1 / (Math.abs(d) < tiny ? tiny : d);
    double h = d;
    for (int m = 1; m <= 500; m++) {
      int m2 = 2 * m;
      double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
      d = 1 + aa * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + aa / c;
      c = Math.abs(c) < tiny ? tiny : c;
      h *= d * c;
      aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
      d = 1 + aa * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + aa / c;
      c = Math.abs(c) < tiny ? tiny : c;
      double del = d * c;
      h *= del;
      if (Math.abs(del - 1) < 1e-15) {
        break;
      }
    }
    return h;
  }

  /** ln Γ(x) for x > 0 (Lanczos, g = 7, nine coefficients; ~15 significant digits). */
  static double logGamma(double x) {
    final double[] c = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
        -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
        1.5056327351493116e-7};
    if (x < 0.5) {
      // Reflection keeps the series in its accurate range; only Γ(1/2) reaches here.
      return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
    }
    x -= 1;
    double s = c[0];
    for (int i = 1; i < 9; i++) {
      s += c[i] / (x + i);
    }
    double t = x + 7.5;
    return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(s);
  }
}
