package dev.undo.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;

/**
 * Starts the DJL PyTorch engine the one way this project uses it: offline, no tracking call, a fixed number of
 * intra-op threads (results are reproducible for a given thread count, not across counts), and a fixed engine seed.
 * Must run before anything else touches DJL, because the thread settings are read once at engine start.
 */
public final class Engines {
  private static volatile boolean started;

  private Engines() {}

  /** Idempotent; {@code threads <= 0} means "as many as cores". */
  public static synchronized void start(int threads) {
    if (started) {
      return;
    }
    int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    setIfAbsent("DJL_OFFLINE", "true");
    setIfAbsent("OPT_OUT_TRACKING", "true");
    setIfAbsent("ai.djl.pytorch.num_threads", Integer.toString(n));
    setIfAbsent("ai.djl.pytorch.num_interop_threads", "1");
    Engine.getEngine("PyTorch");
    Engine.getInstance().setRandomSeed(0);
    started = true;
  }

  public static NDManager newManager() {
    start(0);
    return NDManager.newBaseManager();
  }


  private static void setIfAbsent(String key, String value) {
    if (System.getProperty(key) == null && System.getenv(key) == null) {
      System.setProperty(key, value);
    }
  }
}
