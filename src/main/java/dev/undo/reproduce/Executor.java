package dev.undo.reproduce;

import java.util.concurrent.CompletableFuture;

/**
 * Where plan nodes run. The {@link Scheduler} decides what is ready and in which order; an executor only starts a
 * node and reports when it ends. Implementations: {@link LocalExecutor} (threads of this JVM); the Spark executor
 * ({@code mvn -Pspark}, {@code src/spark/java}, found through {@link ExecutorProvider}) runs each node as a Spark
 * task in executor JVMs that may be on other machines.
 */
public interface Executor extends AutoCloseable {
  /** How many nodes may run at once. */
  int slots();

  /** Starts a node whose stage specs are resolved; the future completes when every stage of it is done. */
  CompletableFuture<Void> launch(ResolvedNode node);

  @Override
  default void close() {}
}
