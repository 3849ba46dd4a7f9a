package dev.undo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.reproduce.Executor;
import dev.undo.reproduce.ExecutorProvider;
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
        "--dry-run prints the plan (stages, dependencies, estimated cost) and runs nothing.",
        "--executor spark --master URL runs each stage as a Spark task (local[N], local-cluster[W,C,M], "
            + "spark://HOST:PORT, k8s://...), --threads intra-op threads per task (default 1); OUT must be a folder "
            + "every executor sees at the same path. Needs the Spark build: mvn -Pspark package (README)."})
final class ReproduceCommand implements Callable<Integer> {
  @Option(names = "--setting", defaultValue = "preset", paramLabel = "arithmetic|language|text|both|preset",
      description = "Settings to run: one, a comma-separated list, both (arithmetic,language), or the preset's "
          + "reproduce.settings (default).")
  String setting;

  @Option(names = "--out", required = true, paramLabel = "DIR")
  Path out;

  @Option(names = "--dry-run", description = "Print the plan and exit.")
  boolean dryRun;

  @Option(names = "--executor", defaultValue = "local", paramLabel = "local|spark",
      description = "Where stages run: threads of this JVM (local, default) or Spark tasks (spark).")
  String executor;

  @Option(names = "--master", paramLabel = "URL",
      description = "Spark master for --executor spark (default: the one spark-submit gives).")
  String master;

  @Mixin
  ConfigOptions options;

  @Override
  public Integer call() {
    ObjectNode tree = options.tree(null);
    boolean local = executor.equals("local");
    if (!local && !executor.equals("spark")) {
      throw new IllegalArgumentException("--executor: '" + executor + "' is not local or spark");
    }
    if (local && master != null) {
      throw new IllegalArgumentException("--master is for --executor spark");
    }
    ExperimentConfig asked = ExperimentConfig.from(tree);
    if (local) {
      // Split the threads among side-by-side stages before the engine starts: W workers get threads / W each.
      tree.put("threads", Reproduce.threadsPerStage(asked));
      ((ObjectNode) tree.get("reproduce")).put("workers", Reproduce.workers(asked));
    } else {
      // Each task gets --threads intra-op threads, default 1: the local default per stage (2 threads, 2 workers),
      // so both executors give the same numbers; the cluster's cores, not intra-op threads, give the speed.
      if (options.threads != null && options.threads < 1) {
        throw new IllegalArgumentException("--threads must be >= 1 with --executor " + executor);
      }
      tree.put("threads", options.threads != null ? options.threads : 1);
      // Executors on other machines see the run folder at the same absolute path.
      out = out.toAbsolutePath().normalize();
    }
    List<String> settings = settings(asked);
    if (dryRun) {
      System.out.print(Reproduce.describe(Planner.plan(tree, settings, out)));
      return 0;
    }
    if (!local && master == null && System.getProperty("spark.master") == null) {
      throw new IllegalArgumentException("--executor spark needs --master URL (or spark-submit --master)");
    }
    Path manifest;
    try (Executor ex = local ? Reproduce.localExecutor(options.config(tree), !options.quiet, options.force)
        // The driver trains nothing, so it does not start the engine: executors do, once per JVM.
        : ExecutorProvider.open(executor, new ExecutorProvider.Settings(master,
            ExperimentConfig.from(tree).threads(), out, options.force))) {
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
