package dev.undo.undo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.model.Engines;
import dev.undo.model.Safetensors;
import dev.undo.pretrain.Pretrain;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.stage.StageRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The students of one teacher trained as one ensemble (sharing the teacher's forward pass) follow the trajectories
 * they follow alone: the same steps, the same stop, the same metrics, the same weights within float rounding of
 * batched products; and each member's folder is a complete Distill stage (DONE, eval.json, checkpoint).
 */
class DistillGroupTest {
  @TempDir
  Path tmp;

  static Map<String, float[]> floats(Path file) throws java.io.IOException {
    Map<String, float[]> out = new java.util.TreeMap<>();
    try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
      for (Map.Entry<String, ai.djl.ndarray.NDArray> e : Safetensors.read(file, m).tensors().entrySet()) {
        out.put(e.getKey(), e.getValue().toFloatArray());
      }
    }
    return out;
  }

  @Test
  void aGroupOfStudentsEqualsEachStudentAlone() throws Exception {
    checkGroupAgainstAlone(Map.of("language.pretrain.steps", "8", "language.distill.max_steps", "6",
        "language.distill.eval_every", "2"), List.of(1.0, 0.5, 0.2));
  }

  /**
   * Students that meet their rule at different steps: each one that stops leaves the group, and the rest go on as a
   * smaller ensemble resumed from the checkpoints of that step. Their numbers still equal each student alone.
   */
  @Test
  void studentsThatStopLeaveTheGroupAndTheRestResume() throws Exception {
    List<Distill.Result> r = checkGroupAgainstAlone(Map.of("language.pretrain.steps", "8",
        "language.distill.max_steps", "12", "language.distill.eval_every", "2"), List.of(1.0, 0.9, 0.6));
    long distinct = r.stream().map(Distill.Result::steps).distinct().count();
    assertTrue(distinct >= 2 && r.stream().anyMatch(x -> x.steps() > 0 && x.stoppedByRule()),
        "a member stops by its rule mid-run while another goes on: " + r.stream().map(Distill.Result::steps).toList());
  }

  List<Distill.Result> checkGroupAgainstAlone(Map<String, String> set, List<Double> alphas) throws Exception {
    Engines.start(1);
    ObjectNode t = ConfigLoader.resolve("micro", set);
    ExperimentConfig c = ExperimentConfig.from(t);
    Path teacher = tmp.resolve("teacher");
    StageRunner.run(Pretrain.STAGE, Pretrain.Spec.of(c, "language", false), teacher, StageRunner.Options.QUIET);
    List<Distill.Spec> specs = new ArrayList<>();
    for (double alpha : alphas) {
      specs.add(alpha == 1.0 ? Distill.Spec.of(c, "language", teacher, "random", null, 1, 0, "paper")
          : Distill.Spec.of(c, "language", teacher, "noised", null, alpha, 0.1, "paper"));
    }
    List<DistillGroup.Member> members = new ArrayList<>();
    for (int i = 0; i < specs.size(); i++) {
      members.add(new DistillGroup.Member(tmp.resolve("group/m" + i), specs.get(i)));
    }
    List<Distill.Result> together = DistillGroup.run(new DistillGroup.Spec(members), StageRunner.Options.QUIET);
    assertEquals(specs.size(), together.size());
    assertTrue(together.get(0).steps() > 0, "the random-init student trains");
    double worst = 0;
    for (int i = 0; i < specs.size(); i++) {
      Path alone = tmp.resolve("alone/m" + i);
      Distill.Result a = StageRunner.run(Distill.STAGE, specs.get(i), alone, StageRunner.Options.QUIET);
      Distill.Result g = together.get(i);
      String what = "student " + i;
      assertEquals(a.steps(), g.steps(), what);
      assertEquals(a.stoppedByRule(), g.stoppedByRule(), what);
      assertEquals(a.metrics().keySet(), g.metrics().keySet(), what);
      for (String k : a.metrics().keySet()) {
        worst = Math.max(worst, Math.abs(a.metrics().get(k) - g.metrics().get(k)) / Math.max(1, Math.abs(
            a.metrics().get(k))));
      }
      Path member = tmp.resolve("group/m" + i);
      assertTrue(Files.exists(member.resolve("DONE")), what);
      assertEquals(Json.read(alone.resolve("config.json"), JsonNode.class).get("fingerprint"),
          Json.read(member.resolve("config.json"), JsonNode.class).get("fingerprint"), what);
      // Same number of metric records, at the same steps.
      List<String> la = Files.readAllLines(alone.resolve("metrics.jsonl"));
      List<String> lg = Files.readAllLines(member.resolve("metrics.jsonl"));
      assertEquals(la.size(), lg.size(), what);
      for (int j = 0; j < la.size(); j++) {
        assertEquals(Json.LINE.readTree(la.get(j)).get("step"), Json.LINE.readTree(lg.get(j)).get("step"), what);
      }
      // Weights after training.
      Map<String, float[]> wa = floats(alone.resolve("checkpoint/model.safetensors"));
      Map<String, float[]> wg = floats(member.resolve("checkpoint/model.safetensors"));
      assertEquals(wa.keySet(), wg.keySet(), what);
      for (String k : wa.keySet()) {
        float[] x = wa.get(k);
        float[] y = wg.get(k);
        assertEquals(x.length, y.length);
        for (int j = 0; j < x.length; j++) {
          worst = Math.max(worst, Math.abs(x[j] - y[j]) / Math.max(1e-2, Math.abs(x[j])));
        }
      }
    }
    assertTrue(worst < 1e-4, "group vs alone: largest relative difference " + worst);
    // Rerunning a finished group is a no-op that returns the same results.
    List<Distill.Result> again = DistillGroup.run(new DistillGroup.Spec(members), StageRunner.Options.QUIET);
    for (int i = 0; i < specs.size(); i++) {
      assertEquals(together.get(i).metrics(), again.get(i).metrics());
    }
    return together;
  }
}
