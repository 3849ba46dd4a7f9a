package dev.undo.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.undo.model.EnsembleParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link Trainer}'s loop for an ensemble: K members train as one batched computation, each with its own learning
 * rate schedule, clip value, step range and stop rule. The objective returns one loss per member {@code (K,)};
 * the loop backs up their sum, which gives every member its own gradient because members share no weights.
 *
 * <p>A member is active at step s when s lies in its {@code [startStep, steps)} range and no listener has stopped
 * it; inactive members still ride along in the batched forward (the graph has a fixed K) but their weights and
 * optimizer state do not change. The loop ends when no member has steps left. Each step runs in an
 * {@link NDScope} (DJL-NOTES trap 2).
 */
public final class EnsembleTrainer {

  /**
   * Builds the per-member losses {@code (K,)} of one micro-batch. {@code active} says which members will be
   * updated (inactive members' losses are computed but ignored). Record loss terms as {@code (K)} host values.
   */
  public interface Objective {
    NDArray losses(long step, int micro, boolean[] active, Map<String, double[]> terms);
  }

  /**
   * What a step reports. Arrays are indexed by member; entries of inactive members are as computed, not used.
   * {@code diverged[k]}: member k was active but its loss or gradient norm was not finite, so it was not updated.
   */
  public record StepResult(long step, boolean[] active, double[] lr, double[] loss, double[] gradNorm,
      Map<String, double[]> terms, long tokensPerMember, boolean[] diverged) {}

  public interface Listener {
    /** Called after each step. Set {@code stop[k] = true} to stop member k after this step. */
    default void afterStep(StepResult r, boolean[] stop) {}

    /** Called once at the end with each member's last completed step (its start − 1 if none) and stop flags. */
    default void onEnd(long[] lastStep, boolean[] stoppedEarly) {}
  }

  /**
   * Loop settings, one entry per member: total steps, clip value (≤ 0: measure only) and LR schedule. Micro-batches
   * per step ({@code gradAccum}) are shared. A member whose loss or gradient norm is not finite is never updated
   * at that step; with {@code freezeDiverged} it is stopped and the others go on (a relearning attack: a learning
   * rate that diverges is just a bad choice of the attacker), otherwise the run fails with
   * {@link DivergedException}.
   */
  public record Settings(long[] steps, int gradAccum, double[] maxGradNorm, LrSchedule[] schedules,
      long tokensPerMicro, boolean freezeDiverged) {
    /** Settings that fail on divergence (a training stage: one diverged member is an error). */
    public Settings(long[] steps, int gradAccum, double[] maxGradNorm, LrSchedule[] schedules, long tokensPerMicro) {
      this(steps, gradAccum, maxGradNorm, schedules, tokensPerMicro, false);
    }

    public Settings {
      if (gradAccum < 1) {
        throw new IllegalArgumentException("train.grad_accum must be >= 1");
      }
      if (steps.length != maxGradNorm.length || steps.length != schedules.length) {
        throw new IllegalArgumentException("steps, maxGradNorm and schedules need one entry per member");
      }
      for (long s : steps) {
        if (s < 0) {
          throw new IllegalArgumentException("train.steps must be >= 0");
        }
      }
    }
  }

  private final EnsembleParams params;
  private final EnsembleOptimizer optimizer;
  private final Objective objective;
  private final Settings settings;
  private final List<Listener> listeners = new ArrayList<>();

  public EnsembleTrainer(EnsembleParams params, EnsembleOptimizer optimizer, Objective objective,
      Settings settings) {
    int k = params.size();
    if (optimizer.members() != k || settings.steps().length != k) {
      throw new IllegalArgumentException("ensemble of " + k + " members, optimizer for " + optimizer.members()
          + ", settings for " + settings.steps().length);
    }
    this.params = params;
    this.optimizer = optimizer;
    this.objective = objective;
    this.settings = settings;
  }

  public EnsembleTrainer addListener(Listener l) {
    listeners.add(l);
    return this;
  }

