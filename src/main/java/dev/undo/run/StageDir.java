package dev.undo.run;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * One stage's folder (docs/DESIGN.md, "Stages are folders"): {@code config.json} (resolved config), {@code metrics.jsonl},
 * {@code checkpoint/}, and {@code DONE}, written last and atomically. A stage whose DONE exists is finished and
 * is skipped on rerun; one without DONE resumes from its checkpoint.
 */
public record StageDir(Path path) {
  public static final String DONE = "DONE";

  public StageDir {
    try {
      Files.createDirectories(path);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create stage folder " + path + ": " + e.getMessage(), e);
    }
  }

  public Path config() {
    return path.resolve("config.json");
  }

  public Path metrics() {
    return path.resolve("metrics.jsonl");
  }

  public Path checkpoint() {
    return path.resolve("checkpoint");
  }

  public Path file(String name) {
    return path.resolve(name);
  }

  public boolean isDone() {
    return Files.exists(path.resolve(DONE));
  }

  public void markDone() {
    Json.writeStringAtomic(path.resolve(DONE), Instant.now().toString() + "\n");
  }
}
