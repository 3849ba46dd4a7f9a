package dev.undo.task;

import dev.undo.train.TrainingRun;
import java.util.Map;

/**
 * Distillation's stop rule (docs/PROTOCOL.md §Pipeline 4): read at each evaluation of a student, true once the student has
 * recovered the teacher's retain performance. {@link #gap} is the quantity the rule thresholds, recorded so a
 * report can show how far a student that hit its step cap still was.
 */
public interface StopRule extends TrainingRun.StopRule {
  /** The rule's quantity for these metrics (e.g. relative CE gap, mean accuracy gap). */
  double gap(Map<String, Double> metrics);
}
