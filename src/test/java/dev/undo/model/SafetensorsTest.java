package dev.undo.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every malformed file is one exact error line naming the file; a good file round-trips. */
class SafetensorsTest {
  @TempDir
  Path tmp;

  static NDManager manager;

  @BeforeAll
  static void start() {
    Engines.start(1);
    manager = Engines.newManager();
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  /** A file with this header text (unpadded) and this data section. */
  static byte[] file(String header, byte[] data) {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h).put(data);
    return b.array();
  }

  static byte[] floats(float... v) {
    ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float x : v) {
      b.putFloat(x);
    }
    return b.array();
  }

  String error(byte[] bytes) throws IOException {
    Path f = tmp.resolve("t.safetensors");
    Files.write(f, bytes);
    IOException e = assertThrows(IOException.class, () -> Safetensors.read(f, manager));
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    return e.getMessage().substring(f.toString().length());
  }

  @Test
  void roundTripsAndLeavesNoTempFiles() throws IOException {
    Path f = tmp.resolve("w.safetensors");
    Map<String, NDArray> t = new LinkedHashMap<>();
    t.put("a", manager.create(new float[] {1, 2, 3, 4, 5, 6}, new Shape(2, 3)));
    t.put("b", manager.create(new long[] {7, 8}));
    t.put("c", manager.create(new int[] {9}));
    Safetensors.write(f, t, Map.of("format", "pt"));
    Safetensors.write(f, t, Map.of("format", "pt")); // over an existing file
    Safetensors.Contents c = Safetensors.read(f, manager);
    assertEquals(List.of("a", "b", "c"), List.copyOf(c.tensors().keySet()));
    assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, c.tensors().get("a").toFloatArray());
    assertEquals(new Shape(2, 3), c.tensors().get("a").getShape());
    assertArrayEquals(new long[] {7, 8}, c.tensors().get("b").toLongArray());
    assertArrayEquals(new int[] {9}, c.tensors().get("c").toIntArray());
    assertEquals(Map.of("format", "pt"), c.metadata());
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(List.of(f), s.toList());
    }
  }

  @Test
  void writeRefusesNonFiniteWeightsAndKeepsTheOldFile() throws IOException {
    Path f = tmp.resolve("w.safetensors");
    Safetensors.write(f, Map.of("a", manager.create(new float[] {1, 2})), Map.of());
    byte[] before = Files.readAllBytes(f);
    IOException e = assertThrows(IOException.class, () ->
        Safetensors.write(f, Map.of("a", manager.create(new float[] {1, Float.NaN})), Map.of()));
    assertEquals("refusing to write " + f + ": tensor 'a' holds NaN at flat index 1 (diverged weights are never "
        + "saved)", e.getMessage());
    assertArrayEquals(before, Files.readAllBytes(f));
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(List.of(f), s.toList(), "the temp file is removed");
    }
  }

  @Test
  void goodHandMadeFileReads() throws IOException {
    Path f = tmp.resolve("ok.safetensors");
    Files.write(f, file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}", floats(1, 2)));
    assertArrayEquals(new float[] {1, 2}, Safetensors.read(f, manager).tensors().get("x").toFloatArray());
  }

  @Test
  void headerLengthNearLongMaxDoesNotOverflow() throws IOException {
    byte[] b = file("{}", new byte[0]);
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Long.MAX_VALUE - 3);
    assertEquals(": header length 9223372036854775804 does not fit in the file (10 bytes; truncated or not a "
        + "safetensors file)", error(b));
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -8);
    assertEquals(": header length 18446744073709551608 does not fit in the file (10 bytes; truncated or not a "
        + "safetensors file)", error(b));
  }

  @Test
  void shortAndTruncatedFiles() throws IOException {
    assertEquals(": not a safetensors file (5 bytes, shorter than the 8-byte header length)",
        error(new byte[5]));
    byte[] good = file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", floats(1, 2));
    byte[] cut = java.util.Arrays.copyOf(good, good.length - 3);
    assertEquals(": tensor 'x': data_offsets [0,8] run past the end of the data section (5 bytes; file "
        + "truncated?)", error(cut));
    byte[] cutHeader = java.util.Arrays.copyOf(good, 20);
    assertEquals(": header length 54 does not fit in the file (20 bytes; truncated or not a safetensors file)",
        error(cutHeader));
  }

  @Test
  void headerMustBeOneJsonObject() throws IOException {
    assertEquals(": header is not valid JSON: Unexpected character ('x' (code 120)): was expecting double-quote to "
        + "start field name (header byte 1)", error(file("{x}", new byte[0])));
    assertEquals(": header is not a JSON object", error(file("[1]", new byte[0])));
    assertEquals(": header is not valid JSON: Duplicate field 'x' (header byte 57)", error(file(
        "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            + "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", floats(1, 2))));
    assertEquals(": __metadata__ value of 'k' is not a string",
        error(file("{\"__metadata__\":{\"k\":1}}", new byte[0])));
  }

  @Test
  void everyTensorNeedsDtypeShapeAndOffsets() throws IOException {
    assertEquals(": tensor 'x' has no dtype",
        error(file("{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}", floats(1))));
    assertEquals(": tensor 'x' has unsupported dtype BF16 (supported: F32, I64, I32)",
        error(file("{\"x\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", floats(1))));
    assertEquals(": tensor 'x': dtype 5 is not a string",
        error(file("{\"x\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,4]}}", floats(1))));
    assertEquals(": tensor 'x' has no shape (a list of non-negative integers)",
        error(file("{\"x\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", floats(1))));
    assertEquals(": tensor 'x': shape [-1] is not a list of non-negative integers",
        error(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", floats(1))));
    assertEquals(": tensor 'x': data_offsets must be two integers, got null",
        error(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}", floats(1))));
    assertEquals(": tensor 'x' is not a JSON object", error(file("{\"x\":3}", new byte[0])));
  }

  @Test
  void offsetsMustLieInTheDataSectionAndMatchTheShape() throws IOException {
    assertEquals(": tensor 'x': data_offsets [-8,0] point before the data section (into the header)",
        error(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", floats(1, 2))));
    assertEquals(": tensor 'x': data_offsets [8,0] end before they begin",
        error(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", floats(1, 2))));
    assertEquals(": tensor 'x': shape [3] of F32 needs 12 bytes but data_offsets [0,8] hold 8",
        error(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", floats(1, 2))));
    assertEquals(": tensor 'x': shape [4294967296,4294967296] has more elements than a long can count",
        error(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}",
            floats(1, 2))));
    assertEquals(": tensor 'x': shape [3074457345618258603] needs more bytes than a long can count",
        error(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[3074457345618258603],\"data_offsets\":[0,8]}}",
            floats(1, 2))));
  }

  @Test
  void tensorsMustTileTheDataWithoutOverlapGapOrTrailingBytes() throws IOException {
    assertEquals(": tensors 'a' [0, 8] and 'b' [4, 12] overlap", error(file(
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", floats(1, 2, 3))));
    assertEquals(": tensors 'b' [0, 8] and 'a' [0, 8] overlap", error(file(
        "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", floats(1, 2))));
    assertEquals(": data bytes 0..4 belong to no tensor", error(file(
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", floats(1, 2))));
    assertEquals(": 4 bytes after the last tensor belong to no tensor", error(file(
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", floats(1, 2))));
  }

  @Test
  void nonFiniteWeightsAreAnErrorNamingTheTensor() throws IOException {
    assertEquals(": tensor 'w' holds NaN at flat index 2 (weights must be finite)", error(file(
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", floats(1, 2, Float.NaN, 4))));
    assertEquals(": tensor 'w' holds -Infinity at flat index 0 (weights must be finite)", error(file(
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", floats(Float.NEGATIVE_INFINITY))));
  }

  @Test
  void missingFileNamesIt() {
    Path f = tmp.resolve("none.safetensors");
    IOException e = assertThrows(IOException.class, () -> Safetensors.read(f, manager));
    assertEquals("cannot read safetensors file " + f + ": no such file", e.getMessage());
    assertFalse(Files.exists(f));
  }
}
