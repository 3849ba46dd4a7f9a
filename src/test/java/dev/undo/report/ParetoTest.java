package dev.undo.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The non-dominated set under each combination of metric directions. */
class ParetoTest {
  record P(String name, double retain, double forget) {}

  static final List<P> POINTS = List.of(new P("a", 0.9, 0.5), new P("b", 0.8, 0.2), new P("c", 0.7, 0.3),
      new P("d", 0.9, 0.6), new P("e", Double.NaN, 0.0));

  static List<String> front(boolean retainHigher, boolean forgetHigher) {
    return Pareto.frontier(POINTS, P::retain, retainHigher, P::forget, forgetHigher).stream().map(P::name).toList();
  }

  @Test
  void frontierFollowsTheManifestDirections() {
    // Arithmetic: higher retain accuracy, lower ×÷ accuracy are better. c is beaten by b on both; d by a on forget.
    assertEquals(List.of("a", "b"), front(true, false));
    // Higher forget value is more forgotten (Korean CE): d beats a, and b, c lose on forget to a or d.
    assertEquals(List.of("d"), front(true, true));
    // Lower retain is better (English CE) and lower forget is better.
    assertEquals(List.of("b", "c"), front(false, false));
  }

  @Test
  void identicalPointsDoNotDominateEachOther() {
    List<P> twins = List.of(new P("x", 0.5, 0.5), new P("y", 0.5, 0.5));
    assertEquals(2, Pareto.frontier(twins, P::retain, true, P::forget, false).size());
  }

  @Test
  void dominationBeyondIntervalsNeedsBothAxesToClear() {
    record Q(String name, Stats.Value retain, Stats.Value forget) {}
    // Arithmetic directions: higher retain, lower forget are better.
    Q a = new Q("a", new Stats.Value(0.90, 0.88, 0.92), new Stats.Value(0.40, 0.35, 0.45));
    Q clear = new Q("clear", new Stats.Value(0.95, 0.93, 0.97), new Stats.Value(0.20, 0.15, 0.25));
    Q overlapping = new Q("overlap", new Stats.Value(0.95, 0.91, 0.99), new Stats.Value(0.20, 0.15, 0.25));
    assertEquals(clear, Pareto.dominatorBeyond(a, List.of(a, overlapping, clear), Q::retain, true, Q::forget, false));
    assertEquals(null, Pareto.dominatorBeyond(a, List.of(a, overlapping), Q::retain, true, Q::forget, false));
    // The overlapping point could dominate a within the intervals; a cannot dominate the clear one.
    assertEquals(true, Pareto.possiblyDominated(a, List.of(overlapping), Q::retain, true, Q::forget, false));
    assertEquals(false, Pareto.possiblyDominated(clear, List.of(a), Q::retain, true, Q::forget, false));
  }
}
