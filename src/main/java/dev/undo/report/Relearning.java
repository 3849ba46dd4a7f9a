package dev.undo.report;

import dev.undo.attack.Relearn;
import dev.undo.report.RunData.Kind;
import dev.undo.report.RunData.Model;
import dev.undo.report.RunData.Setting;
import dev.undo.report.Stats.Value;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The numbers every plot, table and claim of one setting is built from, each with its 95% interval.
 *
 * <p><b>Worst case</b> after s attack steps: the adversary's best result over every learning rate, attack data and
 * evaluation at or before s, exactly as {@code attack.json} records it ({@code forget_at} and its
 * {@code forget_at_lo}/{@code _hi} at report steps, {@code worst_case} elsewhere). The report never recomputes it.
 *
 * <p><b>Relearned fraction</b> of a model after s attack steps: how far its worst case has moved from the
 * data-filtered model's unattacked value toward the base model's unattacked value,
 * {@code (f(model, s) − f(filtered, 0)) / (f(base, 0) − f(filtered, 0))}. Because numerator and denominator share
 * the metric's sign convention it reads the same for Korean CE (lower = more capable) and ×÷ accuracy (higher =
 * more capable): 0 is as ignorant as data filtering, 1 as capable as the base model. <b>Robustness</b> is
 * 1 − relearned fraction. The base and filtered models are those of the model's seed when the run has them,
 * otherwise the first of their kind, so a multi-seed run normalises each seed by its own references. Its interval
 * is the fraction at every combination of the three measured values' interval ends ({@link Stats#corners}); a
 * difference of two fractions is computed the same way from the four values it depends on, so the shared
 * references are not counted twice.
 *
 * <p>When the base model is not more capable on the forget metric than the filtered one, the scale has no length
 * (or points backwards) and every fraction is missing: such a run cannot say anything about robustness.
 */
final class Relearning {
  final Setting setting;
  /** Report steps of this setting: the union of the attacked report steps ({@code forget_at} keys), ascending. */
  final List<Long> steps;

  Relearning(Setting setting) {
    this.setting = setting;
    Set<Long> s = new TreeSet<>();
    for (Model m : setting.models()) {
      if (m.attack() != null && m.attack().forgetAt() != null) {
        m.attack().forgetAt().keySet().forEach(k -> s.add(Long.parseLong(k)));
      }
    }
    this.steps = List.copyOf(s);
  }

  /**
   * The "middle" report step, where the paper's short attack is read off (40 of 0/40/500): the element at index
   * size/2 of the ascending steps, so 0/40/500 and 0/40/200 give 40, and 0/40 gives 40 rather than the unattacked 0.
   */
  Long middleStep() {
    return steps.isEmpty() ? null : steps.get(steps.size() / 2);
  }

  Long lastStep() {
    return steps.isEmpty() ? null : steps.get(steps.size() - 1);
  }

  List<Model> of(Kind kind) {
    List<Model> out = new ArrayList<>();
    for (Model m : setting.models()) {
      if (m.kind() == kind) {
        out.add(m);
      }
    }
    return out;
  }

  /** The first model of a kind with this seed (and method and α where given), or null. */
  Model find(Kind kind, String method, Double alpha, long seed) {
    for (Model m : setting.models()) {
      if (m.kind() == kind && m.seed() == seed && (method == null || method.equals(m.method()))
          && (alpha == null || Objects.equals(alpha, m.alpha()))) {
        return m;
      }
    }
    return null;
  }

  /** The seed-matched model of a reference kind (base or filtered), else the first of that kind. */
  Model reference(Kind kind, long seed) {
    Model first = null;
    for (Model m : setting.models()) {
      if (m.kind() == kind) {
        if (m.seed() == seed) {
          return m;
        }
        if (first == null) {
          first = m;
        }
      }
    }
    return first;
  }

  /** Seeds present in this setting, in order of first appearance. */
  List<Long> seeds() {
    Set<Long> s = new LinkedHashSet<>();
    setting.models().forEach(m -> s.add(m.seed()));
    return List.copyOf(s);
  }

  /** Methods of models of a kind, in order of first appearance (variants such as "rmu+sam" are their own). */
  List<String> methods(Kind kind) {
    Set<String> s = new LinkedHashSet<>();
    for (Model m : of(kind)) {
      if (m.method() != null) {
        s.add(m.method());
      }
    }
    return List.copyOf(s);
  }

