package dev.undo.reproduce;

import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;

/**
 * Runs a {@link Plan} on an {@link Executor}: a node starts once the nodes it depends on are done; among ready
 * nodes, the head of the costliest remaining chain of work starts first (ties: plan order), up to the executor's
 * slots. A node's specs are produced on this thread just before it starts, from the finished folders of its
 * dependencies. Prints a line when a node starts and ends, with an ETA from the nodes that did work; writes
 * {@code progress.json}. A failed node stops new starts and is rethrown once the running ones end.
 *
 * <p>Each stage's numbers depend only on its inputs, seed and intra-op thread count, never on what runs beside it,
 * so the schedule does not change results.
 */
public final class Scheduler {
  private Scheduler() {}

  /**
   * The ETA: the estimated cost left of each kind of stage (pretrain, unlearn, distill, relearn) times the time per
   * cost unit measured on finished stages of that kind, shared by the slots. Kinds differ a lot in seconds per unit
   * (an attack's evaluations and a student's early stop are not in its cost), so one rate for all misjudged the
   * attacks at the end of a run by 5x; a kind with no finished stage yet uses the rate of all finished stages.
   */
  static final class Eta {
    private final Map<String, double[]> byKind = new LinkedHashMap<>(); // kind -> {nanos, cost measured, cost left}
    private final Set<String> finishedBefore;
    private final Set<String> left = new HashSet<>(); // nodes whose cost is in their kind's cost left
    private final Set<String> ended = new HashSet<>();
    private final List<Plan.Node> nodes;

    Eta(Plan plan) {
      this(plan, Set.of());
    }

    /**
     * {@code finishedBefore}: nodes whose folders were finished when the run started; they are not work left until
     * one of their kind turns out to do work (a configuration changed under {@code --force}): then every finished-
     * before node of that kind not yet reached counts as work left.
     */
    Eta(Plan plan, Set<String> finishedBefore) {
      this.finishedBefore = finishedBefore;
      this.nodes = plan.nodes();
      for (Plan.Node n : plan.nodes()) {
        double[] k = byKind.computeIfAbsent(Plan.kind(n), x -> new double[3]);
        if (!finishedBefore.contains(n.id())) {
          k[2] += n.cost();
          left.add(n.id());
        }
      }
    }

    /**
     * One slot's seconds per cost unit for each kind of stage that did work, keyed as
     * {@code reproduce.seconds_per_unit_by_kind} is (a student group counts as distill), so a finished run's
     * {@code progress.json} can be copied into its preset.
     */
    Map<String, Double> secondsPerUnitByKind() {
      Map<String, double[]> sums = new java.util.TreeMap<>();
      for (Map.Entry<String, double[]> e : byKind.entrySet()) {
        if (e.getValue()[1] > 0 && !e.getKey().isEmpty()) {
          double[] t = sums.computeIfAbsent(ExperimentConfig.KindRates.key(e.getKey()), x -> new double[2]);
          t[0] += e.getValue()[0];
          t[1] += e.getValue()[1];
        }
      }
      Map<String, Double> out = new java.util.TreeMap<>();
      sums.forEach((k, t) -> out.put(k, t[0] / t[1] / 1e9));
      return out;
    }

    /** A node ended; {@code nanos} < 0: it did no work (finished before), so it tells nothing about the rate. */
    void finished(Plan.Node n, long nanos) {
      double[] k = byKind.get(Plan.kind(n));
      ended.add(n.id());
      if (left.remove(n.id())) {
        k[2] -= n.cost();
      } else if (nanos >= 0 && finishedBefore.contains(n.id())) {
        // A finished folder of another configuration, rerun: the others of its kind will likely rerun too.
        for (Plan.Node m : nodes) {
          if (Plan.kind(m).equals(Plan.kind(n)) && finishedBefore.contains(m.id()) && !ended.contains(m.id())
              && left.add(m.id())) {
            k[2] += m.cost();
          }
        }
      }
      if (nanos >= 0) {
        k[0] += nanos;
        k[1] += n.cost();
      }
    }

    /** One slot's nanoseconds per cost unit over every stage that did work, or NaN before any did. */
    double nanosPerUnit() {
      double nanos = 0;
      double cost = 0;
      for (double[] k : byKind.values()) {
        nanos += k[0];
        cost += k[1];
      }
      return cost == 0 ? Double.NaN : nanos / cost;
    }

    /** Nanoseconds left on {@code slots} slots, or NaN before any stage did work. */
    double nanosLeft(int slots) {
      double overall = nanosPerUnit();
      if (Double.isNaN(overall)) {
        return Double.NaN;
      }
      double left = 0;
      for (double[] k : byKind.values()) {
        left += Math.max(0, k[2]) * (k[1] > 0 ? k[0] / k[1] : overall);
      }
      return left / Math.max(1, slots);
    }
  }

