package dev.undo.report;

import dev.undo.report.RunData.Model;
import dev.undo.report.RunData.Setting;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The report's tables, as rows of strings so that the CSV files and the HTML tables show the same cells.
 *
 * <p>{@code models}: one row per model with its metrics, its worst-case forget value and relearned fraction at each
 * report step, the attack's AUC (mean worst-case forget value over the attack) and its added compute as % of the
 * data-filtering pretrain. {@code worst_case}: the attacker's best forget value at every evaluated step (rows) for
 * every model (columns), blank where a model was not evaluated at that step.
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
    List<String> header = new ArrayList<>(List.of("name", "kind", "method", "alpha", "seed", s.retainMetric(),
        s.forgetMetric()));
    for (long step : r.steps) {
      header.add("forget_at_" + step);
    }
    for (long step : r.steps) {
      header.add("relearned_at_" + step);
    }
    header.add("auc");
    header.add("added_compute_pct_of_filtered");
    List<List<String>> rows = new ArrayList<>();
    for (Model m : s.models()) {
      List<String> row = new ArrayList<>(List.of(m.name(), m.kind().wire, m.method() == null ? "" : m.method(),
          Format.csv(m.alpha()), Long.toString(m.seed()), Format.csv(m.metric(s.retainMetric())),
          Format.csv(m.metric(s.forgetMetric()))));
      for (long step : r.steps) {
        row.add(Format.csv(r.forget(m, step)));
      }
      for (long step : r.steps) {
        row.add(Format.csv(r.relearned(m, step)));
      }
      row.add(m.attack() == null ? "" : Format.csv(m.attack().auc()));
      row.add(Format.csv(r.addedComputePct(m)));
      rows.add(row);
    }
    return new Table("models_" + Plots.slug(s.name()) + ".csv", header, rows);
  }

  static Table worstCase(Relearning r) {
    Setting s = r.setting;
    Set<Long> steps = new TreeSet<>();
    List<Model> attacked = new ArrayList<>();
    for (Model m : s.models()) {
      if (m.attack() != null) {
        attacked.add(m);
        steps.addAll(m.attack().worstCase().keySet());
      }
    }
    List<String> header = new ArrayList<>();
    header.add("step");
    attacked.forEach(m -> header.add(m.name()));
    List<List<String>> rows = new ArrayList<>();
    for (long step : steps) {
      List<String> row = new ArrayList<>();
      row.add(Long.toString(step));
      for (Model m : attacked) {
        row.add(Format.csv(m.attack().worstCase().get(step)));
      }
      rows.add(row);
    }
    return new Table("worst_case_" + Plots.slug(s.name()) + ".csv", header, rows);
  }
}
