package dev.undo.report;

import dev.undo.attack.Relearn;
import dev.undo.report.RunData.Model;
import dev.undo.report.RunData.Setting;
import dev.undo.report.Stats.Value;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The report's tables, as rows of strings so that the CSV files and the HTML tables show the same cells. A value
 * with an interval takes three columns, {@code x}, {@code x_lo} and {@code x_hi}; the HTML shows them as one cell,
 * "x [lo, hi]".
 *
 * <ul>
 *   <li>{@code models}: one row per model: whether a distilled student recovered (✓/✗, the rule's gap and bound,
 *       steps/max), retain and forget metrics, worst-case forget value and relearned fraction at each report step,
 *       the attack's AUC, both compute ledgers (the paper's and FLOPs) and the labelled fraction.
 *   <li>{@code metrics}: every evaluation metric of every model: per operation and kind accuracies (arithmetic) or
 *       the retain and forget CE, with their intervals.
 *   <li>{@code worst_case}: the adversary's best forget value at every evaluated step (rows) for every model.
 * </ul>
 */
final class Tables {
  private Tables() {}

  /** A header row and data rows, all of the same width. */
  record Table(String file, List<String> header, List<List<String>> rows) {
    String csv() {
      StringBuilder b = new StringBuilder();
      line(b, header);
      rows.forEach(r -> line(b, r));
      return b.toString();
    }

    private static void line(StringBuilder b, List<String> cells) {
      for (int i = 0; i < cells.size(); i++) {
        if (i > 0) {
          b.append(',');
        }
        b.append(escape(cells.get(i)));
      }
      b.append('\n');
    }
  }

  /** RFC 4180: quote a cell holding a comma, quote or line break, doubling inner quotes. */
  static String escape(String cell) {
    if (cell.indexOf(',') < 0 && cell.indexOf('"') < 0 && cell.indexOf('\n') < 0 && cell.indexOf('\r') < 0) {
      return cell;
    }
    return '"' + cell.replace("\"", "\"\"") + '"';
  }

  static Table models(Relearning r) {
    Setting s = r.setting;
    List<String> header = new ArrayList<>(List.of("name", "kind", "method", "alpha", "seed", "recovered"));
    triple(header, s.retainMetric());
    triple(header, s.forgetMetric());
    for (long step : r.steps) {
      triple(header, "forget_at_" + step);
    }
    for (long step : r.steps) {
      triple(header, "relearned_at_" + step);
    }
    header.addAll(List.of("auc", "paper_fraction", "flops_fraction", "labelled_fraction"));
    List<List<String>> rows = new ArrayList<>();
    for (Model m : s.models()) {
      List<String> row = new ArrayList<>(List.of(m.name(), m.kind().wire, m.method() == null ? "" : m.method(),
          Format.csv(m.alpha()), Long.toString(m.seed()), Relearning.recoveredFlag(m)));
      triple(row, m.value(s.retainMetric()));
      triple(row, m.value(s.forgetMetric()));
      for (long step : r.steps) {
        triple(row, r.forget(m, step));
      }
      for (long step : r.steps) {
        triple(row, r.relearned(m, step));
      }
      row.add(m.attack() == null ? "" : Format.csv(m.attack().auc()));
      row.add(m.ledger() == null ? "" : Format.csv(m.ledger().paperFraction()));
      row.add(m.ledger() == null ? "" : Format.csv(m.ledger().flopsFraction()));
      row.add(Format.csv(m.entry().labelledFraction()));
      rows.add(row);
    }
    return new Table("models_" + Plots.slug(s.name()) + ".csv", header, rows);
  }

  /**
   * Every metric key the models report that has an interval ({@code <key>_lo} beside it), in first-seen order:
   * for arithmetic the eight cells, the retain/forget summaries and English CE; for CE settings both CEs.
   */
  static List<String> metricKeys(Setting s) {
    Set<String> keys = new LinkedHashSet<>();
    for (Model m : s.models()) {
      for (String k : m.metrics().keySet()) {
        if (m.metrics().containsKey(k + "_lo") && m.metrics().containsKey(k + "_hi")) {
          keys.add(k);
        }
      }
    }
    return List.copyOf(keys);
  }

  static Table metrics(Relearning r) {
    Setting s = r.setting;
    List<String> keys = metricKeys(s);
    List<String> header = new ArrayList<>(List.of("name", "kind", "method", "alpha", "seed", "recovered"));
    keys.forEach(k -> triple(header, k));
    List<List<String>> rows = new ArrayList<>();
    for (Model m : s.models()) {
      List<String> row = new ArrayList<>(List.of(m.name(), m.kind().wire, m.method() == null ? "" : m.method(),
          Format.csv(m.alpha()), Long.toString(m.seed()), Relearning.recoveredFlag(m)));
      keys.forEach(k -> triple(row, m.value(k)));
      rows.add(row);
    }
    return new Table("metrics_" + Plots.slug(s.name()) + ".csv", header, rows);
  }

  static Table worstCase(Relearning r) {
    Setting s = r.setting;
    Set<Long> steps = new TreeSet<>();
    List<Model> attacked = new ArrayList<>();
    for (Model m : s.models()) {
      if (m.attack() != null) {
        attacked.add(m);
        m.attack().worstCase().forEach(w -> steps.add(w.step()));
      }
    }
    List<String> header = new ArrayList<>();
    header.add("step");
    attacked.forEach(m -> triple(header, m.name()));
    List<List<String>> rows = new ArrayList<>();
    for (long step : steps) {
      List<String> row = new ArrayList<>();
      row.add(Long.toString(step));
      for (Model m : attacked) {
        Relearn.Worst w = null;
        for (Relearn.Worst x : m.attack().worstCase()) {
          if (x.step() == step) {
            w = x;
          }
        }
        triple(row, w == null ? Value.MISSING : Value.of(w.forget(), w.lo(), w.hi()));
      }
      rows.add(row);
    }
    return new Table("worst_case_" + Plots.slug(s.name()) + ".csv", header, rows);
  }

  private static void triple(List<String> header, String key) {
    header.add(key);
    header.add(key + "_lo");
    header.add(key + "_hi");
  }

  private static void triple(List<String> row, Value v) {
    row.add(Format.csv(v.v()));
    row.add(v.finite() ? Format.csv(v.lo()) : "");
    row.add(v.finite() ? Format.csv(v.hi()) : "");
  }
}
