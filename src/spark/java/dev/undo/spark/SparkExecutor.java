package dev.undo.spark;

import dev.undo.data.Corpus;
import dev.undo.reproduce.Executor;
import dev.undo.reproduce.ExecutorProvider;
import dev.undo.reproduce.ResolvedNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskFailedReason;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorAdded;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * Runs plan nodes as Spark tasks. The {@code undo} JVM is the Spark driver: {@link #launch} submits a ready node as
 * a job of one task ({@code parallelize(List.of(node), 1).mapPartitions(StageTask).collectAsync()}) in a job group
 * named after the node, and completes the node's future when the job ends. Scheduling, priorities, progress lines
 * and the ETA stay with the {@link dev.undo.reproduce.Scheduler}, as for the local executor.
 *
 * <p>{@link #slots()} is the number of tasks the cluster runs at once: total executor cores divided by the intra-op
 * threads of a task ({@code spark.task.cpus} is set to them, so Spark reserves that many cores per task).
 *
 * <p>Configuration: every {@code spark.*} system property (spark-submit's {@code --conf}, or {@code -Dspark.x=y} in
 * {@code UNDO_JAVA_OPTS}) is honoured; this class only fills in what is missing. It sets speculation off (a
 * speculative copy of a stage would just wait for the original's folder lock), {@code spark.task.maxFailures} 4,
 * the UI off, and passes the executors what they need: the engine's offline switches, the data folder, and for
 * {@code local-cluster} the driver's class path (the executors are JVMs on this machine). {@code local-cluster} and
 * standalone workers started from this build need {@code SPARK_HOME} pointing at a Spark home: {@code ./undo} sets
 * it to {@code target/spark/spark-home}, which {@code mvn -Pspark package} lays out from the Maven jars.
 */
public final class SparkExecutor implements Executor {
  /** Seconds a task waits for a stage folder that another attempt still locks (default 300). */
  public static final String LOCK_WAIT = "spark.undo.lockWaitSeconds";
  /** Seconds to wait for the first executor of a cluster, to count its cores (default 120). */
  public static final String EXECUTOR_WAIT = "spark.undo.executorWaitSeconds";

  private static final Pattern LOCAL = Pattern.compile("local(?:\\[(\\*|\\d+)(?:,\\s*\\d+)?])?");
  private static final Pattern LOCAL_CLUSTER =
      Pattern.compile("local-cluster\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*,\\s*(\\d+)\\s*]");

  private final JavaSparkContext sc;
  private final StageTask.Settings task;
  private final int slots;
  private final ExecutorService waiters;
  private final Set<JavaFutureAction<?>> running = ConcurrentHashMap.newKeySet();

  private SparkExecutor(JavaSparkContext sc, StageTask.Settings task, int slots) {
    this.sc = sc;
    this.task = task;
    this.slots = slots;
    this.waiters = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "spark-node-waiter");
      t.setDaemon(true);
      return t;
    });
  }

  /** Starts the Spark driver for a run. */
  public static SparkExecutor open(ExecutorProvider.Settings s) {
    requireModuleOpens();
    quietSparkLogs();
    SparkConf conf = conf(s, new SparkConf());
    String master = conf.get("spark.master");
    Shape shape = Shape.of(master);
    if (shape != null && shape.coresPerExecutor() < s.threadsPerStage()) {
      throw new IllegalArgumentException("--master " + master + " gives each executor " + shape.coresPerExecutor()
          + " core(s) but a task needs --threads " + s.threadsPerStage());
    }
    if (master.startsWith("local-cluster")) {
      requireSparkHome();
    }
    long lockWait = 1000L * conf.getLong(LOCK_WAIT, 300);
    JavaSparkContext sc = new JavaSparkContext(conf);
    try {
      int slots = shape != null ? shape.executors() * (shape.coresPerExecutor() / s.threadsPerStage())
          : Math.max(1, clusterCores(sc, conf, 1000L * conf.getLong(EXECUTOR_WAIT, 120)) / s.threadsPerStage());
      sc.sc().addSparkListener(new Lines(conf.getInt("spark.task.maxFailures", 4)));
      System.err.printf(Locale.ROOT, "spark: %s (app %s), %d task(s) at once, %d intra-op thread(s) each%n",
          master, sc.sc().applicationId(), slots, s.threadsPerStage());
      return new SparkExecutor(sc, new StageTask.Settings(s.threadsPerStage(), s.force(), lockWait), slots);
    } catch (RuntimeException e) {
      sc.stop();
      throw e;
    }
  }

  @Override
  public int slots() {
    return slots;
  }

  @Override
  public CompletableFuture<Void> launch(ResolvedNode node) {
    // The job group is a property of the submitting thread (the scheduler's); it names the node in Spark's UI and
    // logs, and lets close() cancel what still runs.
    sc.setJobGroup("undo:" + node.id(), node.name(), true);
    JavaFutureAction<List<StageTask.Outcome>> job;
    try {
      job = sc.parallelize(List.of(node), 1).mapPartitions(new StageTask(task)).collectAsync();
    } finally {
      sc.clearJobGroup();
    }
    running.add(job);
    CompletableFuture<Void> done = new CompletableFuture<>();
    waiters.execute(() -> {
      try {
        StageTask.Outcome o = job.get().get(0);
        if (o.error() == null) {
          done.complete(null);
        } else {
          done.completeExceptionally(new IllegalArgumentException(node.name() + " (on " + o.where() + "): "
              + o.error()));
        }
      } catch (ExecutionException e) {
        done.completeExceptionally(new IllegalStateException(node.name() + ": the Spark job failed: "
            + firstLine(e.getCause()), e.getCause()));
      } catch (InterruptedException | RuntimeException e) {
        done.completeExceptionally(e);
      } finally {
        running.remove(job);
      }
    });
    return done;
  }

  /** Cancels jobs that still run (only after a failure: the scheduler waits for the rest) and stops the driver. */
  @Override
  public void close() {
    if (!running.isEmpty()) {
      sc.cancelAllJobs();
    }
    sc.stop();
    waiters.shutdownNow();
  }

  /** The configuration of a run: the user's {@code spark.*} settings, completed with what this executor needs. */
  static SparkConf conf(ExecutorProvider.Settings s, SparkConf c) {
    if (s.master() != null) {
      c.setMaster(s.master());
    }
    if (!c.contains("spark.master")) {
      throw new IllegalArgumentException("--executor spark needs --master URL (or spark-submit --master)");
    }
    String master = c.get("spark.master");
    c.setIfMissing("spark.app.name", "undo reproduce " + s.out().getFileName());
    c.set("spark.task.cpus", Integer.toString(s.threadsPerStage()));
    c.setIfMissing("spark.task.maxFailures", "4");
    c.set("spark.speculation", "false");
    c.setIfMissing("spark.ui.enabled", "false");
    c.setIfMissing("spark.ui.showConsoleProgress", "false");
    if (master.startsWith("local")) {
      // Everything on this machine: stay on the loopback interface, whatever the host name resolves to.
      c.setIfMissing("spark.driver.host", "127.0.0.1");
      c.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
    }
    Matcher lc = LOCAL_CLUSTER.matcher(master);
    if (lc.matches()) {
      // Executor JVMs on this machine: our classes from where the driver has them; heap as the master URL says.
      c.setIfMissing("spark.executor.extraClassPath", System.getProperty("java.class.path"));
      c.setIfMissing("spark.executor.memory", lc.group(3) + "m");
    }
    c.setIfMissing("spark.executorEnv.DJL_OFFLINE", "true");
    c.setIfMissing("spark.executorEnv.OPT_OUT_TRACKING", "true");
    // An in-process worker (local-cluster) builds executor commands with Spark's launcher, which wants this when
    // SPARK_HOME is a plain distribution layout rather than a source build.
    c.setIfMissing("spark.executorEnv.SPARK_SCALA_VERSION", scalaBinaryVersion());
    for (String v : List.of("DJL_CACHE_DIR", "PYTORCH_LIBRARY_PATH", "PYTORCH_FLAVOR", "PYTORCH_VERSION")) {
      String x = System.getenv(v);
      if (x != null) {
        c.setIfMissing("spark.executorEnv." + v, x);
      }
    }
    try {
      c.setIfMissing("spark.executorEnv." + Corpus.DATA_DIR_ENV, Corpus.dataRoot().toAbsolutePath().toString());
    } catch (RuntimeException e) {
      // No data folder here: executors find theirs as a local run would.
    }
    return c;
  }

  /** Executors and cores per executor as the master URL gives them (local modes), or null for a cluster. */
  record Shape(int executors, int coresPerExecutor) {
    static Shape of(String master) {
      Matcher m = LOCAL.matcher(master);
      if (m.matches()) {
        String n = m.group(1);
        return new Shape(1, n == null ? 1 : n.equals("*") ? Runtime.getRuntime().availableProcessors()
            : Integer.parseInt(n));
      }
      m = LOCAL_CLUSTER.matcher(master);
      if (m.matches()) {
        return new Shape(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
      }
      return null;
    }
  }

  /**
   * A cluster's cores: {@code spark.cores.max} or instances × cores when configured, else what the executors that
   * registered within {@code waitMillis} of the start report.
   */
  static int clusterCores(JavaSparkContext sc, SparkConf conf, long waitMillis) {
    if (conf.contains("spark.cores.max")) {
      return conf.getInt("spark.cores.max", 1);
    }
    if (conf.contains("spark.executor.instances") && conf.contains("spark.executor.cores")) {
      return conf.getInt("spark.executor.instances", 1) * conf.getInt("spark.executor.cores", 1);
    }
    long deadline = System.nanoTime() + waitMillis * 1_000_000L;
    // The status tracker lists the driver too.
    while (sc.sc().statusTracker().getExecutorInfos().length < 2 && System.nanoTime() < deadline) {
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    if (sc.sc().statusTracker().getExecutorInfos().length < 2) {
      throw new IllegalStateException("no Spark executor registered within " + waitMillis / 1000 + " s ("
          + EXECUTOR_WAIT + "); is the cluster up and does it have free cores?");
    }
    return sc.defaultParallelism();
  }

  /**
   * Spark needs java.base packages opened to it on Java 17 ({@code org.apache.spark.launcher.JavaModuleOptions});
   * without them the driver fails deep inside Spark with an IllegalAccessError. Say so in one line instead.
   */
  static void requireModuleOpens() {
    Module base = Object.class.getModule();
    Module self = SparkExecutor.class.getModule();
    for (String pkg : List.of("java.lang", "java.nio", "java.util", "sun.nio.ch")) {
      if (!base.isOpen(pkg, self)) {
        throw new IllegalArgumentException("--executor spark: this JVM lacks --add-opens=java.base/" + pkg
            + "=ALL-UNNAMED (and the rest of Spark's list, see README); ./undo adds them, spark-submit too");
      }
    }
  }

  /** local-cluster launches executor JVMs with Spark's launcher, which needs a Spark home with jars/. */
  static void requireSparkHome() {
    String home = System.getenv("SPARK_HOME");
    if (home == null || !Files.isDirectory(Path.of(home, "jars"))) {
      throw new IllegalArgumentException("--master local-cluster needs SPARK_HOME set to a Spark home with jars/ "
          + "(now " + (home == null ? "unset" : home) + "); ./undo sets target/spark/spark-home, which "
          + "mvn -Pspark package lays out");
    }
  }

  /** Spark's INFO lines would bury the scheduler's progress lines: warnings and errors only, unless set. */
  static void quietSparkLogs() {
    for (Map.Entry<String, String> e : Map.of("org.apache.spark", "warn", "org.sparkproject", "warn",
        "org.apache.hadoop", "error", "io.netty", "warn").entrySet()) {
      String key = "org.slf4j.simpleLogger.log." + e.getKey();
      if (System.getProperty(key) == null) {
        System.setProperty(key, e.getValue());
      }
    }
  }

  static String scalaBinaryVersion() {
    String v = scala.util.Properties.versionNumberString();
    return v.substring(0, v.lastIndexOf('.'));
  }

  static String firstLine(Throwable t) {
    String m = t == null || t.getMessage() == null ? String.valueOf(t) : t.getMessage();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }

  /**
   * Driver-side lines for what the scheduler does not see: executors joining and leaving, and failed task
   * attempts that Spark will retry (e.g. a node whose executor was killed).
   */
  static final class Lines extends SparkListener {
    private final Map<Integer, String> nodeOfStage = new ConcurrentHashMap<>();
    private final int maxFailures;

    Lines(int maxFailures) {
      this.maxFailures = maxFailures;
    }

    @Override
    public void onStageSubmitted(SparkListenerStageSubmitted e) {
      Properties p = e.properties();
      String d = p == null ? null : p.getProperty("spark.job.description");
      if (d != null) {
        nodeOfStage.put(e.stageInfo().stageId(), d);
      }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
      if (e.reason() instanceof TaskFailedReason r) {
        String node = nodeOfStage.getOrDefault(e.stageId(), "stage " + e.stageId());
        System.err.printf(Locale.ROOT, "spark: %s: attempt %d of %d on executor %s failed: %s%n", node,
            e.taskInfo().attemptNumber() + 1, maxFailures, e.taskInfo().executorId(),
            firstLine(new RuntimeException(r.toErrorString())));
      }
    }

    @Override
    public void onExecutorAdded(SparkListenerExecutorAdded e) {
      System.err.printf(Locale.ROOT, "spark: executor %s on %s (%d cores)%n", e.executorId(),
          e.executorInfo().executorHost(), e.executorInfo().totalCores());
    }

    @Override
    public void onExecutorRemoved(SparkListenerExecutorRemoved e) {
      System.err.printf(Locale.ROOT, "spark: executor %s removed: %s%n", e.executorId(), e.reason());
    }
  }
}
