package dev.undo.reproduce;

import dev.undo.run.StageDir;
import dev.undo.stage.StageSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * An experiment as data (as in Spark's DAG scheduler, Make): nodes, each one or more stage calls with the nodes
 * it needs and an estimated cost, plus the models the experiment reports and where they live. Executing it is a
 * separate concern ({@link Scheduler}, {@link Executor}); the same plan runs on a thread pool or a cluster, and a
 * stage whose fingerprint matches a finished folder is skipped.
 */
public record Plan(List<Node> nodes, List<PlannedModel> models) {
  public Plan {
    Set<String> ids = new HashSet<>();
    for (Node n : nodes) {
      if (!ids.add(n.id())) {
        throw new IllegalStateException("two plan nodes share the id " + n.id());
      }
    }
    for (Node n : nodes) {
      for (String d : n.deps()) {
        if (!ids.contains(d)) {
          throw new IllegalStateException("plan node " + n.id() + " depends on unknown node " + d);
        }
      }
    }
    nodes = topological(nodes);
  }

  /**
   * The nodes with every dependency before its dependents, otherwise in the order given (a node may be planned
   * before a node it needs, e.g. a seed's stages need every seed's base model for the summary cells). A cycle is
   * an error.
   */
  static List<Node> topological(List<Node> nodes) {
    List<Node> out = new ArrayList<>(nodes.size());
    Set<String> placed = new HashSet<>();
    List<Node> waiting = new ArrayList<>(nodes);
    while (!waiting.isEmpty()) {
      boolean progress = false;
      for (java.util.Iterator<Node> it = waiting.iterator(); it.hasNext(); ) {
        Node n = it.next();
        if (placed.containsAll(n.deps())) {
          out.add(n);
          placed.add(n.id());
          it.remove();
          progress = true;
          break; // rescan from the start: earlier waiting nodes keep their place
        }
      }
      if (!progress) {
        throw new IllegalStateException("plan has a dependency cycle through " + waiting.get(0).id());
      }
    }
    return List.copyOf(out);
  }

  /**
   * One unit of work: its id (the folder of its first stage, relative to the run), a display name, the nodes it
   * needs, its estimated cost in forward-token equivalents (training counts 3 per token, a teacher forward 1), and
   * the stages it runs, in order.
   */
  public record Node(String id, String name, List<String> deps, double cost, List<Call> calls) {}

  /**
   * One stage to run in {@code dir}. The spec is produced when the node's dependencies are done, because some
   * inputs are only known then (the teacher a sweep selected, an attack's threshold from the base and filtered
   * models); {@code describe} says what it will be for {@code --dry-run}.
   */
  public record Call(String kind, Path dir, Supplier<StageSpec> spec, String describe) {
    /** A call whose spec is known when planning. */
    public static Call of(String kind, Path dir, StageSpec spec) {
      return new Call(kind, dir, () -> spec, null);
    }
  }

  /**
   * A model the experiment reports: its name and kind (base, filtered, oracle, oracle_matching, unlearn,
   * unlearn_distill, undo), method and α, seed, where it is made ({@code stage}, or for a selected unlearning
   * teacher the sweep folder), where its attack lives, and the stage folders whose compute it needs beyond the
   * base pretrain.
   */
  public record PlannedModel(String setting, String name, String kind, String method, Double alpha, long seed,
      String stage, boolean selected, String attack, List<String> ancestors) {}

  /** Nodes in priority order: heads of the costliest remaining chains of work first (ties: plan order). */
  public List<Node> byPriority() {
    Map<String, Double> chain = new HashMap<>();
    // Dependents come after their dependencies in plan order, so one backward pass sees every dependent first.
    for (int i = nodes.size() - 1; i >= 0; i--) {
      Node n = nodes.get(i);
      double rest = 0;
      for (int j = i + 1; j < nodes.size(); j++) {
        if (nodes.get(j).deps().contains(n.id())) {
          rest = Math.max(rest, chain.getOrDefault(nodes.get(j).id(), 0.0));
        }
      }
      chain.put(n.id(), n.cost() + rest);
    }
    List<Node> order = new ArrayList<>(nodes);
    order.sort(java.util.Comparator.comparingDouble((Node n) -> -chain.get(n.id())));
    return order;
  }

  /** The estimated cost of the longest chain of dependent nodes: the wall time no number of workers can beat. */
  public double criticalPath() {
    return totalAndChain(n -> 1)[1];
  }

  /**
   * Estimated wall seconds on {@code slots} one-thread workers at {@code secondsPerUnit}: the larger of the work
   * shared by the slots and the critical path (a lower bound on any schedule, and what list scheduling comes near).
   */
  public double estimateSeconds(int slots, double secondsPerUnit) {
    return estimateSeconds(slots, n -> secondsPerUnit);
  }

  /**
   * The same with a rate per node ({@code reproduce.seconds_per_unit_by_kind}): each node's seconds are its cost
   * times its rate; the estimate is the larger of all nodes' seconds shared by the slots and the longest chain.
   */
  public double estimateSeconds(int slots, java.util.function.ToDoubleFunction<Node> secondsPerUnit) {
    double[] tc = totalAndChain(secondsPerUnit);
    return Math.max(tc[0] / Math.max(1, slots), tc[1]);
  }

  /** Every node's cost times its weight: the sum over all nodes, and the largest sum along a dependency chain. */
  private double[] totalAndChain(java.util.function.ToDoubleFunction<Node> weight) {
    Map<String, Double> finish = new HashMap<>();
    double chain = 0;
    double total = 0;
    for (Node n : nodes) {
      double s = n.cost() * weight.applyAsDouble(n);
      double start = 0;
      for (String d : n.deps()) {
        start = Math.max(start, finish.get(d));
      }
      finish.put(n.id(), start + s);
      chain = Math.max(chain, start + s);
      total += s;
    }
    return new double[] {total, chain};
  }

  /** The kind of a node's first stage (pretrain, unlearn, distill, distill_group, relearn), or "" for none. */
  public static String kind(Node n) {
    return n.calls().isEmpty() ? "" : n.calls().get(0).kind();
  }

  /**
   * The nodes whose every stage folder already holds {@code DONE}: a rerun reuses them if their configuration is
   * the same (a folder of another configuration is refused when its turn comes, so this is the optimistic count).
   */
  public Set<String> finishedNodes() {
    Set<String> done = new LinkedHashSet<>();
    for (Node n : nodes) {
      if (!n.calls().isEmpty() && n.calls().stream().allMatch(c -> Files.exists(c.dir().resolve(StageDir.DONE)))) {
        done.add(n.id());
      }
    }
    return done;
  }

  /** This plan without the given nodes (dependencies on them count as met): what is left after they finished. */
  public Plan without(Set<String> finished) {
    List<Node> left = new ArrayList<>();
    for (Node n : nodes) {
      if (!finished.contains(n.id())) {
        left.add(new Node(n.id(), n.name(), n.deps().stream().filter(d -> !finished.contains(d)).toList(), n.cost(),
            n.calls()));
      }
    }
    return new Plan(left, models);
  }

  public double totalCost() {
    return nodes.stream().mapToDouble(Node::cost).sum();
  }
}
