package dev.undo.reproduce;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * An {@link Executor} that lives outside the default build, found at run time with {@link ServiceLoader}: the Spark
 * executor (built by {@code mvn -Pspark package}, issue #15) registers one named {@code spark}. The core never
 * depends on such a build, so the default jar stays lean and {@code mvn test} never compiles Spark; a command that
 * asks for an executor the running build lacks stops with one line saying how to get it.
 */
public interface ExecutorProvider {
  /** The name given to {@code reproduce --executor}. */
  String name();

  /** Starts the executor (for Spark: the driver's context); closed by the caller when the plan is done. */
  Executor open(Settings settings);

  /**
   * What an executor needs from the command line: the cluster to run on ({@code master}; null = the provider's
   * default, e.g. the one spark-submit set), the intra-op threads of each stage, the run folder (absolute: other
   * machines see it at the same path) and whether stages may start over a folder of another configuration.
   */
  record Settings(String master, int threadsPerStage, Path out, boolean force) {
    public Settings {
      if (threadsPerStage < 1) {
        throw new IllegalArgumentException("threads per stage must be >= 1, not " + threadsPerStage);
      }
      if (!out.isAbsolute()) {
        throw new IllegalArgumentException("the run folder of a remote executor must be absolute: " + out);
      }
    }
  }

  /** The executor named {@code name} from the providers on the class path. */
  static Executor open(String name, Settings settings) {
    List<String> known = new ArrayList<>(List.of("local"));
    for (ExecutorProvider p : ServiceLoader.load(ExecutorProvider.class)) {
      if (p.name().equals(name)) {
        return p.open(settings);
      }
      known.add(p.name());
    }
    if (name.equals("spark")) {
      throw new IllegalArgumentException("--executor spark: this build has no Spark executor; build it with "
          + "mvn -Pspark package (./undo does when it sees --executor spark) and run target/spark/undo-spark.jar");
    }
    throw new IllegalArgumentException("--executor " + name + ": unknown executor (this build has " + known + ")");
  }
}
