package dev.undo.run;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Reading a stage's {@code metrics.jsonl}: its evaluation records and its training losses. */
public final class MetricsRecords {
  private MetricsRecords() {}

  /** The step-0 evaluation (the model before the stage changed it); empty when there is none. */
  public static Map<String, Double> firstEval(Path metrics) {
    for (JsonNode rec : MetricsLog.readAll(metrics)) {
      if (isEval(rec) && rec.path("step").asLong() == 0) {
        return numbers(rec);
      }
    }
    return new LinkedHashMap<>();
  }

  /** The last evaluation record's metrics; empty when there is none. */
  public static Map<String, Double> lastEval(Path metrics) {
    Map<String, Double> m = new LinkedHashMap<>();
    for (JsonNode rec : MetricsLog.readAll(metrics)) {
      if (isEval(rec)) {
        m = numbers(rec);
      }
    }
    return m;
  }

  /** The last training record's value of {@code key} (e.g. the distillation loss), or NaN. */
  public static double lastTrain(Path metrics, String key) {
    double v = Double.NaN;
    for (JsonNode rec : MetricsLog.readAll(metrics)) {
      if (rec.path("split").asText().equals("train") && rec.has(key)) {
        v = rec.path(key).asDouble();
      }
    }
    return v;
  }

  private static boolean isEval(JsonNode rec) {
    return rec.path("split").asText().equals("eval");
  }

  /** The numeric fields of a record other than its step. */
  static Map<String, Double> numbers(JsonNode rec) {
    Map<String, Double> m = new LinkedHashMap<>();
    rec.fields().forEachRemaining(e -> {
      if (e.getValue().isNumber() && !e.getKey().equals("step")) {
        m.put(e.getKey(), e.getValue().asDouble());
      }
    });
    return m;
  }
}
