package dev.undo.reproduce;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.model.Engines;
import dev.undo.report.Report;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.train.TrainingRun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole experiment on the micro preset, run once for both settings (two stages side by side) and once more for
 * arithmetic (one at a time): the manifest's numbers follow from the stage folders, the claims from the attacks,
 * and the second run writes the same numbers as the first.
 *
 * <p>Attacks here evaluate on the stage evaluation's own sets ({@code attack.eval_problems_per_cell} and
 * {@code attack.ce_sequences} equal to {@code eval.n_per_cell} and {@code eval.ce_sequences}), so an attack's
 * step-0 value must be exactly the attacked model's own forget metric. By default attacks use a smaller set.
 */
class PipelineTest {
  @TempDir
  static Path tmp;

  static final List<String> BOTH = List.of("arithmetic", "language");
  static final Map<String, String> SAME_EVAL_SETS = Map.of(
      "arithmetic.attack.eval_problems_per_cell", "8", "arithmetic.attack.ce_sequences", "4",
      "language.attack.eval_problems_per_cell", "8", "language.attack.ce_sequences", "4");

  static Path run;
  static JsonNode manifest;

  static Path reproduce(Path out, List<String> settings, int workers) {
    Engines.start(1);
    Map<String, String> o = new LinkedHashMap<>(SAME_EVAL_SETS);
    o.put("reproduce.workers", Integer.toString(workers));
    ObjectNode t = ConfigLoader.resolve("micro", o);
    Path manifest;
    try (Executor ex = Reproduce.localExecutor(ExperimentConfig.from(t), false, false)) {
      manifest = Reproduce.run(t, settings, out, ex);
    }
    Report.write(out);
    return manifest;
  }

  @BeforeAll
  static void runBothSettings() {
    run = tmp.resolve("run");
    reproduce(run, BOTH, 2);
    manifest = Json.read(run.resolve("manifest.json"), JsonNode.class);
  }

  static JsonNode read(Path p) {
    return Json.read(p, JsonNode.class);
  }

  static List<JsonNode> models(JsonNode manifest, String setting) {
    List<JsonNode> out = new ArrayList<>();
    manifest.path("settings").path(setting).path("models").forEach(out::add);
    return out;
  }

