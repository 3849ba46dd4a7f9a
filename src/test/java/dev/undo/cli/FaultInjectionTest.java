package dev.undo.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.run.Checksums;
import dev.undo.run.Json;
import dev.undo.run.RunLock;
import dev.undo.train.Checkpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults at the stage level, through the CLI as a user meets them (issue #11): a stage killed with SIGKILL at
 * random points, two writers on one folder, damaged inputs, a changed configuration over finished or partial work,
 * and a diverging stage. Each case asserts the exact outcome: the error line and exit code, the files that survive,
 * and numbers identical to an uninterrupted run.
 *
 * <p>Child processes run {@code dev.undo.cli.Main} with the test class path and one intra-op thread, as the
 * uninterrupted reference run in this JVM does, so their numbers must be bit-identical.
 */
class FaultInjectionTest {
  @TempDir
  static Path tmp;

  /** The uninterrupted micro pretrain every recovered run must equal. */
  static Path reference;

  static String[] pretrain(Path out, String... extra) {
    List<String> a = new ArrayList<>(List.of("pretrain", "--setting", "arithmetic", "--preset", "micro", "--threads",
        "1", "-q"));
    a.addAll(List.of(extra));
    a.addAll(List.of("--out", out.toString()));
    return a.toArray(new String[0]);
  }

  /** "undo pretrain …" as the lock file records a command. */
  static String commandLine(String[] args) {
    return "undo " + String.join(" ", args);
  }

  @BeforeAll
  static void uninterrupted() {
    reference = tmp.resolve("reference");
    CliTest.Run r = CliTest.run(pretrain(reference));
    assertEquals(0, r.code(), r.err());
    assertEquals("", r.err());
  }

  // ---- helpers ---------------------------------------------------------------------------------------------------

  /** A child JVM running the CLI; stdout and stderr go to files. */
  record Child(Process process, Path out, Path err) {
    String stderr() throws IOException {
      return Files.readString(err, StandardCharsets.UTF_8);
    }

    String stdout() throws IOException {
      return Files.readString(out, StandardCharsets.UTF_8);
    }
  }

  static Child spawn(String name, String... args) throws IOException {
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx1g", "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1", "-cp", cp,
        Main.class.getName()));
    cmd.addAll(Arrays.asList(args));
    Path out = tmp.resolve(name + ".stdout");
    Path err = tmp.resolve(name + ".stderr");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().put("DJL_OFFLINE", "true");
    pb.environment().put("OPT_OUT_TRACKING", "true");
    return new Child(pb.start(), out, err);
  }

  static int lines(Path file) {
    try {
      return Files.exists(file) ? (int) Files.readString(file, StandardCharsets.UTF_8).chars()
          .filter(c -> c == '\n').count() : 0;
    } catch (IOException e) {
      return 0; // being replaced right now; look again
    }
  }

  /** Polls until {@code ready} holds; false if the child ended first. */
  static boolean waitFor(Child c, java.util.function.BooleanSupplier ready) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    while (System.nanoTime() < deadline) {
      if (ready.getAsBoolean()) {
        return true;
      }
      if (!c.process().isAlive()) {
        return ready.getAsBoolean();
      }
      Thread.sleep(5);
    }
    throw new AssertionError("child did not get there within 5 minutes: " + c.err());
  }

  /** SIGKILL: no shutdown hook, no lock release, no cleanup. */
  static void killDashNine(Child c) throws InterruptedException {
    assertTrue(c.process().isAlive(), "the child must still be running when it is killed");
    c.process().destroyForcibly();
    assertTrue(c.process().waitFor(60, TimeUnit.SECONDS));
    assertEquals(137, c.process().exitValue(), "128 + SIGKILL");
  }

  static void signal(Process p, String sig) throws IOException, InterruptedException {
    Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).inheritIO().start();
    assertEquals(0, k.waitFor());
  }

  static Set<String> list(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return new TreeSet<>(s.map(p -> p.getFileName().toString()).toList());
    }
  }

  static final Set<String> STAGE_FILES = Set.of("DONE", "LOCK", "checkpoint", "config.json", "eval.json",
      "metrics.jsonl", "timing.json");
  static final Set<String> CHECKPOINT_FILES = Set.of("checksums.json", "config.json", "model.safetensors",
      "optimizer.safetensors", "provenance.json", "tokenizer.json", "trainer_state.json");

  /** eval.json with the wall time (the one number a run may change) removed. */
  static JsonNode evalWithoutWallTime(Path stage) {
    ObjectNode n = Json.read(stage.resolve("eval.json"), ObjectNode.class);
    ((ObjectNode) n.get("compute")).remove("wall_seconds");
    return n;
  }

  /** Bit-identical to {@code expected}: metrics log, weights, optimizer state, step, compute ledger; no leftovers. */
  static void assertSameStage(Path expected, Path actual) throws IOException {
    assertEquals(STAGE_FILES, list(actual), "stage folder");
    assertEquals(CHECKPOINT_FILES, list(actual.resolve("checkpoint")), "checkpoint folder");
    assertEquals(Files.readString(expected.resolve("metrics.jsonl")), Files.readString(actual.resolve(
        "metrics.jsonl")));
    for (String f : List.of("model.safetensors", "optimizer.safetensors", "trainer_state.json", "config.json",
        "tokenizer.json")) {
      assertArrayEquals(Files.readAllBytes(expected.resolve("checkpoint").resolve(f)),
          Files.readAllBytes(actual.resolve("checkpoint").resolve(f)), f);
    }
    // Metrics, FLOPs, tokens, steps: evaluations count in forward_tokens, so a lost or repeated one shows.
    assertEquals(evalWithoutWallTime(expected), evalWithoutWallTime(actual));
    assertEquals(Checksums.Status.VERIFIED, Checkpoint.verify(actual));
    assertEquals(Json.read(expected.resolve("config.json"), JsonNode.class).get("fingerprint"),
        Json.read(actual.resolve("config.json"), JsonNode.class).get("fingerprint"));
  }

  static String hostOf(Path folder) {
    return RunLock.holder(folder).orElseThrow(() -> new AssertionError(folder + " is not locked")).describe();
  }

  // ---- kill -9 -----------------------------------------------------------------------------------------------------

  /**
   * Kills a child pretrain with SIGKILL once its metrics log has reached a line drawn from {@code seed} (plus a
   * drawn delay of a few milliseconds), then reruns the same command here: the result equals the uninterrupted run.
   * Returns the folder's holder line, so callers can check the takeover note.
   */
  static void killAndResume(long seed) throws Exception {
    Random rnd = new Random(seed);
    int line = 1 + rnd.nextInt(22); // of 23: the step-0 evaluation, 20 steps, evaluations at 10 and 20
    int delayMs = rnd.nextInt(30);
    Path dir = tmp.resolve("killed-" + seed);
    String[] args = pretrain(dir);
    Child c = spawn("killed-" + seed, args);
    assertTrue(waitFor(c, () -> lines(dir.resolve("metrics.jsonl")) >= line), "never reached line " + line);
    Thread.sleep(delayMs);
    String holder = hostOf(dir);
    killDashNine(c);
    assertFalse(Files.exists(dir.resolve("DONE")), "killed at line " + line + " + " + delayMs + " ms");

    CliTest.Run r = CliTest.run(args);
    assertEquals(0, r.code(), r.err());
    assertEquals("note: " + dir + " was left locked by " + holder + " (no longer running); continuing\n", r.err());
    assertSameStage(reference, dir);
  }

  @Test
  void killDashNineAtARandomPointThenRerunGivesTheUninterruptedNumbers() throws Exception {
    killAndResume(3);
  }

  @Test
  @Tag("slow")
  void killDashNineAtMoreRandomPoints() throws Exception {
    // Lines 16, 13, 19, 12, 10 and 3 (before the first checkpoint: the rerun starts over).
    for (long seed : new long[] {1, 2, 4, 5, 6, 7}) {
      killAndResume(seed);
    }
  }

  /**
   * Killed once the final checkpoint is installed, i.e. (almost always) after the last step but before eval.json
   * and DONE: the rerun must not train again and must report the same final evaluation and ledger.
   */
  @Test
  @Tag("slow")
  void killDashNineAfterTheFinalCheckpointFinishesWithoutTraining() throws Exception {
    Path dir = tmp.resolve("killed-at-the-end");
    String[] args = pretrain(dir);
    Child c = spawn("killed-at-the-end", args);
    assertTrue(waitFor(c, () -> {
      try {
        return Files.exists(dir.resolve("checkpoint/checksums.json")) && Json.read(dir.resolve(
            "checkpoint/trainer_state.json"), JsonNode.class).get("step").asLong() == 20;
      } catch (RuntimeException e) {
        return false; // between the renames of a save
      }
    }));
    String holder = hostOf(dir);
    killDashNine(c);
    CliTest.Run r = CliTest.run(args);
    assertEquals(0, r.code(), r.err());
    assertEquals("note: " + dir + " was left locked by " + holder + " (no longer running); continuing\n", r.err());
    assertSameStage(reference, dir);
  }

  /** {@code reproduce} killed with SIGKILL after a drawn number of finished stages, then rerun here. */
  @Test
  @Tag("slow")
  void killDashNineOfReproduceThenRerunGivesTheSameManifest() throws Exception {
    Path full = tmp.resolve("reproduce-full");
    Path killed = tmp.resolve("reproduce-killed");
    String[] base = {"reproduce", "--preset", "micro", "--setting", "arithmetic", "--threads", "1", "-q"};
    CliTest.Run r = CliTest.run(concat(base, "--out", full.toString()));
    assertEquals(0, r.code(), r.err());
    Random rnd = new Random(11);
    int stages = 1 + rnd.nextInt(20); // of 28 stage folders with DONE
    String[] args = concat(base, "--out", killed.toString());
    Child c = spawn("reproduce-killed", args);
    assertTrue(waitFor(c, () -> done(killed) >= stages), "never finished " + stages + " stages");
    Thread.sleep(rnd.nextInt(1000));
    killDashNine(c);
    assertFalse(Files.exists(killed.resolve("manifest.json")));
    r = CliTest.run(args);
    assertEquals(0, r.code(), r.err());
    assertEquals(28, done(full), "4 + 3 × (2 LRs + selection) + 3 + 1 + 11 attacks");
    assertEquals(28, done(killed));
    JsonNode a = withoutWallTimes(Json.read(full.resolve("manifest.json"),
        ObjectNode.class));
    JsonNode b = withoutWallTimes(Json.read(killed.resolve("manifest.json"),
        ObjectNode.class));
    assertEquals(a, b);
    ObjectNode ca = Json.read(full.resolve("report/claims.json"), ObjectNode.class);
    ObjectNode cb = Json.read(killed.resolve("report/claims.json"), ObjectNode.class);
    ca.remove("wall_seconds");
    cb.remove("wall_seconds");
    assertEquals(ca, cb);
  }

  /** A JSON tree without its wall-clock fields (the only numbers a rerun may change). */
  static JsonNode withoutWallTimes(JsonNode n) {
    if (n instanceof ObjectNode o) {
      o.remove("wall_seconds");
      o.fields().forEachRemaining(e -> withoutWallTimes(e.getValue()));
    } else if (n.isArray()) {
      n.forEach(FaultInjectionTest::withoutWallTimes);
    }
    return n;
  }

  static String[] concat(String[] a, String... b) {
    String[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** Stage folders with DONE under a run folder. */
  static long done(Path run) {
    if (!Files.isDirectory(run)) {
      return 0;
    }
    try (Stream<Path> s = Files.walk(run)) {
      return s.filter(p -> p.getFileName().toString().equals("DONE")).count();
    } catch (IOException | java.io.UncheckedIOException e) {
      return 0; // a folder moved while walking; look again
    }
  }

  /**
   * Killed right after its first checkpoint was installed. The partial folder refuses a changed configuration
   * (naming the key) and is left as it was; {@code --force} starts it over, and so does the same command resume it.
   */
  @Test
  void killDashNineAfterACheckpointRefusesAnotherConfigurationAndResumesUnderItsOwn() throws Exception {
    Path dir = tmp.resolve("killed-at-checkpoint");
    String[] args = pretrain(dir);
    Child c = spawn("killed-at-checkpoint", args);
    assertTrue(waitFor(c, () -> Files.exists(dir.resolve("checkpoint/checksums.json"))));
    String holder = hostOf(dir);
    killDashNine(c);
    assertFalse(Files.exists(dir.resolve("DONE")));
    String log = Files.readString(dir.resolve("metrics.jsonl"));

    CliTest.Run changed = CliTest.run(pretrain(dir, "--set", "pretrain.lr=1e-3"));
    assertEquals(2, changed.code(), changed.err());
    assertEquals("note: " + dir + " was left locked by " + holder + " (no longer running); continuing\n"
        + "undo pretrain: error: " + dir + " was made with a different configuration: spec.train.lr: 0.002 → 0.001; "
        + "use another --out or --force\n", changed.err());
    assertEquals(log, Files.readString(dir.resolve("metrics.jsonl")), "a refused run changes nothing");
    assertEquals(Checksums.Status.VERIFIED, Checkpoint.verify(dir));

    CliTest.Run resumed = CliTest.run(args);
    assertEquals(0, resumed.code(), resumed.err());
    assertEquals("", resumed.err());
    assertSameStage(reference, dir);
  }

  // ---- changed configuration and --force ------------------------------------------------------------------------

  @Test
  void aChangedConfigurationIsRefusedOnFinishedAndPartialWorkAndForceStartsOver() throws Exception {
    Path fresh = tmp.resolve("fresh-10-steps");
    assertEquals(0, CliTest.run(pretrain(fresh, "--set", "pretrain.steps=10")).code());

    // Finished stage.
    Path done = tmp.resolve("done");
    CliTest.copyTree(reference, done);
    CliTest.copyTree(reference.resolve("checkpoint"), done.resolve("checkpoint"));
    CliTest.Run r = CliTest.run(pretrain(done, "--set", "pretrain.steps=10"));
    assertEquals(2, r.code());
    assertEquals("undo pretrain: error: " + done + " was made with a different configuration: spec.train.steps: "
        + "20 → 10; use another --out or --force\n", r.err());
    assertSameStage(reference, done);
    r = CliTest.run(pretrain(done, "--force", "--set", "pretrain.steps=10"));
    assertEquals(0, r.code(), r.err());
    assertSameStage(fresh, done);

    // Partial stage: a run that died after step 7 (its last checkpoint is at step 5).
    Path partial = tmp.resolve("partial");
    System.setProperty("undo.test.crashAfterStep", "7");
    try {
      r = CliTest.run(pretrain(partial));
    } finally {
      System.clearProperty("undo.test.crashAfterStep");
    }
    assertEquals("undo pretrain: error: simulated crash after step 7\n", r.err());
    assertEquals(5, Json.read(partial.resolve("checkpoint/trainer_state.json"), JsonNode.class).get("step")
        .asLong());
    r = CliTest.run(pretrain(partial, "--set", "pretrain.steps=10", "--set", "seed=7"));
    assertEquals(2, r.code());
    assertEquals("undo pretrain: error: " + partial + " was made with a different configuration: spec.seed: 1234 → 7; "
        + "spec.train.steps: 20 → 10; use another --out or --force\n", r.err());
    r = CliTest.run(pretrain(partial, "--force", "--set", "pretrain.steps=10"));
    assertEquals(0, r.code(), r.err());
    assertSameStage(fresh, partial);
  }

  // ---- damaged inputs ----------------------------------------------------------------------------------------------

  /** A copy of the reference checkpoint as a base model in its own folder, damaged by {@code damage}. */
  static Path damagedBase(String name, IoAction damage) throws IOException {
    Path base = tmp.resolve("bases").resolve(name);
    CliTest.copyTree(reference.resolve("checkpoint"), base.resolve("checkpoint"));
    damage.apply(base.resolve("checkpoint"));
    return base;
  }

  interface IoAction {
    void apply(Path checkpoint) throws IOException;
  }

  static String recordedSha(Path checkpoint, String file) {
    return Json.read(checkpoint.resolve(Checksums.FILE), JsonNode.class).at("/files/" + file).asText();
  }

  /** Unlearning from {@code base}: one line naming the file, exit 2, and no output folder. */
  static void assertRefusedWithoutOutput(Path base, String file, String expectedError) {
    Path out = tmp.resolve("unlearned-" + base.getFileName());
    CliTest.Run r = CliTest.run("unlearn", "--method", "maxent", "--model", base.toString(), "--preset", "micro",
        "--threads", "1", "-q", "--out", out.toString());
    assertEquals(2, r.code(), r.err());
    assertEquals("undo unlearn: error: " + expectedError + "\n", r.err());
    assertTrue(r.err().contains(base.resolve("checkpoint").resolve(file).toString()), r.err());
    assertFalse(Files.exists(out), "nothing may be written: " + out);
  }

  static String corrupt(Path ck, String file) {
    return ck.resolve(file) + " is corrupt: its sha256 " + Checksums.sha256(ck.resolve(file)).substring(0, 12)
        + "… differs from " + recordedSha(ck, file).substring(0, 12) + "… in checksums.json (changed or damaged "
        + "after it was written)";
  }

  @Test
  void damagedInputsAreOneLineNamingTheFileAndNothingIsWritten() throws IOException {
    Path flipped = damagedBase("flipped", ck -> {
      byte[] b = Files.readAllBytes(ck.resolve("model.safetensors"));
      b[b.length / 2] ^= 0x01; // one bit of one weight
      Files.write(ck.resolve("model.safetensors"), b);
    });
    assertRefusedWithoutOutput(flipped, "model.safetensors", corrupt(flipped.resolve("checkpoint"),
        "model.safetensors"));

    Path truncated = damagedBase("truncated", ck -> {
      byte[] b = Files.readAllBytes(ck.resolve("model.safetensors"));
      Files.write(ck.resolve("model.safetensors"), Arrays.copyOf(b, b.length / 2));
    });
    assertRefusedWithoutOutput(truncated, "model.safetensors", corrupt(truncated.resolve("checkpoint"),
        "model.safetensors"));

    // Same tensor shapes, another model: only the checksum can tell.
    Path heads = damagedBase("tampered-config", ck -> {
      String c = Files.readString(ck.resolve("config.json"));
      assertTrue(c.contains("\"num_heads\" : 2"), c);
      Files.writeString(ck.resolve("config.json"), c.replace("\"num_heads\" : 2", "\"num_heads\" : 1"));
    });
    assertRefusedWithoutOutput(heads, "config.json", corrupt(heads.resolve("checkpoint"), "config.json"));

    Path moments = damagedBase("optimizer", ck -> {
      byte[] b = Files.readAllBytes(ck.resolve("optimizer.safetensors"));
      b[b.length - 3] ^= 0x40;
      Files.write(ck.resolve("optimizer.safetensors"), b);
    });
    assertRefusedWithoutOutput(moments, "optimizer.safetensors", corrupt(moments.resolve("checkpoint"),
        "optimizer.safetensors"));

    Path missing = damagedBase("missing-weights", ck -> Files.delete(ck.resolve("model.safetensors")));
    assertRefusedWithoutOutput(missing, "model.safetensors", missing.resolve("checkpoint/model.safetensors")
        + " is missing (listed in " + missing.resolve("checkpoint/checksums.json") + ")");
  }

  // ---- two writers -------------------------------------------------------------------------------------------------

  /**
   * Two child JVMs on one {@code --out}: the first takes the lock and is then frozen (SIGSTOP) so that it surely
   * still holds it; the second stops at once with the lock message naming the first. Thawed, the first finishes
   * with a complete log equal to the uninterrupted run's.
   */
  @Test
  void aSecondWriterStopsAtOnceNamingTheHolderAndTheFirstFinishes() throws Exception {
    Path dir = tmp.resolve("shared");
    String[] args = pretrain(dir);
    Child first = spawn("writer-1", args);
    assertTrue(waitFor(first, () -> {
      try {
        return Files.readString(dir.resolve(RunLock.FILE)).startsWith("pid=" + first.process().pid() + "\n");
      } catch (IOException e) {
        return false;
      }
    }));
    signal(first.process(), "STOP");
    try {
      String holder = hostOf(dir);
      assertTrue(holder.startsWith("pid " + first.process().pid() + " on host "), holder);
      assertTrue(holder.endsWith("): " + commandLine(args)), holder);
      Child second = spawn("writer-2", args);
      assertTrue(second.process().waitFor(5, TimeUnit.MINUTES), "the second writer must not wait for the first");
      assertEquals(2, second.process().exitValue(), second.stderr());
      List<String> errors = second.stderr().lines().filter(l -> l.startsWith("undo ")).toList();
      assertEquals(List.of("undo pretrain: error: " + dir + " is in use by " + holder + "; wait for it to finish or "
          + "stop it, or choose another output folder"), errors, second.stderr());
      assertEquals("", second.stdout());
      assertTrue(first.process().isAlive());
    } finally {
      signal(first.process(), "CONT");
    }
    assertTrue(first.process().waitFor(5, TimeUnit.MINUTES));
    assertEquals(0, first.process().exitValue(), first.stderr());
    assertSameStage(reference, dir);
    assertEquals("", Files.readString(dir.resolve(RunLock.FILE)), "released on a clean exit");
  }

  // ---- divergence ----------------------------------------------------------------------------------------------

  /**
   * A learning rate of 1000 reached over a 20-step warmup: the loss is NaN at step 8, after the checkpoint of step
   * 5. The stage stops naming the learning-rate key, keeps that checkpoint intact and writes DIVERGED; a rerun
   * that changes anything besides the learning rate is refused; one that only lowers it resumes from step 5.
   */
  @Test
  void aDivergedStageKeepsItsLastCheckpointAndResumesOnlyAtALowerLearningRate() throws Exception {
    Path dir = tmp.resolve("diverged");
    CliTest.Run r = CliTest.run(pretrain(dir, "--set", "pretrain.lr=1000", "--set", "pretrain.warmup_steps=20"));
    assertEquals(2, r.code(), r.err());
    assertEquals("undo pretrain: error: training diverged at step 8: loss NaN, gradient norm NaN at lr 450.0; the "
        + "weights were NOT updated (no checkpoint holds them). Rerun with a lower learning rate, e.g. --set "
        + "arithmetic.pretrain.lr=45.0, to resume from the last checkpoint\n", r.err());
    assertEquals(Set.of("DIVERGED", "LOCK", "checkpoint", "config.json", "metrics.jsonl", "timing.json"), list(dir));
    JsonNode diverged = Json.read(dir.resolve("DIVERGED"), JsonNode.class);
    assertEquals(8, diverged.get("step").asLong());
    assertEquals(450.0, diverged.get("lr").asDouble());
    assertEquals(Checksums.Status.VERIFIED, Checkpoint.verify(dir));
    assertEquals(5, Json.read(dir.resolve("checkpoint/trainer_state.json"), JsonNode.class).get("step").asLong());
    String log = Files.readString(dir.resolve("metrics.jsonl"));
    byte[] weights = Files.readAllBytes(dir.resolve("checkpoint/model.safetensors"));
    String before = Json.read(dir.resolve("config.json"), JsonNode.class).get("fingerprint").asText();

    r = CliTest.run(pretrain(dir, "--set", "pretrain.lr=1e-3", "--set", "pretrain.warmup_steps=20", "--set",
        "pretrain.steps=30"));
    assertEquals(2, r.code(), r.err());
    assertEquals("undo pretrain: error: " + dir + " was made with a different configuration: spec.train.lr: 1000 → "
        + "0.001; spec.train.steps: 20 → 30; use another --out or --force\n", r.err());
    assertEquals(log, Files.readString(dir.resolve("metrics.jsonl")));
    assertArrayEquals(weights, Files.readAllBytes(dir.resolve("checkpoint/model.safetensors")));

    r = CliTest.run(pretrain(dir, "--set", "pretrain.lr=1e-3", "--set", "pretrain.warmup_steps=20"));
    assertEquals(0, r.code(), r.err());
    assertEquals("", r.err());
    JsonNode cfg = Json.read(dir.resolve("config.json"), JsonNode.class);
    assertNotEquals(before, cfg.get("fingerprint").asText());
    assertEquals(1, cfg.get("history").size());
    JsonNode h = cfg.get("history").get(0);
    assertEquals(before, h.get("previous_fingerprint").asText());
    assertEquals(List.of("spec.train.lr: 1000 → 0.001"), Json.MAPPER.convertValue(h.get("changes"), List.class));
    assertEquals(diverged, h.get("diverged"));
    // Resumed, not restarted: the records of the 5 checkpointed steps are the diverged run's; from there on the
    // steps train at the new rate (a train record's "step" counts completed steps).
    List<String> was = log.lines().toList();
    List<String> now = Files.readString(dir.resolve("metrics.jsonl")).lines().toList();
    int kept = 0;
    while (kept < was.size() && Json.LINE.readTree(was.get(kept)).get("step").asLong() <= 5) {
      kept++;
    }
    assertEquals(6, kept, "the step-0 evaluation and training steps 1-5");
    assertEquals(was.subList(0, kept), now.subList(0, kept));
    assertEquals(1 + 20 + 2, now.size());
    JsonNode resumed = Json.LINE.readTree(now.get(kept));
    assertEquals(6, resumed.get("step").asLong());
    assertEquals("train", resumed.get("split").asText());
    assertEquals(1e-3 * 6 / 20, resumed.get("lr").asDouble(), 1e-15);
    assertNotEquals(Json.LINE.readTree(was.get(kept)).get("lr"), resumed.get("lr"));
    assertEquals(20, Json.read(dir.resolve("eval.json"), JsonNode.class).at("/compute/steps").asLong());
    assertTrue(Files.exists(dir.resolve("DONE")));
  }
}
