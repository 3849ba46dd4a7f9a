package dev.undo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.run.ExperimentConfig;
import dev.undo.stage.StageRunner;
import dev.undo.undo.Distill;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "distill", mixinStandardHelpOptions = true,
    description = {"Distill a teacher's outputs into a student (docs/PROTOCOL.md §Pipeline 3-4).",
        "--init noised: UNDO (student = teacher shrunk and perturbed by --alpha/--beta); --init random: "
            + "Unlearn-and-Distill, or the oracle when the teacher is the data-filtered model; --init DIR: start "
            + "from that checkpoint (oracle matching: the pretrained model matching the oracle)."})
final class DistillCommand implements Callable<Integer> {
  @Option(names = "--teacher", required = true, paramLabel = "DIR")
  Path teacher;

  @Option(names = "--init", defaultValue = "noised", paramLabel = "noised|random|DIR")
  String init;

  @Option(names = "--alpha", paramLabel = "A", description = "Shrink/perturb amount α in [0,1] (default: distill.alpha).")
  Double alpha;

  @Option(names = "--beta", paramLabel = "B", description = "Noise scale β (default: distill.beta).")
  Double beta;

  @Option(names = "--stop-rule", paramLabel = "paper|fixed", description = "Default: distill.stop_rule.")
  String stopRule;

  @Option(names = "--out", required = true, paramLabel = "DIR")
  Path out;

  @Mixin
  ConfigOptions options;

  @Override
  public Integer call() {
    String setting = UnlearnCommand.setting(teacher);
    ObjectNode tree = options.tree(setting);
    ExperimentConfig cfg = options.config(tree);
    ExperimentConfig.DistillSpec d = cfg.setting(setting).distill();
    String kind = init;
    Path from = null;
    if (!init.equals("noised") && !init.equals("random")) {
      if (!Files.isDirectory(Path.of(init))) {
        throw new IllegalArgumentException("--init must be noised, random or a checkpoint folder; '" + init
            + "' is none of these");
      }
      kind = "checkpoint";
      from = Path.of(init);
    }
    Distill.Spec spec = Distill.Spec.of(cfg, setting, teacher, kind, from, alpha != null ? alpha : d.alpha(),
        beta != null ? beta : d.beta(), stopRule != null ? stopRule : d.stopRule());
    Print.json(StageRunner.run(Distill.STAGE, spec, out, options.run()));
    return 0;
  }
}
