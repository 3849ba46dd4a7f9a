package dev.undo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.model.Engines;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** The options every stage shares: preset, overrides, threads, quiet. */
public final class ConfigOptions {
  @Option(names = "--preset", defaultValue = "quick", paramLabel = "NAME|FILE",
      description = "Preset: quick, paper, micro, or a YAML file (default: ${DEFAULT-VALUE}).")
  String preset;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "Override a config key, e.g. --set arithmetic.pretrain.lr=1e-3 (repeatable). Keys without a "
          + "known top-level section are taken relative to the chosen setting (pretrain.lr=1e-3).")
  Map<String, String> overrides = new LinkedHashMap<>();

  @Option(names = "--threads", paramLabel = "N", description = "Intra-op threads (default: the config's).")
  Integer threads;

  @Option(names = {"-q", "--quiet"}, description = "No progress bars.")
  boolean quiet;

  /** The resolved tree; overrides not naming a top-level key get the setting prefixed. */
  ObjectNode tree(String setting) {
    Map<String, String> o = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      String k = e.getKey();
      String top = k.contains(".") ? k.substring(0, k.indexOf('.')) : k;
      boolean known = top.equals("model") || top.equals("arithmetic") || top.equals("language") || top.equals("seed")
          || top.equals("threads") || top.equals("name");
      o.put(known || setting == null ? k : setting + "." + k, e.getValue());
    }
    ObjectNode t = ConfigLoader.resolve(preset, o);
    if (threads != null) {
      t.put("threads", threads);
    }
    return t;
  }

  ExperimentConfig config(ObjectNode tree) {
    ExperimentConfig c = ExperimentConfig.from(tree);
    Engines.start(c.threads());
    return c;
  }
}
