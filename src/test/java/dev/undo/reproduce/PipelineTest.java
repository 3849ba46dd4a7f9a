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
import dev.undo.run.MetricsRecords;
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
      for (String k : List.of("train_flops", "forward_flops", "train_tokens", "forward_tokens", "steps",
          "wall_seconds")) {
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
    assertEquals(expected.get("train_flops") + expected.get("forward_flops"), actual.get("total_flops").asDouble(),
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
            assertEquals(MetricsRecords.lastTrain(stage.resolve("metrics.jsonl"), "loss"),
                x.get("kl_to_teacher").asDouble(), 0.0, name);
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
        assertEquals(2, attack.get("curves").size(), name + ": two learning rates, one seed");
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

  @Test
  void claimsRecomputedFromTheAttacksAndTheManifest() {
    JsonNode claims = read(run.resolve("report/claims.json"));
    assertEquals("micro", claims.get("preset").asText());
    assertEquals(manifest.get("wall_seconds"), claims.get("wall_seconds"));
    List<String> ids = new ArrayList<>();
    claims.get("claims").forEach(c -> ids.add(c.get("id").asText()));
    assertEquals(List.of("C1", "C2", "C3", "C4", "C5"), ids);
    JsonNode c1 = claims.at("/claims/0");
    JsonNode c2 = claims.at("/claims/1");
    List<String> c1Parts = new ArrayList<>();
    List<String> c2Parts = new ArrayList<>();
    for (String setting : BOTH) {
      // Report steps 0, 5, 10: the middle one is 5.
      JsonNode n1 = c1.at("/numbers/settings/" + setting);
      assertEquals(5, n1.get("step").asLong(), setting);
      double rm = relearned(setting, "oracle_matching", 5);
      double ro = relearned(setting, "oracle", 5);
      assertMean(rm, n1.get("relearned_oracle_matching"), setting + " C1 oracle matching");
      assertMean(ro, n1.get("relearned_oracle"), setting + " C1 oracle");
      assertMean(rm - ro, n1.get("excess"), setting + " C1 excess");
      assertEquals(model(setting, "oracle_matching").get("kl_to_teacher").asDouble(),
          n1.at("/kl_to_teacher/mean").asDouble(), 0.0, setting);
      String v1 = verdict(rm - ro, 0.2, 0.0);
      assertEquals(v1, n1.get("verdict").asText(), setting + " C1");
      c1Parts.add(v1);
      List<String> methodVerdicts = new ArrayList<>();
      for (String method : List.of("graddiff", "maxent", "rmu")) {
        JsonNode m = c2.at("/numbers/settings/" + setting + "/methods/" + method);
        double gain = (1 - relearned(setting, "unlearn_distill_" + method, 5))
            - (1 - relearned(setting, "unlearn_" + method, 5));
        assertMean(gain, m.get("gain"), setting + " C2 " + method);
        String v = verdict(gain, 0.2, 0.0);
        assertEquals(v, m.get("verdict").asText(), setting + " C2 " + method);
        methodVerdicts.add(v);
      }
      String v2 = all(methodVerdicts);
      assertEquals(v2, c2.at("/numbers/settings/" + setting + "/verdict").asText(), setting + " C2");
      c2Parts.add(v2);
      // C3 needs three α values; micro has one.
      assertEquals("inconclusive", claims.at("/claims/2/numbers/settings/" + setting + "/verdict").asText());
      // C5: the one UNDO model's added compute over the data-filtered pretrain's compute.
      JsonNode c5 = claims.at("/claims/4/numbers/settings/" + setting + "/methods/maxent");
      double fraction = model(setting, "undo_maxent_a0.50").at("/added_compute/total_flops").asDouble()
          / model(setting, "filtered").at("/compute/total_flops").asDouble();
      assertEquals(fraction, c5.at("/compute_fraction_of_filtered/mean").asDouble(), 1e-12, setting + " C5");
      assertEquals(0.5, c5.at("/alpha/mean").asDouble(), setting);
    }
    assertEquals(all(c1Parts), c1.get("verdict").asText(), "C1");
    assertEquals(all(c2Parts), c2.get("verdict").asText(), "C2");
    assertEquals("inconclusive", claims.at("/claims/2/verdict").asText(), "C3");
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
