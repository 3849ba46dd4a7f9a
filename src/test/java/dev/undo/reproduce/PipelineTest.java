package dev.undo.reproduce;

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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole experiment on the micro preset: every stage runs, the manifest and the report are complete. */
class PipelineTest {
  @TempDir
  Path tmp;

  static Path reproduce(Path out, List<String> settings) {
    return reproduce(out, settings, 2);
  }

  static Path reproduce(Path out, List<String> settings, int workers) {
    Engines.start(1);
    ObjectNode t = ConfigLoader.resolve("micro", Map.of("reproduce.workers", Integer.toString(workers)));
    Path manifest;
    try (Executor ex = Reproduce.localExecutor(ExperimentConfig.from(t), false, false)) {
      manifest = Reproduce.run(t, settings, out, ex);
    }
    Report.write(out);
    return manifest;
  }

  @Test
  void microPipelineWritesManifestReportAndClaims() throws Exception {
    Path out = tmp.resolve("run");
    reproduce(out, List.of("arithmetic", "language"));
    JsonNode m = Json.read(out.resolve("manifest.json"), JsonNode.class);
    for (String setting : List.of("arithmetic", "language")) {
      JsonNode models = m.path("settings").path(setting).path("models");
      Set<String> kinds = new java.util.HashSet<>();
      models.forEach(x -> kinds.add(x.get("kind").asText()));
      assertEquals(Set.of("base", "filtered", "oracle", "oracle_matching", "unlearn", "unlearn_distill", "undo"),
          kinds, setting);
      for (JsonNode x : models) {
        assertTrue(Files.exists(out.resolve(x.get("attack").asText()).resolve("attack.json")), x.toString());
        assertTrue(x.path("added_compute").path("total_flops").asDouble() > 0, x.toString());
      }
    }
    JsonNode claims = Json.read(out.resolve("report/claims.json"), JsonNode.class);
    assertEquals(5, claims.get("claims").size());
    for (int i = 0; i < 5; i++) {
      JsonNode c = claims.get("claims").get(i);
      assertEquals("C" + (i + 1), c.get("id").asText());
      assertTrue(Set.of("pass", "fail", "inconclusive").contains(c.get("verdict").asText()));
      assertTrue(c.get("numbers").isObject() && c.get("statement").asText().length() > 10);
    }
    assertEquals("micro", claims.get("preset").asText());
    assertTrue(claims.get("wall_seconds").asDouble() > 0);
    assertTrue(Files.size(out.resolve("report/index.html")) > 10_000);
    assertTrue(Files.exists(out.resolve("report/models_arithmetic.csv")));
  }

  @Test
  @Tag("slow")
  void killedPipelineResumesToTheSameClaims() throws Exception {
    Path full = tmp.resolve("full");
    reproduce(full, List.of("arithmetic"));
    Path killed = tmp.resolve("killed");
    // Die inside a training stage (step 7 of whichever stage reaches it first), then rerun the same command.
    System.setProperty("undo.test.crashAfterStep", "7");
    try {
      assertThrows(TrainingRun.SimulatedCrash.class, () -> reproduce(killed, List.of("arithmetic")));
    } finally {
      System.clearProperty("undo.test.crashAfterStep");
    }
    reproduce(killed, List.of("arithmetic"));
    ObjectNode a = Json.read(full.resolve("report/claims.json"), ObjectNode.class);
    ObjectNode b = Json.read(killed.resolve("report/claims.json"), ObjectNode.class);
    a.remove("wall_seconds");
    b.remove("wall_seconds");
    assertEquals(a, b);
  }

  @Test
  void stagesSideBySideGiveTheSameNumbersAsOneAtATime() throws Exception {
    Path serial = tmp.resolve("serial");
    Path parallel = tmp.resolve("parallel");
    reproduce(serial, List.of("arithmetic"), 1);
    reproduce(parallel, List.of("arithmetic"), 2);
    JsonNode a = withoutWallTimes(Json.read(serial.resolve("manifest.json"), ObjectNode.class));
    JsonNode b = withoutWallTimes(Json.read(parallel.resolve("manifest.json"), ObjectNode.class));
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
