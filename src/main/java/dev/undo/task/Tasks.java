package dev.undo.task;

import com.fasterxml.jackson.databind.JsonNode;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import java.util.List;

/** The task registry: a setting's name and its {@code data} section to a {@link Task}. */
public final class Tasks {
  /** Every setting, in the order a report lists them. */
  public static final List<String> NAMES = List.of(ArithmeticTask.NAME, CorpusPairTask.LANGUAGE,
      CorpusPairTask.TEXT);

  private Tasks() {}

  /** Builds the task of {@code setting} from its resolved configuration (loads its corpora). */
  public static Task of(String setting, ExperimentConfig cfg) {
    return of(setting, cfg.setting(setting).data());
  }

  public static Task of(String setting, JsonNode data) {
    String where = setting + ".data";
    return switch (setting) {
      case ArithmeticTask.NAME -> new ArithmeticTask(
          ConfigLoader.bind(data, ExperimentConfig.ArithmeticData.class, where));
      case CorpusPairTask.LANGUAGE -> CorpusPairTask.language(
          ConfigLoader.bind(data, ExperimentConfig.LanguageData.class, where));
      case CorpusPairTask.TEXT -> CorpusPairTask.text(
          ConfigLoader.bind(data, ExperimentConfig.TextData.class, where));
      default -> throw new IllegalArgumentException("unknown setting '" + setting + "' (use " + String.join(", ",
          NAMES) + ")");
    };
  }
}