  /** Runs every member from {@code startStep[k]} to {@code steps[k] − 1}; returns each member's last step. */
  public long[] run(long[] startStep) {
    int k = params.size();
    long[] last = new long[k];
    boolean[] stopped = new boolean[k];
    long from = Long.MAX_VALUE;
    long to = 0;
    for (int j = 0; j < k; j++) {
      last[j] = startStep[j] - 1;
      from = Math.min(from, startStep[j]);
      to = Math.max(to, settings.steps()[j]);
    }
    NDManager constants = params.manager().newSubManager();
    NDArray accumScale = constants.full(new Shape(), 1f / settings.gradAccum(), DataType.FLOAT32);
    try {
      for (long step = from; step < to; step++) {
        boolean[] active = new boolean[k];
        boolean any = false;
        for (int j = 0; j < k; j++) {
          active[j] = !stopped[j] && step >= startStep[j] && step < settings.steps()[j];
          any |= active[j];
        }
        if (!any) {
          if (allDone(stopped, step)) {
            break;
          }
          continue; // members that resume later: nothing to do before their start
        }
        StepResult r = step(step, active, accumScale);
        boolean[] stop = r.diverged().clone();
        for (Listener l : listeners) {
          l.afterStep(r, stop);
        }
        for (int j = 0; j < k; j++) {
          if (active[j]) {
            last[j] = step;
            stopped[j] |= stop[j];
          }
        }
      }
    } finally {
      constants.close();
    }
    boolean[] early = new boolean[k];
    for (int j = 0; j < k; j++) {
      early[j] = stopped[j] && last[j] < settings.steps()[j] - 1;
    }
    for (Listener l : listeners) {
      l.onEnd(last.clone(), early);
    }
    return last;
  }

  /** True when every member is stopped or past its last step. */
  private boolean allDone(boolean[] stopped, long step) {
    for (int j = 0; j < stopped.length; j++) {
      if (!stopped[j] && step < settings.steps()[j]) {
        return false;
      }
    }
    return true;
  }

  private StepResult step(long step, boolean[] active, NDArray accumScale) {
    int k = params.size();
    double[] lr = new double[k];
    for (int j = 0; j < k; j++) {
      lr[j] = settings.schedules()[j].at(step);
    }
    Map<String, double[]> terms = new LinkedHashMap<>();
    try (NDScope scope = new NDScope()) {
      double[] lossSum = new double[k];
      for (int micro = 0; micro < settings.gradAccum(); micro++) {
        Map<String, double[]> microTerms = new LinkedHashMap<>();
        try (Autograd gc = Autograd.record()) {
          NDArray losses = objective.losses(step, micro, active, microTerms);
          if (!losses.getShape().equals(new Shape(k))) {
            throw new IllegalStateException("objective returned losses of shape " + losses.getShape() + ", want ("
                + k + ")");
          }
          float[] host = losses.toFloatArray();
          for (int j = 0; j < k; j++) {
            lossSum[j] += host[j];
          }
          NDArray scaled = settings.gradAccum() == 1 ? losses : losses.mul(accumScale);
          gc.backward(scaled.sum());
        }
        for (Map.Entry<String, double[]> e : microTerms.entrySet()) {
          double[] acc = terms.computeIfAbsent(e.getKey(), x -> new double[k]);
          for (int j = 0; j < k; j++) {
            acc[j] += e.getValue()[j] / settings.gradAccum();
          }
        }
      }
      double[] norms = optimizer.clipGradients(params, settings.maxGradNorm());
      double[] loss = new double[k];
      boolean[] diverged = new boolean[k];
      boolean[] update = active.clone();
      for (int j = 0; j < k; j++) {
        loss[j] = lossSum[j] / settings.gradAccum();
        // Checked before the update, so a diverged member keeps its last good weights.
        if (active[j] && (!Double.isFinite(loss[j]) || !Double.isFinite(norms[j]))) {
          if (!settings.freezeDiverged()) {
            throw new DivergedException(step, loss[j], norms[j], lr[j]);
          }
          diverged[j] = true;
          update[j] = false;
        }
      }
      optimizer.step(params, lr, update);
      optimizer.zeroGradients(params);
      return new StepResult(step, active.clone(), lr, loss, norms, terms,
          settings.tokensPerMicro() * settings.gradAccum(), diverged);
    }
  }

  /** A boolean array of {@code k} trues. */
  public static boolean[] allActive(int k) {
    boolean[] a = new boolean[k];
    Arrays.fill(a, true);
    return a;
  }
}
