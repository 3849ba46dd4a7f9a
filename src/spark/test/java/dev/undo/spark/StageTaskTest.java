package dev.undo.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.undo.reproduce.ExecutorProvider;
import dev.undo.run.RunLock;
import dev.undo.stage.StageRunner;
import dev.undo.train.DivergedException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Spark executor's pieces that need no cluster: lock waiting, failure kinds, master URLs, configuration. */
class StageTaskTest {
  @TempDir
  Path tmp;

  static RunLock.BusyException busy() {
    return new RunLock.BusyException("/run/a/base is in use by pid 7 on host h", null);
  }

  @Test
  void aLockedStageIsTriedAgainWithGrowingPauses() {
    List<Long> pauses = new ArrayList<>();
    AtomicInteger tries = new AtomicInteger();
    StageTask.whenUnlocked(() -> {
      if (tries.incrementAndGet() < 4) {
        throw busy();
      }
    }, 60_000, pauses::add, "node");
    assertEquals(4, tries.get());
    assertEquals(List.of(1_000L, 2_000L, 4_000L), pauses);
  }

  @Test
  void aLockHeldForTheWholeWaitFailsNamingTheHolder() {
    List<Long> pauses = new ArrayList<>();
    StageTask.LockWaitException e = assertThrows(StageTask.LockWaitException.class,
        () -> StageTask.whenUnlocked(() -> {
          throw busy();
        }, 2_500, pauses::add, "arithmetic pretrain base"));
    assertEquals(List.of(1_000L, 1_500L), pauses, "never waits past the limit");
    assertTrue(e.getMessage().startsWith("arithmetic pretrain base: /run/a/base is in use by pid 7 on host h"),
        e.getMessage());
    assertTrue(e.getMessage().contains("waited 2 s"), e.getMessage());
    assertTrue(StageTask.isFinal(e), "Spark must not retry a lock that stayed taken");
  }

  @Test
  void otherFailuresAreNotWaitedFor() {
    List<Long> pauses = new ArrayList<>();
    assertThrows(IllegalStateException.class, () -> StageTask.whenUnlocked(() -> {
      throw new IllegalStateException("disk full");
    }, 60_000, pauses::add, "node"));
    assertTrue(pauses.isEmpty());
  }

  @Test
  void aRealLockReleasedDuringTheWaitLetsTheStageRun() throws Exception {
    // The earlier attempt: a lock on the stage folder held elsewhere in this JVM, released after about a second
    // (as a zombie attempt releases it when it ends or dies).
    Path stage = tmp.resolve("stage");
    RunLock zombie = RunLock.acquire(stage);
    Thread releaser = new Thread(() -> {
      try {
        Thread.sleep(1_200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      zombie.close();
    });
    releaser.start();
    AtomicInteger tries = new AtomicInteger();
    StageTask.whenUnlocked(() -> {
      tries.incrementAndGet();
      try (RunLock mine = RunLock.acquire(stage)) {
        assertFalse(mine.tookOverFrom().isPresent(), "a released lock is free, not stale");
      }
    }, 30_000, Thread::sleep, "node");
    releaser.join();
    assertTrue(tries.get() >= 2 && tries.get() <= 3, "tries: " + tries.get());
  }

  @Test
  void failuresARetryWouldRepeatComeBackAsData() {
    // A bad configuration, and a stage folder of another configuration (StaleStageException is one of these).
    assertTrue(StageTask.isFinal(new IllegalArgumentException("bad key")));
    assertTrue(IllegalArgumentException.class.isAssignableFrom(StageRunner.StaleStageException.class));
    assertTrue(StageTask.isFinal(new DivergedException(3, Double.NaN, 1.0, 1e-3)));
    assertFalse(StageTask.isFinal(new IllegalStateException("libtorch crashed")));
    assertFalse(StageTask.isFinal(new java.io.UncheckedIOException(new java.io.IOException("disk"))));
    assertEquals("cannot read x: Unexpected character", StageTask.describe(
        new IllegalArgumentException("cannot read x", new RuntimeException("Unexpected character"))));
  }

  @Test
  void masterUrlsGiveExecutorsAndCores() {
    assertEquals(new SparkExecutor.Shape(1, 1), SparkExecutor.Shape.of("local"));
    assertEquals(new SparkExecutor.Shape(1, 4), SparkExecutor.Shape.of("local[4]"));
    assertEquals(new SparkExecutor.Shape(1, 3), SparkExecutor.Shape.of("local[3,2]"));
    assertEquals(new SparkExecutor.Shape(1, Runtime.getRuntime().availableProcessors()),
        SparkExecutor.Shape.of("local[*]"));
    assertEquals(new SparkExecutor.Shape(2, 1), SparkExecutor.Shape.of("local-cluster[2,1,2048]"));
    assertEquals(new SparkExecutor.Shape(3, 4), SparkExecutor.Shape.of("local-cluster[3, 4, 1024]"));
    assertNull(SparkExecutor.Shape.of("spark://h:7077"));
    assertNull(SparkExecutor.Shape.of("k8s://https://h:6443"));
  }

  @Test
  void configurationKeepsTheUsersSettingsAndAddsWhatTasksNeed() {
    SparkConf user = new SparkConf(false).set("spark.task.maxFailures", "8").set("spark.speculation", "true");
    SparkConf c = SparkExecutor.conf(new ExecutorProvider.Settings("local-cluster[2,1,2048]", 1, tmp, false), user);
    assertEquals("local-cluster[2,1,2048]", c.get("spark.master"));
    assertEquals("1", c.get("spark.task.cpus"));
    assertEquals("8", c.get("spark.task.maxFailures"), "a user's setting wins");
    assertEquals("false", c.get("spark.speculation"), "a speculative copy would only wait for the lock");
    assertEquals("2048m", c.get("spark.executor.memory"));
    assertEquals(System.getProperty("java.class.path"), c.get("spark.executor.extraClassPath"));
    assertEquals("true", c.get("spark.executorEnv.DJL_OFFLINE"));
    assertEquals(SparkExecutor.scalaBinaryVersion(), c.get("spark.executorEnv.SPARK_SCALA_VERSION"));
    SparkConf cluster = SparkExecutor.conf(new ExecutorProvider.Settings("spark://h:7077", 2, tmp, false),
        new SparkConf(false));
    assertEquals("2", cluster.get("spark.task.cpus"));
    assertFalse(cluster.contains("spark.executor.extraClassPath"), "a cluster's executors have their own");
    assertThrows(IllegalArgumentException.class,
        () -> SparkExecutor.conf(new ExecutorProvider.Settings(null, 1, tmp, false), new SparkConf(false)));
  }

  @Test
  void theCoreFindsTheSparkExecutorByName() {
    List<String> names = new ArrayList<>();
    ServiceLoader.load(ExecutorProvider.class).forEach(p -> names.add(p.name()));
    assertEquals(List.of("spark"), names);
  }
}