  static JsonNode model(String setting, String name) {
    return models(manifest, setting).stream().filter(m -> m.get("name").asText().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no model " + name + " in " + setting));
  }

  /** Compute entries summed field by field, in the order given (the ledger's own order: own, then ancestors). */
  static Map<String, Double> sum(JsonNode... computes) {
    Map<String, Double> s = new LinkedHashMap<>();
    for (JsonNode c : computes) {
      for (String k : List.of("train_flops", "forward_flops", "eval_flops", "train_tokens", "forward_tokens",
          "eval_tokens", "steps", "wall_seconds")) {
        s.merge(k, c.get(k).asDouble(), Double::sum);
      }
    }
    return s;
  }

  static void assertCompute(Map<String, Double> expected, JsonNode actual, String what) {
    for (Map.Entry<String, Double> e : expected.entrySet()) {
      assertEquals(e.getValue(), actual.get(e.getKey()).asDouble(), 1e-12 * Math.abs(e.getValue()),
          what + ": " + e.getKey());
    }
    assertEquals(expected.get("train_flops") + expected.get("forward_flops") + expected.get("eval_flops"),
        actual.get("total_flops").asDouble(),
        1e-12 * actual.get("total_flops").asDouble(), what + ": total_flops");
  }

  @Test
  void manifestNumbersFollowFromTheStageFolders() {
    for (String setting : BOTH) {
      String forgetKey = manifest.at("/settings/" + setting + "/forget_metric").asText();
      Set<String> kinds = new HashSet<>();
      Path root = run.resolve(setting + "/s1234");
      JsonNode filtered = read(root.resolve("filtered/eval.json")).get("compute");
      JsonNode oracle = read(root.resolve("oracle/eval.json")).get("compute");
      for (JsonNode x : models(manifest, setting)) {
        String name = setting + " " + x.get("name").asText();
        String kind = x.get("kind").asText();
        kinds.add(kind);
        Path stage = run.resolve(x.get("stage").asText());
        JsonNode own = read(stage.resolve("eval.json"));
        // Metrics and own compute are the stage's eval.json.
        assertEquals(own.get("metrics"), x.get("metrics"), name);
        assertEquals(own.get("compute"), x.get("compute"), name);
        JsonNode added = x.get("added_compute");
        switch (kind) {
          case "base", "filtered" -> assertCompute(sum(own.get("compute")), added, name);
          case "oracle" -> assertCompute(sum(own.get("compute"), filtered), added, name);
          case "oracle_matching" -> {
            assertCompute(sum(own.get("compute"), filtered, oracle), added, name);
            // Oracle matching's rule is its held-out KL to the oracle: recorded in eval.json, gated by the bound.
            JsonNode st = x.get("student");
            assertEquals(own.at("/metrics/kl_teacher").asDouble(), st.get("gap").asDouble(), 0.0, name);
            assertEquals(st.get("gap").asDouble() <= st.get("bound").asDouble()
                && st.get("steps").asLong() <= st.get("max_steps").asLong(), st.get("stopped_by_rule").asBoolean(),
                name + ": " + st);
          }
          default -> {
            // An unlearned teacher costs its whole sweep; a distilled model its teacher's sweep plus itself.
            String method = x.get("method").asText().replace('+', '_');
            Path sweep = root.resolve("unlearn/" + method);
            JsonNode sj = read(sweep.resolve("sweep.json"));
            List<JsonNode> runs = new ArrayList<>();
            if (!kind.equals("unlearn")) {
              runs.add(own.get("compute"));
            }
            for (JsonNode row : sj.get("rows")) {
              runs.add(read(sweep.resolve(row.get("dir").asText()).resolve("eval.json")).get("compute"));
            }
            assertEquals(kind.equals("unlearn") ? 2 : 3, runs.size(), name + ": micro sweeps two learning rates");
            assertCompute(sum(runs.toArray(new JsonNode[0])), added, name);
            if (kind.equals("unlearn")) {
              Path selected = sweep.resolve(sj.at("/selected/dir").asText()).normalize();
              assertEquals(selected, stage.normalize(), name + " lives in the selected run's folder");
              assertEquals(read(selected.resolve("eval.json")).get("metrics"), x.get("metrics"), name);
            }
          }
        }
        // The attack's unattacked point is the attacked model's own forget metric (same evaluation sets).
        JsonNode attack = read(run.resolve(x.get("attack").asText()).resolve("attack.json"));
        assertEquals(0, attack.at("/worst_case/0/step").asLong(), name);
        assertEquals(x.at("/metrics/" + forgetKey).asDouble(), attack.at("/worst_case/0/forget").asDouble(), 0.0,
            name + ": attack step 0 vs eval.json " + forgetKey);
        assertEquals(x.at("/metrics/" + forgetKey).asDouble(), attack.at("/forget_at/0").asDouble(), 0.0, name);
        assertEquals(List.of("0", "5", "10"), fieldNames(attack.get("forget_at")), name);
        // The adversary's grid: two learning rates, one seed, on each attack data set (arithmetic: the forget
        // data and the mixture of English and all arithmetic; language: the forget data).
        Set<String> grid = new HashSet<>();
        attack.get("curves").forEach(c -> grid.add(c.get("data").asText() + "@" + c.get("lr").asDouble()));
        int datasets = setting.equals("arithmetic") ? 2 : 1;
        assertEquals(2 * datasets, grid.size(), name + ": " + grid);
        assertEquals(2 * datasets, attack.get("curves").size(), name);
      }
      assertEquals(Set.of("base", "filtered", "oracle", "oracle_matching", "unlearn", "unlearn_distill", "undo"),
          kinds, setting);
    }
  }

  static List<String> fieldNames(JsonNode n) {
    List<String> out = new ArrayList<>();
    n.fieldNames().forEachRemaining(out::add);
    return out;
  }

  /** Relearned fraction of Relearning (report): (f(m, s) − f(filtered, 0)) / (f(base, 0) − f(filtered, 0)). */
  static double relearned(String setting, String name, long step) {
    boolean higherForgotten = manifest.at("/settings/" + setting + "/higher_is_more_forgotten").asBoolean();
    double f0 = forgetAt(setting, "filtered", 0);
    double gap = forgetAt(setting, "base", 0) - f0;
    if (!(higherForgotten ? gap < 0 : gap > 0)) {
      return Double.NaN;
    }
    return (forgetAt(setting, name, step) - f0) / gap;
  }

  static double forgetAt(String setting, String name, long step) {
    return read(run.resolve(model(setting, name).get("attack").asText()).resolve("attack.json"))
        .at("/forget_at/" + step).asDouble();
  }

  /** One seed: pass at or above the pass line, fail at or below the fail line, NaN and between inconclusive. */
  static String verdict(double v, double pass, double fail) {
    return Double.isNaN(v) ? "inconclusive" : v >= pass ? "pass" : v <= fail ? "fail" : "inconclusive";
  }

  static String all(List<String> verdicts) {
    return verdicts.contains("fail") ? "fail" : verdicts.stream().allMatch("pass"::equals) ? "pass"
        : "inconclusive";
  }

  static void assertMean(double expected, JsonNode estimate, String what) {
    if (Double.isNaN(expected)) {
      assertTrue(estimate.get("mean").isNull(), what + ": " + estimate);
      assertEquals(0, estimate.get("n").asInt(), what);
    } else {
      assertEquals(expected, estimate.get("mean").asDouble(), 1e-12, what);
      assertEquals(1, estimate.get("n").asInt(), what);
    }
  }

  /** Names of the distilled models among {@code names} that did not meet their stop rule. */
  static List<String> unrecovered(String setting, String... names) {
    List<String> out = new ArrayList<>();
    for (String n : names) {
      JsonNode st = model(setting, n).get("student");
      if (st != null && !st.isNull() && !st.get("stopped_by_rule").asBoolean()) {
        out.add(n);
      }
    }
    return out;
  }

  static String reasons(JsonNode part) {
    return part.path("reasons").toString();
  }

  /**
   * Where a comparison is defined (the base model more capable than the filtered one, every student recovered),
   * the claim's point values are the relearned fractions recomputed here from attack.json; where it is not, the
   * claim says why and gives no verdict.
   */
  static void assertComparison(String setting, JsonNode part, String a, String b, double expected, String key,
      String what) {
    double gap = forgetAt(setting, "base", 0) - forgetAt(setting, "filtered", 0);
    boolean higherForgotten = manifest.at("/settings/" + setting + "/higher_is_more_forgotten").asBoolean();
    List<String> notRecovered = unrecovered(setting, a, b);
    if (!(higherForgotten ? gap < 0 : gap > 0)) {
      assertEquals("inconclusive", part.get("verdict").asText(), what);
      assertTrue(reasons(part).contains("relearned fraction undefined"), what + ": " + part);
      assertTrue(part.at("/" + key + "/mean").isNull(), what + ": " + part);
      return;
    }
    assertEquals(expected, part.at("/" + key + "/mean").asDouble(), 1e-12, what);
    JsonNode ci = part.at("/" + key + "/ci");
    assertTrue(ci.get(0).asDouble() <= expected + 1e-12 && expected <= ci.get(1).asDouble() + 1e-12,
        what + ": the point lies in its interval " + ci);
    for (String n : notRecovered) {
      assertEquals("inconclusive", part.get("verdict").asText(), what + ": " + n + " did not recover");
      assertTrue(reasons(part).contains("student not recovered: " + n), what + ": " + part);
    }
  }

  @Test
  void claimsRecomputedFromTheAttacksAndTheManifest() {
    JsonNode claims = read(run.resolve("report/claims.json"));
    assertEquals("micro", claims.get("preset").asText());
    assertEquals(manifest.get("wall_seconds"), claims.get("wall_seconds"));
    // Micro is a smoke test (reproduce.evidence false): the claims file says so.
    assertEquals(false, claims.get("evidence").asBoolean());
    assertTrue(claims.get("notice").asText().contains("not evidence"), claims.get("notice").toString());
    List<String> ids = new ArrayList<>();
    claims.get("claims").forEach(c -> ids.add(c.get("id").asText()));
    assertEquals(List.of("C1", "C2", "C3", "C4", "C5"), ids);
    for (String setting : BOTH) {
      // Report steps 0, 5, 10: the middle one is 5, the last 10.
      JsonNode c1 = claims.at("/claims/0/numbers/settings/" + setting);
      assertEquals(5, c1.get("step").asLong(), setting);
      double rm = relearned(setting, "oracle_matching", 5);
      double ro = relearned(setting, "oracle", 5);
      assertComparison(setting, c1, "oracle_matching", "oracle", rm, "relearned_oracle_matching", setting + " C1 OM");
      assertComparison(setting, c1, "oracle_matching", "oracle", ro, "relearned_oracle", setting + " C1 oracle");
      assertComparison(setting, c1, "oracle_matching", "oracle", rm - ro, "excess", setting + " C1 excess");
      // The precondition's KL is the oracle-matching student's own held-out KL to the oracle.
      assertEquals(model(setting, "oracle_matching").at("/student/gap").asDouble(),
          c1.at("/kl_teacher_oracle_matching/mean").asDouble(), 1e-12, setting);
      for (String method : List.of("graddiff", "maxent", "rmu")) {
        JsonNode m = claims.at("/claims/1/numbers/settings/" + setting + "/methods/" + method);
        double gain = relearned(setting, "unlearn_" + method, 5) - relearned(setting, "unlearn_distill_" + method, 5);
        assertComparison(setting, m, "unlearn_distill_" + method, "unlearn_" + method, gain, "gain",
            setting + " C2 " + method);
      }
      // C3 needs five α values including 1.0; micro has 0.5 and Unlearn-and-Distill's 1.0.
      assertEquals("inconclusive", claims.at("/claims/2/numbers/settings/" + setting + "/verdict").asText());
      // C5: the strongest UNDO model's student steps on the paper's ledger, as the manifest records them.
      JsonNode c5 = claims.at("/claims/4/numbers/settings/" + setting + "/methods/maxent");
      assertEquals(model(setting, "undo_maxent_a0.50").at("/ledger/paper_fraction").asDouble(),
          c5.at("/paper_fraction/mean").asDouble(), 1e-12, setting + " C5");
      assertEquals(0.5, c5.at("/alpha/mean").asDouble(), setting);
      assertEquals(10, claims.at("/claims/4/numbers/settings/" + setting + "/step").asLong(), setting);
    }
    for (String f : List.of("report/index.html", "report/models_arithmetic.csv", "report/models_language.csv")) {
      assertTrue(Files.exists(run.resolve(f)), f);
    }
  }

  /**
   * Same seed and thread count, one stage at a time and arithmetic alone: the same manifest entry (wall times
   * aside), the same bytes in every metrics log, the same attack curves.
   */
  @Test
  void aSecondRunWithTheSameSeedAndThreadsWritesTheSameNumbers() throws IOException {
    Path again = tmp.resolve("again");
    reproduce(again, List.of("arithmetic"), 1);
    JsonNode second = Json.read(again.resolve("manifest.json"), JsonNode.class);
    assertEquals(withoutWallTimes(manifest.at("/settings/arithmetic").deepCopy()),
        withoutWallTimes(second.at("/settings/arithmetic").deepCopy()));
    assertEquals(List.of("arithmetic"), fieldNames(second.get("settings")));
    List<Path> logs;
    try (Stream<Path> s = Files.walk(run.resolve("arithmetic"))) {
      logs = s.filter(p -> p.getFileName().toString().equals("metrics.jsonl")).toList();
    }
    assertEquals(14, logs.size(), "2 pretrains, 6 unlearning runs, oracle, oracle matching, 3 Unlearn-and-Distill, "
        + "1 UNDO, and no log for attacks: " + logs);
    for (Path p : logs) {
      Path q = again.resolve(run.relativize(p));
      assertArrayEquals(Files.readAllBytes(p), Files.readAllBytes(q), run.relativize(p).toString());
    }
    Map<String, JsonNode> attacks = new HashMap<>();
    for (JsonNode x : models(manifest, "arithmetic")) {
      String a = x.get("attack").asText();
      JsonNode first = withoutWallTimes(read(run.resolve(a).resolve("attack.json")).get("curves").deepCopy());
      JsonNode next = withoutWallTimes(read(again.resolve(a).resolve("attack.json")).get("curves").deepCopy());
      assertEquals(first, next, a);
      attacks.put(a, first);
    }
    assertEquals(11, attacks.size());
  }

  @Test
  @Tag("slow")
  void killedPipelineResumesToTheSameClaims() throws Exception {
    Path full = tmp.resolve("full");
    reproduce(full, List.of("arithmetic"), 2);
    Path killed = tmp.resolve("killed");
    // Die inside a training stage (step 7 of whichever stage reaches it first), then rerun the same command.
    System.setProperty("undo.test.crashAfterStep", "7");
    try {
      assertThrows(TrainingRun.SimulatedCrash.class, () -> reproduce(killed, List.of("arithmetic"), 2));
    } finally {
      System.clearProperty("undo.test.crashAfterStep");
    }
    reproduce(killed, List.of("arithmetic"), 2);
    ObjectNode a = Json.read(full.resolve("report/claims.json"), ObjectNode.class);
    ObjectNode b = Json.read(killed.resolve("report/claims.json"), ObjectNode.class);
    a.remove("wall_seconds");
    b.remove("wall_seconds");
    assertEquals(a, b);
  }

  /** The manifest without its wall-clock fields (the only ones a schedule may change). */
  static JsonNode withoutWallTimes(JsonNode n) {
    if (n instanceof ObjectNode o) {
      o.remove("wall_seconds");
      o.fields().forEachRemaining(e -> withoutWallTimes(e.getValue()));
    } else if (n.isArray()) {
      n.forEach(PipelineTest::withoutWallTimes);
    }
    return n;
  }
}
