package dev.undo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.Tokenizer;
import dev.undo.model.Engines;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.run.Checksums;
import dev.undo.run.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint integrity (checksums, finiteness, config/tensor consistency) and crash safety of the save sequence:
 * a crash at any point of a save, also of a save that follows a crash, leaves a loadable checkpoint.
 */
class CheckpointIntegrityTest {
  static final List<String> CRASH_POINTS =
      List.of("files-written", "tmp-complete", "old-retired", "current-moved-to-old", "new-installed");

  @TempDir
  Path tmp;

  static NDManager manager;
  static Tokenizer tok;
  static ModelConfig cfg;
  static Params params;
  static AdamW adam;

  @BeforeAll
  static void start() {
    Engines.start(1);
    manager = Engines.newManager();
    tok = Tokenizer.build(List.of("1 + 2 = 3\nhello"), 1);
    cfg = new ModelConfig(tok.vocabSize(), 16, 1, 2, 32, 16, 10000, 1e-6);
    params = Init.random(cfg, manager, 1);
    adam = new AdamW(new AdamW.Hyper(0.9, 0.95, 1e-8, 0.1), params, params.names(), manager);
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  @AfterEach
  void noHook() {
    Checkpoint.crashPoint = p -> {};
  }

  static void save(Path dir, long step) {
    ObjectNode prov = Json.MAPPER.createObjectNode().put("step", step);
    Checkpoint.save(dir, cfg, params, tok, prov, adam, step);
  }

  static long loadedStep(Path dir) {
    try (Checkpoint.Loaded l = Checkpoint.load(dir, manager)) {
      return l.trainerState().step();
    }
  }

  static String loadError(Path dir) {
    RuntimeException e = assertThrows(RuntimeException.class, () -> Checkpoint.load(dir, manager).close());
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    return e.getMessage();
  }

  Set<String> siblings() throws IOException {
    try (Stream<Path> s = Files.list(tmp)) {
      return s.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
    }
  }

  static String hash12(Path f) {
    return Checksums.sha256(f).substring(0, 12) + "…";
  }

  @Test
  void saveWritesEveryFileWithChecksumsAndLoads() throws IOException {
    Path ck = tmp.resolve("ck");
    save(ck, 3);
    save(ck, 4);
    assertEquals(Set.of("ck"), siblings(), "no temp, old or trash folder is left");
    try (Stream<Path> s = Files.list(ck)) {
      assertEquals(Set.of("model.safetensors", "config.json", "tokenizer.json", "provenance.json",
          "optimizer.safetensors", "trainer_state.json", "checksums.json"),
          s.map(p -> p.getFileName().toString()).collect(Collectors.toSet()));
    }
    Checksums.Manifest m = Json.read(ck.resolve("checksums.json"), Checksums.Manifest.class);
    assertEquals(Checksums.sha256(ck.resolve("model.safetensors")), m.files().get("model.safetensors"));
    assertEquals(6, m.files().size());
    assertEquals(Checksums.Status.VERIFIED, Checkpoint.verify(ck));
    assertEquals(4, loadedStep(ck));
  }

  @Test
  void aFlippedBitInTheWeightsIsAChecksumError() throws IOException {
    Path ck = tmp.resolve("ck");
    save(ck, 1);
    Path w = ck.resolve("model.safetensors");
    String listed = hash12(w);
    byte[] b = Files.readAllBytes(w);
    b[b.length - 2] ^= 0x01; // a low mantissa bit of the last weight: still finite, shape intact
    Files.write(w, b);
    assertEquals(w + " is corrupt: its sha256 " + hash12(w) + " differs from " + listed + " in checksums.json "
        + "(changed or damaged after it was written)", loadError(ck));
    assertEquals(w + " is corrupt: its sha256 " + hash12(w) + " differs from " + listed + " in checksums.json "
        + "(changed or damaged after it was written)",
        assertThrows(IllegalArgumentException.class, () -> Checkpoint.verify(tmp.resolve("ck"))).getMessage());
  }

  @Test
  void aNanInTheWeightsIsAFinitenessErrorEvenWithMatchingChecksums() throws IOException {
    Path ck = tmp.resolve("ck");
    save(ck, 1);
    Path w = ck.resolve("model.safetensors");
    byte[] b = Files.readAllBytes(w);
    long headerLength = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    // embed_tokens.weight is the first tensor; element 5 of it.
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putFloat((int) (8 + headerLength + 4 * 5), Float.NaN);
    Files.write(w, b);
    Checksums.write(ck, List.of("model.safetensors", "config.json", "tokenizer.json", "provenance.json",
        "optimizer.safetensors", "trainer_state.json"));
    assertEquals(w + ": tensor 'embed_tokens.weight' holds NaN at flat index 5 (weights must be finite)",
        loadError(ck));
  }

  @Test
  void editingNumHeadsInConfigJsonIsAChecksumError() throws IOException {
    Path ck = tmp.resolve("ck");
    save(ck, 1);
    Path c = ck.resolve("config.json");
    String listed = hash12(c);
    String text = Files.readString(c);
    assertTrue(text.contains("\"num_heads\" : 2"), text);
    Files.writeString(c, text.replace("\"num_heads\" : 2", "\"num_heads\" : 4")); // same tensor shapes
    assertEquals(c + " is corrupt: its sha256 " + hash12(c) + " differs from " + listed + " in checksums.json "
        + "(changed or damaged after it was written)", loadError(ck));
  }

  @Test
  void shapesAreStillCheckedAgainstTheConfig() throws IOException {
    Path ck = tmp.resolve("ck");
    save(ck, 1);
    Path c = ck.resolve("config.json");
    Files.writeString(c, Files.readString(c).replace("\"intermediate_size\" : 32", "\"intermediate_size\" : 48"));
    Checksums.write(ck, List.of("model.safetensors", "config.json", "tokenizer.json", "provenance.json",
        "optimizer.safetensors", "trainer_state.json"));
    assertEquals(ck.resolve("model.safetensors") + ": parameter 'layers.0.mlp.gate_proj.weight' has shape (32, 16), "
        + "config wants (48, 16)", loadError(ck));
  }

  @Test
  void missingOrUnlistedFilesAreErrors() throws IOException {
    Path ck = tmp.resolve("ck");
    save(ck, 1);
    Files.delete(ck.resolve("tokenizer.json"));
    assertEquals(ck.resolve("tokenizer.json") + " is missing (listed in " + ck.resolve("checksums.json") + ")",
        loadError(ck));
    Path ck2 = tmp.resolve("ck2");
    Checkpoint.save(ck2, cfg, params, tok, Json.MAPPER.createObjectNode(), null, null);
    Files.copy(tmp.resolve("ck").resolve("optimizer.safetensors"), ck2.resolve("optimizer.safetensors"));
    assertEquals(ck2.resolve("optimizer.safetensors") + " is not listed in " + ck2.resolve("checksums.json")
        + " (added after the checkpoint was written?)", loadError(ck2));
  }

  @Test
  void aCheckpointFromAnOlderBuildLoadsWithAWarning() throws IOException {
    Path ck = tmp.resolve("ck");
    save(ck, 2);
    Files.delete(ck.resolve("checksums.json"));
    PrintStream old = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      assertEquals(2, loadedStep(ck));
    } finally {
      System.setErr(old);
    }
    assertEquals("warning: " + ck + " has no checksums.json (written by an older build); loading it without an "
        + "integrity check\n", err.toString(StandardCharsets.UTF_8));
    assertEquals(Checksums.Status.ABSENT, Checkpoint.verify(ck));
  }

