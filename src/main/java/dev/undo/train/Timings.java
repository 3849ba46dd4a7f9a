package dev.undo.train;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.List;

/**
 * A training stage's {@code timing.json}: per checkpointed step, the wall seconds, evaluations (and, for a student
 * trained in a group, its share of the teacher's forward tokens) spent so far, and whether the run had ended. Kept
 * for the last two checkpoints (the current one and the one a torn write may fall back to), so a resumed stage
 * charges its compute ledger exactly what it spent before the kill. One format for a stage trained alone
 * ({@link TrainingRun}) or in a group ({@code undo/DistillGroup}), so either can resume the other's folder.
 */
public record Timings(List<Entry> entries) {
  public static final String FILE = "timing.json";

  public static final Timings EMPTY = new Timings(List.of());

  /** One checkpoint's totals. {@code teacherTokens} is written only when non-zero. */
  public record Entry(long step, double wallSeconds, long evals,
      @JsonInclude(JsonInclude.Include.NON_DEFAULT) double teacherTokens, boolean finished) {}

  /** The entry of the checkpoint at {@code step}, or null. */
  public Entry at(long step) {
    for (Entry t : entries) {
      if (t.step() == step) {
        return t;
      }
    }
    return null;
  }

  /** These timings with {@code t} replacing any entry of its step, the last two kept. */
  public Timings with(Entry t) {
    List<Entry> out = new ArrayList<>();
    for (Entry e : entries) {
      if (e.step() != t.step()) {
        out.add(e);
      }
    }
    out.add(t);
    return new Timings(out.subList(Math.max(0, out.size() - 2), out.size()));
  }
}
