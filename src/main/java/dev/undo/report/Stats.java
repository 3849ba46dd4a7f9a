package dev.undo.report;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The report's interval arithmetic: measured values with their 95% intervals, conservative propagation to derived
 * quantities, summaries over seeds (Student-t), and the least-squares trend of claim C3.
 */
final class Stats {
  /** Two-sided confidence level of every interval in the report. */
  static final double CONFIDENCE = 0.95;

  private Stats() {}

  /**
   * A number with its interval [lo, hi] (lo ≤ v ≤ hi). A measured value takes its interval from the metric's
   * {@code _lo}/{@code _hi} (Wilson for accuracies, bootstrap over held-out windows for CE); a count or a ledger
   * entry is exact (lo = hi = v); an unknown interval is (−∞, +∞), which no verdict line can clear.
   */
  record Value(double v, double lo, double hi) {
    static final Value MISSING = new Value(Double.NaN, Double.NaN, Double.NaN);

    /** A value with the interval given, or exact when an end is missing (a metric reported without one). */
    static Value of(double v, double lo, double hi) {
      if (!Double.isFinite(v)) {
        return MISSING;
      }
      if (Double.isNaN(lo) || Double.isNaN(hi)) {
        return exact(v);
      }
      return new Value(v, Math.min(lo, v), Math.max(hi, v));
    }

    static Value exact(double v) {
      return Double.isFinite(v) ? new Value(v, v, v) : MISSING;
    }

    boolean finite() {
      return Double.isFinite(v);
    }

    /** 1 − this: robustness from a relearned fraction. */
    Value oneMinus() {
      return finite() ? new Value(1 - v, 1 - hi, 1 - lo) : MISSING;
    }

    /** this − o for independent quantities: [lo − o.hi, hi − o.lo]. */
    Value minus(Value o) {
      return finite() && o.finite() ? new Value(v - o.v, lo - o.hi, hi - o.lo) : MISSING;
    }
  }

