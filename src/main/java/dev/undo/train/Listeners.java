package dev.undo.train;

import dev.undo.run.MetricsLog;
import java.util.LinkedHashMap;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** The listeners every stage attaches to a {@link Trainer}: metrics log, progress bar, periodic actions. */
public final class Listeners {
  private Listeners() {}

  /** Writes one {@code "split": "train"} record per step: step, lr, loss, grad norm, loss terms. */
  public static Trainer.Listener metrics(MetricsLog log) {
    return new Trainer.Listener() {
      @Override
      public boolean afterStep(Trainer.StepResult r) {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("step", r.step() + 1);
        rec.put("split", "train");
        rec.put("lr", r.lr());
        rec.put("loss", r.loss());
        rec.put("grad_norm", r.gradNorm());
        rec.putAll(r.terms());
        log.write(rec);
        return false;
      }
    };
  }

  /**
   * A progress bar on stderr with loss and ETA, updated once a second (me.tongfei progressbar). Quiet when
   * {@code enabled} is false (tests, nested stages).
   */
  public static Trainer.Listener progress(String task, long startStep, long totalSteps, boolean enabled) {
    if (!enabled) {
      return new Trainer.Listener() {};
    }
    ProgressBar bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(totalSteps).startsFrom(startStep,
        java.time.Duration.ZERO).setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(1000).continuousUpdate()
        .build();
    return new Trainer.Listener() {
      @Override
      public boolean afterStep(Trainer.StepResult r) {
        bar.stepTo(r.step() + 1);
        bar.setExtraMessage(String.format(" loss %.4f", r.loss()));
        return false;
      }

      @Override
      public void onEnd(long lastStep, boolean stoppedEarly) {
        bar.close();
      }
    };
  }

  /**
   * Runs {@code action} after every {@code every}-th step (counting completed steps) and after the last step; the
   * action may ask to stop training (stop rules) by returning true.
   */
  public static Trainer.Listener every(long every, long totalSteps, StepAction action) {
    return new Trainer.Listener() {
      @Override
      public boolean afterStep(Trainer.StepResult r) {
        long done = r.step() + 1;
        if (done % every == 0 || done == totalSteps) {
          return action.run(done);
        }
        return false;
      }
    };
  }

  /** An action at a step boundary; returns true to stop training. */
  public interface StepAction {
    boolean run(long completedSteps);
  }
}