  /**
   * The worst case after {@code step} attack steps with its interval: {@code forget_at} at a report step, else the
   * {@code worst_case} entry of the largest evaluated step ≤ {@code step}; missing when the model was not attacked
   * that far.
   */
  Value forget(Model m, long step) {
    if (m == null || m.attack() == null) {
      return Value.MISSING;
    }
    Relearn.Result a = m.attack();
    String key = Long.toString(step);
    if (a.forgetAt() != null && a.forgetAt().containsKey(key)) {
      return Value.of(a.forgetAt().get(key), get(a.forgetAtLo(), key), get(a.forgetAtHi(), key));
    }
    Relearn.Worst w = worstAt(a, step);
    return w == null ? Value.MISSING : Value.of(w.forget(), w.lo(), w.hi());
  }

  private static double get(Map<String, Double> m, String key) {
    Double v = m == null ? null : m.get(key);
    return v == null ? Double.NaN : v;
  }

  /** The worst-case entry read at {@code step}: the last evaluated step ≤ it, or null beyond the attack's end. */
  static Relearn.Worst worstAt(Relearn.Result a, long step) {
    Relearn.Worst out = null;
    for (Relearn.Worst w : a.worstCase()) {
      if (w.step() <= step) {
        out = w;
      }
    }
    long last = a.worstCase().get(a.worstCase().size() - 1).step();
    return step > last ? null : out;
  }

  /**
   * The unattacked forget value, measured by the attack's own evaluation at step 0 so that it is on the same
   * evaluation set as the attacked values; the manifest's metric is the fallback for a model never attacked.
   */
  Value unattacked(Model m) {
    if (m == null) {
      return Value.MISSING;
    }
    Value v = forget(m, 0);
    return v.finite() ? v : m.value(setting.forgetMetric());
  }

  /** The relearned fraction after {@code step} attack steps, with its interval. */
  Value relearned(Model m, long step) {
    if (m == null) {
      return Value.MISSING;
    }
    return Stats.corners(x -> fraction(x[0], x[1], x[2]), forget(m, step),
        unattacked(reference(Kind.FILTERED, m.seed())), unattacked(reference(Kind.BASE, m.seed())));
  }

  Value robustness(Model m, long step) {
    return relearned(m, step).oneMinus();
  }

  /**
   * relearned(a, sa) − relearned(b, sb), both on a's seed's references (the claims compare models of one seed):
   * (f(a, sa) − f(b, sb)) / (f(base, 0) − f(filtered, 0)), its interval over the four values' interval ends.
   */
  Value relearnedDifference(Model a, long sa, Model b, long sb) {
    if (a == null || b == null) {
      return Value.MISSING;
    }
    Value filtered = unattacked(reference(Kind.FILTERED, a.seed()));
    Value base = unattacked(reference(Kind.BASE, a.seed()));
    return Stats.corners(x -> fraction(x[0], x[2], x[3]) - fraction(x[1], x[2], x[3]), forget(a, sa), forget(b, sb),
        filtered, base);
  }

  /**
   * Why relearned fractions of a seed are undefined — no base or filtered forget value, or a base that is not more
   * capable than the filtered model on the forget metric — or null when the scale is usable.
   */
  String scaleProblem(long seed) {
    Value f = unattacked(reference(Kind.FILTERED, seed));
    Value b = unattacked(reference(Kind.BASE, seed));
    if (!f.finite() || !b.finite()) {
      return "seed " + seed + ": no unattacked " + setting.forgetMetric() + " of the base and filtered models";
    }
    if (Double.isNaN(fraction(f.v(), f.v(), b.v()))) {
      return "seed " + seed + ": relearned fraction undefined, the base model (" + setting.forgetMetric() + " "
          + Format.number(b.v()) + ") is not more capable than the filtered one (" + Format.number(f.v()) + ")";
    }
    return null;
  }

  /** (f − filtered) / (base − filtered), or NaN when the base is not the more capable of the two. */
  private double fraction(double f, double filtered, double base) {
    double gap = base - filtered;
    // The base must be the more capable of the two, in the metric's own direction, for the scale to mean anything.
    boolean baseMoreCapable = setting.higherIsMoreForgotten() ? gap < 0 : gap > 0;
    return baseMoreCapable ? (f - filtered) / gap : Double.NaN;
  }

