package dev.undo.report;

import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.report.RunData.Kind;
import dev.undo.report.RunData.Model;
import dev.undo.report.RunData.Run;
import dev.undo.report.RunData.Setting;
import dev.undo.report.Stats.Estimate;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Checks docs/PROTOCOL.md's claims C1–C5 against a run's numbers. Nothing here knows what the answer should be: each claim
 * is a rule over relearned fractions, robustness and compute (see {@link Relearning}), with its thresholds as the
 * named constants below, and the rule text is written into the claim's {@code numbers} next to the values it was
 * applied to.
 *
 * <p>Seeds: a claim quantity is computed once per seed (with that seed's models and references) and summarised as
 * a mean with a {@link Stats#CONFIDENCE} Student-t interval. A pass needs the whole interval on the passing side of
 * the pass threshold, a fail needs the whole interval on the failing side of the fail line; with one seed the
 * interval is the value itself and {@code "ci"} is null.
 *
 * <p>Settings: each claim is checked per setting; the claim passes only if it passes in every setting present,
 * fails if it fails in any, and is otherwise inconclusive (including when a setting lacks the models it needs).
 */
public final class Claims {
  /** C1: oracle matching must relearn at least this much more (in relearned fraction) than the oracle. */
  static final double C1_PASS_EXCESS = 0.2;
  /** C1 fails when oracle matching relearns no more than the oracle. */
  static final double C1_FAIL_EXCESS = 0.0;
  /** C2: Unlearn-and-Distill must be at least this much more robust than Unlearn, for every method. */
  static final double C2_PASS_GAIN = 0.2;
  /** C2 fails when distillation does not add robustness for some method. */
  static final double C2_FAIL_GAIN = 0.0;
  /** C3 needs this many distinct α values of one method to speak of a trend. */
  static final int C3_MIN_ALPHAS = 3;
  /** C3: Spearman's ρ of α with added compute and with robustness must both reach this. */
  static final double C3_PASS_RHO = 0.5;
  /** C3 fails when either correlation is not positive. */
  static final double C3_FAIL_RHO = 0.0;
  /** C5: the strongest UNDO may fall short of data filtering's robustness by at most this much. */
  static final double C5_PASS_SHORTFALL = 0.1;
  /** C5 fails when the strongest UNDO falls short of data filtering's robustness by more than this. */
  static final double C5_FAIL_SHORTFALL = 0.25;
  /** C5: the strongest UNDO's added compute must stay below this fraction of the data-filtering pretrain. */
  static final double C5_MAX_COMPUTE_FRACTION = 1.0;

  static final String C1_STATEMENT = "Oracle matching is not robust: fine-tuning the pretrained model to match the "
      + "oracle's outputs yields near-identical outputs, yet it relearns the forget capability much faster than the "
      + "oracle (a random-init student distilled from the data-filtered model).";
  static final String C2_STATEMENT = "Unlearn-and-Distill is much more robust to relearning than Unlearn alone, for "
      + "GradDiff, MaxEnt and RMU, often close to data filtering.";
  static final String C3_STATEMENT = "With UNDO, robustness and distillation compute both grow with the noise "
      + "level α, roughly linearly.";
  static final String C4_STATEMENT = "UNDO is on the Pareto frontier of (retain performance, worst-case forget "
      + "performance) after each reported number of relearning steps, against the unlearning methods, their "
      + "variants and Unlearn-and-Distill.";
  static final String C5_STATEMENT = "At its strongest setting UNDO matches data-filtering robustness with less "
      + "compute than the data-filtering pretrain (the paper: 60-80% of it).";

  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Set<Kind> UNLEARNING_KINDS = EnumSet.of(Kind.UNLEARN, Kind.UNLEARN_DISTILL, Kind.UNDO);

  private Claims() {}

  /** A claim's verdict, written in lower case in claims.json. */
  public enum Verdict {
    PASS,
    FAIL,
    INCONCLUSIVE;

    @JsonValue
    public String wire() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Every part must pass; one failing part fails the whole; no parts at all is no evidence. */
    static Verdict all(List<Verdict> parts) {
      if (parts.contains(FAIL)) {
        return FAIL;
      }
      return !parts.isEmpty() && parts.stream().allMatch(v -> v == PASS) ? PASS : INCONCLUSIVE;
    }

    /** Some part must pass; the whole fails only if every part fails. */
    static Verdict any(List<Verdict> parts) {
      if (parts.contains(PASS)) {
        return PASS;
      }
      return !parts.isEmpty() && parts.stream().allMatch(v -> v == FAIL) ? FAIL : INCONCLUSIVE;
    }
  }

  /** One entry of claims.json; {@code numbers} holds the rule, the thresholds and the per-setting values. */
  public record Claim(String id, String statement, Verdict verdict, ObjectNode numbers) {}

  /** A claim checked on one setting: its verdict and the numbers behind it. */
  private record Part(Verdict verdict, ObjectNode numbers) {}

  static List<Claim> evaluate(Run run) {
    List<Relearning> settings = new ArrayList<>();
    for (Setting s : run.settings()) {
      settings.add(new Relearning(s));
    }
    ObjectNode t1 = MAPPER.createObjectNode().put("pass_excess", C1_PASS_EXCESS).put("fail_excess", C1_FAIL_EXCESS);
    ObjectNode t2 = MAPPER.createObjectNode().put("pass_gain", C2_PASS_GAIN).put("fail_gain", C2_FAIL_GAIN);
    ObjectNode t3 = MAPPER.createObjectNode().put("min_alphas", C3_MIN_ALPHAS).put("pass_rho", C3_PASS_RHO)
        .put("fail_rho", C3_FAIL_RHO);
    ObjectNode t5 = MAPPER.createObjectNode().put("pass_shortfall", C5_PASS_SHORTFALL)
        .put("fail_shortfall", C5_FAIL_SHORTFALL).put("max_compute_fraction", C5_MAX_COMPUTE_FRACTION);
    return List.of(
        claim("C1", C1_STATEMENT, "excess = relearned(oracle_matching) - relearned(oracle) at the middle report step; "
            + "pass if excess >= " + C1_PASS_EXCESS + ", fail if excess <= " + C1_FAIL_EXCESS
            + ", else inconclusive" + SEEDS_RULE, t1, settings, Claims::c1),
        claim("C2", C2_STATEMENT, "gain = robustness(unlearn_distill) - robustness(unlearn) of the same method at the "
            + "middle report step, for every method with both models; pass if gain >= " + C2_PASS_GAIN
            + " for every method, fail if gain <= " + C2_FAIL_GAIN + " for any method, else inconclusive"
            + SEEDS_RULE, t2, settings, Claims::c2),
        claim("C3", C3_STATEMENT, "for every method with >= " + C3_MIN_ALPHAS + " UNDO alpha values: rho_compute = "
            + "Spearman(alpha, added compute), rho_robustness = Spearman(alpha, robustness at the last report step), "
            + "criterion = min of the two (a constant series scores 0); pass if criterion >= " + C3_PASS_RHO
            + " for every such method, fail if criterion <= " + C3_FAIL_RHO + " for any, else inconclusive"
            + SEEDS_RULE, t3, settings, Claims::c3),
        claim("C4", C4_STATEMENT, "at each report step, per seed, the non-dominated set of (retain metric, worst-case "
            + "forget) over all unlearn, unlearn_distill and undo models (directions from the manifest); a step "
            + "passes if an UNDO model is non-dominated in every seed and fails if in none; the setting passes if "
            + "every step passes and fails if any step fails, else inconclusive", null, settings, Claims::c4),
        claim("C5", C5_STATEMENT, "per method, the UNDO model with the largest alpha: shortfall = robustness(filtered) "
            + "- robustness(UNDO) at the last report step (negative = more robust than filtering), compute = its "
            + "added compute / filtered pretrain compute; the method passes if shortfall <= " + C5_PASS_SHORTFALL
            + " and compute < " + C5_MAX_COMPUTE_FRACTION + ", fails if shortfall > " + C5_FAIL_SHORTFALL
            + " or compute >= " + C5_MAX_COMPUTE_FRACTION + "; the setting passes if some method passes and fails "
            + "if every method fails, else inconclusive" + SEEDS_RULE, t5, settings, Claims::c5));
  }

  private static final String SEEDS_RULE = "; with several seeds the quantity is a per-seed mean and a pass needs "
      + "its 95% t-interval entirely past the pass threshold, a fail entirely past the fail line";

  private static Claim claim(String id, String statement, String rule, ObjectNode thresholds,
      List<Relearning> settings, Function<Relearning, Part> check) {
    ObjectNode numbers = MAPPER.createObjectNode();
    numbers.put("rule", rule);
    if (thresholds != null) {
      numbers.set("thresholds", thresholds);
    }
    ObjectNode per = numbers.putObject("settings");
    List<Verdict> verdicts = new ArrayList<>();
    for (Relearning r : settings) {
      Part p = check.apply(r);
      per.set(r.setting.name(), p.numbers());
      verdicts.add(p.verdict());
    }
    return new Claim(id, statement, Verdict.all(verdicts), numbers);
  }

  // ---- C1 -------------------------------------------------------------------------------------------------------

  private static Part c1(Relearning r) {
    Long step = r.middleStep();
    if (step == null) {
      return missing("no attacked report steps");
    }
    Map<Long, Double> matching = new LinkedHashMap<>();
    Map<Long, Double> oracle = new LinkedHashMap<>();
    Map<Long, Double> excess = new LinkedHashMap<>();
    Map<Long, Double> kl = new LinkedHashMap<>();
    for (long seed : r.seeds()) {
      Model o = r.find(Kind.ORACLE, null, null, seed);
      Model m = r.find(Kind.ORACLE_MATCHING, null, null, seed);
      if (o == null || m == null) {
        continue;
      }
      double rm = r.relearned(m, step);
      double ro = r.relearned(o, step);
      matching.put(seed, rm);
      oracle.put(seed, ro);
      excess.put(seed, rm - ro);
      if (m.klToTeacher() != null) {
        kl.put(seed, m.klToTeacher());
      }
    }
    if (excess.isEmpty()) {
      return missing("no seed has both an oracle and an oracle-matching model");
    }
    Estimate e = Stats.estimate(excess);
    Verdict v = atLeast(e, C1_PASS_EXCESS, C1_FAIL_EXCESS);
    ObjectNode n = MAPPER.createObjectNode();
    n.put("verdict", v.wire());
    n.put("step", step);
    Estimate em = Stats.estimate(matching);
    Estimate eo = Stats.estimate(oracle);
    n.set("relearned_oracle_matching", json(em));
    n.set("relearned_oracle", json(eo));
    n.set("excess", json(e));
    if (!kl.isEmpty()) {
      n.set("kl_to_teacher", json(Stats.estimate(kl)));
    } else {
      n.putNull("kl_to_teacher");
    }
    n.put("summary", "step " + step + ": relearned oracle matching " + show(em) + " vs oracle " + show(eo)
        + ", excess " + show(e) + (kl.isEmpty() ? "" : "; KL to teacher " + show(Stats.estimate(kl))));
    return new Part(v, n);
  }

  // ---- C2 -------------------------------------------------------------------------------------------------------

  private static Part c2(Relearning r) {
    Long step = r.middleStep();
    if (step == null) {
      return missing("no attacked report steps");
    }
    List<String> methods = new ArrayList<>(r.methods(Kind.UNLEARN_DISTILL));
    methods.retainAll(r.methods(Kind.UNLEARN));
    if (methods.isEmpty()) {
      return missing("no method has both an unlearn and an unlearn_distill model");
    }
    ObjectNode n = MAPPER.createObjectNode();
    n.put("step", step);
    ObjectNode per = n.putObject("methods");
    List<Verdict> verdicts = new ArrayList<>();
    List<String> summary = new ArrayList<>();
    for (String method : methods) {
      Map<Long, Double> ru = new LinkedHashMap<>();
      Map<Long, Double> rd = new LinkedHashMap<>();
      Map<Long, Double> rf = new LinkedHashMap<>();
      Map<Long, Double> gain = new LinkedHashMap<>();
      Map<Long, Double> gapToFiltered = new LinkedHashMap<>();
      for (long seed : r.seeds()) {
        Model u = r.find(Kind.UNLEARN, method, null, seed);
        Model d = r.find(Kind.UNLEARN_DISTILL, method, null, seed);
        if (u == null || d == null) {
          continue;
        }
        double robU = r.robustness(u, step);
        double robD = r.robustness(d, step);
        double robF = r.robustness(r.reference(Kind.FILTERED, seed), step);
        ru.put(seed, robU);
        rd.put(seed, robD);
        rf.put(seed, robF);
        gain.put(seed, robD - robU);
        gapToFiltered.put(seed, robF - robD);
      }
      Estimate g = Stats.estimate(gain);
      Verdict v = atLeast(g, C2_PASS_GAIN, C2_FAIL_GAIN);
      verdicts.add(v);
      ObjectNode m = per.putObject(method);
      m.put("verdict", v.wire());
      m.set("robustness_unlearn", json(Stats.estimate(ru)));
      m.set("robustness_unlearn_distill", json(Stats.estimate(rd)));
      m.set("robustness_filtered", json(Stats.estimate(rf)));
      m.set("gain", json(g));
      m.set("unlearn_distill_shortfall_to_filtered", json(Stats.estimate(gapToFiltered)));
      summary.add(method + ": robustness " + show(Stats.estimate(ru)) + " -> " + show(Stats.estimate(rd))
          + " (filtered " + show(Stats.estimate(rf)) + ") " + v.wire());
    }
    Verdict v = Verdict.all(verdicts);
    n.put("verdict", v.wire());
    n.put("summary", "step " + step + ": " + String.join("; ", summary));
    return new Part(v, n);
  }

  // ---- C3 -------------------------------------------------------------------------------------------------------

  private static Part c3(Relearning r) {
    Long step = r.lastStep();
    if (step == null) {
      return missing("no attacked report steps");
    }
    ObjectNode n = MAPPER.createObjectNode();
    n.put("step", step);
    ObjectNode per = n.putObject("methods");
    List<Verdict> verdicts = new ArrayList<>();
    List<String> summary = new ArrayList<>();
    for (String method : r.methods(Kind.UNDO)) {
      Map<Long, Double> rhoCompute = new LinkedHashMap<>();
      Map<Long, Double> rhoRobust = new LinkedHashMap<>();
      Map<Long, Double> criterion = new LinkedHashMap<>();
      Map<Long, Double> linCompute = new LinkedHashMap<>();
      Map<Long, Double> linRobust = new LinkedHashMap<>();
      // α → per-seed values, for the table of the trend itself.
      TreeMap<Double, List<double[]>> byAlpha = new TreeMap<>();
      for (long seed : r.seeds()) {
        List<double[]> rows = new ArrayList<>(); // {α, compute %, robustness}
        for (Model m : r.of(Kind.UNDO)) {
          if (m.seed() != seed || !method.equals(m.method()) || m.alpha() == null) {
            continue;
          }
          double[] row = {m.alpha(), r.addedComputePct(m), r.robustness(m, step)};
          if (Double.isFinite(row[1]) && Double.isFinite(row[2])) {
            rows.add(row);
            byAlpha.computeIfAbsent(row[0], a -> new ArrayList<>()).add(row);
          }
        }
        Set<Double> alphas = new TreeSet<>();
        rows.forEach(row -> alphas.add(row[0]));
        if (alphas.size() < C3_MIN_ALPHAS) {
          continue;
        }
        double[] a = rows.stream().mapToDouble(row -> row[0]).toArray();
        double[] c = rows.stream().mapToDouble(row -> row[1]).toArray();
        double[] rob = rows.stream().mapToDouble(row -> row[2]).toArray();
        double rc = Stats.spearman(a, c);
        double rr = Stats.spearman(a, rob);
        rhoCompute.put(seed, rc);
        rhoRobust.put(seed, rr);
        criterion.put(seed, Math.min(rc, rr));
        linCompute.put(seed, Stats.pearson(a, c));
        linRobust.put(seed, Stats.pearson(a, rob));
      }
      ObjectNode m = per.putObject(method);
      ArrayNode trend = m.putArray("by_alpha");
      byAlpha.forEach((alpha, rows) -> {
        ObjectNode t = trend.addObject();
        t.put("alpha", alpha);
        Format.put(t, "added_compute_pct", rows.stream().mapToDouble(x -> x[1]).average().orElse(Double.NaN));
        Format.put(t, "robustness", rows.stream().mapToDouble(x -> x[2]).average().orElse(Double.NaN));
        t.put("n", rows.size());
      });
      if (criterion.isEmpty()) {
        m.put("verdict", Verdict.INCONCLUSIVE.wire());
        m.put("reason", "fewer than " + C3_MIN_ALPHAS + " alpha values with compute and attack results in any seed");
        summary.add(method + ": fewer than " + C3_MIN_ALPHAS + " alpha values");
        continue;
      }
      Estimate crit = Stats.estimate(criterion);
      Verdict v = atLeast(crit, C3_PASS_RHO, C3_FAIL_RHO);
      verdicts.add(v);
      m.put("verdict", v.wire());
      m.set("spearman_alpha_compute", json(Stats.estimate(rhoCompute)));
      m.set("spearman_alpha_robustness", json(Stats.estimate(rhoRobust)));
      m.set("criterion", json(crit));
      m.set("pearson_alpha_compute", json(Stats.estimate(linCompute)));
      m.set("pearson_alpha_robustness", json(Stats.estimate(linRobust)));
      summary.add(method + ": rho(alpha, compute) " + show(Stats.estimate(rhoCompute)) + ", rho(alpha, robustness) "
          + show(Stats.estimate(rhoRobust)) + " " + v.wire());
    }
    if (verdicts.isEmpty()) {
      n.put("verdict", Verdict.INCONCLUSIVE.wire());
      n.put("summary", summary.isEmpty() ? "no UNDO models" : String.join("; ", summary));
      return new Part(Verdict.INCONCLUSIVE, n);
    }
    // Methods without enough α values add no evidence either way; the others decide.
    Verdict v = Verdict.all(verdicts);
    n.put("verdict", v.wire());
    n.put("summary", "step " + step + ": " + String.join("; ", summary));
    return new Part(v, n);
  }

  // ---- C4 -------------------------------------------------------------------------------------------------------

  private static Part c4(Relearning r) {
    if (r.steps.isEmpty()) {
      return missing("no attacked report steps");
    }
    Setting s = r.setting;
    ObjectNode n = MAPPER.createObjectNode();
    ObjectNode per = n.putObject("steps");
    List<Verdict> verdicts = new ArrayList<>();
    List<String> summary = new ArrayList<>();
    for (long step : r.steps) {
      int evaluated = 0;
      int undoOnFrontier = 0;
      ObjectNode st = per.putObject(Long.toString(step));
      ObjectNode frontiers = MAPPER.createObjectNode();
      for (long seed : r.seeds()) {
        List<Model> candidates = new ArrayList<>();
        for (Model m : s.models()) {
          if (m.seed() == seed && UNLEARNING_KINDS.contains(m.kind())) {
            candidates.add(m);
          }
        }
        List<Model> front = Pareto.frontier(candidates, m -> m.metric(s.retainMetric()), s.retainHigherIsBetter(),
            m -> r.forget(m, step), s.higherIsMoreForgotten());
        boolean anyUndo = candidates.stream().anyMatch(m -> m.kind() == Kind.UNDO
            && Double.isFinite(m.metric(s.retainMetric())) && Double.isFinite(r.forget(m, step)));
        if (!anyUndo) {
          continue; // this seed has no UNDO point at this step: no evidence either way
        }
        evaluated++;
        if (front.stream().anyMatch(m -> m.kind() == Kind.UNDO)) {
          undoOnFrontier++;
        }
        ArrayNode names = frontiers.putArray(Long.toString(seed));
        front.forEach(m -> names.add(m.name()));
      }
      Verdict v = evaluated == 0 ? Verdict.INCONCLUSIVE
          : undoOnFrontier == evaluated ? Verdict.PASS : undoOnFrontier == 0 ? Verdict.FAIL : Verdict.INCONCLUSIVE;
      verdicts.add(v);
      st.put("verdict", v.wire());
      st.put("seeds_evaluated", evaluated);
      st.put("seeds_with_undo_on_frontier", undoOnFrontier);
      st.set("frontier_by_seed", frontiers);
      summary.add("step " + step + ": UNDO non-dominated in " + undoOnFrontier + "/" + evaluated + " seeds");
    }
    Verdict v = Verdict.all(verdicts);
    n.put("verdict", v.wire());
    n.put("summary", String.join("; ", summary));
    return new Part(v, n);
  }

  // ---- C5 -------------------------------------------------------------------------------------------------------

  private static Part c5(Relearning r) {
    Long step = r.lastStep();
    if (step == null) {
      return missing("no attacked report steps");
    }
    List<String> methods = r.methods(Kind.UNDO);
    if (methods.isEmpty()) {
      return missing("no UNDO models");
    }
    ObjectNode n = MAPPER.createObjectNode();
    n.put("step", step);
    ObjectNode per = n.putObject("methods");
    List<Verdict> verdicts = new ArrayList<>();
    List<String> summary = new ArrayList<>();
    for (String method : methods) {
      Map<Long, Double> alpha = new LinkedHashMap<>();
      Map<Long, Double> shortfall = new LinkedHashMap<>();
      Map<Long, Double> compute = new LinkedHashMap<>();
      Map<Long, Double> robUndo = new LinkedHashMap<>();
      Map<Long, Double> robFiltered = new LinkedHashMap<>();
      for (long seed : r.seeds()) {
        Model strongest = null;
        for (Model m : r.of(Kind.UNDO)) {
          if (m.seed() == seed && method.equals(m.method()) && m.alpha() != null
              && (strongest == null || m.alpha() > strongest.alpha())) {
            strongest = m;
          }
        }
        if (strongest == null) {
          continue;
        }
        double ru = r.robustness(strongest, step);
        double rf = r.robustness(r.reference(Kind.FILTERED, seed), step);
        alpha.put(seed, strongest.alpha());
        robUndo.put(seed, ru);
        robFiltered.put(seed, rf);
        shortfall.put(seed, rf - ru);
        compute.put(seed, r.addedComputePct(strongest) / 100);
      }
      Estimate sf = Stats.estimate(shortfall);
      Estimate cf = Stats.estimate(compute);
      Verdict robustV = sf.empty() ? Verdict.INCONCLUSIVE
          : sf.hi() <= C5_PASS_SHORTFALL ? Verdict.PASS : sf.lo() > C5_FAIL_SHORTFALL ? Verdict.FAIL
          : Verdict.INCONCLUSIVE;
      Verdict computeV = cf.empty() ? Verdict.INCONCLUSIVE
          : cf.hi() < C5_MAX_COMPUTE_FRACTION ? Verdict.PASS : cf.lo() >= C5_MAX_COMPUTE_FRACTION ? Verdict.FAIL
          : Verdict.INCONCLUSIVE;
      Verdict v = Verdict.all(List.of(robustV, computeV));
      verdicts.add(v);
      ObjectNode m = per.putObject(method);
      m.put("verdict", v.wire());
      m.set("alpha", json(Stats.estimate(alpha)));
      m.set("robustness_undo", json(Stats.estimate(robUndo)));
      m.set("robustness_filtered", json(Stats.estimate(robFiltered)));
      m.set("shortfall", json(sf));
      m.put("robustness_verdict", robustV.wire());
      m.set("compute_fraction_of_filtered", json(cf));
      m.put("compute_verdict", computeV.wire());
      summary.add(method + " alpha=" + show(Stats.estimate(alpha)) + ": robustness " + show(Stats.estimate(robUndo))
          + " vs filtered " + show(Stats.estimate(robFiltered)) + ", compute " + show(cf) + " of filtered pretrain "
          + v.wire());
    }
    Verdict v = Verdict.any(verdicts);
    n.put("verdict", v.wire());
    n.put("summary", "step " + step + ": " + String.join("; ", summary));
    return new Part(v, n);
  }

  // ---- helpers --------------------------------------------------------------------------------------------------

  /** Higher is better: pass when the interval's lower bound reaches {@code pass}, fail when its upper is at most
   * {@code fail}. */
  static Verdict atLeast(Estimate e, double pass, double fail) {
    if (e.empty()) {
      return Verdict.INCONCLUSIVE;
    }
    if (e.lo() >= pass) {
      return Verdict.PASS;
    }
    return e.hi() <= fail ? Verdict.FAIL : Verdict.INCONCLUSIVE;
  }

  private static Part missing(String reason) {
    ObjectNode n = MAPPER.createObjectNode();
    n.put("verdict", Verdict.INCONCLUSIVE.wire());
    n.put("reason", reason);
    n.put("summary", reason);
    return new Part(Verdict.INCONCLUSIVE, n);
  }

  static ObjectNode json(Estimate e) {
    ObjectNode n = MAPPER.createObjectNode();
    Format.put(n, "mean", e.mean());
    if (e.hasInterval()) {
      n.putArray("ci").add(e.lo()).add(e.hi());
    } else {
      n.putNull("ci");
    }
    n.put("n", e.n());
    ObjectNode ps = n.putObject("per_seed");
    e.perSeed().forEach((seed, v) -> Format.put(ps, Long.toString(seed), v));
    return n;
  }

  /** "0.57" or "0.57 [0.41, 0.73]" for the HTML summary. */
  static String show(Estimate e) {
    if (e.empty()) {
      return "n/a";
    }
    String s = Format.number(e.mean());
    return e.hasInterval() ? s + " [" + Format.number(e.lo()) + ", " + Format.number(e.hi()) + "]" : s;
  }
}
