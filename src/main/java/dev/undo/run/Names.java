package dev.undo.run;

import java.util.Locale;

/** Folder and file names derived from numbers, lossless so that two different values never share a folder. */
public final class Names {
  private Names() {}

  /**
   * A learning rate as {@code 1e-04}, {@code 1.1e-04}, {@code 2.345e-03}: scientific notation with trailing zeros of
   * the mantissa dropped (so round values keep their short names) and up to five significant digits.
   */
  public static String lr(double lr) {
    String s = String.format(Locale.ROOT, "%.4e", lr); // e.g. 1.1000e-04
    int e = s.indexOf('e');
    String mantissa = s.substring(0, e).replaceAll("0+$", "").replaceAll("\\.$", "");
    return mantissa + s.substring(e).replace("+", "");
  }
}