  @Test
  void resolveNeverPicksATempOrIncompleteFolder() throws IOException {
    Path ck = tmp.resolve("ck");
    save(tmp.resolve("donor"), 5);
    // A complete checkpoint under an older build's fixed temp name, and one under this build's temp name.
    copyTree(tmp.resolve("donor"), tmp.resolve("ck.tmp"));
    copyTree(tmp.resolve("donor"), tmp.resolve("ck.tmp-1-123"));
    assertNull(Checkpoint.resolve(ck));
    // A folder partly deleted by an older build (tokenizer gone, no checksums) is not a checkpoint either.
    copyTree(tmp.resolve("donor"), tmp.resolve("ck.old"));
    Files.delete(tmp.resolve("ck.old/checksums.json"));
    Files.delete(tmp.resolve("ck.old/tokenizer.json"));
    assertNull(Checkpoint.resolve(ck));
    // A save from here cleans every leftover of dead processes (pid 1 is alive: its temp folder stays).
    save(ck, 6);
    assertEquals(6, loadedStep(ck));
    assertEquals(Set.of("ck", "ck.tmp-1-123", "donor"), siblings());
  }

  /**
   * Crash at each point of a save, then crash at each point of the next save, then save cleanly: after every crash
   * the checkpoint loads, and it is the newest one the sequence had installed.
   */
  @Test
  void aCrashAtAnyPointOfTwoSavesInARowLeavesTheNewestInstalledCheckpoint() throws IOException {
    long step = 0;
    for (String first : CRASH_POINTS) {
      for (String second : CRASH_POINTS) {
        Path ck = tmp.resolve("c" + (++step));
        save(ck, step * 10);
        long readable = step * 10;
        for (String point : List.of(first, second)) {
          long s = readable + 1;
          List<String> reached = new ArrayList<>();
          Checkpoint.crashPoint = p -> {
            reached.add(p);
            if (p.equals(point)) {
              throw new SimulatedCrash(p);
            }
          };
          try {
            save(ck, s);
            // Only the steps that move the current checkpoint aside are skipped, when there is none (a crash left
            // only .old): then this save completes.
            assertTrue(List.of("old-retired", "current-moved-to-old").contains(point), point);
            assertEquals(List.of("files-written", "tmp-complete", "new-installed"), reached);
            readable = s;
          } catch (SimulatedCrash e) {
            if (point.equals("new-installed")) {
              readable = s;
            }
          } finally {
            Checkpoint.crashPoint = p -> {};
          }
          String state = first + " then " + second + ", after " + point + ": " + siblingsOf(ck);
          assertEquals(readable, loadedStep(ck), state);
        }
        save(ck, readable + 1);
        assertEquals(readable + 1, loadedStep(ck));
        assertEquals(List.of(ck.getFileName().toString()), siblingsOf(ck), "leftovers are cleaned");
      }
    }
  }

