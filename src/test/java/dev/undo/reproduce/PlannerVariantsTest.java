package dev.undo.reproduce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.run.ConfigLoader;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which models the plan makes for RepNoise / SAM variants, with and without reproduce.distill_variants. */
class PlannerVariantsTest {
  @TempDir
  Path out;

  Set<String> models(boolean distillVariants) {
    ObjectNode tree = ConfigLoader.resolve("micro", Map.of(
        "reproduce.variants", "[graddiff+repnoise, maxent+sam, rmu+repnoise]",
        "reproduce.undo_methods", "[graddiff, rmu+repnoise]",
        "reproduce.distill_variants", Boolean.toString(distillVariants)));
    Plan plan = Planner.plan(tree, List.of("arithmetic"), out);
    return plan.models().stream().map(Plan.PlannedModel::name).collect(Collectors.toSet());
  }

  @Test
  void variantsAreUnlearnedAndAttackedButOnlyDistilledWhenAsked() {
    Set<String> lean = models(false);
    for (String v : List.of("graddiff+repnoise", "maxent+sam", "rmu+repnoise")) {
      assertTrue(lean.contains("unlearn_" + v), v);
    }
    assertFalse(lean.contains("unlearn_distill_graddiff+repnoise"));
    assertFalse(lean.contains("unlearn_distill_maxent+sam"));
    // A variant UNDO is applied to keeps its students (U&D and the α sweep).
    assertTrue(lean.contains("unlearn_distill_rmu+repnoise"));
    assertTrue(lean.contains("undo_rmu+repnoise_a0.50"), lean.toString());
    // Paper methods always get Unlearn-and-Distill; UNDO's α sweep where listed.
    for (String m : List.of("graddiff", "maxent", "rmu")) {
      assertTrue(lean.contains("unlearn_distill_" + m), m);
    }
    assertTrue(lean.contains("undo_graddiff_a0.50"));
    assertFalse(lean.contains("undo_maxent_a0.50"));

    Set<String> full = models(true);
    assertTrue(full.contains("unlearn_distill_graddiff+repnoise"));
    assertTrue(full.contains("unlearn_distill_maxent+sam"));
    // Everything the lean plan has, the full one has, plus the two variant students.
    assertTrue(full.containsAll(lean));
    assertEquals(lean.size() + 2, full.size());
  }

  /** An attack's plan cost counts its training and its evaluations, so evaluating twice as often costs more. */
  @Test
  void anAttacksCostHoldsItsEvaluations() {
    double every10 = attackCost("10");
    double every5 = attackCost("5");
    // micro: runs = data x LRs; each run trains steps x batch x seq (3 units per token) and evaluates steps / k
    // times (one unit per forward token).
    dev.undo.run.ExperimentConfig c = dev.undo.run.ExperimentConfig.from(ConfigLoader.resolve("micro", Map.of()));
    dev.undo.run.ExperimentConfig.AttackSpec a = c.arithmetic().attack();
    int seq = c.arithmetic().pretrain().seqLen();
    double runs = a.data().size() * a.lrs().size() * a.seeds().size();
    double perEval = Planner.attackEvalTokens("arithmetic", a, seq);
    assertEquals(runs * 20 / 10 * perEval, every5 - every10, 1e-6 * every5,
        "halving eval_every adds steps/10 evaluations per run");
    assertTrue(perEval > a.evalProblemsPerCell() * 4, "four summary cells of problems, several tokens each");
  }

  double attackCost(String evalEvery) {
    ObjectNode tree = ConfigLoader.resolve("micro", Map.of("arithmetic.attack.eval_every", evalEvery,
        "arithmetic.attack.steps", "20", "arithmetic.attack.report_steps", "[0, 20]"));
    Plan plan = Planner.plan(tree, List.of("arithmetic"), out);
    return plan.nodes().stream().filter(n -> n.id().endsWith("/attack/base")).findFirst().orElseThrow().cost();
  }
}
