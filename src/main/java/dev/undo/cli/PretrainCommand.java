package dev.undo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.pretrain.Pretrain;
import dev.undo.run.ExperimentConfig;
import dev.undo.stage.StageRunner;
import dev.undo.task.Tasks;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "pretrain", mixinStandardHelpOptions = true,
    description = {"Pretrain a model from scratch on a setting's mixture (docs/PROTOCOL.md §Pipeline 1).",
        "Resumes from OUT/checkpoint if a previous run was killed; does nothing if OUT holds the finished stage of "
            + "the same configuration; stops if OUT holds another configuration's work (--force starts over).",
        "--setting text trains on your own corpora: --retain-text R --forget-text F."})
final class PretrainCommand implements Callable<Integer> {
  @Option(names = "--setting", required = true, paramLabel = "arithmetic|language|text",
      description = "Data setting.")
  String setting;

  @Option(names = "--filter-forget",
      description = "Leave the forget data out (the data-filtering gold standard).")
  boolean filterForget;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Stage folder to write.")
  Path out;

  @Mixin
  ConfigOptions options;

  @Override
  public Integer call() {
    if (!Tasks.NAMES.contains(setting)) {
      throw new IllegalArgumentException("--setting must be one of " + Tasks.NAMES + ", not '" + setting + "'");
    }
    ObjectNode tree = options.tree(setting);
    ExperimentConfig cfg = options.config(tree);
    Pretrain.Result r = StageRunner.run(Pretrain.STAGE, Pretrain.Spec.of(cfg, setting, filterForget), out,
        options.run());
    Print.json(r);
    return 0;
  }
}
