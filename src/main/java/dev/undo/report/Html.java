package dev.undo.report;

import com.fasterxml.jackson.databind.JsonNode;
import dev.undo.report.Claims.Claim;
import dev.undo.report.Plots.Figure;
import dev.undo.report.RunData.Run;
import dev.undo.report.Tables.Table;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * index.html: inline CSS, no scripts, nothing fetched; figures are the PNG files beside it in the report folder
 * (linked, not embedded, so the folder holds each image once and a repository diff of a report stays readable).
 * Keep the folder together to view it offline.
 */
final class Html {
  private Html() {}

  /** What one setting contributes: its description (one paragraph per entry), figures and tables. */
  record Section(String setting, List<String> description, List<Figure> figures, List<Table> tables) {}

  private static final String CSS = """
      body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #1f2328; }
      h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 2em; }
      table { border-collapse: collapse; margin: 1em 0; font-size: .85em; }
      th, td { border: 1px solid #d0d7de; padding: .3em .5em; vertical-align: top; text-align: left; }
      th { background: #f6f8fa; }
      td.num { text-align: right; font-variant-numeric: tabular-nums; }
      .verdict { font-weight: bold; text-transform: uppercase; text-align: center; }
      .pass { background: #dafbe1; color: #116329; }
      .fail { background: #ffebe9; color: #a40e26; }
      .inconclusive { background: #fff8c5; color: #7d4e00; }
      figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #d0d7de; }
      figcaption { font-size: .9em; color: #57606a; margin-top: .3em; }
      .meta { color: #57606a; } .wide { overflow-x: auto; }
      details { margin-top: .3em; color: #57606a; }
      .smoke { background: #ffebe9; color: #a40e26; border: 2px solid #a40e26; padding: .8em 1em;
               font-size: 1.2em; font-weight: bold; }
      """;

  /** The banner of a run whose preset is a smoke test ({@code evidence: false} in the manifest). */
  static final String SMOKE = "smoke test: these numbers are not evidence";

  static String render(Run run, List<Claim> claims, List<Section> sections) {
    StringBuilder b = new StringBuilder();
    b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>UNDO reproduction report: ")
        .append(esc(run.preset())).append("</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
    b.append("<h1>Distillation Robustifies Unlearning: reproduction report</h1>\n");
    if (!run.evidence()) {
      b.append("<p class=\"smoke\">").append(esc(SMOKE)).append(" (preset ").append(esc(run.preset()))
          .append(" is marked evidence: false).</p>\n");
    }
    b.append("<p class=\"meta\">Preset <b>").append(esc(run.preset())).append("</b>; seeds ")
        .append(esc(run.seeds().isEmpty() ? "n/a" : run.seeds().toString())).append("; wall time ")
        .append(esc(wall(run.wallSeconds()))).append("; evidence ").append(run.evidence() ? "yes" : "<b>no</b>")
        .append("; settings ");
    b.append(esc(String.join(", ", sections.stream().map(Section::setting).toList()))).append(".</p>\n");

    b.append("<h2>Claims</h2>\n<table>\n<tr><th>id</th><th>claim</th><th>verdict</th><th>numbers</th></tr>\n");
    for (Claim c : claims) {
      b.append("<tr><td>").append(esc(c.id())).append("</td><td>").append(esc(c.statement()))
          .append("</td><td class=\"verdict ").append(c.verdict().wire()).append("\">").append(c.verdict().wire())
          .append("</td><td>");
      JsonNode per = c.numbers().path("settings");
      Iterator<Map.Entry<String, JsonNode>> it = per.fields();
      if (!it.hasNext()) {
        b.append("no settings in this run");
      }
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> e = it.next();
        String v = e.getValue().path("verdict").asText("inconclusive");
        b.append("<div><b>").append(esc(e.getKey())).append("</b> <span class=\"").append(esc(v)).append("\">")
            .append(esc(v)).append("</span>: ").append(esc(e.getValue().path("summary").asText(""))).append("</div>");
        for (JsonNode reason : e.getValue().path("reasons")) {
          b.append("<div class=\"meta\">&ndash; ").append(esc(reason.asText())).append("</div>");
        }
      }
      b.append("<details><summary>rule</summary>").append(esc(c.numbers().path("rule").asText()))
          .append("</details></td></tr>\n");
    }
    b.append("</table>\n");
    b.append("<p>Every number is in <code>claims.json</code>, with its 95% interval and per-seed values. "
        + "<b>Worst case</b> after s steps: the adversary's best forget value over every learning rate, attack data "
        + "and evaluation at or before s (it can only get worse for the defender as s grows). <b>Relearned "
        + "fraction</b> at attack step s: (f(model, s) &minus; f(filtered, 0)) / (f(base, 0) &minus; f(filtered, 0)) "
        + "on that worst case; 0 is as ignorant as data filtering, 1 as capable as the base model. "
        + "<b>Robustness</b> = 1 &minus; relearned fraction. A claim passes or fails only when its interval clears "
        + "its line, and only on distilled students that met their stop rule (&check; in the tables). Compute: the "
        + "paper's ledger (student steps &times; tokens) and ours (FLOPs), as fractions of the data-filtering "
        + "pretrain.</p>\n");

    for (Section s : sections) {
      b.append("<h2>Setting: ").append(esc(s.setting())).append("</h2>\n");
      for (String p : s.description()) {
        b.append("<p class=\"meta\">").append(esc(p)).append("</p>\n");
      }
      for (Figure f : s.figures()) {
        b.append("<figure><img alt=\"").append(esc(f.file())).append("\" src=\"").append(esc(f.file()))
            .append("\"><figcaption>").append(esc(f.file()))
            .append(": ").append(esc(f.caption())).append("</figcaption></figure>\n");
      }
      for (Table t : s.tables()) {
        table(b, t);
      }
    }
    if (!run.notes().isEmpty()) {
      b.append("<h2>Notes</h2>\n<ul>\n");
      run.notes().forEach(n -> b.append("<li>").append(esc(n)).append("</li>\n"));
      b.append("</ul>\n");
    }
    b.append("</body>\n</html>\n");
    return b.toString();
  }

