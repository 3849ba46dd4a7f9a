package dev.undo.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.undo.report.Claims.Claim;
import dev.undo.report.Claims.Verdict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each claim's rule on runs built to pass, fail or fall in between; verdicts come only from the numbers, and the
 * numbers are asserted too. Default intervals: ±0.01 relearned fraction on every forget value (references
 * included), ±0.005 on retain.
 */
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

  private static JsonNode part(Claim c, String setting) {
    return c.numbers().get("settings").get(setting);
  }

  /** Base and filtered of the paper-like run, without any other model. */
  private static void references(SyntheticRun.Setting s, long seed) {
    s.model("base", null, null, seed, 0.95, 0, 1, 1, 1, 1, 1);
    s.model("filtered", null, null, seed, 0.94, SyntheticRun.FILTERED_FLOPS, 0, .05, .1, .15, .25);
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  @Test
  void paperLikeRunPassesEveryClaimWithItsNumbers() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp, "full");
    SyntheticRun.paperLike(run.arithmetic(), 1, 0.95, +1);
    List<Claim> claims = evaluate(run);
    assertEquals(List.of("C1", "C2", "C3", "C4", "C5"), claims.stream().map(Claim::id).toList());
    for (Claim c : claims) {
      assertEquals(Verdict.PASS, c.verdict(), () -> c.id() + " " + c.numbers().toPrettyString());
      assertFalse(c.numbers().get("rule").asText().isBlank());
    }
    JsonNode c1 = part(claim(claims, "C1"), "arithmetic");
    assertEquals(40, c1.get("step").asLong());
    // 0.8 vs 0.1 relearned at step 40; the interval over the four measurements' ends (±0.01 each):
    // (0.79 − 0.11) / (1.01 + 0.01) … (0.81 − 0.09) / (0.99 − 0.01).
    assertEquals(0.7, c1.get("excess").get("mean").asDouble(), 1e-9);
    assertEquals(0.68 / 1.02, c1.get("excess").get("ci").get(0).asDouble(), 1e-9);
    assertEquals(0.72 / 0.98, c1.get("excess").get("ci").get(1).asDouble(), 1e-9);
    assertEquals(0.01, c1.get("kl_teacher_oracle_matching").get("mean").asDouble(), 1e-12);
  }

  // ---- recovery gates every verdict -----------------------------------------------------------------------------

  @Test
  void unrecoveredStudentsMakeEveryClaimThatUsesThemInconclusive() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp, "full");
    SyntheticRun.Setting s = run.arithmetic();
    SyntheticRun.paperLike(s, 1, 0.95, +1);
    for (SyntheticRun.ModelSpec m : s.models) {
      if (m.kind.equals("oracle") || (m.kind.equals("unlearn_distill") && m.method.equals("rmu"))
          || (m.kind.equals("undo") && m.alpha == 0.8)) {
        m.notRecovered();
      }
    }
    List<Claim> claims = evaluate(run);
    Claim c1 = claim(claims, "C1");
    assertEquals(Verdict.INCONCLUSIVE, c1.verdict());
    assertEquals(List.of("student not recovered: oracle_s1"), texts(part(c1, "arithmetic").get("reasons")));
    // The numbers are still reported; they just do not decide.
    assertEquals(0.7, part(c1, "arithmetic").get("excess").get("mean").asDouble(), 1e-9);

    JsonNode c2 = part(claim(claims, "C2"), "arithmetic");
    assertEquals("inconclusive", c2.get("verdict").asText());
    assertEquals("pass", c2.get("methods").get("maxent").get("verdict").asText());
    JsonNode rmu = c2.get("methods").get("rmu");
    assertEquals("inconclusive", rmu.get("verdict").asText());
    assertEquals(List.of("student not recovered: unlearn_distill_rmu_a1.0_s1"), texts(rmu.get("reasons")));
    assertFalse(rmu.get("unlearn_distill_students").get(0).get("recovered").asBoolean());
    assertEquals(400, rmu.get("unlearn_distill_students").get(0).get("steps").asLong());

    Claim c3 = claim(claims, "C3");
    assertEquals(Verdict.INCONCLUSIVE, c3.verdict());
    assertTrue(texts(part(c3, "arithmetic").get("reasons")).contains("student not recovered: undo_maxent_a0.8_s1"));
    Claim c4 = claim(claims, "C4");
    assertEquals(Verdict.INCONCLUSIVE, c4.verdict());
    assertTrue(texts(part(c4, "arithmetic").get("reasons")).get(0).startsWith("student not recovered: "));
    Claim c5 = claim(claims, "C5");
    assertEquals(Verdict.INCONCLUSIVE, c5.verdict());
    assertEquals(0.8, part(c5, "arithmetic").get("methods").get("maxent").get("alpha").get("mean").asDouble());
  }

  @Test
  void oracleMatchingThatDidNotMatchOrLostRetainIsInconclusiveForC1() throws IOException {
    // KL to the oracle 0.08 above its bound 0.05: not "near-identical outputs", whatever the attack shows.
    SyntheticRun kl = new SyntheticRun(tmp.resolve("kl"), "full");
    SyntheticRun.paperLike(kl.arithmetic(), 1, 0.95, +1);
    kl.arithmetic().models.stream().filter(m -> m.kind.equals("oracle_matching")).forEach(m -> m.studentGap(0.08,
        0.05));
    JsonNode n = part(claim(evaluate(kl), "C1"), "arithmetic");
    assertEquals("inconclusive", n.get("verdict").asText());
    assertEquals(List.of("student not recovered: oracle_matching_s1 (kl_teacher 0.08, bound 0.05)"),
        texts(n.get("reasons")));

    // Retain 0.1 below the oracle's (tolerance 0.05): outputs are not near-identical either.
    SyntheticRun retain = new SyntheticRun(tmp.resolve("retain"), "full");
    SyntheticRun.Setting s = retain.arithmetic();
    references(s, 1);
    s.model("oracle", null, null, 1, 0.93, 2e12, 0, .05, .1, .15, .25);
    s.model("oracle_matching", null, null, 1, 0.83, 3e11, 0, .5, .8, .9, .95).studentGap(0.01, 0.05);
    n = part(claim(evaluate(retain), "C1"), "arithmetic");
    assertEquals("inconclusive", n.get("verdict").asText());
    assertEquals(-0.1, n.get("retain_gap_to_oracle").get("mean").asDouble(), 1e-9);
    assertTrue(texts(n.get("reasons")).get(0).contains("not within the distillation tolerance 0.05"));
  }

  @Test
  void oracleMatchingThatRelearnsNoFasterFailsC1() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp, "full");
    SyntheticRun.Setting s = run.language();
    references(s, 1);
    s.model("oracle", null, null, 1, 2.6, 2e12, 0, .1, .2, .3, .4);
    s.model("oracle_matching", null, null, 1, 2.6, 3e11, 0, .1, .15, .3, .4).studentGap(0.01, 0.05);
    Claim c1 = claim(evaluate(run), "C1");
    assertEquals(Verdict.FAIL, c1.verdict());
    JsonNode excess = part(c1, "language").get("excess");
    assertEquals(-0.05, excess.get("mean").asDouble(), 1e-9);
    // Korean CE runs the other way; the interval is the same in relearned-fraction units: the largest is
    // (0.16 − 0.19) / 1.02, entirely below the margin.
    assertEquals(-0.03 / 1.02, excess.get("ci").get(1).asDouble(), 1e-9);
  }

  // ---- intervals decide -----------------------------------------------------------------------------------------

  /** Unlearn relearns 0.4 and Unlearn-and-Distill 0.1 at step 40 (gain 0.3), each ± {@code width}. */
  private SyntheticRun gainOf(String name, double width, double distilledAt40) {
    SyntheticRun run = new SyntheticRun(tmp.resolve(name), "full");
    SyntheticRun.Setting s = run.arithmetic();
    references(s, 1);
    for (String m : SyntheticRun.METHODS) {
      s.model("unlearn", m, null, 1, 0.85, 1e10, .05, .3, .4, .9, .95).forgetHalfWidth(width);
      s.model("unlearn_distill", m, 1.0, 1, 0.9, 1e12, .02, .06, distilledAt40, Math.max(distilledAt40, .18),
          Math.max(distilledAt40, .3)).forgetHalfWidth(width);
    }
    return run;
  }

  @Test
  void theSameGainPassesWithTightIntervalsAndIsInconclusiveWithWideOnes() throws IOException {
    JsonNode tight = part(claim(evaluate(gainOf("tight", 0.01, 0.1)), "C2"), "arithmetic");
    assertEquals("pass", tight.get("verdict").asText());
    JsonNode g = tight.get("methods").get("maxent").get("gain");
    assertEquals(0.3, g.get("mean").asDouble(), 1e-9);
    // (0.39 − 0.11) / (1.01 + 0.01) and (0.41 − 0.09) / (0.99 − 0.01): clear of the 0.2 margin.
    assertEquals(0.28 / 1.02, g.get("ci").get(0).asDouble(), 1e-9);
    assertEquals(0.32 / 0.98, g.get("ci").get(1).asDouble(), 1e-9);

    JsonNode wide = part(claim(evaluate(gainOf("wide", 0.1, 0.1)), "C2"), "arithmetic");
    assertEquals("inconclusive", wide.get("verdict").asText());
    g = wide.get("methods").get("maxent").get("gain");
    assertEquals(0.3, g.get("mean").asDouble(), 1e-9);
    // (0.3 − 0.2) / 1.02 < 0.2 < (0.5 + 0) / 0.98: the interval straddles the margin.
    assertEquals(0.1 / 1.02, g.get("ci").get(0).asDouble(), 1e-9);
    assertEquals(0.5 / 0.98, g.get("ci").get(1).asDouble(), 1e-9);

    // A gain of 0.1 with tight intervals: the whole interval is below the margin.
    JsonNode small = part(claim(evaluate(gainOf("small", 0.01, 0.3)), "C2"), "arithmetic");
    assertEquals("fail", small.get("verdict").asText());
    assertEquals(0.12 / 0.98, small.get("methods").get("rmu").get("gain").get("ci").get(1).asDouble(), 1e-9);
  }

  @Test
  void unlearnAndDistillDistanceToFilteringIsReported() throws IOException {
    JsonNode m = part(claim(evaluate(gainOf("d", 0.01, 0.1)), "C2"), "arithmetic").get("methods").get("graddiff");
    // Unlearn-and-Distill relearned 0.1 at step 40, exactly as much as the filtered model.
    assertEquals(0.0, m.get("shortfall_to_filtered").get("mean").asDouble(), 1e-9);
    assertEquals(0.9, m.get("robustness_unlearn_distill").get("mean").asDouble(), 1e-9);
    assertEquals(0.6, m.get("robustness_unlearn").get("mean").asDouble(), 1e-9);
  }

  @Test
  void severalSeedsUseTheTIntervalOfPerSeedValues() throws IOException {
    // Per-seed C1 excess 0.25, 0.9, -0.1: mean 0.35 clears 0.2, but the t-interval does not.
    SyntheticRun noisy = new SyntheticRun(tmp.resolve("noisy"), "full");
    noisy.seeds = new ArrayList<>(List.of(1L, 2L, 3L));
    SyntheticRun.Setting s = noisy.arithmetic();
    double[] om = {0.35, 1.0, 0.0};
    for (int i = 0; i < 3; i++) {
      long seed = i + 1;
      references(s, seed);
      s.model("oracle", null, null, seed, 0.93, 2e12, 0, .05, .1, .15, .25);
      s.model("oracle_matching", null, null, seed, 0.93, 3e11, 0, om[i] / 2, om[i], 1, 1).studentGap(0.01, 0.05);
    }
    Claim c1 = claim(evaluate(noisy), "C1");
    assertEquals(Verdict.INCONCLUSIVE, c1.verdict());
    JsonNode excess = part(c1, "arithmetic").get("excess");
    assertEquals(3, excess.get("n").asInt());
    assertEquals(0.35, excess.get("mean").asDouble(), 1e-9);
    // Student-t 95% interval with 2 degrees of freedom: 0.35 ± t(0.975, 2) · s / √3, s² = (0.01 + 0.3025 + 0.2025)/2.
    double half = T_975_2 * Math.sqrt(0.2575 / 3);
    assertEquals(2, excess.get("ci").size());
    assertEquals(0.35 - half, excess.get("ci").get(0).asDouble(), 1e-9);
    assertEquals(0.35 + half, excess.get("ci").get(1).asDouble(), 1e-9);
    assertEquals(3, excess.get("per_seed").size());
    assertEquals(0.25, excess.get("per_seed").get("1").get("value").asDouble(), 1e-9);
    assertEquals(0.9, excess.get("per_seed").get("2").get("value").asDouble(), 1e-9);
    assertEquals(-0.1, excess.get("per_seed").get("3").get("value").asDouble(), 1e-9);

    // Three tight seeds: the whole interval clears the margin.
    SyntheticRun tight = new SyntheticRun(tmp.resolve("tight"), "full");
    tight.seeds = new ArrayList<>(List.of(1L, 2L, 3L));
    s = tight.arithmetic();
    double[] tom = {0.78, 0.8, 0.82};
    for (int i = 0; i < 3; i++) {
      long seed = i + 1;
      references(s, seed);
      s.model("oracle", null, null, seed, 0.93, 2e12, 0, .05, .1, .15, .25);
      s.model("oracle_matching", null, null, seed, 0.93, 3e11, 0, tom[i] / 2, tom[i], 1, 1).studentGap(0.01, 0.05);
    }
    Claim t = claim(evaluate(tight), "C1");
    assertEquals(Verdict.PASS, t.verdict());
    // Excess 0.68, 0.70, 0.72: 0.70 ± t(0.975, 2) · 0.02 / √3 = [0.6503, 0.7497], all above 0.2.
    JsonNode te = part(t, "arithmetic").get("excess");
    assertEquals(0.70, te.get("mean").asDouble(), 1e-9);
    assertEquals(0.70 - T_975_2 * 0.02 / Math.sqrt(3), te.get("ci").get(0).asDouble(), 1e-9);
    assertEquals(0.70 + T_975_2 * 0.02 / Math.sqrt(3), te.get("ci").get(1).asDouble(), 1e-9);
  }

  // ---- the worst case is the adversary's running best -------------------------------------------------------

  @Test
  void theWorstCaseIsReadAsWrittenAndOnlyEverGrows() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp, "full");
    SyntheticRun.Setting s = run.arithmetic();
    references(s, 1);
    // One run peaks at step 10 and forgets again; another climbs late. The adversary's running best is
    // 0, .5, .5, .5, .6 — not the per-step maximum 0, .5, .4, .45, .6.
    s.model("unlearn", "maxent", null, 1, 0.9, 1e10, 0, .5, .5, .5, .6)
        .runs(new double[] {0, .5, .3, .2, .1}, new double[] {0, .1, .4, .45, .6});
    run.write();
    Relearning r = new Relearning(RunData.load(run.dir).settings().get(0));
    RunData.Model u = r.find(RunData.Kind.UNLEARN, "maxent", null, 1);
    double previous = -1;
    for (long step : SyntheticRun.STEPS) {
      double v = r.relearned(u, step).v();
      assertTrue(v >= previous, "relearned fraction fell at step " + step);
      previous = v;
    }
    assertEquals(0.5, r.relearned(u, 40).v(), 1e-9);
    assertEquals(0.5, r.relearned(u, 100).v(), 1e-9);
    assertEquals(0.6, r.relearned(u, 500).v(), 1e-9);
  }

  @Test
  void aWorstCaseThatForgetsAgainIsRejected() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp, "full");
    SyntheticRun.Setting s = run.arithmetic();
    references(s, 1);
    s.model("unlearn", "maxent", null, 1, 0.9, 1e10, 0, .5, .3, .3, .3);
    run.write();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunData.load(run.dir));
    assertTrue(e.getMessage().contains("not the running worst case"), e.getMessage());
  }

  // ---- C2 ---------------------------------------------------------------------------------------------------

  @Test
  void aMissingMethodLeavesC2InconclusiveButAFailStillFails() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp.resolve("two"), "full");
    SyntheticRun.Setting s = run.arithmetic();
    references(s, 1);
    for (String m : List.of("graddiff", "maxent")) {
      s.model("unlearn", m, null, 1, 0.85, 1e10, .05, .6, .85, .9, .95);
      s.model("unlearn_distill", m, 1.0, 1, 0.9, 1e12, .02, .06, .12, .18, .3);
    }
    JsonNode n = part(claim(evaluate(run), "C2"), "arithmetic");
    assertEquals("inconclusive", n.get("verdict").asText());
    assertEquals(List.of("rmu"), texts(n.get("missing_methods")));
    assertEquals(List.of("missing method: rmu"), texts(n.get("reasons")));
    assertEquals("pass", n.get("methods").get("maxent").get("verdict").asText());
    assertEquals(0.73, n.get("methods").get("maxent").get("gain").get("mean").asDouble(), 1e-9);

    // Distillation adding nothing for graddiff fails the claim even with rmu missing.
    SyntheticRun bad = new SyntheticRun(tmp.resolve("bad"), "full");
    s = bad.arithmetic();
    references(s, 1);
    s.model("unlearn", "graddiff", null, 1, 0.85, 1e10, .05, .6, .85, .9, .95);
    s.model("unlearn_distill", "graddiff", 1.0, 1, 0.9, 1e12, .05, .6, .85, .9, .95);
    Claim c2 = claim(evaluate(bad), "C2");
    assertEquals(Verdict.FAIL, c2.verdict());
    assertEquals(0.0, part(c2, "arithmetic").get("methods").get("graddiff").get("gain").get("mean").asDouble(),
        1e-9);
  }

  // ---- C3 ---------------------------------------------------------------------------------------------------

  /**
   * UNDO of maxent at {@code alphas} with robustness at step 500 = 0.2 + {@code slope}·α and paper ledger α,
   * plus Unlearn-and-Distill (α = 1) on the same lines when {@code withDistill}.
   */
  private SyntheticRun alphaSweep(String name, double[] alphas, double slope, boolean withDistill) {
    SyntheticRun run = new SyntheticRun(tmp.resolve(name), "full");
    SyntheticRun.Setting s = run.arithmetic();
    references(s, 1);
    for (double a : alphas) {
      double rf = 0.8 - slope * a;
      s.model("undo", "maxent", a, 1, 0.9, 1e11, 0, rf / 2, rf, rf, rf).paperFraction(a);
    }
    if (withDistill) {
      double rf = 0.8 - slope;
      s.model("unlearn_distill", "maxent", 1.0, 1, 0.9, 1e12, 0, rf / 2, rf, rf, rf).paperFraction(1.0);
    }
    return run;
  }

  @Test
  void c3NeedsFiveAlphasIncludingOne() throws IOException {
    JsonNode three = part(claim(evaluate(alphaSweep("three", new double[] {0.2, 0.5}, 0.5, true)), "C3"),
        "arithmetic");
    assertEquals("inconclusive", three.get("verdict").asText());
    assertEquals(List.of("seed 1: 3 alpha values [0.2, 0.5, 1.0], need >= 5 including 1.0"),
        texts(three.get("methods").get("maxent").get("reasons")));

    JsonNode noOne = part(claim(evaluate(alphaSweep("noOne", new double[] {0.1, 0.3, 0.5, 0.7, 0.9}, 0.5,
        false)), "C3"), "arithmetic");
    assertEquals("inconclusive", noOne.get("verdict").asText());
    assertTrue(texts(noOne.get("reasons")).get(0).contains("without 1.0"));
  }

  @Test
  void c3PassesOnAPositiveTrendAndFailsOnANegativeOne() throws IOException {
    double[] alphas = {0.2, 0.4, 0.6, 0.8};
    Claim up = claim(evaluate(alphaSweep("up", alphas, 0.5, true)), "C3");
    assertEquals(Verdict.PASS, up.verdict());
    JsonNode m = part(up, "arithmetic").get("methods").get("maxent");
    assertEquals(0.5, m.get("slope_robustness").get("mean").asDouble(), 1e-9);
    assertEquals(1.0, m.get("slope_paper_fraction").get("mean").asDouble(), 1e-9);
    JsonNode fit = m.get("fits_by_seed").get("1").get("robustness");
    assertEquals(5, fit.get("n").asInt());
    assertEquals(1.0, fit.get("r2").asDouble(), 1e-9);
    assertEquals(1.0, fit.get("monotone").asDouble(), 1e-12);
    assertEquals(0.2, fit.get("intercept").asDouble(), 1e-9);
    // A perfect line has no residual: the interval is the measurement range of the slope, > 0 here.
    double lo = m.get("slope_robustness").get("ci").get(0).asDouble();
    assertTrue(lo > 0 && lo < 0.5, "slope interval " + m.get("slope_robustness"));
    assertEquals(5, m.get("by_alpha").size());
    assertEquals(1.0, m.get("by_alpha").get(4).get("alpha").asDouble());

    Claim down = claim(evaluate(alphaSweep("down", alphas, -0.5, true)), "C3");
    assertEquals(Verdict.FAIL, down.verdict());
    assertEquals(-0.5, part(down, "arithmetic").get("methods").get("maxent").get("slope_robustness").get("mean")
        .asDouble(), 1e-9);
  }

  // ---- C4 ---------------------------------------------------------------------------------------------------

  /**
   * MaxEnt's unlearned model (retain 0.80, relearns to 0.85 by step 40) and, if asked, its RepNoise / SAM variants
   * (the same points), against UNDO's models: Unlearn-and-Distill (α 1.0, retain 0.92, 0.12 at step 40) and UNDO
   * α 0.3 (retain 0.90, 0.4 at step 40).
   */
  private SyntheticRun clearAdvantage(String name, boolean variants) {
    SyntheticRun run = new SyntheticRun(tmp.resolve(name), "full");
    SyntheticRun.Setting s = run.arithmetic();
    references(s, 1);
    s.model("unlearn", "maxent", null, 1, 0.80, 1e10, .05, .6, .85, .9, .95);
    if (variants) {
      s.model("unlearn", "maxent+repnoise", null, 1, 0.80, 1e10, .05, .6, .85, .9, .95);
      s.model("unlearn", "maxent+sam", null, 1, 0.80, 1e10, .05, .6, .85, .9, .95);
    }
    s.model("unlearn_distill", "maxent", 1.0, 1, 0.92, 1e12, .02, .06, .12, .18, .3);
    s.model("undo", "maxent", 0.3, 1, 0.90, 3e11, .06, .2, .4, .5, .6);
    return run;
  }

  @Test
  void c4WithoutRepNoiseAndSamVariantsIsInconclusive() throws IOException {
    JsonNode n = part(claim(evaluate(clearAdvantage("none", false)), "C4"), "arithmetic");
    assertEquals("inconclusive", n.get("verdict").asText());
    assertEquals(List.of("comparison set lacks maxent+repnoise, maxent+sam"), texts(n.get("reasons")));
    // The steps are still evaluated and reported.
    assertEquals("pass", n.get("steps").get("40").get("verdict").asText());
  }

  @Test
  void c4PassesWhenAnUndoModelIsClearOfEveryUnlearnedModel() throws IOException {
    Claim c4 = claim(evaluate(clearAdvantage("clear", true)), "C4");
    assertEquals(Verdict.PASS, c4.verdict());
    JsonNode st = part(c4, "arithmetic").get("steps");
    assertEquals("parity", st.get("0").get("test").asText());
    assertEquals("advantage", st.get("40").get("test").asText());
    JsonNode seed = st.get("40").get("seeds").get("1");
    // Unlearn-and-Distill counts as UNDO at α = 1.0; the unlearned models are the comparison set.
    JsonNode uad = seed.get("undo").get("unlearn_distill_maxent_a1.0_s1");
    assertFalse(uad.get("possibly_dominated").asBoolean());
    assertTrue(uad.get("dominated_by").isNull());
    assertFalse(seed.get("undo").has("unlearn_maxent_s1"));
    // UNDO α 0.3 (0.4 at step 40) is clear of the unlearned models (0.85) on its own too.
    assertTrue(seed.get("noised_student_clear").asBoolean());
    assertEquals(0.92, uad.get("retain").get("value").asDouble(), 1e-12);
  }

  @Test
  void c4AdvantageWithinTheIntervalsIsInconclusiveNotAPass() throws IOException {
    // The unlearned models match UNDO's points within UNDO's ±0.05: nothing is dominated beyond the intervals, but
    // every UNDO model could be, so the attacked steps cannot pass (step 0 only asks for parity and passes).
    SyntheticRun run = new SyntheticRun(tmp.resolve("within"), "full");
    SyntheticRun.Setting s = run.arithmetic();
    references(s, 1);
    for (String m : List.of("maxent", "maxent+repnoise", "maxent+sam")) {
      s.model("unlearn", m, null, 1, 0.90, 1e10, .03, .33, .45, .52, .65);
    }
    s.model("unlearn_distill", "maxent", 1.0, 1, 0.90, 1e12, .02, .3, .4, .5, .6).forgetHalfWidth(0.05)
        .retainHalfWidth(0.05);
    s.model("undo", "maxent", 0.3, 1, 0.90, 3e11, .06, .35, .5, .6, .7).forgetHalfWidth(0.05)
        .retainHalfWidth(0.05);
    Claim c4 = claim(evaluate(run), "C4");
    assertEquals(Verdict.INCONCLUSIVE, c4.verdict());
    JsonNode st = part(c4, "arithmetic").get("steps");
    assertEquals("pass", st.get("0").get("verdict").asText());
    assertEquals("inconclusive", st.get("40").get("verdict").asText());
    JsonNode u = st.get("40").get("seeds").get("1").get("undo").get("unlearn_distill_maxent_a1.0_s1");
    assertTrue(u.get("dominated_by").isNull());
    assertTrue(u.get("possibly_dominated").asBoolean());
  }

  @Test
  void c4FailsWhenAnUnlearnedModelBeatsEveryUndoModelBeyondTheIntervals() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp.resolve("beaten"), "full");
    SyntheticRun.Setting s = run.arithmetic();
    references(s, 1);
    s.model("unlearn", "maxent", null, 1, 0.95, 1e10, .05, .3, .4, .5, .6);
    s.model("unlearn", "maxent+repnoise", null, 1, 0.80, 1e10, .05, .6, .85, .9, .95);
    s.model("unlearn", "maxent+sam", null, 1, 0.80, 1e10, .05, .6, .85, .9, .95);
    s.model("unlearn_distill", "maxent", 1.0, 1, 0.90, 1e12, .5, .8, .9, .95, .97);
    s.model("undo", "maxent", 0.3, 1, 0.88, 3e11, .5, .8, .9, .95, .97);
    Claim c4 = claim(evaluate(run), "C4");
    assertEquals(Verdict.FAIL, c4.verdict());
    JsonNode u = part(c4, "arithmetic").get("steps").get("40").get("seeds").get("1").get("undo")
        .get("undo_maxent_a0.3_s1");
    assertEquals("unlearn_maxent_s1", u.get("dominated_by").asText());
  }

  // ---- C5 ---------------------------------------------------------------------------------------------------

  @Test
  void c5DecidesOnThePaperLedger() throws IOException {
    // Paper ledger 0.7, FLOPs ledger 1.5 (teacher passes and the unlearning run): passes on the paper's ledger.
    SyntheticRun cheap = new SyntheticRun(tmp.resolve("cheap"), "full");
    SyntheticRun.Setting s = cheap.arithmetic();
    references(s, 1);
    s.model("undo", "maxent", 0.8, 1, 0.9, 1.5e12, 0, .1, .15, .2, .28).paperFraction(0.7);
    s.model("undo", "maxent", 0.4, 1, 0.9, 3e11, 0, .3, .5, .55, .6).paperFraction(0.3);
    s.model("unlearn_distill", "maxent", 1.0, 1, 0.9, 2e12, 0, .1, .15, .2, .25).paperFraction(1.2);
    Claim c5 = claim(evaluate(cheap), "C5");
    assertEquals(Verdict.PASS, c5.verdict());
    JsonNode m = part(c5, "arithmetic").get("methods").get("maxent");
    assertEquals(0.8, m.get("alpha").get("mean").asDouble(), "largest alpha below 1, not Unlearn-and-Distill");
    assertEquals(0.7, m.get("paper_fraction").get("mean").asDouble(), 1e-12);
    assertEquals(1.5, m.get("flops_fraction").get("mean").asDouble(), 1e-12);
    assertEquals(0.03, m.get("shortfall").get("mean").asDouble(), 1e-9);
    assertEquals(0.02, m.get("sweep_flops_fraction").get("mean").asDouble(), 1e-12);
    assertEquals(1e-4, m.get("labelled_fraction").get("mean").asDouble(), 1e-12);
    assertEquals(1.0, part(c5, "arithmetic").get("filtered").get("labelled_fraction").get("mean").asDouble());
    assertEquals("pass", m.get("compute_verdict").asText());

    // Paper ledger 1.2 but FLOPs ledger 0.5: fails on the paper's ledger.
    SyntheticRun costly = new SyntheticRun(tmp.resolve("costly"), "full");
    s = costly.arithmetic();
    references(s, 1);
    s.model("undo", "maxent", 0.8, 1, 0.9, 5e11, 0, .1, .15, .2, .28).paperFraction(1.2);
    c5 = claim(evaluate(costly), "C5");
    assertEquals(Verdict.FAIL, c5.verdict());
    m = part(c5, "arithmetic").get("methods").get("maxent");
    assertEquals("pass", m.get("robustness_verdict").asText());
    assertEquals("fail", m.get("compute_verdict").asText());
    assertEquals(0.5, m.get("flops_fraction").get("mean").asDouble(), 1e-12);
  }

  @Test
  void c5ShortfallMustClearTheMargin() throws IOException {
    // 0.15 short of filtering, ±0.02: entirely above the 0.1 margin.
    SyntheticRun weak = new SyntheticRun(tmp.resolve("weak"), "full");
    SyntheticRun.Setting s = weak.arithmetic();
    references(s, 1);
    s.model("undo", "maxent", 0.8, 1, 0.9, 6e11, 0, .1, .2, .3, .4);
    JsonNode m = part(claim(evaluate(weak), "C5"), "arithmetic").get("methods").get("maxent");
    assertEquals("fail", m.get("robustness_verdict").asText());
    assertEquals(0.15, m.get("shortfall").get("mean").asDouble(), 1e-9);
    assertEquals(0.13 / 1.02, m.get("shortfall").get("ci").get(0).asDouble(), 1e-9);

    // 0.1 short: the interval straddles the margin.
    SyntheticRun close = new SyntheticRun(tmp.resolve("close"), "full");
    s = close.arithmetic();
    references(s, 1);
    s.model("undo", "maxent", 0.8, 1, 0.9, 6e11, 0, .1, .2, .3, .35);
    assertEquals(Verdict.INCONCLUSIVE, claim(evaluate(close), "C5").verdict());
  }

  // ---- reading the run --------------------------------------------------------------------------------------

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
    Relearning rel = new Relearning(RunData.load(run.dir).settings().get(0));
    RunData.Model u = rel.find(RunData.Kind.UNLEARN, "maxent", null, 2);
    assertEquals(0.5, rel.relearned(u, 40).v(), 1e-9); // (0.3 − 0.1) / (0.5 − 0.1)
  }

  @Test
  void unknownModelKindIsAnError() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp, "full");
    SyntheticRun.Setting s = run.arithmetic();
    references(s, 1);
    s.model("finetune", null, null, 1, 0.9, 0, 0, 0, 0, 0, 0);
    run.write();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunData.load(run.dir));
    assertTrue(e.getMessage().contains("finetune"), e.getMessage());
  }

  @Test
  void attackOnAnotherMetricIsAnError() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp, "full");
    references(run.arithmetic(), 1);
    run.write();
    Path attack = run.dir.resolve("arithmetic/attack/base_s1/attack.json");
    Files.writeString(attack, Files.readString(attack).replace("\"forget_acc\"", "\"kor_ce\""));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunData.load(run.dir));
    assertTrue(e.getMessage().contains("kor_ce"), e.getMessage());
  }

  @Test
  void anOldFormatManifestIsAnErrorThatSaysSo() throws IOException {
    Files.createDirectories(tmp);
    Files.writeString(tmp.resolve("manifest.json"), "{\"preset\": \"quick\", \"seed\": 1, \"settings\": {"
        + "\"arithmetic\": {\"forget_metric\": \"forget_acc\", \"higher_is_more_forgotten\": false, "
        + "\"retain_metric\": \"retain_acc\", \"retain_higher_is_better\": true, \"models\": [{\"name\": \"base\", "
        + "\"kind\": \"base\", \"kl_to_teacher\": null}]}}}");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunData.load(tmp));
    assertTrue(e.getMessage().contains("not supported"), e.getMessage());
  }
}