  /**
   * The first evaluated step at which the data-filtered model's worst case has moved past its own step-0 interval
   * in the relearning direction (above the interval's top for an accuracy, below its bottom for a CE), or null if it
   * never does within the attack: where the attack is long enough to relearn part of the capability
   * (docs/PROTOCOL.md §Pipeline 5).
   */
  static Long relearnsFrom(Model filtered, boolean higherIsMoreForgotten) {
    if (filtered == null || filtered.attack() == null) {
      return null;
    }
    List<Relearn.Worst> wc = filtered.attack().worstCase();
    Relearn.Worst zero = wc.get(0);
    for (Relearn.Worst w : wc) {
      boolean past = higherIsMoreForgotten ? w.forget() < zero.lo() : w.forget() > zero.hi();
      if (w.step() > zero.step() && past) {
        return w.step();
      }
    }
    return null;
  }

  /** The distilled models among {@code ms} that did not stop by their rule, by name; empty when all recovered. */
  static List<String> unrecovered(Model... ms) {
    List<String> out = new ArrayList<>();
    for (Model m : ms) {
      if (m != null && !m.recovered()) {
        out.add(m.name());
      }
    }
    return out;
  }

  /** The reason a comparison involving these models is inconclusive, or null when every student recovered. */
  static String gate(Model... ms) {
    List<String> bad = unrecovered(ms);
    return bad.isEmpty() ? null : "student not recovered: " + String.join(", ", bad);
  }

  /** ✓/✗ with the rule's gap and steps/max for a distilled model; empty for any other. */
  static String recoveredFlag(Model m) {
    if (!m.kind().distilled()) {
      return "";
    }
    if (m.student() == null) {
      return "✗ no student record";
    }
    return (m.student().stoppedByRule() ? "✓" : "✗") + " gap " + Format.number(m.student().gap()) + " (bound "
        + Format.number(m.student().bound()) + "); " + m.student().steps() + "/" + m.student().maxSteps() + " steps";
  }

  /** Short legend label; {@code withMethod} false where the plot is already about one method. */
  static String label(Model m, boolean withMethod) {
    String method = withMethod && m.method() != null ? " " + m.method() : "";
    return switch (m.kind()) {
      case BASE -> "base";
      case FILTERED -> "filtered";
      case ORACLE -> "oracle";
      case ORACLE_MATCHING -> "oracle matching";
      case UNLEARN -> "unlearn" + method;
      case UNLEARN_DISTILL -> "unlearn+distill" + method;
      case UNDO -> "UNDO" + method + " α=" + Format.number(m.alpha() == null ? Double.NaN : m.alpha());
    };
  }

  /**
   * Models grouped into cells of equal (kind, method, α): one cell per configuration, one member per seed. Plots
   * show cell means so that a multi-seed run draws one line per configuration.
   */
  Map<String, List<Model>> cells(List<Model> models, boolean withMethod) {
    Map<String, List<Model>> cells = new LinkedHashMap<>();
    for (Model m : models) {
      cells.computeIfAbsent(label(m, withMethod), k -> new ArrayList<>()).add(m);
    }
    return cells;
  }

  /**
   * Mean worst-case curve of a cell over the steps every attacked member evaluated: step → {mean, mean of the
   * lower ends, mean of the upper ends}.
   */
  static NavigableMap<Long, double[]> meanWorstCase(List<Model> cell) {
    NavigableMap<Long, double[]> sum = new TreeMap<>();
    Map<Long, Integer> count = new LinkedHashMap<>();
    int attacked = 0;
    for (Model m : cell) {
      if (m.attack() == null) {
        continue;
      }
      attacked++;
      for (Relearn.Worst w : m.attack().worstCase()) {
        Value v = Value.of(w.forget(), w.lo(), w.hi());
        double[] s = sum.computeIfAbsent(w.step(), k -> new double[3]);
        s[0] += v.v();
        s[1] += v.lo();
        s[2] += v.hi();
        count.merge(w.step(), 1, Integer::sum);
      }
    }
    NavigableMap<Long, double[]> mean = new TreeMap<>();
    for (Map.Entry<Long, double[]> e : sum.entrySet()) {
      if (count.get(e.getKey()) == attacked) {
        double[] s = e.getValue();
        mean.put(e.getKey(), new double[] {s[0] / attacked, s[1] / attacked, s[2] / attacked});
      }
    }
    return mean;
  }
}
