package dev.undo.data;

/**
 * Operand ranges and document mix of the arithmetic data.
 *
 * @param addSubMin smallest operand of addition and subtraction (paper: 1)
 * @param addSubMax largest operand of addition and subtraction (paper: 50)
 * @param mulDivMin smallest factor of multiplication, and smallest divisor and quotient of division (paper: 1)
 * @param mulDivMax largest such factor (paper: 20); the dividend goes up to its square
 * @param wordProblemFraction share of arithmetic training documents that are word problems rather than
 *     equations; the paper trains and evaluates on both, so both must be present
 */
public record ArithmeticConfig(
    int addSubMin, int addSubMax, int mulDivMin, int mulDivMax, double wordProblemFraction) {

  /** Caps operands so that no product or sum overflows an int and numbers stay short in characters. */
  static final int MAX_OPERAND = 10_000;

  public ArithmeticConfig {
    if (addSubMin < 0 || addSubMin > addSubMax || addSubMax > MAX_OPERAND) {
      throw new IllegalArgumentException(
          "need 0 <= addSubMin <= addSubMax <= " + MAX_OPERAND + ", got " + addSubMin + ".." + addSubMax);
    }
    // Division draws its divisor from this range, so zero would make a problem undefined.
    if (mulDivMin < 1 || mulDivMin > mulDivMax || mulDivMax > MAX_OPERAND) {
      throw new IllegalArgumentException(
          "need 1 <= mulDivMin <= mulDivMax <= " + MAX_OPERAND + ", got " + mulDivMin + ".." + mulDivMax);
    }
    if (!(wordProblemFraction >= 0.0 && wordProblemFraction <= 1.0)) {
      throw new IllegalArgumentException("wordProblemFraction must be in [0, 1], got " + wordProblemFraction);
    }
  }

  /** The paper's ranges (1–50 for + and −, 1–20 for × and ÷) with half of the documents word problems. */
  public static ArithmeticConfig paper() {
    return new ArithmeticConfig(1, 50, 1, 20, 0.5);
  }
}
