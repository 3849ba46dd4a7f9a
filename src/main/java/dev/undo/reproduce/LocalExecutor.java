package dev.undo.reproduce;

import dev.undo.stage.StageRunner;
import dev.undo.train.Autograd;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Runs plan nodes on threads of this JVM, {@code workers} at a time, each stage with the intra-op thread count the
 * engine was started with (threads / workers). libtorch applies the intra-op count per calling thread and records
 * gradients per thread, and DJL's scopes are per thread, so stages side by side share nothing; each worker turns
 * gradient recording off first, as the engine does for its own thread (training turns it on where it needs it).
 */
public final class LocalExecutor implements Executor {
  private final int workers;
  private final StageRunner.Options options;
  private final ExecutorService pool;

  public LocalExecutor(int workers, StageRunner.Options options) {
    this.workers = Math.max(1, workers);
    this.options = options;
    this.pool = Executors.newFixedThreadPool(this.workers, r -> {
      Thread t = new Thread(r, "reproduce-worker");
      t.setDaemon(true);
      return t;
    });
  }

  @Override
  public int slots() {
    return workers;
  }

  @Override
  public CompletableFuture<Void> launch(ResolvedNode node) {
    return CompletableFuture.runAsync(() -> {
      Autograd.off();
      Stages.runNode(node, options);
    }, pool);
  }

  @Override
  public void close() {
    pool.shutdown();
  }
}
