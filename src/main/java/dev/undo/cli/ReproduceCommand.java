package dev.undo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.reproduce.Reproduce;
import dev.undo.run.ExperimentConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "reproduce", mixinStandardHelpOptions = true,
    description = {"Run the paper's experiments at our scale and write a report (PAPER.md §Claims).",
        "Stages: pretrain base and data-filtered, oracle, oracle matching, unlearning sweeps, Unlearn-and-Distill, "
            + "UNDO alpha sweep, relearning attacks on every model; then OUT/manifest.json and OUT/report/.",
        "Resumable: rerun the same command after a crash; finished stages are skipped.",
        "Stages run side by side on reproduce.workers threads (default: one per --threads, each stage then gets "
            + "threads/workers intra-op threads); for a given per-stage thread count, results do not depend on the "
            + "schedule. Per-stage progress bars show only with --set reproduce.workers=1."})
final class ReproduceCommand implements Callable<Integer> {
  @Option(names = "--setting", defaultValue = "both", paramLabel = "arithmetic|language|both")
  String setting;

  @Option(names = "--out", required = true, paramLabel = "DIR")
  Path out;

  @Mixin
  ConfigOptions options;

  @Override
  public Integer call() {
    List<String> settings;
    switch (setting) {
      case "both":
        settings = null;
        break;
      case "arithmetic":
      case "language":
        settings = List.of(setting);
        break;
      default:
        throw new IllegalArgumentException("--setting must be arithmetic, language or both, not '" + setting + "'");
    }
    ObjectNode tree = options.tree(null);
    // Split the threads among side-by-side stages before the engine starts: W workers get threads / W each.
    ExperimentConfig asked = ExperimentConfig.from(tree);
    tree.put("threads", Reproduce.threadsPerStage(asked));
    ((ObjectNode) tree.get("reproduce")).put("workers", Reproduce.workers(asked));
    ExperimentConfig cfg = options.config(tree);
    if (settings == null) {
      settings = cfg.reproduce().settings();
    }
    Path manifest = Reproduce.run(cfg, tree, settings, out, !options.quiet);
    ReportCommand.writeReport(out);
    System.out.println("manifest: " + manifest);
    System.out.println("report:   " + out.resolve("report/index.html"));
    return 0;
  }
}
