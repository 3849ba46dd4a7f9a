package dev.undo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.stage.StageRunner;
import dev.undo.undo.Distill;
import dev.undo.unlearn.Unlearn;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "robustify", mixinStandardHelpOptions = true,
    description = {"UNDO in one resumable pipeline: unlearn -> noise -> distill.",
        "Writes OUT/unlearn/ (the teacher) and OUT/distill/ (the robustified student); rerun after a crash to "
            + "resume."})
final class RobustifyCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "BASE_DIR", description = "Pretrained model.")
  Path model;

  @Option(names = "--method", defaultValue = "maxent", paramLabel = "graddiff|maxent|rmu")
  String method;

  @Option(names = "--lr", paramLabel = "LR", description = "Unlearning LR (default: unlearn.lr).")
  Double lr;

  @Option(names = "--alpha", paramLabel = "A")
  Double alpha;

  @Option(names = "--beta", paramLabel = "B")
  Double beta;

  @Option(names = "--out", required = true, paramLabel = "DIR")
  Path out;

  @Mixin
  ConfigOptions options;

  @Override
  public Integer call() {
    String setting = UnlearnCommand.setting(model);
    UnlearnCommand.checkOverrides(method, options.overrides);
    ObjectNode tree = options.tree(setting);
    ExperimentConfig cfg = options.config(tree);
    ExperimentConfig.Setting s = cfg.setting(setting);
    Unlearn.Result u = StageRunner.run(Unlearn.STAGE, Unlearn.Spec.of(cfg, setting, model, method,
        lr != null ? lr : s.unlearn().lr()), out.resolve("unlearn"), options.run());
    Distill.Result d = StageRunner.run(Distill.STAGE, Distill.Spec.of(cfg, setting, out.resolve("unlearn"), "noised",
        null, alpha != null ? alpha : s.distill().alpha(), beta != null ? beta : s.distill().beta(),
        s.distill().stopRule()), out.resolve("distill"), options.run());
    ObjectNode n = Json.MAPPER.createObjectNode();
    n.set("base", Json.MAPPER.valueToTree(u.before()));
    n.set("unlearned", Json.MAPPER.valueToTree(u.metrics()));
    n.set("after_noise", Json.MAPPER.valueToTree(d.start()));
    n.set("distilled", Json.MAPPER.valueToTree(d.metrics()));
    n.put("distill_steps", d.steps());
    n.put("stopped_by_rule", d.stoppedByRule());
    ObjectNode c = n.putObject("compute");
    c.set("unlearn", Json.MAPPER.valueToTree(u.compute()));
    c.set("distill", Json.MAPPER.valueToTree(d.compute()));
    c.set("total", Json.MAPPER.valueToTree(u.compute().plus(d.compute())));
    Json.writeAtomic(out.resolve("robustify.json"), n);
    System.out.println(n.toPrettyString());
    return 0;
  }
}
