package dev.undo.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.undo.model.Params;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one training loop every stage shares (pretraining, unlearning, distillation, relearning): build a loss, back
 * it up, clip, step AdamW, zero. What differs between stages is the {@link Objective}; logging, evaluation,
 * checkpoints and stop rules are {@link Listener}s, as in DJL, so the loop stays short.
 *
 * <p>Each step runs inside an {@link NDScope} that frees every temporary the step made: without it, native memory
 * grows by the activations of every step (docs/ENGINE-NOTES.md trap 2).
 */
public final class Trainer {

  /** Builds the loss of one micro-batch; record any loss terms (as host doubles) in {@code terms}. */
  public interface Objective {
    NDArray loss(long step, int micro, Map<String, Double> terms);
  }

  /** What a step reports to listeners. {@code terms} are averaged over micro-batches. */
  public record StepResult(long step, double lr, double loss, double gradNorm, Map<String, Double> terms, long tokens) {}

  public interface Listener {
    /** Called after each optimizer step. Return true to stop training after this step. */
    default boolean afterStep(StepResult r) {
      return false;
    }

    /** Called once when the loop ends (stopped or finished), with the last completed step (or start−1). */
    default void onEnd(long lastStep, boolean stoppedEarly) {}
  }

  /** Loop settings. {@code steps} is the total; the loop runs from {@code startStep} to {@code steps − 1}. */
  public record Settings(long steps, int gradAccum, double maxGradNorm, LrSchedule schedule, long tokensPerMicro,
      double samRho) {
    public Settings(long steps, int gradAccum, double maxGradNorm, LrSchedule schedule, long tokensPerMicro) {
      this(steps, gradAccum, maxGradNorm, schedule, tokensPerMicro, 0);
    }

    public Settings {
      if (samRho < 0) {
        throw new IllegalArgumentException("sam.rho must be >= 0");
      }
      if (steps < 0) {
        throw new IllegalArgumentException("train.steps must be >= 0");
      }
      if (gradAccum < 1) {
        throw new IllegalArgumentException("train.grad_accum must be >= 1");
      }
    }
  }

  private final Params params;
  private final Optimizer optimizer;
  private final Objective objective;
  private final Settings settings;
  private final List<Listener> listeners = new ArrayList<>();

  public Trainer(Params params, Optimizer optimizer, Objective objective, Settings settings) {
    this.params = params;
    this.optimizer = optimizer;
    this.objective = objective;
    this.settings = settings;
  }

  public Trainer addListener(Listener l) {
    listeners.add(l);
    return this;
  }

  /** Runs steps {@code startStep .. settings.steps − 1}; returns the number of the last completed step. */
  public long run(long startStep) {
    long last = startStep - 1;
    boolean stopped = false;
    NDManager constants = params.manager().newSubManager();
    NDArray accumScale = constants.full(new Shape(), 1f / settings.gradAccum(), DataType.FLOAT32);
    try {
      for (long step = startStep; step < settings.steps(); step++) {
        StepResult r = step(step, accumScale);
        last = step;
        boolean stop = false;
        for (Listener l : listeners) {
          stop |= l.afterStep(r);
        }
        if (stop) {
          stopped = true;
          break;
        }
      }
    } finally {
      constants.close();
    }
    for (Listener l : listeners) {
      l.onEnd(last, stopped);
    }
    return last;
  }

  /**
   * One optimizer step. The loss and the gradient's global norm are checked for finiteness before anything changes
   * the weights (before SAM's perturbation and before the update), so a divergence leaves the weights and the
   * optimizer state exactly as after the previous step and throws {@link DivergedException}.
   */
  private StepResult step(long step, NDArray accumScale) {
    double lr = settings.schedule().at(step);
    Map<String, Double> terms = new LinkedHashMap<>();
    try (NDScope scope = new NDScope()) {
      double loss = accumulate(step, accumScale, terms) / settings.gradAccum();
      double norm;
      if (settings.samRho() > 0) {
        double first = optimizer.clipGradients(params, 0);
        requireFinite(step, loss, first, lr);
        double perturbedLoss = sharpnessAwareGradient(step, accumScale, first) / settings.gradAccum();
        norm = optimizer.clipGradients(params, settings.maxGradNorm());
        requireFinite(step, perturbedLoss, norm, lr);
      } else {
        norm = optimizer.clipGradients(params, settings.maxGradNorm());
        requireFinite(step, loss, norm, lr);
      }
      optimizer.step(params, lr);
      optimizer.zeroGradients(params);
      return new StepResult(step, lr, loss, norm, terms, settings.tokensPerMicro() * settings.gradAccum());
    }
  }

  private void requireFinite(long step, double loss, double gradNorm, double lr) {
    if (!Double.isFinite(loss) || !Double.isFinite(gradNorm)) {
      // Leave no poisoned gradient behind for a caller that catches this and carries on.
      optimizer.zeroGradients(params);
      throw new DivergedException(step, loss, gradNorm, lr);
    }
  }

  /** Forward and backward over the step's micro-batches; gradients accumulate. Returns the summed loss. */
  private double accumulate(long step, NDArray accumScale, Map<String, Double> terms) {
    double lossSum = 0;
    for (int micro = 0; micro < settings.gradAccum(); micro++) {
      Map<String, Double> microTerms = new LinkedHashMap<>();
      try (Autograd gc = Autograd.record()) {
        NDArray loss = objective.loss(step, micro, microTerms);
        lossSum += loss.getFloat();
        gc.backward(settings.gradAccum() == 1 ? loss : loss.mul(accumScale));
      }
      if (terms != null) {
        microTerms.forEach((k, v) -> terms.merge(k, v / settings.gradAccum(), Double::sum));
      }
    }
    return lossSum;
  }

  /**
   * SAM (Foret et al.): move to θ + ρ·g/‖g‖, take the gradient there on the same batch, come back to θ. The
   * optimizer then steps with the gradient of the perturbed point. Batches are a pure function of the step, so the
   * second pass sees exactly the first pass's data. {@code norm} is ‖g‖, already checked finite. Returns the summed
   * loss at the perturbed point.
   */
  private double sharpnessAwareGradient(long step, NDArray accumScale, double norm) {
    float scale = (float) (settings.samRho() / (norm + 1e-12));
    Map<String, NDArray> eps = new LinkedHashMap<>();
    for (String n : optimizer.trainable()) {
      NDArray e = params.get(n).getGradient().mul(scale);
      params.get(n).addi(e);
      eps.put(n, e);
    }
    optimizer.zeroGradients(params);
    double lossSum = accumulate(step, accumScale, null);
    for (Map.Entry<String, NDArray> e : eps.entrySet()) {
      params.get(e.getKey()).subi(e.getValue());
    }
    return lossSum;
  }
}
