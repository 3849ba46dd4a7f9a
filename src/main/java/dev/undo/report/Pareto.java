package dev.undo.report;

import dev.undo.report.Stats.Value;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * The non-dominated set of a retain/forget trade-off (docs/PROTOCOL.md claim C4). "Good" follows the manifest's
 * directions (higher retain accuracy but lower English CE; lower ×÷ accuracy but higher Korean CE). Points with a
 * missing coordinate take no part.
 *
 * <ul>
 *   <li>On point values (the plotted frontier): b dominates a when it is at least as good on both axes and
 *       strictly better on one.
 *   <li>Beyond the intervals (the claim): b dominates a only when b's worse interval end is better than a's better
 *       end on both axes, i.e. the measurements cannot be reconciled with a being as good as b on either axis.
 *   <li>Possibly (the strict reading, reported beside): b's better end is at least as good as a's worse end on
 *       both axes, i.e. some values within the intervals have b dominating a.
 * </ul>
 */
final class Pareto {
  private Pareto() {}

  static <T> List<T> frontier(List<T> items, ToDoubleFunction<T> retain, boolean retainHigherIsBetter,
      ToDoubleFunction<T> forget, boolean higherIsMoreForgotten) {
    List<T> valid = new ArrayList<>();
    for (T t : items) {
      if (Double.isFinite(retain.applyAsDouble(t)) && Double.isFinite(forget.applyAsDouble(t))) {
        valid.add(t);
      }
    }
    List<T> out = new ArrayList<>();
    for (T a : valid) {
      boolean dominated = false;
      for (T b : valid) {
        if (a != b && dominates(b, a, retain, retainHigherIsBetter, forget, higherIsMoreForgotten)) {
          dominated = true;
          break;
        }
      }
      if (!dominated) {
        out.add(a);
      }
    }
    return out;
  }

  static <T> boolean dominates(T b, T a, ToDoubleFunction<T> retain, boolean retainHigherIsBetter,
      ToDoubleFunction<T> forget, boolean higherIsMoreForgotten) {
    // Signed so that larger is better on both axes.
    double rb = sign(retainHigherIsBetter) * retain.applyAsDouble(b);
    double ra = sign(retainHigherIsBetter) * retain.applyAsDouble(a);
    double fb = sign(higherIsMoreForgotten) * forget.applyAsDouble(b);
    double fa = sign(higherIsMoreForgotten) * forget.applyAsDouble(a);
    return rb >= ra && fb >= fa && (rb > ra || fb > fa);
  }

  /** The first of {@code others} that dominates {@code a} beyond the intervals, or null. */
  static <T> T dominatorBeyond(T a, List<T> others, Function<T, Value> retain, boolean retainHigherIsBetter,
      Function<T, Value> forget, boolean higherIsMoreForgotten) {
    for (T b : others) {
      if (b != a && clearlyBetter(retain.apply(b), retain.apply(a), retainHigherIsBetter)
          && clearlyBetter(forget.apply(b), forget.apply(a), higherIsMoreForgotten)) {
        return b;
      }
    }
    return null;
  }

  /** Whether some of {@code others} could dominate {@code a} for values within the intervals. */
  static <T> boolean possiblyDominated(T a, List<T> others, Function<T, Value> retain, boolean retainHigherIsBetter,
      Function<T, Value> forget, boolean higherIsMoreForgotten) {
    for (T b : others) {
      if (b != a && possiblyAsGood(retain.apply(b), retain.apply(a), retainHigherIsBetter)
          && possiblyAsGood(forget.apply(b), forget.apply(a), higherIsMoreForgotten)) {
        return true;
      }
    }
    return false;
  }

  /** b's worse end beats a's better end. */
  static boolean clearlyBetter(Value b, Value a, boolean higherIsBetter) {
    return b.finite() && a.finite() && (higherIsBetter ? b.lo() > a.hi() : b.hi() < a.lo());
  }

  private static boolean possiblyAsGood(Value b, Value a, boolean higherIsBetter) {
    return b.finite() && a.finite() && (higherIsBetter ? b.hi() >= a.lo() : b.lo() <= a.hi());
  }

  private static double sign(boolean higherIsBetter) {
    return higherIsBetter ? 1 : -1;
  }
}
