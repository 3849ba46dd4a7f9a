package dev.undo.spark;

import dev.undo.model.Engines;
import dev.undo.reproduce.ResolvedNode;
import dev.undo.reproduce.Stages;
import dev.undo.run.RunLock;
import dev.undo.stage.StageRunner;
import dev.undo.train.Autograd;
import dev.undo.train.DivergedException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction;

/**
 * The body of the Spark task that runs one plan node, in an executor JVM: start the engine (once per JVM, with the
 * run's intra-op threads), then run the node's stages with the same code as the local executor
 * ({@link Stages#runNode}), writing the stage folders on the shared file system.
 *
 * <p>Failures come in two kinds. A lost executor, a full disk or a crash in native code throws, and Spark retries
 * the task (up to {@code spark.task.maxFailures}); the retry resumes each unfinished stage from its checkpoint, as a
 * rerun of a killed local run does. A failure that would only repeat — a bad configuration, a stage folder of
 * another configuration, divergence — comes back as an {@link Outcome} with the error, so the driver stops the plan
 * with that one line instead of running it four times.
 *
 * <p>Two attempts of one task must never write one stage folder. The folder's {@link RunLock} (an {@code fcntl}
 * lock, dropped by the OS when its process dies) already refuses a second writer; here a retry that finds a stage
 * locked waits for it: the holder is an earlier attempt that Spark gave up on (its executor missed heartbeats) but
 * that still runs. When that attempt ends it releases the lock, and the retry skips or resumes what it left. If the
 * lock is still held after {@code spark.undo.lockWaitSeconds}, the node fails with the holder named.
 */
final class StageTask implements FlatMapFunction<Iterator<ResolvedNode>, StageTask.Outcome> {
  private static final long serialVersionUID = 1L;

  /** First and longest pause between two tries of a locked stage folder. */
  static final long FIRST_PAUSE_MILLIS = 1_000;
  static final long MAX_PAUSE_MILLIS = 30_000;

  /**
   * What every task of a run needs: the intra-op threads of each stage, whether the first attempt may start over a
   * folder of another configuration ({@code --force}), and how long to wait for a stage folder another attempt
   * still locks.
   */
  record Settings(int threads, boolean force, long lockWaitMillis) implements Serializable {}

  /**
   * How a node ended on an executor: {@code error} is null when every stage is done, else the one-line reason of a
   * failure that a retry would only repeat; {@code where} names the executor, for that line.
   */
  record Outcome(String node, String error, String where) implements Serializable {}

  /** The lock of a stage folder stayed taken for the whole wait. */
  static final class LockWaitException extends IllegalStateException {
    LockWaitException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** A pause; tests pass a recording one. */
  interface Sleeper {
    void sleep(long millis) throws InterruptedException;
  }

  private final Settings settings;

  StageTask(Settings settings) {
    this.settings = settings;
  }

  @Override
  public Iterator<Outcome> call(Iterator<ResolvedNode> nodes) {
    TaskContext tc = TaskContext.get();
    int attempt = tc == null ? 0 : tc.attemptNumber();
    List<Outcome> out = new ArrayList<>();
    while (nodes.hasNext()) {
      out.add(run(nodes.next(), attempt));
    }
    return out.iterator();
  }

  /** Runs one node on this thread; throws only what Spark should retry. */
  Outcome run(ResolvedNode node, int attempt) {
    String where = where();
    try {
      startEngine(settings.threads());
      // Spark's task threads are pooled and were not started by the engine: turn recording off, as the engine does
      // for its own thread and the local executor for its workers.
      Autograd.off();
      // --force starts stages over only on the first attempt: a retry continues what that attempt began.
      StageRunner.Options o = new StageRunner.Options(false, settings.force() && attempt == 0);
      whenUnlocked(() -> Stages.runNode(node, o), settings.lockWaitMillis(), Thread::sleep, node.name());
      return new Outcome(node.id(), null, where);
    } catch (RuntimeException e) {
      if (isFinal(e)) {
        return new Outcome(node.id(), describe(e), where);
      }
      throw e;
    }
  }

  /**
   * Starts this JVM's engine with {@code threads} intra-op threads (the first task of the JVM does; later ones
   * find it started) and refuses to run a stage with another count, which would give other numbers.
   */
  static synchronized void startEngine(int threads) {
    RunLock.setCommandLine("undo reproduce: Spark task in " + where());
    Engines.start(threads);
    if (Engines.threads() != threads) {
      throw new IllegalArgumentException("this executor JVM's engine runs " + Engines.threads() + " intra-op "
          + "threads but the run asks for " + threads + " per task (is ai.djl.pytorch.num_threads set in "
          + "spark.executor.extraJavaOptions?)");
    }
  }

  /**
   * Runs {@code body}; while it stops because a stage folder is locked (by an earlier attempt of this task, or
   * another run), tries again after a pause that starts at 1 s and doubles up to 30 s, for at most
   * {@code waitMillis} in all. Stages finished before the lock was met are skipped on the next try.
   *
   * @throws LockWaitException naming the holder when the folder is still locked after the wait
   */
  static void whenUnlocked(Runnable body, long waitMillis, Sleeper sleeper, String what) {
    long waited = 0;
    long pause = FIRST_PAUSE_MILLIS;
    while (true) {
      try {
        body.run();
        return;
      } catch (RunLock.BusyException e) {
        if (waited >= waitMillis) {
          throw new LockWaitException(what + ": " + e.getMessage() + "; waited " + waited / 1000 + " s "
              + "(spark.undo.lockWaitSeconds) for it. If it is an earlier attempt of this task whose executor Spark "
              + "lost, stop that process; then rerun the same command (finished stages are kept)", e);
        }
        long p = Math.min(pause, waitMillis - waited);
        System.err.printf(Locale.ROOT, "undo: %s: %s; trying again in %d s%n", what, e.getMessage(),
            Math.max(1, p / 1000));
        try {
          sleeper.sleep(p);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(what + ": interrupted while waiting for a stage folder's lock", ie);
        }
        waited += p;
        pause = Math.min(2 * pause, MAX_PAUSE_MILLIS);
      }
    }
  }

  /**
   * True for failures a retry would only repeat: bad input or configuration (IllegalArgumentException, which
   * includes a folder of another configuration), divergence, and a lock that stayed taken for the whole wait.
   */
  static boolean isFinal(Throwable e) {
    return e instanceof IllegalArgumentException || e instanceof DivergedException
        || e instanceof LockWaitException;
  }

  /** One line: the message and, when it does not already say it, the cause's. */
  static String describe(Throwable e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    Throwable c = e.getCause();
    if (c != null && c != e && c.getMessage() != null && !m.contains(c.getMessage())) {
      m += ": " + c.getMessage();
    }
    return m.replace('\n', ' ');
  }

  /** "executor 1 (pid 4242 on host h)", or the driver in local mode. */
  static String where() {
    SparkEnv env = SparkEnv.get();
    String id = env == null ? "?" : env.executorId();
    return "executor " + id + " (pid " + ProcessHandle.current().pid() + " on " + host() + ")";
  }

  /** The host name without a DNS lookup (which can hang on a machine without network). */
  static String host() {
    try {
      return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/kernel/hostname")).strip();
    } catch (java.io.IOException | RuntimeException e) {
      String h = System.getenv("HOSTNAME");
      return h == null || h.isBlank() ? "?" : h;
    }
  }
}
