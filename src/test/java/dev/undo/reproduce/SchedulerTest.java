package dev.undo.reproduce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The plan executor: dependencies first, stages side by side, failures stop new starts. */
class SchedulerTest {
  @TempDir
  Path tmp;

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
    List<Reproduce.Step> plan = List.of(
        new Reproduce.Step("a/base", "base", List.of(), () -> { pretrain.run(); log.add("a/base"); }),
        new Reproduce.Step("a/filtered", "filtered", List.of(), () -> { pretrain.run(); log.add("a/filtered"); }),
        new Reproduce.Step("a/oracle", "oracle", List.of("a/filtered"), () -> log.add("a/oracle")),
        new Reproduce.Step("a/om", "om", List.of("a/base", "a/oracle"), () -> log.add("a/om")),
        new Reproduce.Step("a/attack", "attack", List.of("a/om", "a/base"), () -> log.add("a/attack")));
    Reproduce.execute(plan, tmp, 2);
    assertEquals(5, log.size());
    assertEquals(2, maxLive.get());
    assertTrue(log.indexOf("a/oracle") > log.indexOf("a/filtered"));
    assertTrue(log.indexOf("a/om") > log.indexOf("a/oracle") && log.indexOf("a/om") > log.indexOf("a/base"));
    assertEquals("a/attack", log.get(4));
  }

  @Test
  void aFailedStageStopsNewStartsAndIsRethrown() {
    List<String> log = Collections.synchronizedList(new ArrayList<>());
    List<Reproduce.Step> plan = List.of(
        new Reproduce.Step("x", "x", List.of(), () -> {
          throw new IllegalArgumentException("bad config in x");
        }),
        new Reproduce.Step("y", "y", List.of("x"), () -> log.add("y")));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Reproduce.execute(plan, tmp, 2));
    assertEquals("bad config in x", e.getMessage());
    assertFalse(log.contains("y"));
  }

  @Test
  void unknownDependencyIsAnError() {
    List<Reproduce.Step> plan = List.of(new Reproduce.Step("x", "x", List.of("nope"), () -> { }));
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> Reproduce.execute(plan, tmp, 1));
    assertTrue(e.getMessage().contains("nope"), e.getMessage());
  }

  @Test
  void theStepHeadingTheCostliestChainStartsFirst() {
    List<String> log = Collections.synchronizedList(new ArrayList<>());
    // "short" comes first in plan order but heads a chain of cost 2; "long" heads 1 + 10.
    List<Reproduce.Step> plan = List.of(
        new Reproduce.Step("short", "short", List.of(), () -> log.add("short"), 2),
        new Reproduce.Step("long", "long", List.of(), () -> log.add("long"), 1),
        new Reproduce.Step("tail", "tail", List.of("long"), () -> log.add("tail"), 10));
    assertEquals(List.of("long", "tail", "short"),
        Reproduce.byPriority(plan).stream().map(Reproduce.Step::id).toList());
    // One worker: "long" first, then "tail" (ready now, and costlier than "short").
    Reproduce.execute(plan, tmp, 1);
    assertEquals(List.of("long", "tail", "short"), log);
  }
}
