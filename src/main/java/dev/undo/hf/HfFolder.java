package dev.undo.hf;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.Tokenizer;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.model.Safetensors;
import dev.undo.run.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A model folder in the layout Hugging Face tools load with {@code from_pretrained}: {@code config.json}
 * ({@link HfConfig}), {@code model.safetensors} ({@link HfWeights}), {@code generation_config.json},
 * {@code tokenizer.json} ({@link HfTokenizer}), {@code tokenizer_config.json}, {@code special_tokens_map.json}, and
 * {@code undo.json}, which transformers ignores and we read back: the source checkpoint's provenance (its setting
 * and experiment, so the model continues through our pipeline unchanged) and the tokenizer's build threshold.
 *
 * <p>Written as a whole, as {@code train/Checkpoint} writes ours: into {@code <out>.tmp}, then renamed in place.
 */
public final class HfFolder {
  public static final String CONFIG = "config.json";
  public static final String WEIGHTS = "model.safetensors";
  public static final String GENERATION_CONFIG = "generation_config.json";
  public static final String TOKENIZER = "tokenizer.json";
  public static final String TOKENIZER_CONFIG = "tokenizer_config.json";
  public static final String SPECIAL_TOKENS = "special_tokens_map.json";
  /** Our sidecar: provenance of the exported checkpoint and what tokenizer.json cannot hold. */
  public static final String UNDO = "undo.json";
  static final String UNDO_FORMAT = "undo-hf-export";

  private HfFolder() {}

  /** What a folder holds, in our terms. {@code fromUndo}: it was exported by undo (has {@code undo.json}). */
  public record Contents(ModelConfig config, Params params, Tokenizer tokenizer, ObjectNode provenance,
      boolean fromUndo) {}

