package dev.undo.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.model.Engines;
import dev.undo.pretrain.Pretrain;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import dev.undo.stage.StageRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Same seed twice gives byte-identical metrics; a killed run resumes to the uninterrupted run's numbers. */
class DeterminismAndResumeTest {
  @TempDir
  Path tmp;

  static ObjectNode tree() {
    return ConfigLoader.resolve("micro", Map.of("arithmetic.pretrain.steps", "16",
        "arithmetic.pretrain.checkpoint_every", "4", "arithmetic.pretrain.eval_every", "8"));
  }

  @Test
  void sameSeedTwiceGivesByteIdenticalMetricsAndWeights() throws Exception {
    Engines.start(1);
    ObjectNode t = tree();
    ExperimentConfig c = ExperimentConfig.from(t);
    StageRunner.run(Pretrain.STAGE, Pretrain.Spec.of(c, "arithmetic", false), tmp.resolve("a"), StageRunner.Options.QUIET);
    StageRunner.run(Pretrain.STAGE, Pretrain.Spec.of(c, "arithmetic", false), tmp.resolve("b"), StageRunner.Options.QUIET);
    assertArrayEquals(Files.readAllBytes(tmp.resolve("a/metrics.jsonl")),
        Files.readAllBytes(tmp.resolve("b/metrics.jsonl")));
    assertArrayEquals(Files.readAllBytes(tmp.resolve("a/checkpoint/model.safetensors")),
        Files.readAllBytes(tmp.resolve("b/checkpoint/model.safetensors")));
    assertTrue(Files.exists(tmp.resolve("a/DONE")));
  }

  @Test
  void killedRunResumesToTheSameNumbers() throws Exception {
    Engines.start(1);
    ObjectNode t = tree();
    ExperimentConfig c = ExperimentConfig.from(t);
    StageRunner.run(Pretrain.STAGE, Pretrain.Spec.of(c, "arithmetic", false), tmp.resolve("full"), StageRunner.Options.QUIET);
    // Die after step 10: the last checkpoint is at step 8, so steps 9-10 are redone on resume.
    System.setProperty("undo.test.crashAfterStep", "10");
    try {
      assertThrows(TrainingRun.SimulatedCrash.class,
          () -> StageRunner.run(Pretrain.STAGE, Pretrain.Spec.of(c, "arithmetic", false), tmp.resolve("killed"), StageRunner.Options.QUIET));
    } finally {
      System.clearProperty("undo.test.crashAfterStep");
    }
    assertFalse(Files.exists(tmp.resolve("killed/DONE")));
    Pretrain.Result s = StageRunner.run(Pretrain.STAGE, Pretrain.Spec.of(c, "arithmetic", false), tmp.resolve("killed"), StageRunner.Options.QUIET);
    assertArrayEquals(Files.readAllBytes(tmp.resolve("full/metrics.jsonl")),
        Files.readAllBytes(tmp.resolve("killed/metrics.jsonl")));
    assertArrayEquals(Files.readAllBytes(tmp.resolve("full/checkpoint/model.safetensors")),
        Files.readAllBytes(tmp.resolve("killed/checkpoint/model.safetensors")));
    assertEquals(16, s.compute().steps());
    // A finished stage is skipped: same summary, nothing rewritten.
    long before = Files.getLastModifiedTime(tmp.resolve("killed/metrics.jsonl")).toMillis();
    StageRunner.run(Pretrain.STAGE, Pretrain.Spec.of(c, "arithmetic", false), tmp.resolve("killed"), StageRunner.Options.QUIET);
    assertEquals(before, Files.getLastModifiedTime(tmp.resolve("killed/metrics.jsonl")).toMillis());
  }
}
