package dev.undo.attack;

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

/**
 * A relearning attack trained as one ensemble gives the curves of its runs trained one at a time: the adversary's
 * choice is the same, only faster. Both settings (accuracy and CE metrics), two attack data, two learning rates.
 */
class BatchedAttackTest {
  @TempDir
  Path tmp;

  @Test
  void everyRunOfTheEnsembleMatchesItsSequentialTwin() {
    Engines.start(1);
    for (String setting : new String[] {"arithmetic", "language"}) {
      ObjectNode t = ConfigLoader.resolve("micro", Map.of(setting + ".pretrain.steps", "12",
          setting + ".attack.data", "[forget, mixture]", setting + ".attack.steps", "6",
          setting + ".attack.eval_every", "3"));
      ExperimentConfig c = ExperimentConfig.from(t);
      Path base = tmp.resolve(setting + "-base");
      StageRunner.run(Pretrain.STAGE, Pretrain.Spec.of(c, setting, false), base, StageRunner.Options.QUIET);
      Relearn.Spec batched = Relearn.Spec.of(c, setting, base, null);
      Relearn.Spec sequential = new Relearn.Spec(base, new ExperimentConfig.AttackSpec(batched.attack().data(),
          batched.attack().lrs(), batched.attack().steps(), batched.attack().evalEvery(), batched.attack().batchSize(),
          batched.attack().optimizer(), batched.attack().beta1(), batched.attack().beta2(),
          batched.attack().gradClip(), batched.attack().seeds(), batched.attack().reportSteps(),
          batched.attack().evalProblemsPerCell(), batched.attack().ceSequences(), batched.attack().loraRank(),
          batched.attack().loraAlpha(), false), batched.eval(), null, batched.seed());
      Relearn.Result a = StageRunner.run(Relearn.STAGE, batched, tmp.resolve(setting + "-together"),
          StageRunner.Options.QUIET);
      Relearn.Result b = StageRunner.run(Relearn.STAGE, sequential, tmp.resolve(setting + "-alone"),
          StageRunner.Options.QUIET);
      assertEquals(4, a.curves().size(), "2 data x 2 learning rates");
      assertEquals(b.curves().size(), a.curves().size());
      double worst = 0;
      for (int i = 0; i < a.curves().size(); i++) {
        Relearn.Curve x = a.curves().get(i);
        Relearn.Curve y = b.curves().get(i);
        assertEquals(y.data() + y.lr(), x.data() + x.lr());
        assertEquals(y.points().size(), x.points().size());
        assertEquals(3, x.points().size(), "steps 0, 3, 6");
        for (int j = 0; j < x.points().size(); j++) {
          assertEquals(y.points().get(j).step(), x.points().get(j).step());
          worst = Math.max(worst, Math.abs(x.points().get(j).forget() - y.points().get(j).forget()));
          worst = Math.max(worst, Math.abs(x.points().get(j).retain() - y.points().get(j).retain()));
        }
        assertEquals(y.compute().trainTokens(), x.compute().trainTokens());
        assertEquals(y.compute().evalTokens(), x.compute().evalTokens());
      }
      // Accuracies are counts of the same items; CE differs only by float rounding of batched products.
      assertTrue(worst < 1e-4, setting + ": batched and sequential curves differ by " + worst);
      assertEquals(b.worstCase().size(), a.worstCase().size());
      assertEquals(b.forgetAt().keySet(), a.forgetAt().keySet());
    }
  }
}
