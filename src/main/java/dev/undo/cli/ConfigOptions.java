package dev.undo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.model.Engines;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import dev.undo.stage.StageRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** The options every stage shares: preset, overrides, threads, quiet, force, and the text setting's corpora. */
public final class ConfigOptions {
  /** Top-level keys of the configuration; an override under any other is taken relative to the setting. */
  static final List<String> TOP_LEVEL = List.of("name", "seed", "threads", "model", "reproduce", "arithmetic",
      "language", "text");

  @Option(names = "--preset", defaultValue = "quick", paramLabel = "NAME|FILE",
      description = "Preset: micro, quick, standard, standard-tiny, full, paper, or a YAML file "
          + "(default: ${DEFAULT-VALUE}).")
  String preset;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "Override a config key, e.g. --set arithmetic.pretrain.lr=1e-3 (repeatable). Keys without a "
          + "known top-level section are taken relative to the chosen setting (pretrain.lr=1e-3).")
  Map<String, String> overrides = new LinkedHashMap<>();

  @Option(names = "--threads", paramLabel = "N", description = "Intra-op threads (default: the config's).")
  Integer threads;

  @Option(names = {"-q", "--quiet"}, description = "No progress bars.")
  boolean quiet;

  @Option(names = "--force", description = "Start over a stage folder that holds work of another configuration "
      + "(deletes it); without it such a folder is an error.")
  boolean force;

  @Option(names = "--retain-text", paramLabel = "FILE",
      description = "Setting text: the corpus to keep (UTF-8, one document per line, or JSONL with a \"text\" "
          + "field); sets text.data.retain_corpus.")
  Path retainText;

  @Option(names = "--forget-text", paramLabel = "FILE",
      description = "Setting text: the corpus to forget; sets text.data.forget_corpus.")
  Path forgetText;

  /** The resolved tree; overrides not naming a top-level key get the setting prefixed. */
  ObjectNode tree(String setting) {
    Map<String, String> o = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      String k = e.getKey();
      String top = k.contains(".") ? k.substring(0, k.indexOf('.')) : k;
      o.put(TOP_LEVEL.contains(top) || setting == null ? k : setting + "." + k, e.getValue());
    }
    corpus(o, "text.data.retain_corpus", retainText, "--retain-text");
    corpus(o, "text.data.forget_corpus", forgetText, "--forget-text");
    ObjectNode t = ConfigLoader.resolve(preset, o);
    if (threads != null) {
      if (threads < 0) {
        throw new IllegalArgumentException("--threads must be >= 0 (0 = all cores), got " + threads);
      }
      t.put("threads", threads);
    }
    return t;
  }

  private static void corpus(Map<String, String> o, String key, Path file, String option) {
    if (file == null) {
      return;
    }
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(option + ": " + file + " is not a file");
    }
    // Quoted so the path is a YAML string whatever characters it has.
    o.put(key, "\"" + file.toAbsolutePath().normalize().toString().replace("\\", "\\\\").replace("\"", "\\\"")
        + "\"");
  }

  ExperimentConfig config(ObjectNode tree) {
    ExperimentConfig c = ExperimentConfig.from(tree);
    Engines.start(c.threads());
    return c;
  }

  StageRunner.Options run() {
    return new StageRunner.Options(!quiet, force);
  }
}
