package dev.undo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.reproduce.Executor;
import dev.undo.reproduce.Planner;
import dev.undo.reproduce.Reproduce;
import dev.undo.run.ExperimentConfig;
import dev.undo.task.Tasks;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "reproduce", mixinStandardHelpOptions = true,
    description = {"Run the paper's experiments at our scale and write a report (docs/PROTOCOL.md §Claims).",
        "Stages: pretrain base and data-filtered, oracle, oracle matching, unlearning sweeps, Unlearn-and-Distill, "
            + "UNDO alpha sweep, relearning attacks on every model; then OUT/manifest.json and OUT/report/.",
        "Resumable: rerun the same command after a crash; finished stages are skipped, a killed one resumes.",
        "Stages run side by side on reproduce.workers threads (default: one per --threads, each stage then gets "
            + "threads/workers intra-op threads); for a given per-stage thread count, results do not depend on the "
            + "schedule. Per-stage progress bars show only with --set reproduce.workers=1.",
        "--setting text runs the experiment on your own corpora: --retain-text R --forget-text F.",
        "--dry-run prints the plan (stages, dependencies, estimated cost) and runs nothing."})
final class ReproduceCommand implements Callable<Integer> {
  @Option(names = "--setting", defaultValue = "preset", paramLabel = "arithmetic|language|text|both|preset",
      description = "Settings to run: one, a comma-separated list, both (arithmetic,language), or the preset's "
          + "reproduce.settings (default).")
  String setting;

  @Option(names = "--out", required = true, paramLabel = "DIR")
  Path out;

  @Option(names = "--dry-run", description = "Print the plan and exit.")
  boolean dryRun;

  @Mixin
  ConfigOptions options;

  @Override
  public Integer call() {
    ObjectNode tree = options.tree(null);
    // Split the threads among side-by-side stages before the engine starts: W workers get threads / W each.
    ExperimentConfig asked = ExperimentConfig.from(tree);
    tree.put("threads", Reproduce.threadsPerStage(asked));
    ((ObjectNode) tree.get("reproduce")).put("workers", Reproduce.workers(asked));
    List<String> settings = settings(asked);
    if (dryRun) {
      System.out.print(Reproduce.describe(Planner.plan(tree, settings, out)));
      return 0;
    }
    ExperimentConfig cfg = options.config(tree);
    Path manifest;
    try (Executor ex = Reproduce.localExecutor(cfg, !options.quiet, options.force)) {
      manifest = Reproduce.run(tree, settings, out, ex);
    }
    ReportCommand.writeReport(out);
    System.out.println("manifest: " + manifest);
    System.out.println("report:   " + out.resolve("report/index.html"));
    return 0;
  }

  List<String> settings(ExperimentConfig cfg) {
    List<String> out = new ArrayList<>();
    switch (setting) {
      case "preset" -> out.addAll(cfg.reproduce().settings());
      case "both" -> out.addAll(List.of("arithmetic", "language"));
      default -> {
        for (String s : setting.split(",")) {
          if (!Tasks.NAMES.contains(s.trim())) {
            throw new IllegalArgumentException("--setting: '" + s + "' is not one of " + Tasks.NAMES
                + ", both or preset");
          }
          out.add(s.trim());
        }
      }
    }
    return out;
  }
}
