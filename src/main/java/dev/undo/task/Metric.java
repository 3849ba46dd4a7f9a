package dev.undo.task;

/**
 * A metric a task reports, with its direction from the unlearner's side: for a forget metric "better" means more
 * forgotten (higher Korean CE, lower ×÷ accuracy), for a retain metric it means more kept. {@code unit} says what
 * the number is ("accuracy" or "nats/token"), for axis labels and intervals.
 */
public record Metric(String key, boolean higherIsBetter, String unit) {
  public static final String ACCURACY = "accuracy";
  public static final String NATS = "cross-entropy (nats/token)";

  /** Maps a value so that larger is always better, for worst-case maxima and minima. */
  public double oriented(double v) {
    return higherIsBetter ? v : -v;
  }

  /** This metric's value in a metrics map; a missing key is an error naming it. */
  public double of(java.util.Map<String, Double> metrics) {
    Double v = metrics.get(key);
    if (v == null) {
      throw new IllegalArgumentException("metric '" + key + "' missing from " + metrics.keySet());
    }
    return v;
  }

  public boolean isAccuracy() {
    return unit.equals(ACCURACY);
  }
}
