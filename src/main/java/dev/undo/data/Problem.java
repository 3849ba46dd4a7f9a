package dev.undo.data;

import java.util.Objects;

/**
 * One arithmetic problem. The evaluation feeds {@code prompt} to the model, decodes greedily and compares the
 * first number it produces with {@code value}; training uses {@link #text()}.
 *
 * @param op the operation
 * @param kind equation or word problem
 * @param prompt everything up to the answer, ending in {@code "= "} or {@code "Answer: "}
 * @param answer the answer as written in training text, i.e. {@code Integer.toString(value)}
 * @param value the correct result
 */
public record Problem(Op op, Kind kind, String prompt, String answer, int value) {
  public Problem {
    Objects.requireNonNull(op, "op");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(prompt, "prompt");
    if (!Integer.toString(value).equals(answer)) {
      throw new IllegalArgumentException("answer '" + answer + "' does not spell value " + value);
    }
  }

  /** The full training document: prompt followed by the answer. */
  public String text() {
    return prompt + answer;
  }
}
