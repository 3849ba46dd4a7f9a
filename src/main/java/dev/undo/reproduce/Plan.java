package dev.undo.reproduce;

import dev.undo.stage.StageSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
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
    Map<String, Double> finish = new HashMap<>();
    double best = 0;
    for (Node n : nodes) {
      double start = 0;
      for (String d : n.deps()) {
        start = Math.max(start, finish.get(d));
      }
      finish.put(n.id(), start + n.cost());
      best = Math.max(best, start + n.cost());
    }
    return best;
  }

  public double totalCost() {
    return nodes.stream().mapToDouble(Node::cost).sum();
  }
}
