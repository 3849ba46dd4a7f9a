package dev.undo.task;

import dev.undo.eval.Evaluator;
import dev.undo.model.Params;
import dev.undo.train.TrainingRun;
import dev.undo.eval.Scorer;
import java.util.List;
import java.util.Map;

/**
 * A task's fixed evaluation, built once for a tokenizer and sequence length, then applied to any model of the task.
 * Metric keys and their order are the task's; the order is part of {@code metrics.jsonl} and {@code eval.json}, so
 * it never changes for a given task.
 */
public interface Evaluation {
  /** All metrics of the task for every member the scorer measures (one map per member, in member order). */
  List<Map<String, Double>> evaluate(Scorer s);

  /** All metrics of the task for one model. */
  default Map<String, Double> evaluate(Evaluator ev, Params p) {
    return evaluate(ev.scorer(p)).get(0);
  }

  /** Tokens one {@link #evaluate} runs through one model (per member of an ensemble), for the compute ledger. */
  long forwardTokens();

  /** Forget-side items scored per evaluation (accuracy tasks); 0 for cross-entropy tasks. */
  default int forgetItems() {
    return 0;
  }

  /** Held-out windows scored per CE metric (cross-entropy tasks); 0 for accuracy tasks. */
  default int windows() {
    return 0;
  }

  /** This evaluation as a training run's periodic evaluation, with the evaluator that runs the model. */
  default TrainingRun.Evaluation with(Evaluator ev) {
    Evaluation self = this;
    return new TrainingRun.Evaluation() {
      @Override
      public Map<String, Double> evaluate(Params p) {
        return self.evaluate(ev, p);
      }

      @Override
      public long forwardTokens() {
        return self.forwardTokens();
      }
    };
  }
}
