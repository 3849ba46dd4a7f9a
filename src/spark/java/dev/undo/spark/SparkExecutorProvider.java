package dev.undo.spark;

import dev.undo.reproduce.Executor;
import dev.undo.reproduce.ExecutorProvider;

/** Registers {@code --executor spark} (META-INF/services) so the core finds it without depending on Spark. */
public final class SparkExecutorProvider implements ExecutorProvider {
  @Override
  public String name() {
    return "spark";
  }

  @Override
  public Executor open(Settings settings) {
    return SparkExecutor.open(settings);
  }
}
