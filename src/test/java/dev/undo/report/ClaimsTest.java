package dev.undo.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.undo.report.Claims.Claim;
import dev.undo.report.Claims.Verdict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each claim's rule on runs built to pass, fail or fall in between; verdicts come only from the numbers. */
class ClaimsTest {
  /** Student-t quantile t(0.975, 2), for 95% intervals over three seeds. */
  static final double T_975_2 = 4.302652729749464;

  @TempDir
  Path tmp;

  private List<Claim> evaluate(SyntheticRun run) throws IOException {
    run.write();
    return Claims.evaluate(RunData.load(run.dir));
  }

  private static Claim claim(List<Claim> claims, String id) {
    return claims.stream().filter(c -> c.id().equals(id)).findFirst().orElseThrow();
  }

  /** Base, filtered and oracle of the paper-like run, without any unlearning models. */
  private static void references(SyntheticRun.Setting s, long seed) {
    s.model("base", null, null, seed, 0.95, 0, 1, 1, 1, 1, 1);
    s.model("filtered", null, null, seed, 0.94, SyntheticRun.FILTERED_FLOPS, 0, .05, .1, .15, .25);
  }

  @Test
  void claimsComeInOrderWithOneVerdictEach() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp, "quick");
    SyntheticRun.paperLike(run.arithmetic(), 1234, 0.95, +1);
    List<Claim> claims = evaluate(run);
    assertEquals(List.of("C1", "C2", "C3", "C4", "C5"), claims.stream().map(Claim::id).toList());
  }

  @Test
  void distillationNoMoreRobustThanUnlearningFailsC2() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp, "quick");
    SyntheticRun.Setting s = run.arithmetic();
    references(s, 1);
    for (String m : SyntheticRun.METHODS) {
      s.model("unlearn", m, null, 1, 0.85, 1e10, .05, .6, .85, .9, .95);
      // Same curve as Unlearn for rmu: distillation added nothing there.
      double[] distilled = m.equals("rmu") ? new double[] {.05, .6, .85, .9, .95}
          : new double[] {.02, .06, .12, .18, .3};
      s.model("unlearn_distill", m, null, 1, 0.9, 1e12, distilled);
    }
    Claim c2 = claim(evaluate(run), "C2");
    assertEquals(Verdict.FAIL, c2.verdict());
    JsonNode methods = c2.numbers().get("settings").get("arithmetic").get("methods");
    assertEquals("pass", methods.get("maxent").get("verdict").asText());
    assertEquals("fail", methods.get("rmu").get("verdict").asText());
    assertEquals(0.0, methods.get("rmu").get("gain").get("mean").asDouble(), 1e-12);
    // How close Unlearn-and-Distill gets to filtering: robustness 0.88 vs filtered's 0.9 at step 40.
    assertEquals(0.02, methods.get("maxent").get("unlearn_distill_shortfall_to_filtered").get("mean").asDouble(),
        1e-9);
  }

  @Test
  void smallDistillationGainIsInconclusiveForC2() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp, "quick");
    SyntheticRun.Setting s = run.arithmetic();
    references(s, 1);
    s.model("unlearn", "maxent", null, 1, 0.85, 1e10, .05, .3, .5, .9, .95);
    s.model("unlearn_distill", "maxent", null, 1, 0.85, 1e12, .05, .3, .4, .9, .95); // +0.1 at step 40
    assertEquals(Verdict.INCONCLUSIVE, claim(evaluate(run), "C2").verdict());
  }

  @Test
  void oracleMatchingThatRelearnsNoFasterFailsC1() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp, "quick");
    SyntheticRun.Setting s = run.language();
    references(s, 1);
    s.model("oracle", null, null, 1, 2.6, 2e12, 0, .1, .2, .3, .4);
    s.model("oracle_matching", null, null, 1, 2.6, 3e11, 0, .1, .15, .3, .4);
    Claim c1 = claim(evaluate(run), "C1");
    assertEquals(Verdict.FAIL, c1.verdict());
    assertEquals(-0.05, c1.numbers().get("settings").get("language").get("excess").get("mean").asDouble(), 1e-9);
    assertTrue(c1.numbers().get("settings").get("language").get("kl_to_teacher").isNull());
  }

  @Test
  void settingWithoutOraclesLeavesC1InconclusiveAndOtherSettingCannotRescueIt() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp, "quick");
    SyntheticRun.paperLike(run.arithmetic(), 1, 0.95, +1);
    references(run.language(), 1);
    List<Claim> claims = evaluate(run);
    Claim c1 = claim(claims, "C1");
    assertEquals(Verdict.INCONCLUSIVE, c1.verdict());
    assertEquals("pass", c1.numbers().get("settings").get("arithmetic").get("verdict").asText());
    assertEquals("inconclusive", c1.numbers().get("settings").get("language").get("verdict").asText());
  }

  @Test
  void c3FollowsTheDirectionOfTheAlphaTrend() throws IOException {
    // Monotone in α: compute and robustness both grow.
    SyntheticRun up = new SyntheticRun(tmp.resolve("up"), "quick");
    SyntheticRun.Setting s = up.arithmetic();
    references(s, 1);
    double[] alphas = {0.1, 0.3, 0.5, 0.7};
    for (int i = 0; i < alphas.length; i++) {
      double rf = 0.8 - 0.2 * i;
      s.model("undo", "maxent", alphas[i], 1, 0.9, 1e11 * (i + 1), 0, rf / 2, rf, rf, rf);
    }
    Claim pass = claim(evaluate(up), "C3");
    assertEquals(Verdict.PASS, pass.verdict());
    JsonNode m = pass.numbers().get("settings").get("arithmetic").get("methods").get("maxent");
    assertEquals(1.0, m.get("spearman_alpha_compute").get("mean").asDouble(), 1e-12);
    assertEquals(1.0, m.get("spearman_alpha_robustness").get("mean").asDouble(), 1e-12);
    assertEquals(4, m.get("by_alpha").size());

    // Robustness falling with α: fails even though compute still grows.
    SyntheticRun down = new SyntheticRun(tmp.resolve("down"), "quick");
    s = down.arithmetic();
    references(s, 1);
    for (int i = 0; i < alphas.length; i++) {
      double rf = 0.2 + 0.2 * i;
      s.model("undo", "maxent", alphas[i], 1, 0.9, 1e11 * (i + 1), 0, rf / 2, rf, rf, rf);
    }
    assertEquals(Verdict.FAIL, claim(evaluate(down), "C3").verdict());

    // Two α values are not a trend.
    SyntheticRun two = new SyntheticRun(tmp.resolve("two"), "quick");
    s = two.arithmetic();
    references(s, 1);
    s.model("undo", "maxent", 0.2, 1, 0.9, 1e11, 0, .4, .8, .8, .8);
    s.model("undo", "maxent", 0.6, 1, 0.9, 3e11, 0, .1, .2, .2, .2);
    assertEquals(Verdict.INCONCLUSIVE, claim(evaluate(two), "C3").verdict());
  }

  @Test
  void constantComputeOverAlphaFailsC3() throws IOException {
    // Every distillation hitting the same step cap: compute does not grow with α, whatever robustness does.
    SyntheticRun run = new SyntheticRun(tmp, "quick");
    SyntheticRun.Setting s = run.arithmetic();
    references(s, 1);
    s.model("undo", "rmu", 0.2, 1, 0.9, 5e11, 0, .4, .8, .8, .8);
    s.model("undo", "rmu", 0.5, 1, 0.9, 5e11, 0, .2, .5, .5, .5);
    s.model("undo", "rmu", 0.8, 1, 0.9, 5e11, 0, .1, .2, .2, .2);
    Claim c3 = claim(evaluate(run), "C3");
    assertEquals(Verdict.FAIL, c3.verdict());
    assertEquals(0.0, c3.numbers().get("settings").get("arithmetic").get("methods").get("rmu")
        .get("spearman_alpha_compute").get("mean").asDouble());
  }

  @Test
  void dominatedUndoFailsC4AtThatStep() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp, "quick");
    SyntheticRun.Setting s = run.arithmetic();
    references(s, 1);
    s.model("unlearn", "maxent", null, 1, 0.80, 1e10, .05, .6, .85, .9, .95);
    // Unlearn-and-Distill keeps more retain accuracy and is more forgotten at every step than this UNDO.
    s.model("unlearn_distill", "maxent", null, 1, 0.92, 1e12, .02, .06, .12, .18, .3);
    s.model("undo", "maxent", 0.3, 1, 0.90, 3e11, .03, .2, .4, .5, .6);
    Claim c4 = claim(evaluate(run), "C4");
    assertEquals(Verdict.FAIL, c4.verdict());
    JsonNode steps = c4.numbers().get("settings").get("arithmetic").get("steps");
    for (String step : List.of("0", "40", "500")) {
      assertEquals("fail", steps.get(step).get("verdict").asText(), step);
      assertEquals(List.of("unlearn_distill_maxent_s1"), names(steps.get(step).get("frontier_by_seed").get("1")));
    }
  }

  @Test
  void undoWithBestRetainIsOnTheFrontierEvenWhenItRelearnsMore() throws IOException {
    // In the language setting lower English CE is better retain and higher Korean CE is more forgotten.
    SyntheticRun run = new SyntheticRun(tmp, "quick");
    SyntheticRun.Setting s = run.language();
    references(s, 1);
    s.model("unlearn_distill", "maxent", null, 1, 2.8, 1e12, .02, .06, .12, .18, .3);
    s.model("undo", "maxent", 0.3, 1, 2.6, 3e11, .03, .2, .4, .5, .6);
    Claim c4 = claim(evaluate(run), "C4");
    assertEquals(Verdict.PASS, c4.verdict());
    JsonNode front = c4.numbers().get("settings").get("language").get("steps").get("40").get("frontier_by_seed");
    assertEquals(2, front.get("1").size());
  }

  @Test
  void c5FailsOnComputeOrOnRobustnessAndPassesOnlyWithBoth() throws IOException {
    // Robust enough (0.72 vs filtered 0.75) but more compute than the filtering pretrain.
    SyntheticRun costly = new SyntheticRun(tmp.resolve("costly"), "quick");
    SyntheticRun.Setting s = costly.arithmetic();
    references(s, 1);
    s.model("undo", "maxent", 0.8, 1, 0.9, 1.2e12, 0, .1, .15, .2, .28);
    Claim c5 = claim(evaluate(costly), "C5");
    assertEquals(Verdict.FAIL, c5.verdict());
    JsonNode m = c5.numbers().get("settings").get("arithmetic").get("methods").get("maxent");
    assertEquals("pass", m.get("robustness_verdict").asText());
    assertEquals("fail", m.get("compute_verdict").asText());
    assertEquals(1.2, m.get("compute_fraction_of_filtered").get("mean").asDouble(), 1e-9);

    // Cheap but far less robust than filtering (0.4 vs 0.75) at its largest α; a smaller α must not be chosen.
    SyntheticRun weak = new SyntheticRun(tmp.resolve("weak"), "quick");
    s = weak.arithmetic();
    references(s, 1);
    s.model("undo", "maxent", 0.8, 1, 0.9, 6e11, 0, .3, .5, .55, .6);
    s.model("undo", "maxent", 0.4, 1, 0.9, 3e11, 0, .1, .15, .2, .25);
    c5 = claim(evaluate(weak), "C5");
    assertEquals(Verdict.FAIL, c5.verdict());
    m = c5.numbers().get("settings").get("arithmetic").get("methods").get("maxent");
    assertEquals(0.8, m.get("alpha").get("mean").asDouble());
    assertEquals(0.35, m.get("shortfall").get("mean").asDouble(), 1e-9);

    // In between: 0.15 short of filtering is neither a match nor a clear miss.
    SyntheticRun close = new SyntheticRun(tmp.resolve("close"), "quick");
    s = close.arithmetic();
    references(s, 1);
    s.model("undo", "maxent", 0.8, 1, 0.9, 6e11, 0, .1, .2, .3, .4);
    assertEquals(Verdict.INCONCLUSIVE, claim(evaluate(close), "C5").verdict());
  }

  @Test
  void severalSeedsUseTheConfidenceInterval() throws IOException {
    // Per-seed C1 excess 0.25, 0.9, -0.1: mean 0.35 clears 0.2, but the interval does not.
    SyntheticRun noisy = new SyntheticRun(tmp.resolve("noisy"), "full");
    noisy.manifest.putArray("seeds").add(1).add(2).add(3);
    SyntheticRun.Setting s = noisy.arithmetic();
    double[] om = {0.35, 1.0, 0.0};
    for (int i = 0; i < 3; i++) {
      long seed = i + 1;
      references(s, seed);
      s.model("oracle", null, null, seed, 0.93, 2e12, 0, .05, .1, .15, .25);
      s.model("oracle_matching", null, null, seed, 0.93, 3e11, 0, om[i] / 2, om[i], 1, 1);
    }
    Claim c1 = claim(evaluate(noisy), "C1");
    assertEquals(Verdict.INCONCLUSIVE, c1.verdict());
    JsonNode excess = c1.numbers().get("settings").get("arithmetic").get("excess");
    assertEquals(3, excess.get("n").asInt());
    assertEquals(0.35, excess.get("mean").asDouble(), 1e-9);
    // Student-t 95% interval with 2 degrees of freedom: 0.35 ± t(0.975, 2) · s / √3, s² = (0.01 + 0.3025 + 0.2025)/2.
    double half = T_975_2 * Math.sqrt(0.2575 / 3);
    assertEquals(2, excess.get("ci").size());
    assertEquals(0.35 - half, excess.get("ci").get(0).asDouble(), 1e-9);
    assertEquals(0.35 + half, excess.get("ci").get(1).asDouble(), 1e-9);
    assertEquals(3, excess.get("per_seed").size());
    assertEquals(0.25, excess.get("per_seed").get("1").asDouble(), 1e-9);
    assertEquals(0.9, excess.get("per_seed").get("2").asDouble(), 1e-9);
    assertEquals(-0.1, excess.get("per_seed").get("3").asDouble(), 1e-9);

    // The same mean from one seed passes: with no interval the value itself decides.
    SyntheticRun single = new SyntheticRun(tmp.resolve("single"), "quick");
    s = single.arithmetic();
    references(s, 1);
    s.model("oracle", null, null, 1, 0.93, 2e12, 0, .05, .1, .15, .25);
    s.model("oracle_matching", null, null, 1, 0.93, 3e11, 0, .2, .45, 1, 1);
    assertEquals(Verdict.PASS, claim(evaluate(single), "C1").verdict());

    // Three tight seeds: the whole interval clears the threshold.
    SyntheticRun tight = new SyntheticRun(tmp.resolve("tight"), "full");
    s = tight.arithmetic();
    double[] tom = {0.78, 0.8, 0.82};
    for (int i = 0; i < 3; i++) {
      long seed = i + 1;
      references(s, seed);
      s.model("oracle", null, null, seed, 0.93, 2e12, 0, .05, .1, .15, .25);
      s.model("oracle_matching", null, null, seed, 0.93, 3e11, 0, tom[i] / 2, tom[i], 1, 1);
    }
    Claim t = claim(evaluate(tight), "C1");
    assertEquals(Verdict.PASS, t.verdict());
    // Excess 0.68, 0.70, 0.72: 0.70 ± t(0.975, 2) · 0.02 / √3 = [0.6503, 0.7497], all above 0.2.
    JsonNode te = t.numbers().get("settings").get("arithmetic").get("excess");
    assertEquals(0.70, te.get("mean").asDouble(), 1e-9);
    assertEquals(0.70 - T_975_2 * 0.02 / Math.sqrt(3), te.get("ci").get(0).asDouble(), 1e-9);
    assertEquals(0.70 + T_975_2 * 0.02 / Math.sqrt(3), te.get("ci").get(1).asDouble(), 1e-9);
  }

  @Test
  void seedsAreNormalisedByTheirOwnReferences() throws IOException {
    // Seed 2's base learned less (0.5 instead of 0.9): the same raw accuracy is a larger fraction of it.
    SyntheticRun run = new SyntheticRun(tmp, "full");
    SyntheticRun.Setting s = run.arithmetic();
    references(s, 1);
    s.model("base", null, null, 2, 0.95, 0, 0.5, 0.5, 0.5, 0.5, 0.5); // 0.1 + 0.5·0.8 = 0.5 accuracy
    s.model("filtered", null, null, 2, 0.94, SyntheticRun.FILTERED_FLOPS, 0, 0, 0, 0, 0);
    s.model("unlearn", "maxent", null, 2, 0.9, 1e10, 0, .25, .25, .25, .25); // accuracy 0.3
    run.write();
    RunData.Run r = RunData.load(run.dir);
    Relearning rel = new Relearning(r.settings().get(0));
    RunData.Model u = rel.find(RunData.Kind.UNLEARN, "maxent", null, 2);
    assertEquals(0.5, rel.relearned(u, 40), 1e-9); // (0.3 − 0.1) / (0.5 − 0.1)
  }

  @Test
  void unknownModelKindIsAnError() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp, "quick");
    SyntheticRun.Setting s = run.arithmetic();
    references(s, 1);
    s.model("finetune", null, null, 1, 0.9, 0, 0, 0, 0, 0, 0);
    run.write();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunData.load(run.dir));
    assertTrue(e.getMessage().contains("finetune"), e.getMessage());
  }

  @Test
  void attackOnAnotherMetricIsAnError() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp, "quick");
    references(run.arithmetic(), 1);
    run.write();
    Path attack = run.dir.resolve("arithmetic/attack/base_s1/attack.json");
    Files.writeString(attack, Files.readString(attack).replace("\"forget_acc\"", "\"kor_ce\""));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunData.load(run.dir));
    assertTrue(e.getMessage().contains("kor_ce"), e.getMessage());
  }

  private static List<String> names(JsonNode array) {
    List<String> out = new java.util.ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }
}