  public static void run(Plan plan, Executor executor, Path out) {
    int slots = Math.max(1, executor.slots());
    List<Plan.Node> order = plan.byPriority();
    double before = previousWall(out);
    long t0 = System.nanoTime();
    Object lock = new Object();
    Set<String> done = new HashSet<>();
    Set<String> started = new HashSet<>();
    List<String> running = new ArrayList<>();
    Eta eta = new Eta(plan, plan.finishedNodes());
    Throwable[] failure = {null};
    // Set by every node that ends. A node can end while this thread is still launching others (its future may be
    // complete before whenComplete is attached, which then runs the callback here), so wait only if none has.
    boolean[] ended = {false};
    int total = plan.nodes().size();
    synchronized (lock) {
      while (done.size() < total) {
        ended[0] = false;
        if (failure[0] == null) {
          for (Plan.Node node : order) {
            if (running.size() >= slots) {
              break;
            }
            if (started.contains(node.id()) || !done.containsAll(node.deps())) {
              continue;
            }
            started.add(node.id());
            running.add(node.name());
            System.err.printf(Locale.ROOT, "[%d/%d] start %s%s%n", started.size(), total, node.name(),
                running.size() > 1 ? "  (running: " + String.join(", ", running) + ")" : "");
            ResolvedNode resolved;
            try {
              resolved = resolve(node);
            } catch (RuntimeException e) {
              failure[0] = e;
              running.remove(node.name());
              break;
            }
            long t = System.nanoTime();
            executor.launch(resolved).whenComplete((ok, err) -> {
              long spent = System.nanoTime() - t;
              synchronized (lock) {
                running.remove(node.name());
                if (err != null) {
                  if (failure[0] == null) {
                    failure[0] = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
                  }
                } else {
                  done.add(node.id());
                  // A skipped (finished) node takes well under a second and tells nothing about the rate.
                  eta.finished(node, spent > 2_000_000_000L ? spent : -1);
                  double etaNanos = eta.nanosLeft(slots);
                  System.err.printf(Locale.ROOT, "[%d/%d] done  %s in %s (ETA %s)%n", done.size(), total,
                      node.name(), duration(spent), Double.isNaN(etaNanos) ? "?" : duration((long) etaNanos));
                  Map<String, Object> p = new LinkedHashMap<>();
                  p.put("done", done.size());
                  p.put("of", total);
                  p.put("last", node.name());
                  p.put("wall_seconds", before + (System.nanoTime() - t0) / 1e9);
                  if (!Double.isNaN(eta.nanosPerUnit())) {
                    // Calibration for the next estimate (reproduce.seconds_per_unit): a slot's seconds per unit.
                    p.put("seconds_per_unit", eta.nanosPerUnit() / 1e9);
                    // The same per kind of stage (reproduce.seconds_per_unit_by_kind; distill_group counts as distill).
                    p.put("seconds_per_unit_by_kind", eta.secondsPerUnitByKind());
                  }
                  Json.writeAtomic(out.resolve("progress.json"), p);
                }
                ended[0] = true;
                lock.notifyAll();
              }
            });
          }
        }
        if (failure[0] != null && running.isEmpty()) {
          break;
        }
        if (failure[0] == null && running.isEmpty() && done.size() < total && !ended[0]) {
          throw new IllegalStateException("plan has nodes that can never start (a dependency cycle)");
        }
        try {
          while (!ended[0]) {
            lock.wait();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for stages", e);
        }
      }
    }
    if (failure[0] instanceof RuntimeException re) {
      throw re;
    }
    if (failure[0] instanceof Error er) {
      throw er;
    }
    if (failure[0] != null) {
      throw new IllegalStateException(failure[0]);
    }
  }

  /** The node with every stage's spec produced and serialised. */
  static ResolvedNode resolve(Plan.Node node) {
    List<ResolvedNode.Stage> stages = new ArrayList<>();
    for (Plan.Call c : node.calls()) {
      stages.add(new ResolvedNode.Stage(c.kind(), c.dir().toString(), Stages.json(c.spec().get())));
    }
    return new ResolvedNode(node.id(), node.name(), stages);
  }

  static double previousWall(Path out) {
    Path p = out.resolve("progress.json");
    if (!java.nio.file.Files.exists(p)) {
      return 0;
    }
    return Json.read(p, com.fasterxml.jackson.databind.JsonNode.class).path("wall_seconds").asDouble();
  }

  static String duration(long nanos) {
    long s = nanos / 1_000_000_000L;
    return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  }
}
