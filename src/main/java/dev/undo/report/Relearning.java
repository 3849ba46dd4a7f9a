package dev.undo.report;

import dev.undo.report.RunData.Kind;
import dev.undo.report.RunData.Model;
import dev.undo.report.RunData.Setting;
import java.util.ArrayList;
import java.util.HashMap;
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
 * The numbers every plot, table and claim of one setting is built from.
 *
 * <p><b>Relearned fraction</b> of a model after s attack steps: how far its worst-case forget value has moved from
 * the data-filtered model's unattacked value toward the base model's unattacked value,
 * {@code (f(model, s) − f(filtered, 0)) / (f(base, 0) − f(filtered, 0))}. Because numerator and denominator share
 * the metric's sign convention it reads the same for Korean CE (lower = more capable) and ×÷ accuracy (higher =
 * more capable): 0 is as ignorant as data filtering, 1 as capable as the base model. <b>Robustness</b> is
 * 1 − relearned fraction. The base and filtered models are those of the model's seed when the run has them,
 * otherwise the first of their kind, so a multi-seed run normalises each seed by its own references.
 *
 * <p>When the base model is not more capable on the forget metric than the filtered one, the scale has no
 * length (or points backwards) and every fraction is NaN: such a run cannot say anything about robustness.
 */
final class Relearning {
  final Setting setting;
  /** Report steps of this setting: the union of the attacked report steps ({@code forget_at} keys), ascending. */
  final List<Long> steps;

  Relearning(Setting setting) {
    this.setting = setting;
    Set<Long> s = new TreeSet<>();
    for (Model m : setting.models()) {
      if (m.attack() != null) {
        s.addAll(m.attack().forgetAt().keySet());
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

  /** Worst-case forget value after {@code step} attack steps, or NaN when this step was not attacked. */
  double forget(Model m, long step) {
    if (m == null || m.attack() == null) {
      return Double.NaN;
    }
    Double v = m.attack().forgetAt().get(step);
    if (v == null) {
      v = m.attack().worstCase().get(step);
    }
    return v == null ? Double.NaN : v;
  }

  /**
   * The unattacked forget value, measured by the attack's own evaluation at step 0 so that it is on the same
   * evaluation set as the attacked values; the manifest's metric is the fallback for a model never attacked.
   */
  double unattacked(Model m) {
    double v = forget(m, 0);
    return Double.isNaN(v) && m != null ? m.metric(setting.forgetMetric()) : v;
  }

  double relearned(Model m, long step) {
    if (m == null) {
      return Double.NaN;
    }
    double filtered = unattacked(reference(Kind.FILTERED, m.seed()));
    double base = unattacked(reference(Kind.BASE, m.seed()));
    double gap = base - filtered;
    // The base must be the more capable of the two, in the metric's own direction, for the scale to mean anything.
    boolean baseMoreCapable = setting.higherIsMoreForgotten() ? gap < 0 : gap > 0;
    if (!baseMoreCapable) {
      return Double.NaN;
    }
    return (forget(m, step) - filtered) / gap;
  }

  double robustness(Model m, long step) {
    return 1 - relearned(m, step);
  }

  /** Added compute of a model as a percentage of its seed's data-filtering pretrain (docs/PROTOCOL.md §Compute). */
  double addedComputePct(Model m) {
    Model f = reference(Kind.FILTERED, m.seed());
    if (f == null || f.computeFlops() == null || m.addedFlops() == null || f.computeFlops() <= 0) {
      return Double.NaN;
    }
    return 100 * m.addedFlops() / f.computeFlops();
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

  /** Mean worst-case curve of a cell over the steps every member evaluated (steps → value). */
  static NavigableMap<Long, Double> meanWorstCase(List<Model> cell) {
    NavigableMap<Long, Double> sum = new TreeMap<>();
    Map<Long, Integer> count = new HashMap<>();
    int attacked = 0;
    for (Model m : cell) {
      if (m.attack() == null) {
        continue;
      }
      attacked++;
      m.attack().worstCase().forEach((s, v) -> {
        sum.merge(s, v, Double::sum);
        count.merge(s, 1, Integer::sum);
      });
    }
    NavigableMap<Long, Double> mean = new TreeMap<>();
    for (Map.Entry<Long, Double> e : sum.entrySet()) {
      if (count.get(e.getKey()) == attacked) {
        mean.put(e.getKey(), e.getValue() / attacked);
      }
    }
    return mean;
  }
}
