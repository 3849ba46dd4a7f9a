package dev.undo.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.Tokenizer;
import dev.undo.hf.HfFolder;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.model.Safetensors;
import dev.undo.run.Checksums;
import dev.undo.run.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A checkpoint folder: {@code model.safetensors} (HF Gemma-2 names), {@code config.json} (model shape),
 * {@code tokenizer.json}, {@code provenance.json} (resolved config, seeds, data hashes, versions, compute), for
 * resumable training {@code optimizer.safetensors} + {@code trainer_state.json}, and {@code checksums.json}
 * ({@link Checksums}: the SHA-256 of each of those files). Loads with nothing else.
 *
 * <p>Integrity: {@link #load} checks every file against {@code checksums.json} before reading it, so a flipped
 * bit, a NaN patched into a tensor or an edited {@code config.json} (say {@code num_heads}, which changes the model
 * without changing any tensor shape) is a one-line error naming the file. A checkpoint without
 * {@code checksums.json} was written by an older build: it loads with a warning on stderr. Independently,
 * {@link Safetensors#read} checks each file's layout and that every weight is finite, and {@link Params#validate}
 * the shapes against the config.
 *
 * <p>Crash safety: everything is written into a fresh {@code <dir>.tmp-<pid>-<random>} folder, each file forced to
 * disk, {@code checksums.json} last. Then the current folder (if complete) is renamed to {@code <dir>.old}, the new
 * one renamed in, and the {@code .old} one retired (renamed to a {@code .trash-} name, then deleted). At every point
 * of this sequence {@code <dir>} or {@code <dir>.old} is a complete checkpoint, also after a crash in the middle of
 * a save that itself follows a crash: an existing {@code .old} is only retired while {@code <dir>} is complete.
 * {@link #resolve} only ever returns {@code <dir>} or {@code <dir>.old}, never a temp folder, and only if complete.
 * Temp and trash folders left by dead processes are removed by the next save.
 */
public final class Checkpoint {
  public static final String WEIGHTS = "model.safetensors";
  public static final String CONFIG = "config.json";
  public static final String TOKENIZER = "tokenizer.json";
  public static final String PROVENANCE = "provenance.json";
  public static final String OPTIMIZER = "optimizer.safetensors";
  public static final String TRAINER_STATE = "trainer_state.json";
  public static final String CHECKSUMS = Checksums.FILE;

  /** Every file a checkpoint may hold besides {@code checksums.json}, i.e. everything {@link #load} reads. */
  static final List<String> FILES = List.of(WEIGHTS, CONFIG, TOKENIZER, PROVENANCE, OPTIMIZER, TRAINER_STATE);

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

  /**
   * Test hook: called with the name of each point of the save sequence; a test throws from it to simulate a crash
   * there (nothing is cleaned up, as after a kill).
   */
  static volatile Consumer<String> crashPoint = point -> {};

  private Checkpoint() {}

  public static void save(Path dir, ModelConfig config, Params params, Tokenizer tokenizer, ObjectNode provenance,
      AdamW optimizer, Long completedSteps) {
    saveWithState(dir, config, params, tokenizer, provenance, optimizer == null ? null : optimizer.state(),
        completedSteps);
  }

  /**
   * Saves with the optimizer state given as named arrays ({@code m.<name>}, {@code v.<name>}: {@link AdamW#state()},
   * or one member's state of an ensemble optimizer), so a member trained in an ensemble resumes alone or in one.
   */
  public static void saveWithState(Path dir, ModelConfig config, Params params, Tokenizer tokenizer,
      ObjectNode provenance, Map<String, NDArray> optimizerState, Long completedSteps) {
    Path parent = dir.toAbsolutePath().getParent();
    String name = dir.getFileName().toString();
    Path old = sibling(dir, ".old");
    Path tmp = null;
    boolean installed = false;
    try {
      Files.createDirectories(parent);
      removeLeftovers(parent, name);
      tmp = Files.createTempDirectory(parent, name + ".tmp-" + ProcessHandle.current().pid() + "-");
      List<String> written = new ArrayList<>();
      Map<String, String> meta = new LinkedHashMap<>();
      meta.put("format", "pt");
      Safetensors.write(tmp.resolve(WEIGHTS), params.asMap(), meta);
      written.add(WEIGHTS);
      Json.writeAtomic(tmp.resolve(CONFIG), config);
      written.add(CONFIG);
      tokenizer.save(tmp.resolve(TOKENIZER));
      written.add(TOKENIZER);
      Json.writeAtomic(tmp.resolve(PROVENANCE), provenance);
      written.add(PROVENANCE);
      if (optimizerState != null) {
        Safetensors.write(tmp.resolve(OPTIMIZER), optimizerState, Map.of());
        written.add(OPTIMIZER);
        Json.writeAtomic(tmp.resolve(TRAINER_STATE), new TrainerState(completedSteps));
        written.add(TRAINER_STATE);
      }
      // Safetensors and Json force their files; the tokenizer's writer does not, and checksums.json must not
      // reach the disk before the bytes it vouches for.
      try (FileChannel ch = FileChannel.open(tmp.resolve(TOKENIZER), StandardOpenOption.READ)) {
        ch.force(true);
      }
      crashPoint.accept("files-written");
      Checksums.write(tmp, written);
      Json.syncDirectory(tmp);
      crashPoint.accept("tmp-complete");
      if (isComplete(dir)) {
        // <dir> is readable, so the previous .old (if any) is no longer needed as a fallback.
        retire(old, parent, name);
        crashPoint.accept("old-retired");
        Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
        Json.syncDirectory(parent);
        crashPoint.accept("current-moved-to-old");
      } else if (Files.exists(dir)) {
        // Not a checkpoint (e.g. partly deleted by hand): keep .old, which is then the only readable copy.
        retire(dir, parent, name);
      }
      Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
      installed = true;
      Json.syncDirectory(parent);
      crashPoint.accept("new-installed");
      retire(old, parent, name);
    } catch (IOException e) {
      if (tmp != null && !installed) {
        deleteQuietly(tmp);
      }
      throw new UncheckedIOException("cannot write checkpoint " + dir + ": " + Json.describe(e), e);
    } catch (UncheckedIOException e) {
      if (tmp != null && !installed) {
        deleteQuietly(tmp);
      }
      throw new UncheckedIOException("cannot write checkpoint " + dir + ": " + Json.describe(e), e.getCause());
    }
  }

  /**
   * The readable checkpoint folder for {@code dir}: itself if complete, else the {@code .old} copy a crash left
   * behind if that is complete, else null. Temp folders of a save in progress or interrupted are never returned.
   */
  public static Path resolve(Path dir) {
    if (isComplete(dir)) {
      return dir;
    }
    Path old = sibling(dir, ".old");
    if (isComplete(old)) {
      return old;
    }
    return null;
  }

  /**
   * The provenance of the checkpoint at {@code dir} (a checkpoint folder or a stage folder holding one), without
   * loading its weights.
   */
  public static ObjectNode provenance(Path dir) {
    if (HfFolder.isHfFolder(dir)) {
      return HfFolder.provenance(dir);
    }
    Path d = resolve(dir);
    if (d == null) {
      d = resolve(dir.resolve("checkpoint"));
    }
    if (d == null) {
      throw new IllegalArgumentException("no checkpoint at " + dir + " (expected " + WEIGHTS + " in it or in "
          + dir.resolve("checkpoint") + ")");
    }
    return Files.exists(d.resolve(PROVENANCE)) ? Json.read(d.resolve(PROVENANCE), ObjectNode.class)
        : Json.MAPPER.createObjectNode();
  }

  public static boolean exists(Path dir) {
    return resolve(dir) != null;
  }

  /**
   * Complete: has {@code checksums.json} (written last), or, for a folder from a build before checksums, has the
   * weights, config and tokenizer.
   */
  static boolean isComplete(Path d) {
    if (Files.isRegularFile(d.resolve(CHECKSUMS))) {
      return true;
    }
    return Files.isRegularFile(d.resolve(WEIGHTS)) && Files.isRegularFile(d.resolve(CONFIG))
        && Files.isRegularFile(d.resolve(TOKENIZER));
  }

  /**
   * Checks the checksums of a checkpoint ({@code dir} may be the checkpoint folder or a stage folder holding
   * {@code checkpoint/}) without loading it. Returns {@link Checksums.Status#ABSENT} for a checkpoint written before
   * checksums existed.
   *
   * @throws IllegalArgumentException one line naming the file that is missing, unlisted or corrupt
   */
  public static Checksums.Status verify(Path dir) {
    return Checksums.verify(locate(dir), FILES);
  }

  /**
   * Loads a checkpoint. {@code dir} may be the checkpoint folder itself, a stage folder holding
   * {@code checkpoint/}, or a Hugging Face Gemma-2 folder ({@link HfFolder}). Verifies the checksums first (see the
   * class comment). Errors are one line naming the folder and the missing or broken file.
   */
  public static Loaded load(Path dir, NDManager manager) {
    if (HfFolder.isHfFolder(dir)) { // a transformers Gemma-2 folder (`undo export --format hf`, or from elsewhere)
      HfFolder.Contents hf = HfFolder.read(dir, manager, null);
      return new Loaded(dir, hf.config(), hf.params(), hf.tokenizer(), hf.provenance(), null, null);
    }
    Path d = locate(dir);
    if (Checksums.verify(d, FILES) == Checksums.Status.ABSENT) {
      System.err.println("warning: " + d + " has no " + CHECKSUMS + " (written by an older build); loading it "
          + "without an integrity check");
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

  /** The complete checkpoint folder {@code dir} names, directly or as {@code dir/checkpoint}. */
  private static Path locate(Path dir) {
    Path d = resolve(dir);
    if (d == null && Files.isDirectory(dir.resolve("checkpoint"))) {
      d = resolve(dir.resolve("checkpoint"));
    }
    if (d == null) {
      throw new IllegalArgumentException("no checkpoint at " + dir + " (expected " + WEIGHTS + " in it or in "
          + dir.resolve("checkpoint") + ")");
    }
    return d;
  }

  private static Path sibling(Path dir, String suffix) {
    return dir.resolveSibling(dir.getFileName() + suffix);
  }

  /**
   * Removes {@code p} as one step: renamed to a unique {@code .trash-} name first, so a crash never leaves a
   * partly deleted folder under a name {@link #resolve} looks at, then deleted.
   */
  private static void retire(Path p, Path parent, String name) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    Path trash = parent.resolve(name + ".trash-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    Files.move(p, trash, StandardCopyOption.ATOMIC_MOVE);
    Json.syncDirectory(parent);
    deleteTree(trash);
  }

  /**
   * Deletes temp and trash folders of {@code name} left by processes that are gone (or by an earlier, crashed save
   * of this process), and the fixed-name {@code <name>.tmp} of older builds. A live process's temp folder is left
   * alone.
   */
  private static void removeLeftovers(Path parent, String name) throws IOException {
    long self = ProcessHandle.current().pid();
    List<Path> doomed = new ArrayList<>();
    try (Stream<Path> s = Files.list(parent)) {
      s.forEach(p -> {
        String f = p.getFileName().toString();
        if (f.equals(name + ".tmp")) {
          doomed.add(p);
          return;
        }
        for (String kind : List.of(".tmp-", ".trash-")) {
          if (f.startsWith(name + kind)) {
            String rest = f.substring(name.length() + kind.length());
            int dash = rest.indexOf('-');
            try {
              long pid = Long.parseLong(dash < 0 ? rest : rest.substring(0, dash));
              if (pid == self || ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true)) {
                doomed.add(p);
              }
            } catch (NumberFormatException e) {
              // Not one of ours.
            }
          }
        }
      });
    }
    for (Path p : doomed) {
      deleteTree(p);
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      deleteTree(p);
    } catch (IOException e) {
      // The next save removes it (removeLeftovers).
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
