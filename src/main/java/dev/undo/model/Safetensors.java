package dev.undo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors format (an 8-byte little-endian header length, a JSON header of name to dtype, shape and byte
 * offsets, then raw little-endian data), read and written here so checkpoints open in Python with
 * {@code safetensors.torch.load_file} and HF tooling. Supports F32, I64 and I32.
 *
 * <p>Reading trusts nothing in the file: the header length must fit in the file, the header must be one JSON
 * object without duplicate keys, every tensor needs a supported dtype, a shape of non-negative integers and two
 * data offsets inside the data section with {@code begin ≤ end} and {@code end − begin = product(shape) · dtype
 * size} (computed without overflow); sorted by offset, the tensors must tile the data section exactly, with no
 * overlap, gap or trailing bytes (as the reference implementation requires); and float tensors must be finite.
 * Each failure is one {@link IOException} line naming the file and what is wrong. Bit flips that keep all of this
 * intact (a changed mantissa) are the checkpoint's checksums' job, not this reader's.
 *
 * <p>Writing refuses non-finite float tensors (a checkpoint never stores diverged weights), and is durable and
 * atomic: a uniquely named temp file in the same folder, forced to disk, renamed over the target, then the folder
 * forced.
 */
public final class Safetensors {
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private static final String METADATA = "__metadata__";

  private Safetensors() {}

  /** A loaded file: tensors in header order plus the string metadata. */
  public record Contents(LinkedHashMap<String, NDArray> tensors, Map<String, String> metadata) {}

  /** Where one tensor's bytes are, as checked against the file. Offsets are absolute file positions. */
  private record Entry(String name, DataType dtype, Shape shape, long begin, long end) {}

