package dev.undo.task;

import dev.undo.data.Mixture;
import dev.undo.data.Tokenizer;
import dev.undo.run.ExperimentConfig;
import java.util.List;
import java.util.Map;

/**
 * One setting of the experiment (docs/PROTOCOL.md §Settings): what is retained, what is forgotten, and how both are
 * measured. A task owns everything a stage would otherwise have to know about a setting: its metric names and
 * directions, the data mixtures (pretraining, data-filtered, forget, retain, attack), the tokenizer's training
 * texts, the evaluation, the distillation stop rule, the rule that says an unlearned model kept its retain
 * performance, and the data of the linear-probe attack. Stages ask the task; none of them names a metric.
 *
 * <p>Implementations: {@link ArithmeticTask} (add/sub retain, mul/div forget, accuracy metrics),
 * {@link CorpusPairTask} for two text corpora with cross-entropy metrics — the language setting (English retain,
 * Korean forget) and the {@code text} setting (a user's own retain and forget corpora).
 */
public interface Task {
  /** The setting's name: {@code arithmetic}, {@code language} or {@code text}. */
  String name();

  /** The number the unlearner wants to keep. */
  Metric retainMetric();

  /** The number the unlearner wants to remove and an attacker tries to restore. */
  Metric forgetMetric();

  /** The pretraining mixture; {@code filterForget} leaves the forget data out (the data-filtering gold standard). */
  Mixture pretrainMixture(boolean filterForget);

  /** Forget-side data of unlearning. */
  Mixture forgetMixture();

  /** Retain-side data of unlearning. */
  Mixture retainMixture();

  /**
   * A relearning attack's training data: {@code forget} (forget data only) or {@code mixture} (the full pretraining
   * mixture). Never contains an item of the evaluation built from {@code eval}.
   */
  Mixture attackMixture(String which, ExperimentConfig.EvalSpec eval);

  /** The tokenizer every model of the task shares (built from the full, unfiltered data). */
  Tokenizer buildTokenizer();

  /** Identities of the data (hashes, settings) for provenance. */
  Map<String, String> identity();

  /** The task's evaluation for models with this tokenizer and training sequence length. */
  Evaluation evaluation(ExperimentConfig.EvalSpec spec, Tokenizer tok, int seqLen);

  /**
   * The evaluation a relearning attack repeats at every evaluated step: what it records (the forget and retain
   * summaries and their intervals) computed exactly as {@link #evaluation} computes them, without the cells that
   * enter no summary. By default the whole evaluation.
   */
  default Evaluation attackEvaluation(ExperimentConfig.EvalSpec spec, Tokenizer tok, int seqLen) {
    return evaluation(spec, tok, seqLen);
  }

  /**
   * The paper's stop rule of a student distilled from a teacher with these metrics; {@code cells} are the
   * summary cells (arithmetic: the cells the base model can do; empty = all).
   */
  StopRule distillStopRule(Map<String, Double> teacher, double tolerance, List<String> cells);

  /**
   * The evaluation cells the summaries should average, given the base model's metrics: those it can do (at least
   * {@code floor}). Empty for a task whose metrics are not averages of cells.
   */
  List<String> summaryCells(Map<String, Double> base, double floor);

  /**
   * Metrics with their summaries recomputed over {@code cells} ({@code n} items per cell); unchanged for a task
   * without cells.
   */
  Map<String, Double> summarize(Map<String, Double> metrics, List<String> cells, int n);

  /** True when an unlearned model's metrics keep the base model's retain performance within {@code tolerance}. */
  boolean keepsRetain(Map<String, Double> metrics, Map<String, Double> base, double tolerance);

  /**
   * How well retain performance is kept, larger is better: the fallback when no candidate keeps retain.
   * {@code secondaryWeight} weighs a second retain quantity where the task has one (English CE in arithmetic).
   */
  double retainScore(Map<String, Double> metrics, double secondaryWeight);

  /** The data of the linear-probe attack. */
  ProbeData probeData(ExperimentConfig.EvalSpec eval, long seed, int examples);
}