  /**
   * One table; a column {@code x} followed by {@code x_lo} and {@code x_hi} (the CSV's interval columns) is shown as
   * one cell "x [lo, hi]".
   */
  private static void table(StringBuilder b, Table t) {
    List<String> h = t.header();
    b.append("<h3>").append(esc(t.file())).append("</h3>\n<div class=\"wide\"><table>\n<tr>");
    for (int i = 0; i < h.size(); i += triple(h, i) ? 3 : 1) {
      b.append("<th>").append(esc(h.get(i))).append("</th>");
    }
    b.append("</tr>\n");
    for (List<String> row : t.rows()) {
      b.append("<tr>");
      for (int i = 0; i < h.size(); i += triple(h, i) ? 3 : 1) {
        String cell = row.get(i);
        if (triple(h, i) && !cell.isEmpty()) {
          cell = Format.number(Double.parseDouble(cell)) + " [" + end(row.get(i + 1)) + ", " + end(row.get(i + 2))
              + "]";
        }
        b.append(isNumber(row.get(i)) ? "<td class=\"num\">" : "<td>").append(esc(cell)).append("</td>");
      }
      b.append("</tr>\n");
    }
    b.append("</table></div>\n");
  }

  private static boolean triple(List<String> h, int i) {
    return i + 2 < h.size() && h.get(i + 1).equals(h.get(i) + "_lo") && h.get(i + 2).equals(h.get(i) + "_hi");
  }

  private static String end(String csv) {
    return csv.isEmpty() ? "?" : Format.number(Double.parseDouble(csv));
  }

  static String wall(Double seconds) {
    if (seconds == null || !Double.isFinite(seconds)) {
      return "n/a";
    }
    long s = Math.round(seconds);
    return s >= 3600 ? String.format("%dh %02dm %02ds", s / 3600, s / 60 % 60, s % 60)
        : s >= 60 ? String.format("%dm %02ds", s / 60, s % 60) : s + "s";
  }

  private static boolean isNumber(String s) {
    return s.matches("-?[0-9][0-9.eE+-]*");
  }

  static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