  /**
   * True when {@code dir} is a Hugging Face model folder: its {@code config.json} names a {@code model_type}, which
   * our own {@code config.json} never does.
   */
  public static boolean isHfFolder(Path dir) {
    Path cfg = dir.resolve(CONFIG);
    if (!Files.isRegularFile(cfg)) {
      return false;
    }
    try {
      return Json.MAPPER.readTree(cfg.toFile()).has("model_type");
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Writes {@code params} as a Hugging Face Gemma-2 folder at {@code out} (replacing one that is there).
   *
   * @param provenance the source checkpoint's provenance, kept in {@code undo.json}
   */
  public static void export(Path out, ModelConfig config, Params params, Tokenizer tokenizer, JsonNode provenance) {
    if (tokenizer.vocabSize() != config.vocabSize()) {
      throw new IllegalArgumentException("tokenizer has " + tokenizer.vocabSize() + " tokens but the model "
          + config.vocabSize());
    }
    params.validate(config, "export");
    ObjectNode tokenizerJson = HfTokenizer.toJson(tokenizer); // refuses before anything is written
    Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
    Path old = out.resolveSibling(out.getFileName() + ".old");
    try {
      deleteTree(tmp);
      Files.createDirectories(tmp);
      // "format": "pt" is what transformers checks before it reads a safetensors file as PyTorch weights.
      Safetensors.write(tmp.resolve(WEIGHTS), HfWeights.rename(params, config), Map.of("format", "pt"));
      Json.writeAtomic(tmp.resolve(CONFIG), HfConfig.toJson(config, tokenizer));
      Json.writeAtomic(tmp.resolve(GENERATION_CONFIG), generationConfig(tokenizer));
      Json.writeAtomic(tmp.resolve(TOKENIZER), tokenizerJson);
      Json.writeAtomic(tmp.resolve(TOKENIZER_CONFIG), HfTokenizer.tokenizerConfig(config.maxSeqLen()));
      Json.writeAtomic(tmp.resolve(SPECIAL_TOKENS), HfTokenizer.specialTokensMap());
      ObjectNode undo = Json.MAPPER.createObjectNode();
      undo.put("format", UNDO_FORMAT);
      undo.put("version", 1);
      undo.put("tokenizer_min_count", tokenizer.minCount());
      undo.put("tokenizer_sha256", tokenizer.sha256());
      undo.set("provenance", provenance == null ? Json.MAPPER.createObjectNode() : provenance.deepCopy());
      Json.writeAtomic(tmp.resolve(UNDO), undo);
      shareable(tmp);
      deleteTree(old);
      if (Files.exists(out)) {
        Files.move(out, old, StandardCopyOption.ATOMIC_MOVE);
      }
      Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
      deleteTree(old);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
    }
  }

  /**
   * {@code generation_config.json}: greedy decoding that stops at our document separator (the newline token) and
   * pads with id 0; no BOS token.
   */
  static ObjectNode generationConfig(Tokenizer tokenizer) {
    ObjectNode g = Json.MAPPER.createObjectNode();
    g.put("_from_model_config", true);
    g.put("eos_token_id", tokenizer.newlineId());
    g.put("pad_token_id", Tokenizer.PAD_ID);
    return g;
  }

  /**
   * Reads a Hugging Face Gemma-2 folder into our terms, or refuses with one line naming the key, tensor or token
   * that our decoder or tokenizer cannot represent.
   *
   * @param maxSeqLen context to build the decoder for, or null for the config's {@code max_position_embeddings}
   */
  public static Contents read(Path dir, NDManager manager, Integer maxSeqLen) {
    ModelConfig cfg = HfConfig.fromJson(readJson(dir.resolve(CONFIG)), dir.resolve(CONFIG).toString(), maxSeqLen);
    Path tokFile = dir.resolve(TOKENIZER);
    if (!Files.isRegularFile(tokFile)) {
      throw new IllegalArgumentException(dir + ": no " + TOKENIZER + " (a tokenizer.model-only tokenizer cannot be "
          + "read)");
    }
    JsonNode undo = Files.isRegularFile(dir.resolve(UNDO)) ? readJson(dir.resolve(UNDO)) : null;
    if (undo != null && !UNDO_FORMAT.equals(undo.path("format").asText())) {
      throw new IllegalArgumentException(dir.resolve(UNDO) + ": not an undo export sidecar (format "
          + undo.path("format") + ")");
    }
    int minCount = undo == null ? 1 : undo.path("tokenizer_min_count").asInt(1);
    Tokenizer tok = HfTokenizer.fromJson(readJson(tokFile), tokFile.toString(), minCount);
    if (undo != null && undo.hasNonNull("tokenizer_sha256")
        && !undo.get("tokenizer_sha256").asText().equals(tok.sha256())) {
      throw new IllegalArgumentException(tokFile + ": vocabulary differs from the one " + UNDO + " records");
    }
    if (tok.vocabSize() != cfg.vocabSize()) {
      throw new IllegalArgumentException(dir + ": " + TOKENIZER + " has " + tok.vocabSize() + " tokens but "
          + CONFIG + " says vocab_size " + cfg.vocabSize());
    }
    Params params;
    try {
      params = HfWeights.read(dir, cfg, manager);
    } catch (IOException e) {
      throw new UncheckedIOException(e.getMessage(), e);
    }
    return new Contents(cfg, params, tok, provenance(dir), undo != null);
  }

  /**
   * The provenance a folder carries: the exported checkpoint's (from {@code undo.json}), or for a model from
   * elsewhere one that only names its source, with no setting.
   */
  public static ObjectNode provenance(Path dir) {
    Path u = dir.resolve(UNDO);
    if (Files.isRegularFile(u)) {
      JsonNode p = readJson(u).path("provenance");
      if (p.isObject()) {
        return (ObjectNode) p.deepCopy();
      }
    }
    ObjectNode p = Json.MAPPER.createObjectNode();
    p.put("stage", "huggingface");
    p.put("source", dir.toAbsolutePath().normalize().toString());
    return p;
  }

  private static JsonNode readJson(Path f) {
    try {
      return Json.MAPPER.readTree(f.toFile());
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + f + ": " + e.getMessage().lines().findFirst().orElse(""));
    }
  }

  /** Atomic writes create owner-only temp files; a folder meant to be shared gets rw-r--r--, where POSIX. */
  private static void shareable(Path dir) throws IOException {
    if (!dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      return;
    }
    try (Stream<Path> s = Files.list(dir)) {
      for (Path f : (Iterable<Path>) s::iterator) {
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
      }
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path x : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(x);
      }
    }
  }
}
