package dev.undo.run;

import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json}: what a reproduce run made — per setting, the metric names and directions, and every model
 * with its metrics, compute, compute beyond the base pretrain, and where its stage and attack live (relative to the
 * run folder). Written by {@code reproduce}, read by the report, both through these types.
 */
public record Manifest(String preset, long seed, List<Long> seeds, double wallSeconds,
    Map<String, SettingEntry> settings) {

  /**
   * One setting: its forget and retain metric and their directions, the reference model of robustness (the
   * data-filtered one), and its models.
   */
  public record SettingEntry(String forgetMetric, boolean higherIsMoreForgotten, String retainMetric,
      boolean retainHigherIsBetter, String reference, List<ModelEntry> models) {}

  /**
   * One model: name, kind (base, filtered, oracle, oracle_matching, unlearn, unlearn_distill, undo), method, α,
   * seed, stage and attack folders, final metrics, its own compute, the compute it needed beyond the base pretrain,
   * and for oracle matching the KL to its teacher at the end.
   */
  public record ModelEntry(String name, String kind, String method, Double alpha, long seed, String stage,
      String attack, Map<String, Double> metrics, Compute compute, Compute addedCompute, Double klToTeacher) {}
}
