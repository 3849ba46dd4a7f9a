package dev.undo.data;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

/** Arithmetic training documents of a fixed set of operations, each operation equally likely. */
public final class ArithmeticSource implements DocumentSource {
  private final ArithmeticGenerator generator;
  private final Set<Op> ops;
  private final String name;

  public ArithmeticSource(ArithmeticGenerator generator, Set<Op> ops) {
    this.generator = Objects.requireNonNull(generator, "generator");
    if (ops.isEmpty()) {
      throw new IllegalArgumentException("an arithmetic source needs at least one operation");
    }
    this.ops = Collections.unmodifiableSet(EnumSet.copyOf(ops));
    this.name = "arithmetic:" + this.ops.stream().map(Op::key).collect(Collectors.joining("+"));
  }

  @Override
  public String next(Random rnd) {
    return generator.trainingDocument(ops, rnd);
  }

  /**
   * {@code "arithmetic:"} and the operation keys in enum order, e.g. {@code arithmetic:addition+subtraction}.
   */
  @Override
  public String name() {
    return name;
  }

  public Set<Op> ops() {
    return ops;
  }

  public ArithmeticGenerator generator() {
    return generator;
  }

  @Override
  public String toString() {
    return "ArithmeticSource[" + name + "]";
  }
}
