package dev.undo.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.Tokenizer;
import dev.undo.hf.HfFolder;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.model.Safetensors;
import dev.undo.run.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A checkpoint folder: {@code model.safetensors} (HF Gemma-2 names), {@code config.json} (model shape),
 * {@code tokenizer.json}, {@code provenance.json} (resolved config, seeds, data hashes, versions, compute), and for
 * resumable training {@code optimizer.safetensors} + {@code trainer_state.json}. Loads with nothing else.
 *
 * <p>Written as a whole: everything goes into {@code <dir>.tmp}, the old folder is renamed aside, the new one
 * renamed in, the old one deleted. A crash at any point leaves either the old or the new checkpoint readable
 * ({@link #resolve} falls back to {@code <dir>.old}).
 */
public final class Checkpoint {
  public static final String WEIGHTS = "model.safetensors";
  public static final String CONFIG = "config.json";
  public static final String TOKENIZER = "tokenizer.json";
  public static final String PROVENANCE = "provenance.json";
  public static final String OPTIMIZER = "optimizer.safetensors";
  public static final String TRAINER_STATE = "trainer_state.json";

  /** What {@code trainer_state.json} holds: the number of completed steps (the next step to run). */
  public record TrainerState(long step) {}

  /** A loaded checkpoint. Close to free the weights. */
  public record Loaded(Path dir, ModelConfig config, Params params, Tokenizer tokenizer, ObjectNode provenance,
      Map<String, NDArray> optimizerState, TrainerState trainerState) implements AutoCloseable {
    @Override
    public void close() {
      params.close();
      if (optimizerState != null) {
        optimizerState.values().forEach(NDArray::close);
      }
    }
  }

  private Checkpoint() {}

  public static void save(Path dir, ModelConfig config, Params params, Tokenizer tokenizer, ObjectNode provenance,
      AdamW optimizer, Long completedSteps) {
    Path tmp = dir.resolveSibling(dir.getFileName() + ".tmp");
    Path old = dir.resolveSibling(dir.getFileName() + ".old");
    try {
      deleteTree(tmp);
      Files.createDirectories(tmp);
      Map<String, String> meta = new LinkedHashMap<>();
      meta.put("format", "pt");
      Safetensors.write(tmp.resolve(WEIGHTS), params.asMap(), meta);
      Json.writeAtomic(tmp.resolve(CONFIG), config);
      tokenizer.save(tmp.resolve(TOKENIZER));
      Json.writeAtomic(tmp.resolve(PROVENANCE), provenance);
      if (optimizer != null) {
        Safetensors.write(tmp.resolve(OPTIMIZER), optimizer.state(), Map.of());
        Json.writeAtomic(tmp.resolve(TRAINER_STATE), new TrainerState(completedSteps));
      }
      deleteTree(old);
      if (Files.exists(dir)) {
        Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
      }
      Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
      deleteTree(old);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The readable checkpoint folder for {@code dir}: itself, or the {@code .old} copy a crash left behind. */
  public static Path resolve(Path dir) {
    if (Files.isRegularFile(dir.resolve(WEIGHTS))) {
      return dir;
    }
    Path old = dir.resolveSibling(dir.getFileName() + ".old");
    if (Files.isRegularFile(old.resolve(WEIGHTS))) {
      return old;
    }
    return null;
  }

  public static boolean exists(Path dir) {
    return resolve(dir) != null;
  }

  /**
   * Loads a checkpoint. {@code dir} may be the checkpoint folder itself, a stage folder holding
   * {@code checkpoint/}, or a Hugging Face Gemma-2 folder ({@link HfFolder}). Errors name the folder and the
   * missing or broken file.
   */
  public static Loaded load(Path dir, NDManager manager) {
    if (HfFolder.isHfFolder(dir)) { // a transformers Gemma-2 folder (`undo export --format hf`, or from elsewhere)
      HfFolder.Contents hf = HfFolder.read(dir, manager, null);
      return new Loaded(dir, hf.config(), hf.params(), hf.tokenizer(), hf.provenance(), null, null);
    }
    Path d = resolve(dir);
    if (d == null && Files.isDirectory(dir.resolve("checkpoint"))) {
      d = resolve(dir.resolve("checkpoint"));
    }
    if (d == null) {
      throw new IllegalArgumentException("no checkpoint at " + dir + " (expected " + WEIGHTS + " in it or in "
          + dir.resolve("checkpoint") + ")");
    }
    ModelConfig cfg = Json.read(d.resolve(CONFIG), ModelConfig.class);
    Tokenizer tok = Tokenizer.load(d.resolve(TOKENIZER));
    if (tok.vocabSize() != cfg.vocabSize()) {
      throw new IllegalArgumentException(d + ": tokenizer has " + tok.vocabSize() + " tokens but config.json says vocab_size "
          + cfg.vocabSize());
    }
    ObjectNode prov = Files.exists(d.resolve(PROVENANCE))
        ? Json.read(d.resolve(PROVENANCE), ObjectNode.class) : Json.MAPPER.createObjectNode();
    Params params = new Params(manager);
    try {
      Safetensors.read(d.resolve(WEIGHTS), params.manager()).tensors().forEach(params::put);
      params.validate(cfg, d.resolve(WEIGHTS).toString());
      Map<String, NDArray> opt = null;
      TrainerState state = null;
      if (Files.exists(d.resolve(OPTIMIZER)) && Files.exists(d.resolve(TRAINER_STATE))) {
        opt = Safetensors.read(d.resolve(OPTIMIZER), params.manager()).tensors();
        state = Json.read(d.resolve(TRAINER_STATE), TrainerState.class);
      }
      return new Loaded(d, cfg, params, tok, prov, opt, state);
    } catch (IOException e) {
      params.close();
      throw new UncheckedIOException(e.getMessage(), e);
    } catch (RuntimeException e) {
      params.close();
      throw e;
    }
  }

  static void deleteTree(Path p) throws IOException {
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