  /**
   * Writes {@code tensors} durably and atomically (see the class comment).
   *
   * @throws IOException naming the file and tensor if a float tensor holds NaN or ±Inf, or the write fails
   */
  public static void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata)
      throws IOException {
    ObjectNode header = JSON.createObjectNode();
    if (metadata != null && !metadata.isEmpty()) {
      ObjectNode meta = header.putObject(METADATA);
      metadata.forEach(meta::put);
    }
    long offset = 0;
    Map<String, byte[]> data = new LinkedHashMap<>();
    for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
      NDArray a = e.getValue();
      byte[] bytes = toLittleEndian(a, file, e.getKey());
      ObjectNode t = header.putObject(e.getKey());
      t.put("dtype", dtypeName(a.getDataType(), e.getKey()));
      var shape = t.putArray("shape");
      for (long s : a.getShape().getShape()) {
        shape.add(s);
      }
      var offs = t.putArray("data_offsets");
      offs.add(offset);
      offs.add(offset + bytes.length);
      offset += bytes.length;
      data.put(e.getKey(), bytes);
    }
    byte[] headerBytes = JSON.writeValueAsBytes(header);
    // Pad the header with spaces to 8-byte alignment, as the reference writer does.
    int pad = (8 - headerBytes.length % 8) % 8;
    ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(headerBytes.length + pad);
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = Files.createTempFile(dir, file.getFileName() + ".", ".tmp");
    boolean moved = false;
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        len.flip();
        writeFully(ch, len);
        writeFully(ch, ByteBuffer.wrap(headerBytes));
        writeFully(ch, ByteBuffer.wrap(" ".repeat(pad).getBytes(StandardCharsets.US_ASCII)));
        for (byte[] b : data.values()) {
          writeFully(ch, ByteBuffer.wrap(b));
        }
        ch.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      moved = true;
      syncDirectory(dir);
    } finally {
      if (!moved) {
        Files.deleteIfExists(tmp);
      }
    }
  }

  /** Reads every tensor into {@code manager} after checking the whole file (see the class comment). */
  public static Contents read(Path file, NDManager manager) throws IOException {
    byte[] all;
    try {
      if (Files.size(file) > Integer.MAX_VALUE - 16) {
        throw new IOException("files over 2 GB are not supported");
      }
      all = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new IOException("cannot read safetensors file " + file + ": no such file", e);
    } catch (IOException e) {
      throw new IOException("cannot read safetensors file " + file + ": " + e.getMessage(), e);
    }
    Map<String, String> meta = new LinkedHashMap<>();
    List<Entry> entries = parse(file, all, meta);
    LinkedHashMap<String, NDArray> tensors = new LinkedHashMap<>();
    try {
      for (Entry e : entries) {
        ByteBuffer slice = ByteBuffer.wrap(all, (int) e.begin(), (int) (e.end() - e.begin())).slice()
            .order(ByteOrder.LITTLE_ENDIAN);
        tensors.put(e.name(), fromLittleEndian(manager, slice, e, file));
      }
    } catch (IOException | RuntimeException ex) {
      tensors.values().forEach(NDArray::close);
      throw ex;
    }
    return new Contents(tensors, meta);
  }

  /** Checks the header and layout of {@code all}; returns the tensors in header order and fills {@code meta}. */
  private static List<Entry> parse(Path file, byte[] all, Map<String, String> meta) throws IOException {
    if (all.length < 8) {
      throw new IOException(file + ": not a safetensors file (" + all.length + " bytes, shorter than the 8-byte "
          + "header length)");
    }
    long n = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    // Compared against what is left after the length field, so a length near Long.MAX_VALUE cannot overflow.
    if (n < 2 || n > all.length - 8L) {
      throw new IOException(file + ": header length " + Long.toUnsignedString(n) + " does not fit in the file ("
          + all.length + " bytes; truncated or not a safetensors file)");
    }
    JsonNode header;
    try {
      header = JSON.readTree(new ByteArrayInputStream(all, 8, (int) n));
    } catch (JsonProcessingException e) {
      JsonLocation loc = e.getLocation();
      throw new IOException(file + ": header is not valid JSON: " + e.getOriginalMessage().strip()
          .replaceAll("\\s*\\R\\s*", " ")
          + (loc == null ? "" : " (header byte " + loc.getByteOffset() + ")"), e);
    }
    if (header == null || !header.isObject()) {
      throw new IOException(file + ": header is not a JSON object");
    }
    long base = 8 + n;
    long dataLength = all.length - base;
    List<Entry> entries = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals(METADATA)) {
        readMetadata(file, e.getValue(), meta);
        continue;
      }
      entries.add(entry(file, e.getKey(), e.getValue(), base, dataLength));
    }
    List<Entry> byOffset = new ArrayList<>(entries);
    byOffset.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
    long covered = base;
    Entry previous = null;
    for (Entry e : byOffset) {
      if (e.begin() < covered) {
        throw new IOException(file + ": tensors '" + previous.name() + "' " + offsets(previous, base) + " and '"
            + e.name() + "' " + offsets(e, base) + " overlap");
      }
      if (e.begin() > covered) {
        throw new IOException(file + ": data bytes " + (covered - base) + ".." + (e.begin() - base)
            + " belong to no tensor");
      }
      covered = e.end();
      previous = e;
    }
    if (covered != all.length) {
      throw new IOException(file + ": " + (all.length - covered) + " bytes after the last tensor belong to no tensor");
    }
    return entries;
  }

  private static Entry entry(Path file, String name, JsonNode t, long base, long dataLength) throws IOException {
    String where = file + ": tensor '" + name + "'";
    if (!t.isObject()) {
      throw new IOException(where + " is not a JSON object");
    }
    JsonNode dt = t.get("dtype");
    if (dt == null || dt.isNull()) {
      throw new IOException(where + " has no dtype");
    }
    if (!dt.isTextual()) {
      throw new IOException(where + ": dtype " + dt + " is not a string");
    }
    DataType dtype = dtypeOf(dt.asText(), file, name);
    JsonNode sh = t.get("shape");
    if (sh == null || !sh.isArray()) {
      throw new IOException(where + " has no shape (a list of non-negative integers)");
    }
    long[] shape = new long[sh.size()];
    long elements = 1;
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = sh.get(i);
      if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
        throw new IOException(where + ": shape " + sh + " is not a list of non-negative integers");
      }
      shape[i] = d.asLong();
      try {
        elements = Math.multiplyExact(elements, shape[i]);
      } catch (ArithmeticException ex) {
        throw new IOException(where + ": shape " + sh + " has more elements than a long can count");
      }
    }
    JsonNode offs = t.get("data_offsets");
    if (offs == null || !offs.isArray() || offs.size() != 2 || !integral(offs.get(0)) || !integral(offs.get(1))) {
      throw new IOException(where + ": data_offsets must be two integers, got " + offs);
    }
    long b = offs.get(0).asLong();
    long e = offs.get(1).asLong();
    if (b < 0 || e < 0) {
      throw new IOException(where + ": data_offsets " + offs + " point before the data section (into the header)");
    }
    if (b > e) {
      throw new IOException(where + ": data_offsets " + offs + " end before they begin");
    }
    if (e > dataLength) {
      throw new IOException(where + ": data_offsets " + offs + " run past the end of the data section ("
          + dataLength + " bytes; file truncated?)");
    }
    long bytes;
    try {
      bytes = Math.multiplyExact(elements, (long) dtype.getNumOfBytes());
    } catch (ArithmeticException ex) {
      throw new IOException(where + ": shape " + sh + " needs more bytes than a long can count");
    }
    if (e - b != bytes) {
      throw new IOException(where + ": shape " + sh + " of " + dt.asText() + " needs " + bytes
          + " bytes but data_offsets " + offs + " hold " + (e - b));
    }
    return new Entry(name, dtype, new Shape(shape), base + b, base + e);
  }

  private static boolean integral(JsonNode n) {
    return n != null && n.isIntegralNumber() && n.canConvertToLong();
  }

  private static String offsets(Entry e, long base) {
    return "[" + (e.begin() - base) + ", " + (e.end() - base) + "]";
  }

  private static void readMetadata(Path file, JsonNode m, Map<String, String> meta) throws IOException {
    if (!m.isObject()) {
      throw new IOException(file + ": " + METADATA + " is not a JSON object");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = m.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw new IOException(file + ": " + METADATA + " value of '" + e.getKey() + "' is not a string");
      }
      meta.put(e.getKey(), e.getValue().asText());
    }
  }

  /** Forces a folder's entries to disk; best effort (not every platform can open a directory). */
  private static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // Not supported here; the rename itself is still atomic.
    }
  }

  private static NDArray fromLittleEndian(NDManager m, ByteBuffer b, Entry e, Path file) throws IOException {
    Shape s = e.shape();
    switch (e.dtype()) {
      case FLOAT32: {
        float[] v = new float[(int) s.size()];
        b.asFloatBuffer().get(v);
        for (int i = 0; i < v.length; i++) {
          if (!Float.isFinite(v[i])) {
            throw new IOException(file + ": tensor '" + e.name() + "' holds " + v[i] + " at flat index " + i
                + " (weights must be finite)");
          }
        }
        return m.create(v, s);
      }
      case INT64: {
        long[] v = new long[(int) s.size()];
        b.asLongBuffer().get(v);
        return m.create(v, s);
      }
      case INT32: {
        int[] v = new int[(int) s.size()];
        b.asIntBuffer().get(v);
        return m.create(v, s);
      }
      default:
        throw new IllegalStateException("unsupported dtype " + e.dtype());
    }
  }

  private static byte[] toLittleEndian(NDArray a, Path file, String name) throws IOException {
    ByteBuffer src = a.toByteBuffer(); // native order
    byte[] out = new byte[src.remaining()];
    ByteBuffer dst = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    switch (a.getDataType()) {
      case FLOAT32: {
        FloatBuffer f = src.order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < f.limit(); i++) {
          float x = f.get(i);
          if (!Float.isFinite(x)) {
            throw new IOException("refusing to write " + file + ": tensor '" + name + "' holds " + x
                + " at flat index " + i + " (diverged weights are never saved)");
          }
        }
        dst.asFloatBuffer().put(f);
        break;
      }
      case INT64:
        dst.asLongBuffer().put(src.order(ByteOrder.nativeOrder()).asLongBuffer());
        break;
      case INT32:
        dst.asIntBuffer().put(src.order(ByteOrder.nativeOrder()).asIntBuffer());
        break;
      default:
        throw new IllegalArgumentException("unsupported dtype " + a.getDataType());
    }
    return out;
  }

  private static String dtypeName(DataType dt, String name) {
    switch (dt) {
      case FLOAT32:
        return "F32";
      case INT64:
        return "I64";
      case INT32:
        return "I32";
      default:
        throw new IllegalArgumentException("tensor '" + name + "': dtype " + dt + " cannot be saved");
    }
  }

  private static DataType dtypeOf(String s, Path file, String name) throws IOException {
    switch (s) {
      case "F32":
        return DataType.FLOAT32;
      case "I64":
        return DataType.INT64;
      case "I32":
        return DataType.INT32;
      default:
        throw new IOException(file + ": tensor '" + name + "' has unsupported dtype " + s + " (supported: F32, I64, "
            + "I32)");
    }
  }

  private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }
}