  List<String> siblingsOf(Path ck) throws IOException {
    List<String> out = new ArrayList<>();
    for (String s : siblings()) {
      if (s.equals(ck.getFileName().toString()) || s.startsWith(ck.getFileName() + ".")) {
        out.add(s);
      }
    }
    return out;
  }

  static void copyTree(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (Stream<Path> s = Files.list(from)) {
      for (Path p : s.toList()) {
        Files.copy(p, to.resolve(p.getFileName()));
      }
    }
  }

  static final class SimulatedCrash extends RuntimeException {
    SimulatedCrash(String point) {
      super("simulated crash at " + point);
    }
  }

  @Test
  void aFailedWriteRemovesItsTempFolderAndKeepsTheCheckpoint() throws IOException {
    Path ck = tmp.resolve("ck");
    save(ck, 1);
    NDManager m = Engines.newManager();
    try (Params bad = params.copy(m)) {
      bad.get("norm.weight").set(new float[] {Float.NaN, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
      UncheckedIOException e = assertThrows(UncheckedIOException.class, () ->
          Checkpoint.save(ck, cfg, bad, tok, Json.MAPPER.createObjectNode(), adam, 2L));
      assertTrue(e.getMessage().startsWith("cannot write checkpoint " + ck + ": refusing to write "), e.getMessage());
      assertTrue(e.getMessage().endsWith("tensor 'norm.weight' holds NaN at flat index 0 (diverged weights are "
          + "never saved)"), e.getMessage());
    } finally {
      m.close();
    }
    assertEquals(Set.of("ck"), siblings());
    assertEquals(1, loadedStep(ck));
  }
}
