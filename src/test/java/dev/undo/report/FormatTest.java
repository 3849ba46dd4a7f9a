package dev.undo.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Table cells and labels: short, unambiguous, and blank (not "NaN") where a value is missing. */
class FormatTest {
  @Test
  void csvCellsArePlainSixDigitNumbers() {
    assertEquals("100", Format.csv(100.0));
    assertEquals("0.123457", Format.csv(0.1234567));
    assertEquals("0.7", Format.csv(0.7000000000000002));
    assertEquals("-3.5", Format.csv(-3.5));
    assertEquals("1.0E-9", Format.csv(1e-9));
    assertEquals("", Format.csv(Double.NaN));
    assertEquals("", Format.csv((Double) null));
  }

  @Test
  void labelsUseFourSignificantDigits() {
    assertEquals("0.6", Format.number(0.6));
    assertEquals("0.1235", Format.number(0.123456));
    assertEquals("1.1e+12", Format.number(1.1e12));
    assertEquals("0", Format.number(0));
    assertEquals("n/a", Format.number(Double.NaN));
    assertEquals("+inf", Format.number(Double.POSITIVE_INFINITY));
    assertEquals("-inf", Format.number(Double.NEGATIVE_INFINITY));
  }

  @Test
  void csvEscapingFollowsRfc4180() {
    assertEquals("maxent+repnoise", Tables.escape("maxent+repnoise"));
    assertEquals("\"a,b\"", Tables.escape("a,b"));
    assertEquals("\"say \"\"hi\"\"\"", Tables.escape("say \"hi\""));
  }
}
