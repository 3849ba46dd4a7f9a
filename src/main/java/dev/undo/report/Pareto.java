package dev.undo.report;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The non-dominated set of a retain/forget trade-off (docs/PROTOCOL.md claim C4). A point dominates another when it is at
 * least as good on both axes and strictly better on one, where "good" follows the manifest's directions (higher
 * retain accuracy but lower English CE; lower ×÷ accuracy but higher Korean CE). Points with a missing coordinate
 * take no part.
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

  private static double sign(boolean higherIsBetter) {
    return higherIsBetter ? 1 : -1;
  }
}
