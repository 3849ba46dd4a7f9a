package dev.undo.eval;

import dev.undo.data.Problem;
import java.util.List;

/**
 * The two measurements of an evaluation, for one model or for every member of an ensemble at once: how many
 * problems each member solves (the accuracy rule of {@link Evaluator}) and each member's cross-entropy on held-out
 * windows. Task evaluations are written against this, so a relearning attack or a group of students is evaluated
 * with one batched pass over all members.
 */
public interface Scorer {
  /** Members scored together (1 for a single model). */
  int members();

  /** Per member, the number of {@code problems} solved. */
  long[] solved(List<Problem> problems);

  /** Per member, the cross-entropy over {@code windows} (see {@link Evaluator#windows}). */
  Evaluator.Ce[] crossEntropy(List<int[]> windows);
}
