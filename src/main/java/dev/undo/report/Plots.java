package dev.undo.report;

import dev.undo.report.RunData.Kind;
import dev.undo.report.RunData.Model;
import dev.undo.report.RunData.Setting;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.BitmapEncoder.BitmapFormat;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.XYSeries.XYSeriesRenderStyle;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The report's figures, one family per question of docs/PROTOCOL.md: does a model relearn (worst-case curves, claims
 * C1/C2), what α buys (C3), where UNDO sits on the retain/forget trade-off (C4), and what each model costs (C5).
 *
 * <p>Every figure shows cell means: one line or point per (kind, method, α), averaged over seeds, so a multi-seed
 * run draws the same picture as a single-seed one, only steadier. A figure without data is left out rather than
 * drawn empty.
 */
final class Plots {
  static final int WIDTH = 800;
  static final int HEIGHT = 500;
  /** The α figure holds two charts side by side; the right one also carries the shared legend. */
  static final int LEFT_PANEL_WIDTH = 440;
  static final int RIGHT_PANEL_WIDTH = 640;

  private Plots() {}

  /** A rendered figure: its file name in the report folder, a caption for the HTML, and the PNG bytes. */
  record Figure(String file, String caption, byte[] png) {}

  static List<Figure> forSetting(Relearning r) {
    List<Figure> out = new ArrayList<>();
    Set<String> methods = new LinkedHashSet<>(r.methods(Kind.UNLEARN));
    methods.addAll(r.methods(Kind.UNLEARN_DISTILL));
    methods.addAll(r.methods(Kind.UNDO));
    for (String method : methods) {
      add(out, relearn(r, method));
    }
    add(out, oracle(r));
    add(out, alpha(r));
    for (long step : r.steps) {
      add(out, pareto(r, step));
    }
    add(out, compute(r));
    return out;
  }

  private static void add(List<Figure> out, Figure f) {
    if (f != null) {
      out.add(f);
    }
  }

