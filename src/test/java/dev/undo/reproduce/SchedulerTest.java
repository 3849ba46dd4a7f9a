package dev.undo.reproduce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The plan scheduler: dependencies first, nodes side by side, failures stop new starts. */
class SchedulerTest {
  @TempDir
  Path tmp;

  /** Runs each node's action (by id) on its own threads: the scheduler's view of any executor. */
  static final class Actions implements Executor {
    final Map<String, Runnable> actions = new HashMap<>();
    final int slots;
    final ExecutorService pool = Executors.newCachedThreadPool();

    Actions(int slots) {
      this.slots = slots;
    }

    Plan.Node node(String id, List<String> deps, double cost, Runnable action) {
      actions.put(id, action);
      return new Plan.Node(id, id, deps, cost, List.of());
    }

    Plan.Node node(String id, List<String> deps, Runnable action) {
      return node(id, deps, 1, action);
    }

    @Override
    public int slots() {
      return slots;
    }

    @Override
    public CompletableFuture<Void> launch(ResolvedNode node) {
      return CompletableFuture.runAsync(actions.get(node.id()), pool);
    }

    @Override
    public void close() {
      pool.shutdown();
    }
  }

  static Plan plan(Plan.Node... nodes) {
    return new Plan(List.of(nodes), List.of());
  }

  @Test
  void stepsStartOnlyAfterTheirDependenciesAndRunSideBySide() {
    List<String> log = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger live = new AtomicInteger();
    AtomicInteger maxLive = new AtomicInteger();
    CountDownLatch bothPretrains = new CountDownLatch(2);
    Runnable pretrain = () -> {
      maxLive.accumulateAndGet(live.incrementAndGet(), Math::max);
      bothPretrains.countDown();
      try {
        // Each pretrain waits until the other has started: with one worker this would deadlock (and time out).
        assertTrue(bothPretrains.await(10, TimeUnit.SECONDS), "the two independent stages did not overlap");
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      live.decrementAndGet();
    };
    Actions ex = new Actions(2);
    Plan plan = plan(
        ex.node("a/base", List.of(), () -> { pretrain.run(); log.add("a/base"); }),
        ex.node("a/filtered", List.of(), () -> { pretrain.run(); log.add("a/filtered"); }),
        ex.node("a/oracle", List.of("a/filtered"), () -> log.add("a/oracle")),
        ex.node("a/om", List.of("a/base", "a/oracle"), () -> log.add("a/om")),
        ex.node("a/attack", List.of("a/om", "a/base"), () -> log.add("a/attack")));
    Scheduler.run(plan, ex, tmp);
    assertEquals(5, log.size());
    assertEquals(2, maxLive.get());
    assertTrue(log.indexOf("a/oracle") > log.indexOf("a/filtered"));
    assertTrue(log.indexOf("a/om") > log.indexOf("a/oracle") && log.indexOf("a/om") > log.indexOf("a/base"));
    assertEquals("a/attack", log.get(4));
  }

  /**
   * An executor whose nodes are finished by the time the scheduler registers its callback (a fast or skipped stage):
   * the callback then runs on the scheduler's own thread, and the scheduler must not wait for a notify that came
   * before it waited. It used to hang after "[n/n] done".
   */
  @Test
  void nodesThatFinishBeforeTheCallbackIsRegisteredDoNotHangTheScheduler() {
    List<String> log = Collections.synchronizedList(new ArrayList<>());
    Executor done = new Executor() {
      @Override
      public int slots() {
        return 2;
      }

      @Override
      public CompletableFuture<Void> launch(ResolvedNode node) {
        log.add(node.id());
        return CompletableFuture.completedFuture(null);
      }

      @Override
      public void close() {}
    };
    Actions ids = new Actions(2);
    Plan plan = plan(ids.node("b", List.of("a"), () -> {}), ids.node("a", List.of(), () -> {}),
        ids.node("c", List.of("b"), () -> {}));
    org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(30),
        () -> Scheduler.run(plan, done, tmp));
    assertEquals(List.of("a", "b", "c"), log);
    ids.close();
  }

  @Test
  @org.junit.jupiter.api.Timeout(60)
  void nodesThatEndBeforeTheirLaunchReturnsDoNotStallThePlan() {
    // An executor whose futures are already complete when launch returns (a skipped node on a fast executor, or a
    // scheduler thread descheduled under load): the scheduler must not wait for an end it has already seen.
    List<String> log = Collections.synchronizedList(new ArrayList<>());
    Executor inline = new Executor() {
      @Override
      public int slots() {
        return 2;
      }

      @Override
      public CompletableFuture<Void> launch(ResolvedNode node) {
        log.add(node.id());
        return CompletableFuture.completedFuture(null);
      }
    };
    Plan plan = plan(new Plan.Node("a", "a", List.of(), 1, List.of()),
        new Plan.Node("b", "b", List.of("a"), 1, List.of()), new Plan.Node("c", "c", List.of("b"), 1, List.of()));
    Scheduler.run(plan, inline, tmp);
    assertEquals(List.of("a", "b", "c"), log);
  }

  @Test
  void aFailedStageStopsNewStartsAndIsRethrown() {
    List<String> log = Collections.synchronizedList(new ArrayList<>());
    Actions ex = new Actions(2);
    Plan plan = plan(
        ex.node("x", List.of(), () -> {
          throw new IllegalArgumentException("bad config in x");
        }),
        ex.node("y", List.of("x"), () -> log.add("y")));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Scheduler.run(plan, ex, tmp));
    assertEquals("bad config in x", e.getMessage());
    assertFalse(log.contains("y"));
  }

  @Test
  void unknownDependencyIsAnError() {
    Actions ex = new Actions(1);
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> plan(ex.node("x", List.of("nope"), () -> { })));
    assertTrue(e.getMessage().contains("nope"), e.getMessage());
  }

  @Test
  void theStepHeadingTheCostliestChainStartsFirst() {
    List<String> log = Collections.synchronizedList(new ArrayList<>());
    // "short" comes first in plan order but heads a chain of cost 2; "long" heads 1 + 10.
    Actions ex = new Actions(1);
    Plan plan = plan(
        ex.node("short", List.of(), 2, () -> log.add("short")),
        ex.node("long", List.of(), 1, () -> log.add("long")),
        ex.node("tail", List.of("long"), 10, () -> log.add("tail")));
    assertEquals(List.of("long", "tail", "short"), plan.byPriority().stream().map(Plan.Node::id).toList());
    assertEquals(11, plan.criticalPath());
    assertEquals(13, plan.totalCost());
    // One slot: "long" first, then "tail" (ready now, and costlier than "short").
    Scheduler.run(plan, ex, tmp);
    assertEquals(List.of("long", "tail", "short"), log);
  }
}
