package dev.undo.task;

import dev.undo.data.Corpus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a task's corpora come from: an embedded name ({@code english} → {@code data/corpora/english.train.txt}
 * and {@code english.val.txt}) or a file path. For a file {@code X.txt} / {@code X.jsonl}, a sibling
 * {@code X.val.txt} / {@code X.val.jsonl} is the held-out split; without one, a task that allows it holds out every
 * {@code heldOutEvery}-th document (deterministic, so every stage scores the same documents).
 */
public final class Corpora {
  private Corpora() {}

  /** A corpus's training and held-out documents. */
  public record Split(Corpus train, Corpus val) {}

  /**
   * Loads a corpus and its held-out split. {@code heldOutEvery} ≥ 2 allows holding out every n-th document when no
   * {@code .val} file exists; 0 makes the missing file an error. {@code key} names the config key in errors.
   */
  public static Split load(String nameOrPath, int heldOutEvery, String key) {
    if (nameOrPath == null || nameOrPath.isBlank()) {
      throw new IllegalArgumentException(key + " is not set (give a file path or an embedded corpus name)");
    }
    Path p = Path.of(nameOrPath);
    if (!Files.isRegularFile(p)) {
      if (nameOrPath.contains("/") || nameOrPath.contains("\\") || nameOrPath.endsWith(".txt")
          || nameOrPath.endsWith(".jsonl")) {
        throw new IllegalArgumentException(key + ": file " + p + " not found");
      }
      return new Split(Corpus.embedded(nameOrPath + ".train"), Corpus.embedded(nameOrPath + ".val"));
    }
    String f = p.getFileName().toString();
    int dot = f.lastIndexOf('.');
    Path val = p.resolveSibling((dot > 0 ? f.substring(0, dot) : f) + ".val" + (dot > 0 ? f.substring(dot) : ""));
    Corpus all = Corpus.load(p);
    if (Files.isRegularFile(val)) {
      return new Split(all, Corpus.load(val));
    }
    if (heldOutEvery < 2) {
      throw new IllegalArgumentException(key + ": held-out file " + val + " for corpus " + p + " not found");
    }
    List<String> train = new ArrayList<>();
    List<String> held = new ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      (i % heldOutEvery == heldOutEvery - 1 ? held : train).add(all.get(i));
    }
    if (held.isEmpty() || train.isEmpty()) {
      throw new IllegalArgumentException(key + ": " + p + " has " + all.size() + " documents; holding out every "
          + heldOutEvery + "-th needs at least " + heldOutEvery + " (or give " + val.getFileName() + ")");
    }
    return new Split(Corpus.of(all.name() + ".train", train), Corpus.of(all.name() + ".val", held));
  }
}
