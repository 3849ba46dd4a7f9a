package dev.undo.data;

import java.util.EnumSet;
import java.util.Set;

/**
 * The four arithmetic operations of the arithmetic setting. Addition and subtraction are the capability to
 * retain, multiplication and division the one to forget (docs/PROTOCOL.md, "Settings").
 */
public enum Op {
  ADDITION("+", true, "addition"),
  SUBTRACTION("-", true, "subtraction"),
  MULTIPLICATION("*", false, "multiplication"),
  DIVISION("/", false, "division");

  private final String symbol;
  private final boolean retain;
  private final String key;

  Op(String symbol, boolean retain, String key) {
    this.symbol = symbol;
    this.retain = retain;
    this.key = key;
  }

  /** The symbol written in equations, e.g. {@code "*"} in {@code 6 * 7 = 42}. */
  public String symbol() {
    return symbol;
  }

  /** True for the operations the unlearned model must keep (addition, subtraction). */
  public boolean isRetain() {
    return retain;
  }

  /** Stable lower-case name for metrics and config files, e.g. {@code "addition"}. */
  public String key() {
    return key;
  }

  /** {@code a op b}; division is integer division, exact for every problem the generator makes. */
  public int apply(int a, int b) {
    return switch (this) {
      case ADDITION -> a + b;
      case SUBTRACTION -> a - b;
      case MULTIPLICATION -> a * b;
      case DIVISION -> a / b;
    };
  }

  /** The operation with the given {@link #key()}. */
  public static Op fromKey(String key) {
    for (Op op : values()) {
      if (op.key.equals(key)) {
        return op;
      }
    }
    throw new IllegalArgumentException("unknown operation '" + key + "'; expected one of addition, subtraction,"
        + " multiplication, division");
  }

  /** Addition and subtraction. */
  public static Set<Op> retainOps() {
    return EnumSet.of(ADDITION, SUBTRACTION);
  }

  /** Multiplication and division. */
  public static Set<Op> forgetOps() {
    return EnumSet.of(MULTIPLICATION, DIVISION);
  }

  /** All four operations, the arithmetic part of the pretraining mixture. */
  public static Set<Op> all() {
    return EnumSet.allOf(Op.class);
  }
}
