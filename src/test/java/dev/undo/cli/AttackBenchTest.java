package dev.undo.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.undo.attack.Relearn;
import dev.undo.model.Engines;
import dev.undo.pretrain.Pretrain;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.stage.StageRunner;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code undo bench --attack}: one JSON line with the documented fields, and a {@code same_results} that is true
 * when the ensemble and sequential attacks agree and false when they do not (another seed, or one point moved just
 * past the tolerance).
 */
class AttackBenchTest {
  @TempDir
  static Path tmp;

  static final Map<String, Path> BASE = new java.util.HashMap<>();

  @BeforeAll
  static void pretrain() {
    Engines.start(1);
    for (String setting : List.of("arithmetic", "language")) {
      Path base = tmp.resolve(setting + "-base");
      StageRunner.run(Pretrain.STAGE, Pretrain.Spec.of(config(setting), setting, false), base,
          StageRunner.Options.QUIET);
      BASE.put(setting, base);
    }
  }

  static ExperimentConfig config(String setting) {
    return ExperimentConfig.from(ConfigLoader.resolve("micro", Map.of(setting + ".pretrain.steps", "12",
        setting + ".attack.steps", "4", setting + ".attack.eval_every", "2", setting + ".attack.data",
        "[forget, mixture]")));
  }

  @Test
  void printsOneJsonLineWithTheFieldsAndTheSameResults() throws Exception {
    CliTest.Run r = CliTest.run("bench", "--attack", "--json", "--model", BASE.get("arithmetic").toString(),
        "--preset", "micro", "--threads", "1", "--attack-steps", "4", "--attack-lrs", "2", "--attack-eval-every", "2",
        "--attack-items", "4");
    assertEquals(0, r.code(), r.err());
    String[] lines = r.out().strip().split("\n");
    assertEquals(1, lines.length, r.out());
    JsonNode n = Json.LINE.readTree(lines[0]);
    for (String k : List.of("sequential_seconds", "ensemble_seconds", "speedup", "sequential_train_seconds",
        "sequential_eval_seconds", "ensemble_train_seconds", "ensemble_eval_seconds", "max_rel_diff")) {
      assertTrue(n.path(k).isNumber() && n.get(k).asDouble() >= 0, k + " in " + n);
    }
    assertEquals(4, n.get("members").asInt(), "2 data x 2 learning rates");
    assertEquals(List.of(1e-3, 7e-4), Json.LINE.convertValue(n.get("lrs"), List.class), "the default grid's first 2");
    assertEquals(4, n.get("steps").asInt());
    assertEquals(2, n.get("eval_every").asInt());
    assertEquals(2, n.get("evals_per_run").asInt());
    assertEquals(16, n.get("eval_items").asInt(), "4 forget cells x 4 problems");
    assertEquals(1, n.get("threads").asInt());
    assertTrue(n.get("same_results").asBoolean(), n.toString());
    assertTrue(n.get("first_difference").isNull());
    assertEquals(4 * 3, n.get("points_compared").asInt(), "4 runs x steps 0, 2, 4");
  }

  @Test
  void sameResultsIsFalseWhenTheAttacksDiffer() {
    for (String setting : List.of("arithmetic", "language")) {
      Relearn.Spec spec = Relearn.Spec.of(config(setting), setting, BASE.get(setting), null);
      Relearn.Result ens = AttackBench.measure(AttackBench.batched(spec, true), tmp.resolve(setting + "-ens")).result();
      Relearn.Result seq = AttackBench.measure(AttackBench.batched(spec, false), tmp.resolve(setting + "-seq"))
          .result();
      AttackBench.Comparison same = AttackBench.compare(seq, ens);
      assertTrue(same.same(), setting + ": " + same.firstDifference());
      assertNull(same.firstDifference());
      assertEquals(4 * 3, same.points());

      // One point moved just past the tolerance: an accuracy by any amount (one item), a CE by 2e-4 relative.
      boolean accuracy = setting.equals("arithmetic");
      Relearn.Point p = ens.curves().get(1).points().get(2);
      double moved = accuracy ? p.forget() + 1.0 / ens.evalItems() : p.forget() * (1 + 2e-4);
      AttackBench.Comparison off = AttackBench.compare(seq, withForget(ens, 1, 2, moved));
      assertFalse(off.same(), setting);
      assertTrue(off.firstDifference().contains("step 4 forget"), off.firstDifference());
      if (!accuracy) {
        // Within the tolerance, a CE point still counts as the same.
        assertTrue(AttackBench.compare(seq, withForget(ens, 1, 2, p.forget() * (1 + 5e-5))).same());
        // Another run seed: other attack data, other curves (a micro model's accuracies are all 0, so only the
        // CE setting can show this).
        Relearn.Spec other = new Relearn.Spec(spec.model(), spec.attack(), spec.eval(), null, spec.seed() + 1);
        Relearn.Result o = AttackBench.measure(other, tmp.resolve(setting + "-other")).result();
        AttackBench.Comparison c = AttackBench.compare(seq, o);
        assertFalse(c.same());
        assertNotNull(c.firstDifference());
        assertTrue(c.maxRelDiff() > AttackBench.CE_RELATIVE_TOLERANCE, "" + c.maxRelDiff());
      }
    }
  }

  /** {@code r} with the forget value of curve {@code c}'s point {@code i} replaced. */
  static Relearn.Result withForget(Relearn.Result r, int c, int i, double forget) {
    List<Relearn.Curve> curves = new ArrayList<>(r.curves());
    Relearn.Curve x = curves.get(c);
    List<Relearn.Point> pts = new ArrayList<>(x.points());
    Relearn.Point p = pts.get(i);
    pts.set(i, new Relearn.Point(p.step(), forget, p.lo(), p.hi(), p.retain()));
    curves.set(c, new Relearn.Curve(x.data(), x.lr(), x.seed(), pts, x.compute()));
    return new Relearn.Result(r.forgetMetric(), r.higherIsMoreForgotten(), r.evalItems(), r.evalWindows(),
        r.worstCase(), r.forgetAt(), r.forgetAtLo(), r.forgetAtHi(), r.auc(), r.threshold(), r.stepsToThreshold(),
        r.compute(), curves, r.provenance());
  }
}
