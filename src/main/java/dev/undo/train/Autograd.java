package dev.undo.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Gradient recording for the calling thread. Replaces DJL's {@code GradientCollector}, which keeps a process-wide
 * "one collector at a time" flag and so cannot serve two stages training side by side (reproduce.workers > 1).
 * libtorch's grad mode is per thread: this turns it on for the block and restores the thread's previous mode on
 * close. {@link #off()} is what the engine does for the thread that starts it; other threads (reproduce's workers)
 * call it once so that evaluation forwards record nothing and optimizer updates may write parameters in place.
 */
public final class Autograd implements AutoCloseable {
  private final boolean previous;

  private Autograd() {
    previous = JniUtils.isGradMode();
    JniUtils.setGradMode(true);
  }

  /** Records operations on this thread until {@link #close()}. */
  public static Autograd record() {
    return new Autograd();
  }

  /** Gradients of a scalar {@code loss} into every parameter that requires them. */
  public void backward(NDArray loss) {
    NDArray seed = loss.getManager().ones(loss.getShape(), loss.getDataType());
    JniUtils.backward((PtNDArray) loss, (PtNDArray) seed, false, false);
  }

  @Override
  public void close() {
    JniUtils.setGradMode(previous);
  }

  /** Stops recording on the calling thread. */
  public static void off() {
    Engine.getInstance(); // loads the native library if nothing has yet
    JniUtils.setGradMode(false);
  }
}
