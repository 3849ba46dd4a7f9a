package dev.undo.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.undo.report.Plots.Figure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.BitmapEncoder.BitmapFormat;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Learning curves of the pretrained models (base and data-filtered): the evaluations in their
 * {@code metrics.jsonl}, so a reader sees whether the base model really has the capability the experiment removes.
 */
final class TrainingCurves {
  private static final ObjectMapper JSON = new ObjectMapper();

  private TrainingCurves() {}

  /** The pretraining figure of a setting, or null when the run has no readable pretraining logs. */
  static Figure pretrain(Path runDir, RunData.Setting s) {
    List<String> keys = List.of(s.retainMetric(), s.forgetMetric());
    // Accuracies are higher-is-better on the retain side; cross-entropies are not.
    boolean arith = s.retainHigherIsBetter();
    String setting = s.name();
    XYChart chart = new XYChartBuilder().width(800).height(500)
        .title(setting + ": pretraining (held-out evaluations)").xAxisTitle("step")
        .yAxisTitle(arith ? "accuracy" : "cross-entropy (nats/token)").build();
    int series = 0;
    Long firstSeed = null;
    for (RunData.Model m : s.models()) {
      if (m.kind() != RunData.Kind.BASE && m.kind() != RunData.Kind.FILTERED) {
        continue;
      }
      if (firstSeed == null) {
        firstSeed = m.seed();
      }
      if (m.seed() != firstSeed) {
        continue; // one seed keeps the figure readable
      }
      if (m.entry().stage() == null) {
        continue;
      }
      Path metrics = runDir.resolve(m.entry().stage()).resolve("metrics.jsonl");
      if (!Files.exists(metrics)) {
        continue;
      }
      for (String key : keys) {
        List<Double> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        for (JsonNode rec : lines(metrics)) {
          if (rec.path("split").asText().equals("eval") && rec.has(key)) {
            x.add(rec.path("step").asDouble());
            y.add(rec.path(key).asDouble());
          }
        }
        if (!x.isEmpty()) {
          chart.addSeries(m.kind().wire + " " + key, x, y).setMarker(SeriesMarkers.CIRCLE);
          series++;
        }
      }
    }
    if (series == 0) {
      return null;
    }
    try {
      return new Figure("pretrain_" + setting + ".png", "Pretraining curves of the base and data-filtered models: "
          + String.join(" and ", keys) + " on the held-out evaluation sets.",
          BitmapEncoder.getBitmapBytes(chart, BitmapFormat.PNG));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static List<JsonNode> lines(Path file) {
    List<JsonNode> out = new ArrayList<>();
    try {
      for (String l : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (!l.isBlank()) {
          out.add(JSON.readTree(l));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    return out;
  }
}
