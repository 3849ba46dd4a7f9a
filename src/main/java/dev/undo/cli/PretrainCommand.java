package dev.undo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.pretrain.Pretrain;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "pretrain", mixinStandardHelpOptions = true,
    description = {"Pretrain a model from scratch on a setting's mixture (PAPER.md §Pipeline 1).",
        "Resumes from OUT/checkpoint if a previous run was killed; does nothing if OUT/DONE exists."})
final class PretrainCommand implements Callable<Integer> {
  @Option(names = "--setting", required = true, paramLabel = "arithmetic|language", description = "Data setting.")
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
    ObjectNode tree = options.tree(setting);
    ExperimentConfig cfg = options.config(tree);
    cfg.setting(setting);
    Pretrain.Summary s = Pretrain.run(cfg, tree, setting, filterForget, out, !options.quiet);
    System.out.println(Json.MAPPER.valueToTree(Pretrain.evalRecord(setting, s.metrics(), s.compute()))
        .toPrettyString());
    return 0;
  }
}
