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

  static Plan.Node kindNode(String id, String kind, double cost) {
    return new Plan.Node(id, id, List.of(), cost, List.of(Plan.Call.of(kind, Path.of(id), null)));
  }

  /**
   * The ETA prices what is left of each kind of stage at that kind's measured rate: two attacks left after one
   * attack took 4 s for 1 unit are 8 s, whatever the training stages' rate; a kind not yet measured uses the rate
   * of all finished stages; a stage that did no work (finished before a resume) does not count as measured.
   */
  @Test
  void theEtaPricesEachKindOfStageAtItsOwnRate() {
    Plan plan = plan(kindNode("p", "pretrain", 10), kindNode("a1", "relearn", 1), kindNode("a2", "relearn", 1),
        kindNode("a3", "relearn", 1), kindNode("d", "distill", 10), kindNode("u", "unlearn", 5));
    Scheduler.Eta eta = new Scheduler.Eta(plan);
    assertTrue(Double.isNaN(eta.nanosLeft(1)), "no rate before a stage did work");
    eta.finished(plan.nodes().stream().filter(n -> n.id().equals("u")).findFirst().orElseThrow(), -1);
    assertTrue(Double.isNaN(eta.nanosLeft(1)), "a skipped stage measures nothing");
    Plan.Node p = plan.nodes().stream().filter(n -> n.id().equals("p")).findFirst().orElseThrow();
    eta.finished(p, 10_000_000_000L); // 1 s per unit
    // Left: distill 10 units, 3 attacks 3 units, all at the only measured rate (1 s/unit).
    assertEquals(13e9, eta.nanosLeft(1), 1);
    assertEquals(1e9, eta.nanosPerUnit(), 1e-3, "progress.json's seconds_per_unit calibration");
    Plan.Node a1 = plan.nodes().stream().filter(n -> n.id().equals("a1")).findFirst().orElseThrow();
    eta.finished(a1, 4_000_000_000L); // attacks: 4 s per unit
    // Attacks at their own rate; distillation (not measured yet) at all finished stages' rate, 14 s / 11 units.
    double want = 2 * 4e9 + 10 * (14e9 / 11);
    assertEquals(want, eta.nanosLeft(1), 1);
    assertEquals(want / 2, eta.nanosLeft(2), 1);
    // progress.json's per-kind calibration: only kinds that did work, in s/unit.
    assertEquals(java.util.Map.of("pretrain", 1.0, "relearn", 4.0), eta.secondsPerUnitByKind());
    // A student group and a lone student are one key (distill), weighted by their units.
    Plan students = plan(kindNode("g", "distill_group", 3), kindNode("s", "distill", 1));
    Scheduler.Eta se = new Scheduler.Eta(students);
    se.finished(students.nodes().get(0), 3_000_000_000L);
    se.finished(students.nodes().get(1), 5_000_000_000L);
    assertEquals(java.util.Map.of("distill", 2.0), se.secondsPerUnitByKind());

    // A resumed run: stages finished before it started are not work left, even before they are skipped.
    Scheduler.Eta resumed = new Scheduler.Eta(plan, java.util.Set.of("d", "a2", "a3"));
    resumed.finished(p, 10_000_000_000L);
    assertEquals(1e9 + 5e9, resumed.nanosLeft(1), 1, "left: one attack and the unlearning, not the student");
    resumed.finished(plan.nodes().stream().filter(n -> n.id().equals("d")).findFirst().orElseThrow(), -1);
    assertEquals(1e9 + 5e9, resumed.nanosLeft(1), 1, "skipping a finished stage changes nothing");
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
  void nodesPlannedBeforeTheirDependenciesAreOrderedAndCyclesRejected() {
    Actions ex = new Actions(1);
    // "a" needs "c", planned after it (a seed's stages need every seed's base model).
    Plan plan = plan(ex.node("a", List.of("c"), 1, () -> { }), ex.node("b", List.of(), 1, () -> { }),
        ex.node("c", List.of(), 5, () -> { }));
    assertEquals(List.of("b", "c", "a"), plan.nodes().stream().map(Plan.Node::id).toList());
    assertEquals(6, plan.criticalPath());
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> plan(ex.node("x", List.of("y"), () -> { }), ex.node("y", List.of("x"), () -> { })));
    assertTrue(e.getMessage().contains("cycle"), e.getMessage());
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
    // The estimate: one slot does all the work (13 units); two slots cannot beat the critical path (11 > 13 / 2).
    assertEquals(13 * 0.5, plan.estimateSeconds(1, 0.5), 1e-12);
    assertEquals(11 * 0.5, plan.estimateSeconds(2, 0.5), 1e-12);
    // One slot: "long" first, then "tail" (ready now, and costlier than "short").
    Scheduler.run(plan, ex, tmp);
    assertEquals(List.of("long", "tail", "short"), log);
  }

  /**
   * Under --force a folder that was finished with another configuration reruns: the ETA first counts finished
   * folders as no work, and once one of them does work, the not-yet-reached others of its kind count as work left
   * (here three attacks were finished before; the first reruns in 4 s per unit, so the two left are 8 s).
   */
  @Test
  void theEtaCountsRerunFoldersOfAKindOnceOneReruns() {
    Plan plan = plan(kindNode("p", "pretrain", 10), kindNode("a1", "relearn", 1), kindNode("a2", "relearn", 1),
        kindNode("a3", "relearn", 1));
    Scheduler.Eta eta = new Scheduler.Eta(plan, java.util.Set.of("p", "a1", "a2", "a3"));
    java.util.function.Function<String, Plan.Node> node =
        id -> plan.nodes().stream().filter(n -> n.id().equals(id)).findFirst().orElseThrow();
    eta.finished(node.apply("p"), -1); // skipped: same configuration
    assertTrue(Double.isNaN(eta.nanosLeft(1)), "nothing measured yet");
    eta.finished(node.apply("a1"), 4_000_000_000L); // did work: its configuration changed
    assertEquals(2 * 4e9, eta.nanosLeft(1), 1, "a2 and a3 now count as work left");
    eta.finished(node.apply("a2"), 4_000_000_000L);
    assertEquals(4e9, eta.nanosLeft(1), 1);
    eta.finished(node.apply("a3"), -1); // this one was reused after all
    assertEquals(0, eta.nanosLeft(1), 1);
  }

  /**
   * With a rate per kind (reproduce.seconds_per_unit_by_kind) each node costs its units times its kind's rate: the
   * shared work and the critical path are both weighed that way, so a chain of cheap-per-unit students can stop
   * being the bound once its attacks are priced at their own rate.
   */
  @Test
  void theEstimateWeighsEachNodeByItsKindsRate() {
    Plan plan = plan(kindNode("p", "pretrain", 10), kindNode("d", "distill_group", 20), kindNode("a", "relearn", 4));
    // Every node is independent here: one slot does all the seconds, two slots share them (no chain is longer).
    java.util.Map<String, Double> rate = java.util.Map.of("pretrain", 1.0, "distill_group", 0.25, "relearn", 3.0);
    java.util.function.ToDoubleFunction<Plan.Node> r = n -> rate.get(Plan.kind(n));
    assertEquals(10 + 5 + 12, plan.estimateSeconds(1, r), 1e-12);
    assertEquals((10 + 5 + 12) / 2.0, plan.estimateSeconds(2, r), 1e-12);
    assertEquals(12, plan.estimateSeconds(8, r), 1e-12, "many slots: the costliest node in seconds, not in units");
    // The config's mapping of stage kinds to its keys: a group of students is distill, 0 falls back.
    dev.undo.run.ExperimentConfig.KindRates k = new dev.undo.run.ExperimentConfig.KindRates(2, 0, 0.5, 3);
    assertEquals(0.5, k.rate("distill_group", 9), 0);
    assertEquals(0.5, k.rate("distill", 9), 0);
    assertEquals(9, k.rate("unlearn", 9), 0, "0 takes seconds_per_unit");
    assertEquals(9, k.rate("probe", 9), 0, "a kind without a key takes seconds_per_unit");
  }

  @Test
  void aResumedPlanEstimatesOnlyWhatIsLeft() throws Exception {
    // a (cost 4) -> b (cost 6); c (cost 3) alone. a's folder is finished, c's is half-written (no DONE).
    Path a = tmp.resolve("a");
    Path c = tmp.resolve("c");
    java.nio.file.Files.createDirectories(a);
    java.nio.file.Files.createDirectories(c);
    java.nio.file.Files.writeString(a.resolve(dev.undo.run.StageDir.DONE), "");
    Plan plan = plan(
        new Plan.Node("a", "a", List.of(), 4, List.of(Plan.Call.of("pretrain", a, null))),
        new Plan.Node("b", "b", List.of("a"), 6, List.of(Plan.Call.of("distill", tmp.resolve("b"), null))),
        new Plan.Node("c", "c", List.of(), 3, List.of(Plan.Call.of("pretrain", c, null))));
    assertEquals(java.util.Set.of("a"), plan.finishedNodes());
    Plan left = plan.without(plan.finishedNodes());
    assertEquals(List.of("b", "c"), left.nodes().stream().map(Plan.Node::id).toList());
    assertEquals(List.of(), left.nodes().get(0).deps(), "a finished dependency counts as met");
    assertEquals(9, left.totalCost());
    assertEquals(6, left.criticalPath());
    assertEquals(6 * 0.5, left.estimateSeconds(2, 0.5), 1e-12);
    assertEquals(10 * 0.5, plan.estimateSeconds(2, 0.5), 1e-12);
  }
}