  /**
   * A derived quantity f(x₁…x_k) with a conservative interval: f at every corner of the box of the inputs'
   * intervals, min and max taken. This is exact for a function monotone in each input when the others are fixed
   * (a difference, a ratio whose denominator keeps its sign, the relearned fraction), so for a difference of two
   * independent values it is [lo₁ − hi₂, hi₁ − lo₂]; an input shared by two terms (a reference model) counts once.
   * A corner where f is undefined (a denominator that may change sign) makes the interval unbounded.
   */
  static Value corners(ToDoubleFunction<double[]> f, Value... xs) {
    double[] point = new double[xs.length];
    for (int i = 0; i < xs.length; i++) {
      if (!xs[i].finite()) {
        return Value.MISSING;
      }
      point[i] = xs[i].v();
    }
    double v = f.applyAsDouble(point);
    if (!Double.isFinite(v)) {
      return Value.MISSING;
    }
    double lo = v;
    double hi = v;
    double[] x = new double[xs.length];
    for (int mask = 0; mask < 1 << xs.length; mask++) {
      for (int i = 0; i < xs.length; i++) {
        x[i] = (mask >> i & 1) == 0 ? xs[i].lo() : xs[i].hi();
      }
      double c = f.applyAsDouble(x);
      if (!Double.isFinite(c)) {
        return new Value(v, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
      }
      lo = Math.min(lo, c);
      hi = Math.max(hi, c);
    }
    return new Value(v, lo, hi);
  }

  /**
   * A claim quantity measured once per seed, each with its own interval. One seed: the seed's interval. Several:
   * the hull of the 95% t-interval of the per-seed values (seed-to-seed spread) and the mean of the per-seed
   * intervals (what one evaluation could be off by), so neither few seeds nor few evaluation items can make a
   * verdict look surer than it is.
   */
  record Estimate(Map<Long, Value> perSeed, int n, double mean, double lo, double hi) {
    boolean empty() {
      return n == 0;
    }
  }

  /** Seeds whose value is missing (a model or an attack absent) are left out, and listed as such. */
  static Estimate estimate(Map<Long, Value> perSeed) {
    List<Value> xs = new ArrayList<>();
    for (Value v : perSeed.values()) {
      if (v.finite()) {
        xs.add(v);
      }
    }
    int n = xs.size();
    Map<Long, Value> copy = Collections.unmodifiableMap(new LinkedHashMap<>(perSeed));
    if (n == 0) {
      return new Estimate(copy, 0, Double.NaN, Double.NaN, Double.NaN);
    }
    if (n == 1) {
      Value only = xs.get(0);
      return new Estimate(copy, 1, only.v(), only.lo(), only.hi());
    }
    double mean = 0;
    double meanLo = 0;
    double meanHi = 0;
    for (Value x : xs) {
      mean += x.v() / n;
      meanLo += x.lo() / n;
      meanHi += x.hi() / n;
    }
    double ss = 0;
    for (Value x : xs) {
      ss += (x.v() - mean) * (x.v() - mean);
    }
    double half = tQuantile(0.5 + CONFIDENCE / 2, n - 1) * Math.sqrt(ss / (n - 1) / n);
    return new Estimate(copy, n, mean, Math.min(mean - half, meanLo), Math.max(mean + half, meanHi));
  }

  /**
   * A least-squares line y = intercept + slope·x with a 95% interval for the slope, R², and the share of pairs
   * (x_i < x_j) in which y grows ({@code monotone}; ties in y count half).
   *
   * <p>The slope's interval is the hull of two: the t-interval from the residuals (n − 2 degrees of freedom: how
   * far the points are from a line), and the range of the slope when every y moves anywhere within its own interval
   * (the slope is Σ w_i·y_i with w_i = (x_i − x̄)/Sxx, so its range is Σ min/max(w_i·lo_i, w_i·hi_i)).
   */
  record Fit(int n, double slope, double slopeLo, double slopeHi, double intercept, double r2, double monotone) {}

  static Fit fit(double[] x, Value[] y) {
    int n = x.length;
    if (n != y.length || n < 3) {
      throw new IllegalArgumentException("a fit needs >= 3 points with one y per x, got " + n + " and " + y.length);
    }
    double mx = 0;
    double my = 0;
    for (int i = 0; i < n; i++) {
      mx += x[i] / n;
      my += y[i].v() / n;
    }
    double sxx = 0;
    double sxy = 0;
    double syy = 0;
    for (int i = 0; i < n; i++) {
      sxx += (x[i] - mx) * (x[i] - mx);
      sxy += (x[i] - mx) * (y[i].v() - my);
      syy += (y[i].v() - my) * (y[i].v() - my);
    }
    if (sxx == 0) {
      throw new IllegalArgumentException("a fit needs at least two distinct x values");
    }
    double slope = sxy / sxx;
    double intercept = my - slope * mx;
    double ssr = 0;
    for (int i = 0; i < n; i++) {
      double r = y[i].v() - intercept - slope * x[i];
      ssr += r * r;
    }
    double half = tQuantile(0.5 + CONFIDENCE / 2, n - 2) * Math.sqrt(ssr / (n - 2) / sxx);
    double measLo = 0;
    double measHi = 0;
    for (int i = 0; i < n; i++) {
      double w = (x[i] - mx) / sxx;
      measLo += Math.min(w * y[i].lo(), w * y[i].hi());
      measHi += Math.max(w * y[i].lo(), w * y[i].hi());
    }
    double r2 = syy == 0 ? Double.NaN : 1 - ssr / syy;
    double pairs = 0;
    double up = 0;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        if (x[i] < x[j]) {
          pairs++;
          up += y[j].v() > y[i].v() ? 1 : y[j].v() == y[i].v() ? 0.5 : 0;
        }
      }
    }
    return new Fit(n, slope, Math.min(slope - half, measLo), Math.max(slope + half, measHi), intercept, r2,
        pairs == 0 ? Double.NaN : up / pairs);
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
