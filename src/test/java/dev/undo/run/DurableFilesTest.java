package dev.undo.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Atomic JSON writes with unique temp names, one-line read errors, the metrics log's in-place cut, fingerprints. */
class DurableFilesTest {
  @TempDir
  Path tmp;

  List<String> files() throws Exception {
    try (Stream<Path> s = Files.list(tmp)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void concurrentAtomicWritesOfOneFileNeverCollideOrLeaveTempFiles() throws Exception {
    Path f = tmp.resolve("x.json");
    CompletableFuture<?>[] all = IntStream.range(0, 8).mapToObj(i -> CompletableFuture.runAsync(() -> {
      for (int k = 0; k < 20; k++) {
        Json.writeAtomic(f, Map.of("writer", i, "k", k));
      }
    })).toArray(CompletableFuture[]::new);
    CompletableFuture.allOf(all).get();
    assertEquals(List.of("x.json"), files());
    assertEquals(19, Json.read(f, JsonNode.class).get("k").asInt());
  }

  @Test
  void readErrorsNameTheFileAndThePlaceInOneLine() throws Exception {
    Path f = tmp.resolve("config.json");
    Files.writeString(f, "{\n  \"a\": 1,\n    x\n}\n");
    UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> Json.read(f, JsonNode.class));
    assertEquals("cannot read " + f + ": Unexpected character ('x' (code 120)): was expecting double-quote to start "
        + "field name (line 3, column 5)", e.getMessage());
    e = assertThrows(UncheckedIOException.class, () -> Json.read(tmp.resolve("none.json"), JsonNode.class));
    assertEquals("cannot read " + tmp.resolve("none.json") + ": no such file", e.getMessage());
  }

  @Test
  void resumingCutsTheLogInPlaceAndDropsATornLine() throws Exception {
    Path f = tmp.resolve("metrics.jsonl");
    Files.writeString(f, "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n{\"step\":4,\"lo");
    Object inode = Files.getAttribute(f, "unix:ino");
    try (MetricsLog log = new MetricsLog(f).open(2)) {
      log.write(Map.of("step", 3));
      log.sync();
    }
    assertEquals("{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n", Files.readString(f));
    assertEquals(inode, Files.getAttribute(f, "unix:ino"), "cut in place, not replaced by a rename");
    // Records out of step order: the kept ones are not a prefix, so the file is rewritten.
    Files.writeString(f, "{\"step\":1}\n{\"step\":5}\n{\"step\":2}\n");
    try (MetricsLog log = new MetricsLog(f).open(2)) {
      log.write(Map.of("step", 3));
    }
    assertEquals("{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n", Files.readString(f));
    // A last record without its newline is kept and the next one starts on its own line.
    Files.writeString(f, "{\"step\":1}");
    try (MetricsLog log = new MetricsLog(f).open(2)) {
      log.write(Map.of("step", 2));
    }
    assertEquals("{\"step\":1}\n{\"step\":2}\n", Files.readString(f));
    assertEquals(List.of("metrics.jsonl"), files());
  }

  @Test
  void fingerprintsIgnoreKeyOrderAndNumberSpellingButNotValues() throws Exception {
    JsonNode a = ConfigLoader.YAML.readTree("{b: {lr: 1.0e-3, steps: 2}, a: [1, x]}");
    JsonNode b = ConfigLoader.YAML.readTree("{a: [1, x], b: {steps: 2.0, lr: 0.001}}");
    JsonNode c = ConfigLoader.YAML.readTree("{a: [1, x], b: {steps: 2, lr: 0.002}}");
    assertEquals(Fingerprint.of(a), Fingerprint.of(b));
    assertEquals("{\"a\":[1,\"x\"],\"b\":{\"lr\":0.001,\"steps\":2}}", Fingerprint.canonical(a));
    assertNotEquals(Fingerprint.of(a), Fingerprint.of(c));
    assertEquals(List.of("b.lr: 0.001 → 0.002"), Fingerprint.differences(a, c, 10));
    assertEquals(64, Fingerprint.of(a).length());
  }
}
