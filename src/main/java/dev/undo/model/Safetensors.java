package dev.undo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The safetensors format (an 8-byte little-endian header length, a JSON header of name to dtype, shape and byte
 * offsets, then raw little-endian data), read and written here so checkpoints open in Python with
 * {@code safetensors.torch.load_file} and HF tooling. Supports F32, I64 and I32.
 */
public final class Safetensors {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Safetensors() {}

  /** A loaded file: tensors in header order plus the string metadata. */
  public record Contents(LinkedHashMap<String, NDArray> tensors, Map<String, String> metadata) {}

  /** Writes atomically: a temp file in the same folder, then a rename over {@code file}. */
  public static void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata)
      throws IOException {
    ObjectNode header = JSON.createObjectNode();
    if (metadata != null && !metadata.isEmpty()) {
      ObjectNode meta = header.putObject("__metadata__");
      metadata.forEach(meta::put);
    }
    long offset = 0;
    Map<String, byte[]> data = new LinkedHashMap<>();
    for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
      NDArray a = e.getValue();
      byte[] bytes = toLittleEndian(a);
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
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
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
  }

  /** Reads every tensor into {@code manager}. Errors name the file. */
  public static Contents read(Path file, NDManager manager) throws IOException {
    byte[] all;
    try {
      all = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IOException("cannot read safetensors file " + file + ": " + e.getMessage(), e);
    }
    if (all.length < 8) {
      throw new IOException(file + ": not a safetensors file (shorter than 8 bytes)");
    }
    ByteBuffer buf = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
    long n = buf.getLong(0);
    if (n <= 0 || 8 + n > all.length) {
      throw new IOException(file + ": corrupt safetensors header length " + n);
    }
    JsonNode header = JSON.readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8));
    long base = 8 + n;
    LinkedHashMap<String, NDArray> tensors = new LinkedHashMap<>();
    Map<String, String> meta = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals("__metadata__")) {
        e.getValue().fields().forEachRemaining(m -> meta.put(m.getKey(), m.getValue().asText()));
        continue;
      }
      JsonNode t = e.getValue();
      DataType dt = dtypeOf(t.get("dtype").asText(), file, e.getKey());
      JsonNode sh = t.get("shape");
      long[] shape = new long[sh.size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = sh.get(i).asLong();
      }
      long begin = base + t.get("data_offsets").get(0).asLong();
      long end = base + t.get("data_offsets").get(1).asLong();
      Shape s = new Shape(shape);
      if (end > all.length || end - begin != s.size() * dt.getNumOfBytes()) {
        throw new IOException(file + ": tensor '" + e.getKey() + "' has inconsistent offsets");
      }
      ByteBuffer slice = ByteBuffer.wrap(all, (int) begin, (int) (end - begin)).slice().order(ByteOrder.LITTLE_ENDIAN);
      tensors.put(e.getKey(), fromLittleEndian(manager, slice, dt, s));
    }
    return new Contents(tensors, meta);
  }

  private static NDArray fromLittleEndian(NDManager m, ByteBuffer b, DataType dt, Shape s) {
    switch (dt) {
      case FLOAT32: {
        float[] v = new float[(int) s.size()];
        b.asFloatBuffer().get(v);
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
        throw new IllegalStateException("unsupported dtype " + dt);
    }
  }

  private static byte[] toLittleEndian(NDArray a) {
    ByteBuffer src = a.toByteBuffer(); // native order
    byte[] out = new byte[src.remaining()];
    ByteBuffer dst = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    switch (a.getDataType()) {
      case FLOAT32:
        dst.asFloatBuffer().put(src.order(ByteOrder.nativeOrder()).asFloatBuffer());
        break;
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
        throw new IOException(file + ": tensor '" + name + "' has unsupported dtype " + s);
    }
  }

  private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }
}
