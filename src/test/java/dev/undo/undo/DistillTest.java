package dev.undo.undo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.model.Engines;
import dev.undo.pretrain.Pretrain;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import dev.undo.stage.StageRunner;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DistillTest {
  @TempDir
  Path tmp;

  @Test
  void aCopyOfTheTeacherStopsAtOnceAndANoisedCopyTrains() {
    Engines.start(1);
    ObjectNode t = ConfigLoader.resolve("micro", Map.of("language.pretrain.steps", "6"));
    ExperimentConfig c = ExperimentConfig.from(t);
    StageRunner.run(Pretrain.STAGE, Pretrain.Spec.of(c, "language", false), tmp.resolve("base"),
        StageRunner.Options.QUIET);
    Distill.Result copy = StageRunner.run(Distill.STAGE, Distill.Spec.of(c, "language", tmp.resolve("base"),
        "checkpoint", tmp.resolve("base"), 0, 0, "paper"), tmp.resolve("copy"), StageRunner.Options.QUIET);
    assertEquals(0, copy.steps());
    assertTrue(copy.stoppedByRule());
    assertEquals(copy.teacher().get("eng_ce"), copy.metrics().get("eng_ce"), 1e-6);
    // α = 1 destroys the copy: the stop rule cannot hold at step 0, and distillation runs.
    Distill.Result noised = StageRunner.run(Distill.STAGE, Distill.Spec.of(c, "language", tmp.resolve("base"),
        "noised", null, 1.0, 0.1, "paper"), tmp.resolve("noised"), StageRunner.Options.QUIET);
    assertTrue(noised.start().get("eng_ce") > noised.teacher().get("eng_ce"), "noise must damage the copy");
    assertTrue(noised.steps() > 0);
  }
}
