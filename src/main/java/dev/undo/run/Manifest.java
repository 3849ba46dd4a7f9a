package dev.undo.run;

import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json}: what a reproduce run made — per setting, the metric names and directions, the attack the
 * adversary ran, and every model with its metrics (and their intervals), compute ledgers, whether a distilled
 * student recovered, and where its stage and attack live (relative to the run folder). Written by
 * {@code reproduce}, read by the report, both through these types.
 *
 * @param evidence false for a smoke-test preset (quick, micro): its report says the numbers are not evidence
 */
public record Manifest(String preset, long seed, List<Long> seeds, double wallSeconds, boolean evidence,
    Map<String, SettingEntry> settings) {

  /**
   * One setting: its forget and retain metric and their directions, the reference model of robustness (the
   * data-filtered one), which evaluation cells the arithmetic summaries average ({@code summaryCells}, chosen as the
   * cells where the base model reaches {@code cellFloor}; empty for cross-entropy settings), the attack, and its
   * models.
   */
  public record SettingEntry(String forgetMetric, boolean higherIsMoreForgotten, String retainMetric,
      boolean retainHigherIsBetter, String reference, List<String> summaryCells, double cellFloor,
      AttackEntry attack, List<ModelEntry> models) {}

  /**
   * The adversary every model of a setting faces: learning rates, data (each of {@code forget}, {@code mixture}),
   * attack seeds, steps, evaluation cadence, gradient clipping (0 = none), forget items per evaluation (0 for
   * cross-entropy metrics, which report {@code evalWindows} instead) and the steps the report reads.
   */
  public record AttackEntry(List<Double> lrs, List<String> data, List<Long> seeds, long steps, long evalEvery,
      double gradClip, int evalItems, int evalWindows, List<Long> reportSteps) {}

  /**
   * One model: name, kind (base, filtered, oracle, oracle_matching, unlearn, unlearn_distill, undo), method, α
   * (1.0 for Unlearn-and-Distill), seed, stage and attack folders, final metrics (with {@code <key>_lo} and
   * {@code <key>_hi}: a 95% Wilson interval for accuracies, a bootstrap interval over held-out windows for CE),
   * its own compute, the compute ledgers behind claim C5, and for a distilled model whether it recovered.
   */
  public record ModelEntry(String name, String kind, String method, Double alpha, long seed, String stage,
      String attack, Map<String, Double> metrics, Compute compute, Compute addedCompute, Ledger ledger,
      Student student, Double labelledFraction) {}

  /**
   * A distilled model's recovery: the rule (text), whether it was met ({@code stoppedByRule}), steps taken and the
   * cap, and the rule's quantity at the end ({@code gap}: relative retain-CE gap, mean retain-accuracy gap, or for
   * oracle matching the KL to the oracle, whose rule is {@code gap ≤ bound}).
   */
  public record Student(String rule, boolean stoppedByRule, long steps, long maxSteps, double gap, double bound) {}

  /**
   * Compute a model needs beyond the base pretrain, two ways (docs/PROTOCOL.md §Compute, claim C5).
   * <ul>
   *   <li>the paper's: student steps × tokens per step (distillation only), as a fraction of the data-filtered
   *       pretrain's tokens ({@code paperFraction});
   *   <li>ours, in FLOPs: the student's training, the teacher's forward passes, and the chosen unlearning run
   *       ({@code flopsFraction} of the data-filtered pretrain's FLOPs); the rest of the LR sweep and all
   *       evaluations are reported apart and not charged.
   * </ul>
   */
  public record Ledger(long studentSteps, long studentTokens, double paperFraction, double studentFlops,
      double teacherFlops, double unlearnFlops, double sweepFlops, double evaluationFlops, double flopsFraction) {}
}
