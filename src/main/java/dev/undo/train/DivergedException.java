package dev.undo.train;

/**
 * Training diverged: the loss or the gradient's global norm of a step was NaN or infinite. {@link Trainer} throws
 * it before the optimizer update of that step, so the weights and optimizer state are those after the previous
 * step, and a stage runner that lets it propagate never writes them as a checkpoint (a checkpoint also refuses
 * non-finite weights on its own, see {@code Safetensors.write}). The remedy is a lower learning rate: rerunning the
 * stage with one resumes from its last checkpoint.
 */
public final class DivergedException extends IllegalStateException {
  private final long step;
  private final double loss;
  private final double gradNorm;
  private final double lr;
  private final String lrKey;

  public DivergedException(long step, double loss, double gradNorm, double lr) {
    this(step, loss, gradNorm, lr, null);
  }

  private DivergedException(long step, double loss, double gradNorm, double lr, String lrKey) {
    super(message(step, loss, gradNorm, lr, lrKey));
    this.step = step;
    this.loss = loss;
    this.gradNorm = gradNorm;
    this.lr = lr;
    this.lrKey = lrKey;
  }

  /** The same divergence, with the message naming the config key of the learning rate (e.g. arithmetic.pretrain.lr). */
  public DivergedException withLrKey(String key) {
    DivergedException e = new DivergedException(step, loss, gradNorm, lr, key);
    e.setStackTrace(getStackTrace());
    return e;
  }

  /** The step whose update was skipped (0-based; the weights are those after {@code step − 1} steps). */
  public long step() {
    return step;
  }

  public double loss() {
    return loss;
  }

  /** Global L2 norm of the gradient before clipping; NaN if it was not measured. */
  public double gradNorm() {
    return gradNorm;
  }

  public double lr() {
    return lr;
  }

  private static String message(long step, double loss, double gradNorm, double lr, String key) {
    String suggestion = String.format(java.util.Locale.ROOT, "%.3g", lr / 10);
    return "training diverged at step " + step + ": loss " + loss + ", gradient norm " + gradNorm + " at lr "
        + lr + "; the weights were NOT updated (no checkpoint holds them). Rerun with a lower learning rate, e.g. "
        + "--set " + (key == null ? "<setting>.<stage>.lr" : key) + "=" + suggestion
        + ", to resume from the last checkpoint";
  }
}