  /** Safe for file names: "maxent+repnoise" becomes "maxent-repnoise". */
  static String slug(String s) {
    return s.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9_-]+", "-");
  }

  // ---- worst-case relearning curves ---------------------------------------------------------------------------

  static Figure relearn(Relearning r, String method) {
    List<Model> ms = new ArrayList<>();
    ms.addAll(r.of(Kind.BASE));
    ms.addAll(r.of(Kind.FILTERED));
    for (Kind k : List.of(Kind.UNLEARN, Kind.UNLEARN_DISTILL)) {
      r.of(k).stream().filter(m -> method.equals(m.method())).forEach(ms::add);
    }
    r.of(Kind.UNDO).stream().filter(m -> method.equals(m.method()))
        .sorted(Comparator.comparingDouble(m -> m.alpha() == null ? Double.NaN : m.alpha())).forEach(ms::add);
    String title = r.setting.name() + ": relearning attack, " + method;
    XYChart chart = curves(r, ms, title);
    if (chart == null) {
      return null;
    }
    return new Figure("relearn_" + slug(r.setting.name()) + "_" + slug(method) + ".png",
        "Worst case over attack learning rates of " + r.setting.forgetMetric() + " vs relearning steps, " + method
            + ": base, data filtering, Unlearn, Unlearn-and-Distill and UNDO by α (" + direction(r.setting) + ").",
        png(chart));
  }

  static Figure oracle(Relearning r) {
    List<Model> ms = new ArrayList<>();
    for (Kind k : List.of(Kind.BASE, Kind.FILTERED, Kind.ORACLE, Kind.ORACLE_MATCHING)) {
      ms.addAll(r.of(k));
    }
    if (r.of(Kind.ORACLE).isEmpty() && r.of(Kind.ORACLE_MATCHING).isEmpty()) {
      return null;
    }
    XYChart chart = curves(r, ms, r.setting.name() + ": oracle vs oracle matching under relearning");
    if (chart == null) {
      return null;
    }
    return new Figure("oracle_" + slug(r.setting.name()) + ".png",
        "Claim C1: worst-case " + r.setting.forgetMetric() + " of the oracle (data-filtered model distilled into a "
            + "random init) and of oracle matching (the base model fine-tuned to the oracle's outputs) ("
            + direction(r.setting) + ").",
        png(chart));
  }

  /**
   * One line per cell (its mean worst case) with a translucent band between the mean lower and upper interval ends,
   * in the line's colour.
   */
  private static XYChart curves(Relearning r, List<Model> models, String title) {
    XYChart chart = xy(title, "relearning steps", r.setting.forgetMetric() + " (worst case, 95% band)");
    int series = 0;
    for (Map.Entry<String, List<Model>> cell : r.cells(models, false).entrySet()) {
      NavigableMap<Long, double[]> mean = Relearning.meanWorstCase(cell.getValue());
      if (mean.isEmpty()) {
        continue;
      }
      Color color = PALETTE[series % PALETTE.length];
      double[] x = mean.keySet().stream().mapToDouble(Long::doubleValue).toArray();
      double[] y = mean.values().stream().mapToDouble(v -> v[0]).toArray();
      double[] lo = mean.values().stream().mapToDouble(v -> v[1]).toArray();
      double[] hi = mean.values().stream().mapToDouble(v -> v[2]).toArray();
      band(chart, cell.getKey(), x, lo, hi, color);
      XYSeries s = chart.addSeries(withSeeds(cell), x, y);
      s.setMarker(x.length > 30 ? SeriesMarkers.NONE : SeriesMarkers.CIRCLE);
      s.setLineColor(color);
      s.setMarkerColor(color);
      series++;
    }
    return series == 0 ? null : chart;
  }

  /** A filled polygon from (x, hi) forward and (x, lo) back, outside the legend; nothing if an end is unbounded. */
  static void band(XYChart chart, String name, double[] x, double[] lo, double[] hi, Color color) {
    int n = x.length;
    double[] px = new double[2 * n];
    double[] py = new double[2 * n];
    for (int i = 0; i < n; i++) {
      if (!Double.isFinite(lo[i]) || !Double.isFinite(hi[i])) {
        return;
      }
      px[i] = x[i];
      py[i] = hi[i];
      px[2 * n - 1 - i] = x[i];
      py[2 * n - 1 - i] = lo[i];
    }
    XYSeries b = chart.addSeries(name + " (band)", px, py);
    b.setXYSeriesRenderStyle(XYSeriesRenderStyle.PolygonArea);
    b.setMarker(SeriesMarkers.NONE);
    b.setLineStyle(SeriesLines.NONE);
    b.setFillColor(new Color(color.getRed(), color.getGreen(), color.getBlue(), 45));
    b.setShowInLegend(false);
  }

  /** A vertical (or horizontal) interval bar from {@code (x0, y0)} to {@code (x1, y1)}, outside the legend. */
  static void bar(XYChart chart, String name, double x0, double y0, double x1, double y1, Color color) {
    if (!Double.isFinite(x0) || !Double.isFinite(y0) || !Double.isFinite(x1) || !Double.isFinite(y1)) {
      return;
    }
    XYSeries b = chart.addSeries(name, new double[] {x0, x1}, new double[] {y0, y1});
    b.setXYSeriesRenderStyle(XYSeriesRenderStyle.Line);
    b.setMarker(SeriesMarkers.NONE);
    b.setLineColor(color);
    b.setLineWidth(1.2f);
    b.setShowInLegend(false);
  }

  // ---- α trade-off --------------------------------------------------------------------------------------------

  static Figure alpha(Relearning r) {
    Long step = r.lastStep();
    if (r.of(Kind.UNDO).isEmpty() && r.of(Kind.UNLEARN_DISTILL).isEmpty()) {
      return null;
    }
    // Both panels draw each method in the same colour; only the right one has the legend.
    XYChart cost = xy(r.setting.name() + ": α vs added compute", "α (noise; Unlearn-and-Distill = 1)",
        "% of filtered pretrain (solid: paper, dashed: FLOPs)", LEFT_PANEL_WIDTH);
    cost.getStyler().setLegendVisible(false);
    XYChart robust = xy(r.setting.name() + ": α vs robustness at step " + step,
        "α (noise; Unlearn-and-Distill = 1)", "robustness = 1 - relearned fraction (95% bars)", RIGHT_PANEL_WIDTH);
    int points = 0;
    List<String> methods = new ArrayList<>(r.methods(Kind.UNDO));
    r.methods(Kind.UNLEARN_DISTILL).stream().filter(m -> !methods.contains(m)).forEach(methods::add);
    for (int i = 0; i < methods.size(); i++) {
      String method = methods.get(i);
      Color color = PALETTE[i % PALETTE.length];
      List<Model> ms = new ArrayList<>();
      r.of(Kind.UNDO).stream().filter(m -> method.equals(m.method()) && m.alpha() != null).forEach(ms::add);
      r.of(Kind.UNLEARN_DISTILL).stream().filter(m -> method.equals(m.method())).forEach(ms::add);
      String name = (r.methods(Kind.UNDO).contains(method) ? "UNDO " : "unlearn+distill ") + method;
      points += alphaSeries(cost, name + " (paper)", ms, m -> Stats.Value.exact(100 * ledger(m, true)), color,
          false);
      alphaSeries(cost, name + " (FLOPs)", ms, m -> Stats.Value.exact(100 * ledger(m, false)), color, true);
      if (step != null) {
        points += alphaSeries(robust, name, ms, m -> r.robustness(m, step), color, false);
      }
    }
    if (points == 0) {
      return null;
    }
    return new Figure("alpha_" + slug(r.setting.name()) + ".png",
        "Claim C3: what the noise level α costs (left: compute added beyond the base pretrain as % of the "
            + "data-filtering pretrain, on the paper's ledger of student tokens (solid) and on our FLOPs ledger "
            + "(dashed)) and buys (right: robustness at the last report step with 95% interval bars). "
            + "Unlearn-and-Distill (distillation into a random init) is α = 1.",
        pngRow(List.of(cost, robust)));
  }

  /** A model's compute on the paper's ledger ({@code paper}) or the FLOPs ledger, as a fraction; NaN without. */
  private static double ledger(Model m, boolean paper) {
    if (m.ledger() == null) {
      return Double.NaN;
    }
    return paper ? m.ledger().paperFraction() : m.ledger().flopsFraction();
  }

  /**
   * Adds one series of per-α means over seeds (Unlearn-and-Distill at α = 1) with interval bars from the mean
   * interval ends; returns the number of points drawn (0 adds nothing).
   */
  private static int alphaSeries(XYChart chart, String name, List<Model> ms, Function<Model, Stats.Value> y,
      Color color, boolean dashed) {
    TreeMap<Double, double[]> sums = new TreeMap<>(); // α → {sum, sum lo, sum hi, count}
    for (Model m : ms) {
      Stats.Value v = y.apply(m);
      double a = m.kind() == Kind.UNLEARN_DISTILL ? 1.0 : m.alpha();
      if (v.finite()) {
        double[] s = sums.computeIfAbsent(a, k -> new double[4]);
        s[0] += v.v();
        s[1] += v.lo();
        s[2] += v.hi();
        s[3]++;
      }
    }
    if (sums.isEmpty()) {
      return 0;
    }
    double[] xs = sums.keySet().stream().mapToDouble(Double::doubleValue).toArray();
    double[] ys = sums.values().stream().mapToDouble(s -> s[0] / s[3]).toArray();
    XYSeries s = chart.addSeries(name, xs, ys);
    s.setMarker(SeriesMarkers.CIRCLE);
    s.setLineColor(color);
    s.setMarkerColor(color);
    if (dashed) {
      s.setLineStyle(SeriesLines.DASH_DASH);
      s.setMarker(SeriesMarkers.NONE);
    }
    int i = 0;
    for (Map.Entry<Double, double[]> e : sums.entrySet()) {
      double[] v = e.getValue();
      if (v[1] != v[2]) {
        bar(chart, name + " (bar " + i++ + ")", e.getKey(), v[1] / v[3], e.getKey(), v[2] / v[3], color);
      }
    }
    return xs.length;
  }

  // ---- Pareto trade-off ---------------------------------------------------------------------------------------

  /** One drawn point: a cell's mean retain and worst-case forget, and the means of their interval ends. */
  private record Point(String label, Kind kind, double retain, double forget, double retainLo, double retainHi,
      double forgetLo, double forgetHi) {}

  static Figure pareto(Relearning r, long step) {
    Setting s = r.setting;
    List<Model> ms = new ArrayList<>();
    for (Model m : s.models()) {
      if (m.kind() != Kind.ORACLE && m.kind() != Kind.ORACLE_MATCHING) {
        ms.add(m);
      }
    }
    List<Point> points = new ArrayList<>();
    for (Map.Entry<String, List<Model>> cell : r.cells(ms, true).entrySet()) {
      List<Model> c = cell.getValue();
      double retain = mean(c, m -> m.value(s.retainMetric()).v());
      double forget = mean(c, m -> r.forget(m, step).v());
      if (Double.isFinite(retain) && Double.isFinite(forget)) {
        points.add(new Point(cell.getKey(), c.get(0).kind(), retain, forget,
            mean(c, m -> m.value(s.retainMetric()).lo()), mean(c, m -> m.value(s.retainMetric()).hi()),
            mean(c, m -> r.forget(m, step).lo()), mean(c, m -> r.forget(m, step).hi())));
      }
    }
    if (points.isEmpty()) {
      return null;
    }
    XYChart chart = xy(s.name() + ": retain vs forget after " + step + " relearning steps",
        s.retainMetric() + " (" + (s.retainHigherIsBetter() ? "higher" : "lower") + " is better)",
        s.forgetMetric() + " worst case (" + (s.higherIsMoreForgotten() ? "higher" : "lower")
            + " = more forgotten)");
    chart.getStyler().setDefaultSeriesRenderStyle(XYSeriesRenderStyle.Scatter);
    chart.getStyler().setMarkerSize(9);
    int colour = 0;
    for (Kind k : Kind.values()) {
      List<Point> ps = points.stream().filter(p -> p.kind() == k).toList();
      if (!ps.isEmpty()) {
        Color color = PALETTE[colour++ % PALETTE.length];
        XYSeries ks = chart.addSeries(kindName(k), ps.stream().mapToDouble(Point::retain).toArray(),
            ps.stream().mapToDouble(Point::forget).toArray());
        ks.setMarkerColor(color);
        for (Point p : ps) {
          bar(chart, p.label() + " (retain bar)", p.retainLo(), p.forget(), p.retainHi(), p.forget(), color);
          bar(chart, p.label() + " (forget bar)", p.retain(), p.forgetLo(), p.retain(), p.forgetHi(), color);
        }
      }
    }
    // The frontier is over the unlearning models only, as in claim C4; base and filtered are reference points.
    List<Point> candidates = points.stream()
        .filter(p -> p.kind() == Kind.UNLEARN || p.kind() == Kind.UNLEARN_DISTILL || p.kind() == Kind.UNDO).toList();
    List<Point> front = new ArrayList<>(Pareto.frontier(candidates, Point::retain, s.retainHigherIsBetter(),
        Point::forget, s.higherIsMoreForgotten()));
    if (!front.isEmpty()) {
      front.sort(Comparator.comparingDouble(Point::retain));
      XYSeries line = chart.addSeries("Pareto frontier (unlearning models)",
          front.stream().mapToDouble(Point::retain).toArray(), front.stream().mapToDouble(Point::forget).toArray());
      line.setXYSeriesRenderStyle(XYSeriesRenderStyle.Line);
      line.setMarker(SeriesMarkers.NONE);
      line.setLineColor(Color.BLACK);
      labelPoints(chart, front, points);
    }
    return new Figure("pareto_" + slug(s.name()) + "_" + step + ".png",
        "Claim C4 after " + step + " relearning steps: retain metric vs worst-case forget metric for every model "
            + "(means over seeds, 95% interval bars on both axes); the black line joins the non-dominated unlearning models (Unlearn, "
            + "Unlearn-and-Distill, UNDO), each labelled.",
        png(chart));
  }

  /**
   * Labels the frontier points. Points at the same spot (methods that ended up alike) share one label, and each
   * label sits a little toward the middle of the plot so that it covers neither its marker nor the plot's edge.
   */
  private static void labelPoints(XYChart chart, List<Point> labelled, List<Point> all) {
    double lo = all.stream().mapToDouble(Point::forget).min().orElseThrow();
    double hi = all.stream().mapToDouble(Point::forget).max().orElseThrow();
    double shift = hi > lo ? 0.04 * (hi - lo) : 0.01 * Math.max(Math.abs(hi), 1e-3);
    Map<List<Double>, List<String>> at = new java.util.LinkedHashMap<>();
    for (Point p : labelled) {
      at.computeIfAbsent(List.of(p.retain(), p.forget()), k -> new ArrayList<>()).add(p.label());
    }
    at.forEach((xy, labels) -> {
      double y = xy.get(1) + (xy.get(1) > (lo + hi) / 2 ? -shift : shift);
      chart.addAnnotation(new AnnotationText(String.join(", ", labels), xy.get(0), y, false));
    });
  }

  private static String kindName(Kind k) {
    return switch (k) {
      case BASE -> "base";
      case FILTERED -> "filtered (data filtering)";
      case ORACLE -> "oracle";
      case ORACLE_MATCHING -> "oracle matching";
      case UNLEARN -> "unlearn";
      case UNLEARN_DISTILL -> "unlearn+distill";
      case UNDO -> "UNDO";
    };
  }

  // ---- compute --------------------------------------------------------------------------------------------------

  static Figure compute(Relearning r) {
    List<String> labels = new ArrayList<>();
    List<Double> paper = new ArrayList<>();
    List<Double> flops = new ArrayList<>();
    for (Map.Entry<String, List<Model>> cell : r.cells(r.setting.models(), true).entrySet()) {
      double p = mean(cell.getValue(), m -> 100 * ledger(m, true));
      double f = mean(cell.getValue(), m -> 100 * ledger(m, false));
      if (cell.getValue().get(0).kind() != Kind.FILTERED && (Double.isFinite(p) || Double.isFinite(f))) {
        labels.add(cell.getKey());
        paper.add(Double.isFinite(p) ? p : 0);
        flops.add(Double.isFinite(f) ? f : 0);
      }
    }
    if (labels.isEmpty()) {
      return null;
    }
    CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT)
        .title(r.setting.name() + ": compute added beyond the base pretrain").xAxisTitle("model")
        .yAxisTitle("% of filtered pretrain").build();
    style(chart.getStyler());
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
    chart.getStyler().setXAxisLabelRotation(60);
    chart.getStyler().setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
    chart.addSeries("paper ledger (student tokens)", labels, paper);
    chart.addSeries("FLOPs ledger (student + teacher + chosen unlearning run)", labels, flops);
    return new Figure("compute_" + slug(r.setting.name()) + ".png",
        "Claim C5's two ledgers per model, as % of the data-filtering pretrain: the paper's (distillation student "
            + "steps x tokens over the filtered pretrain's tokens) and ours in FLOPs (student training, teacher "
            + "forward passes and the chosen unlearning run; the rest of the LR sweep and all evaluations are not "
            + "charged and are listed in claims.json). The data-filtered model is the unit (100%).",
        png(chart));
  }

  // ---- chart plumbing -------------------------------------------------------------------------------------------

  private static XYChart xy(String title, String x, String y) {
    return xy(title, x, y, WIDTH);
  }

  private static XYChart xy(String title, String x, String y, int width) {
    XYChart c = new XYChartBuilder().width(width).height(HEIGHT).title(title).xAxisTitle(x).yAxisTitle(y).build();
    style(c.getStyler());
    c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
    c.getStyler().setMarkerSize(6);
    c.getStyler().setAnnotationTextFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
    return c;
  }

  /** Ten hues that stay apart from each other (Tableau 10), so no two series of one plot look alike. */
  private static final Color[] PALETTE = {new Color(0x4E79A7), new Color(0xF28E2B), new Color(0xE15759),
      new Color(0x76B7B2), new Color(0x59A14F), new Color(0xB07AA1), new Color(0xFF9DA7), new Color(0x9C755F),
      new Color(0xBAB0AC), new Color(0xEDC948)};

  private static void style(Styler s) {
    s.setChartBackgroundColor(Color.WHITE);
    s.setSeriesColors(PALETTE);
    s.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
    s.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
    s.setDecimalPattern("#0.###");
  }

  private static String withSeeds(Map.Entry<String, List<Model>> cell) {
    int n = cell.getValue().size();
    return n > 1 ? cell.getKey() + " (mean of " + n + ")" : cell.getKey();
  }

  private static String direction(Setting s) {
    return s.higherIsMoreForgotten() ? "higher = more forgotten" : "lower = more forgotten";
  }

  private static double mean(List<Model> ms, ToDoubleFunction<Model> f) {
    double sum = 0;
    int n = 0;
    for (Model m : ms) {
      double v = f.applyAsDouble(m);
      if (Double.isFinite(v)) {
        sum += v;
        n++;
      }
    }
    return n == 0 ? Double.NaN : sum / n;
  }

  static <C extends Chart<?, ?>> byte[] png(C chart) {
    try {
      return BitmapEncoder.getBitmapBytes(chart, BitmapFormat.PNG);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot render " + chart.getTitle(), e);
    }
  }

  /** Charts side by side in one PNG, each at its own size (so only one of them needs to carry the legend). */
  private static byte[] pngRow(List<XYChart> charts) {
    int width = charts.stream().mapToInt(Chart::getWidth).sum();
    int height = charts.stream().mapToInt(Chart::getHeight).max().orElseThrow();
    BufferedImage row = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = row.createGraphics();
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, width, height);
    int x = 0;
    for (XYChart c : charts) {
      g.drawImage(BitmapEncoder.getBufferedImage(c), x, 0, null);
      x += c.getWidth();
    }
    g.dispose();
    try (ByteArrayOutputStream out = new ByteArrayOutputStream()) {
      ImageIO.write(row, "png", out);
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot render panels", e);
    }
  }
}
