package dev.undo.hf;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.run.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * The weights of a Hugging Face Gemma-2 folder: tensor names of transformers' {@code Gemma2ForCausalLM}
 * ({@code model.} + our name; no {@code lm_head.weight}, since the head is tied to the embedding and
 * {@code save_pretrained} leaves tied copies out), read from {@code model.safetensors} or from the shards that
 * {@code model.safetensors.index.json} lists.
 *
 * <p>Reading converts F16, BF16 and F64 tensors to float32 on the host before any array is created: the decoder
 * computes in float32, and DJL's PyTorch build ends the JVM on creating a bfloat16 array (docs/ENGINE-NOTES.md trap 9). BF16 and
 * F16 convert exactly; F64 is rounded to nearest.
 */
public final class HfWeights {
  /** Prefix of the decoder's parameters in {@code Gemma2ForCausalLM}'s state dict. */
  public static final String PREFIX = "model.";
  /** The LM head: absent when tied (as here); accepted on import only as an exact copy of the embedding. */
  public static final String LM_HEAD = "lm_head.weight";

  private HfWeights() {}

  /** transformers' name of one of our parameters. */
  public static String hfName(String ours) {
    return PREFIX + ours;
  }

  /** Our parameters under transformers' names, in our canonical order (the arrays are shared, not copied). */
  public static Map<String, NDArray> rename(Params p, ModelConfig c) {
    Map<String, NDArray> out = new LinkedHashMap<>();
    for (String n : Params.names(c)) {
      out.put(hfName(n), p.get(n));
    }
    return out;
  }

  /**
   * Reads the weights of {@code dir} as our parameters: names mapped back, shapes checked against {@code c},
   * float32 throughout. Refuses an untied head, missing or extra tensors, and unsupported dtypes, naming the
   * tensor.
   */
  public static Params read(Path dir, ModelConfig c, NDManager manager) throws IOException {
    Map<String, Tensor> all = readHost(dir);
    Tensor embed = all.get(hfName("embed_tokens.weight"));
    Tensor head = all.remove(LM_HEAD);
    if (head != null && (embed == null || !Arrays.equals(head.values, embed.values))) {
      throw new IllegalArgumentException(dir + ": " + LM_HEAD + " differs from " + hfName("embed_tokens.weight")
          + ": an untied LM head is not supported");
    }
    Params p = new Params(manager);
    try {
      for (String n : Params.names(c)) {
        Tensor t = all.remove(hfName(n));
        if (t == null) {
          throw new IllegalArgumentException(dir + ": missing tensor '" + hfName(n) + "'");
        }
        if (!t.shape.equals(Params.shapeOf(c, n))) {
          throw new IllegalArgumentException(dir + ": tensor '" + hfName(n) + "' has shape " + t.shape
              + ", config.json implies " + Params.shapeOf(c, n));
        }
        p.put(n, p.manager().create(t.values, t.shape));
      }
      if (!all.isEmpty()) {
        throw new IllegalArgumentException(dir + ": unexpected tensor '" + all.keySet().iterator().next()
            + "' (not a Gemma-2 parameter our decoder has)");
      }
      p.validate(c, dir.toString());
      return p;
    } catch (RuntimeException e) {
      p.close();
      throw e;
    }
  }

  /** One tensor on the host, already float32. */
  record Tensor(Shape shape, float[] values, String dtype) {}

  /** Every tensor of the folder (single file or shards), by name, converted to float32 on the host. */
  static Map<String, Tensor> readHost(Path dir) throws IOException {
    Path single = dir.resolve("model.safetensors");
    Path index = dir.resolve("model.safetensors.index.json");
    Map<String, Tensor> out = new LinkedHashMap<>();
    if (Files.isRegularFile(single)) {
      out.putAll(readFile(single));
    } else if (Files.isRegularFile(index)) {
      JsonNode map = Json.MAPPER.readTree(index.toFile()).path("weight_map");
      TreeSet<String> files = new TreeSet<>();
      map.elements().forEachRemaining(v -> files.add(v.asText()));
      for (String f : files) {
        Path shard = dir.resolve(f).normalize();
        if (!shard.startsWith(dir.normalize())) {
          throw new IOException(index + ": shard '" + f + "' lies outside the folder");
        }
        out.putAll(readFile(shard));
      }
    } else {
      throw new IOException(dir + ": no model.safetensors or model.safetensors.index.json");
    }
    return out;
  }

  /** Parses one safetensors file: 8-byte little-endian header length, JSON header, raw little-endian data. */
  static Map<String, Tensor> readFile(Path file) throws IOException {
    byte[] all = Files.readAllBytes(file);
    if (all.length < 8) {
      throw new IOException(file + ": not a safetensors file (shorter than 8 bytes)");
    }
    long n = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    if (n <= 0 || 8 + n > all.length) {
      throw new IOException(file + ": corrupt safetensors header length " + n);
    }
    JsonNode header = Json.MAPPER.readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8));
    long base = 8 + n;
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals("__metadata__")) {
        continue;
      }
      JsonNode t = e.getValue();
      String dtype = t.path("dtype").asText();
      int width = switch (dtype) {
        case "F32" -> 4;
        case "F16", "BF16" -> 2;
        case "F64" -> 8;
        default -> throw new IllegalArgumentException(file + ": tensor '" + e.getKey() + "' has dtype " + dtype
            + " (supported: F32, F16, BF16, F64)");
      };
      long[] shape = new long[t.path("shape").size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = t.path("shape").get(i).asLong();
      }
      Shape s = new Shape(shape);
      long begin = base + t.path("data_offsets").path(0).asLong();
      long end = base + t.path("data_offsets").path(1).asLong();
      if (begin < base || end > all.length || end - begin != s.size() * width) {
        throw new IOException(file + ": tensor '" + e.getKey() + "' has inconsistent offsets");
      }
      ByteBuffer b = ByteBuffer.wrap(all, (int) begin, (int) (end - begin)).slice().order(ByteOrder.LITTLE_ENDIAN);
      out.put(e.getKey(), new Tensor(s, toFloat32(b, dtype, (int) s.size()), dtype));
    }
    return out;
  }

  private static float[] toFloat32(ByteBuffer b, String dtype, int count) {
    float[] v = new float[count];
    switch (dtype) {
      case "F32" -> b.asFloatBuffer().get(v);
      case "F64" -> {
        for (int i = 0; i < count; i++) {
          v[i] = (float) b.getDouble(8 * i);
        }
      }
      case "BF16" -> {
        // bfloat16 is the upper half of a float32: shifting the bits back is exact.
        for (int i = 0; i < count; i++) {
          v[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xFFFF) << 16);
        }
      }
      case "F16" -> {
        for (int i = 0; i < count; i++) {
          v[i] = halfToFloat(b.getShort(2 * i));
        }
      }
      default -> throw new IllegalStateException(dtype);
    }
    return v;
  }

  /** IEEE binary16 to float32, exact (subnormals, infinities and NaN included). */
  static float halfToFloat(short h) {
    int bits = h & 0xFFFF;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1F;
    int mant = bits & 0x3FF;
    if (exp == 0x1F) {
      return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
    }
    if (exp == 0) {
      // zero or subnormal: mant * 2^-24, exactly representable in float32
      float m = mant * 0x1p-24f;
      return sign == 0 ? m : -m;
    }
    return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
  }
}
