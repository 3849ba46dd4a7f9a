/**
 * The experiment plan on Apache Spark (issue #15): {@code undo reproduce --executor spark --master URL}.
 *
 * <p>The driver is the {@code undo} JVM. Its {@link dev.undo.reproduce.Scheduler} decides, as with the local
 * executor, which plan nodes are ready and in which order, and prints their start and end lines with an ETA;
 * {@link dev.undo.spark.SparkExecutor} submits each ready node as a one-task Spark job. The task
 * ({@link dev.undo.spark.StageTask}) runs in an executor JVM, starts the engine there once, and runs the node's
 * stages with the same code as the local executor ({@link dev.undo.reproduce.Stages#runNode}), writing the same
 * stage folders on a file system every executor sees. A task lost with its executor is retried by Spark and resumes
 * the stage from its last checkpoint; the stage folder's lock ({@link dev.undo.run.RunLock}) keeps two attempts
 * from writing one stage.
 *
 * <p>Built only by {@code mvn -Pspark package} (sources in {@code src/spark/java}); the core finds it through
 * {@link dev.undo.reproduce.ExecutorProvider}. Nothing in the core depends on this package.
 */
package dev.undo.spark;
