package dev.undo.report;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Locale;

/** Number formatting shared by tables, labels and claims.json, so the same value reads the same everywhere. */
final class Format {
  private Format() {}

  /**
   * Four significant digits for people: "0.6", "0.1235", "1.1e+12"; "-inf"/"+inf" for an unbounded interval end,
   * "n/a" for a missing value.
   */
  static String number(double v) {
    if (Double.isInfinite(v)) {
      return v > 0 ? "+inf" : "-inf";
    }
    if (Double.isNaN(v)) {
      return "n/a";
    }
    if (v == 0) {
      return "0";
    }
    double a = Math.abs(v);
    if (a >= 1e6 || a < 1e-4) {
      return String.format(Locale.ROOT, "%.3e", v).replaceAll("\\.?0+e", "e");
    }
    return new BigDecimal(v).round(new MathContext(4)).stripTrailingZeros().toPlainString();
  }

  /** Six significant digits for CSV cells, empty for a missing value (what spreadsheets read as blank). */
  static String csv(double v) {
    if (!Double.isFinite(v)) {
      return "";
    }
    BigDecimal rounded = new BigDecimal(v).round(new MathContext(6)).stripTrailingZeros();
    double a = Math.abs(v);
    // Plain digits where they stay short ("100", not BigDecimal's "1E+2"); Java's exponent form beyond that.
    return a >= 1e-6 && a < 1e15 ? rounded.toPlainString() : Double.toString(rounded.doubleValue());
  }

  static String csv(Double v) {
    return v == null ? "" : csv(v.doubleValue());
  }

  /** JSON has no NaN: a missing number is written as null. */
  static void put(ObjectNode n, String key, double v) {
    if (Double.isFinite(v)) {
      n.put(key, v);
    } else {
      n.putNull(key);
    }
  }
}
