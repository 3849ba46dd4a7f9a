package dev.undo.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.cli.Main;
import dev.undo.run.Json;
import dev.undo.run.RunLock;
import dev.undo.stage.StageRunner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #15 end to end, with executor JVMs of their own ({@code local-cluster[2,1,2048]}): the micro arithmetic
 * experiment on Spark while one executor is killed ({@code kill -9}) in the middle of a training stage. Spark runs
 * the lost task again on another executor, that attempt takes the stage folder over from the dead one and resumes
 * from its checkpoint, and the run ends with exactly the numbers of the local executor.
 *
 * <p>Needs the Spark home that {@code mvn -Pspark} lays out (surefire sets SPARK_HOME); takes a few minutes.
 */
class ExecutorKillTest {
  @TempDir
  Path tmp;

  static String[] reproduce(Path out, String... more) {
    List<String> a = new ArrayList<>(List.of("reproduce", "--preset", "micro", "--setting", "arithmetic", "-q",
        "--out", out.toString()));
    a.addAll(List.of(more));
    return a.toArray(String[]::new);
  }

  @Test
  @Timeout(value = 40, unit = TimeUnit.MINUTES)
  void aStageWhoseExecutorIsKilledIsRetriedAndResumesToTheLocalNumbers() throws Exception {
    long started = System.currentTimeMillis();
    Path local = tmp.resolve("local");
    assertEquals(0, Main.execute(reproduce(local)));

    Path spark = tmp.resolve("spark");
    ExecutorService bg = Executors.newSingleThreadExecutor();
    Future<Integer> run = bg.submit(() -> Main.execute(reproduce(spark, "--executor", "spark", "--master",
        "local-cluster[2,1,2048]")));
    Killed killed = killMidStage(spark, run);
    assertNotNull(killed, "no executor was caught in the middle of a stage");
    assertEquals(0, run.get(30, TimeUnit.MINUTES), "the Spark run failed after the kill");
    bg.shutdown();

    // The retry found the dead attempt's lock on the stage folder, took it over, and finished the stage.
    assertTrue(Files.exists(killed.stage().resolve(StageRunner.DONE)));
    assertTrue(executorLogsSay("was left locked by pid " + killed.pid(), started),
        "no executor log says it took over " + killed.stage() + " from pid " + killed.pid());
    assertSameNumbers(local, spark);
  }

  record Killed(long pid, Path stage, long step) {}

  /**
   * Waits for a stage folder with a checkpoint, no DONE, and a lock held by another process (an executor JVM),
   * kills that process with SIGKILL, and returns it if the stage was indeed unfinished when it died.
   */
  static Killed killMidStage(Path run, Future<Integer> job) throws Exception {
    long self = ProcessHandle.current().pid();
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(20);
    while (!job.isDone() && System.nanoTime() < deadline) {
      for (Path stage : stagesWithCheckpoint(run)) {
        if (Files.exists(stage.resolve(StageRunner.DONE))) {
          continue;
        }
        long pid = lockHolder(stage);
        Optional<ProcessHandle> p = ProcessHandle.of(pid);
        if (pid <= 0 || pid == self || p.isEmpty() || !p.get().isAlive()) {
          continue;
        }
        long step;
        try {
          step = Json.read(stage.resolve("checkpoint/trainer_state.json"), JsonNode.class).path("step").asLong();
        } catch (UncheckedIOException e) {
          continue; // a checkpoint save is renaming the folder right now: look again
        }
        p.get().destroyForcibly(); // SIGKILL: no shutdown hook, no lock release but the kernel's
        p.get().onExit().get(30, TimeUnit.SECONDS);
        if (!Files.exists(stage.resolve(StageRunner.DONE))) {
          System.err.printf("test: killed executor pid %d in %s after checkpoint step %d%n", pid, stage, step);
          return new Killed(pid, stage, step);
        }
      }
      Thread.sleep(20);
    }
    return null;
  }

  /** The pid recorded in a stage's lock file (read without locking it, so the holder is never disturbed). */
  static long lockHolder(Path stage) {
    try {
      for (String line : Files.readAllLines(stage.resolve(RunLock.FILE))) {
        if (line.startsWith("pid=")) {
          return Long.parseLong(line.substring(4).trim());
        }
      }
    } catch (IOException | NumberFormatException e) {
      // Not there yet, or being rewritten.
    }
    return -1;
  }

  static List<Path> stagesWithCheckpoint(Path run) throws IOException {
    if (!Files.isDirectory(run)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(run, 6)) {
      return s.filter(p -> p.getFileName().toString().equals("trainer_state.json"))
          .map(p -> p.getParent().getParent()).filter(d -> Files.exists(d.resolve(RunLock.FILE))).toList();
    } catch (UncheckedIOException e) {
      return List.of(); // a folder renamed under the walk (an atomic checkpoint save): look again
    }
  }

  /** True if an executor log (stderr under $SPARK_HOME/work) written since {@code sinceMillis} contains text. */
  static boolean executorLogsSay(String text, long sinceMillis) throws IOException {
    Path work = Path.of(System.getenv("SPARK_HOME"), "work");
    try (Stream<Path> s = Files.walk(work)) {
      for (Path p : (Iterable<Path>) s.filter(f -> f.getFileName().toString().equals("stderr"))
          .filter(f -> f.toFile().lastModified() >= sinceMillis)::iterator) {
        if (Files.readString(p).contains(text)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Every stage's metrics.jsonl byte for byte, its eval/attack/sweep JSON and the manifest as JSON without wall
   * times and provenance, each run's own folder written as RUN (what scripts/compare_runs.py checks, plus the
   * manifest).
   */
  static void assertSameNumbers(Path a, Path b) throws IOException {
    int compared = 0;
    List<Path> files;
    try (Stream<Path> s = Files.walk(a)) {
      files = s.filter(Files::isRegularFile).filter(p -> !a.relativize(p).toString().contains("checkpoint"))
          .filter(p -> !a.relativize(p).startsWith("report")).toList();
    }
    for (Path fa : files) {
      String name = fa.getFileName().toString();
      Path fb = b.resolve(a.relativize(fa).toString());
      if (name.equals("metrics.jsonl")) {
        assertEquals(Files.readString(fa), Files.readString(fb), a.relativize(fa).toString());
        compared++;
      } else if (List.of("eval.json", "attack.json", "sweep.json", "manifest.json").contains(name)) {
        assertEquals(strip(Json.read(fa, JsonNode.class), a), strip(Json.read(fb, JsonNode.class), b),
            a.relativize(fa).toString());
        compared++;
      }
    }
    assertTrue(compared > 30, "compared only " + compared + " files");
  }

  static JsonNode strip(JsonNode n, Path run) {
    if (n.isObject()) {
      ObjectNode o = Json.MAPPER.createObjectNode();
      for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!e.getKey().equals("wall_seconds") && !e.getKey().equals("provenance") && !e.getValue().isNull()) {
          o.set(e.getKey(), strip(e.getValue(), run));
        }
      }
      return o;
    }
    if (n.isArray()) {
      var arr = Json.MAPPER.createArrayNode();
      n.forEach(x -> arr.add(strip(x, run)));
      return arr;
    }
    if (n.isTextual()) {
      return Json.MAPPER.getNodeFactory().textNode(n.asText().replace(run.toAbsolutePath().toString(), "RUN"));
    }
    return n;
  }
}
