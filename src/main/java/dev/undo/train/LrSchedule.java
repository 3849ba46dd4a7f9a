package dev.undo.train;

/**
 * Learning rate as a function of the step (0-based). Pretraining uses linear warmup then cosine decay to a floor
 * (nanoGPT's schedule); unlearning, distillation and relearning attacks use a constant rate, as in the paper.
 */
public interface LrSchedule {
  double at(long step);

  static LrSchedule constant(double lr) {
    return step -> lr;
  }

  static LrSchedule warmupCosine(double maxLr, double minLr, long warmupSteps, long totalSteps) {
    return step -> {
      if (step < warmupSteps) {
        return maxLr * (step + 1) / warmupSteps;
      }
      if (step >= totalSteps) {
        return minLr;
      }
      double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
      return minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (maxLr - minLr);
    };
  }
}
