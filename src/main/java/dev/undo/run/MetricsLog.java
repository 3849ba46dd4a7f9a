package dev.undo.run;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code metrics.jsonl}: one JSON object per line, flushed per line so a crash loses nothing written. Records hold
 * numbers a run computes, never wall-clock times, so two runs with the same seed write byte-identical files.
 * Every record has a {@code "step"}; on resume from step s the file is cut back to records of steps ≤ s first,
 * so a resumed run's file equals an uninterrupted run's.
 */
public final class MetricsLog implements AutoCloseable {
  private final Path file;
  private BufferedWriter out;

  public MetricsLog(Path file) {
    this.file = file;
  }

  /** Opens for appending after dropping records with {@code step > keepThrough} (use −1 to start afresh). */
  public MetricsLog open(long keepThrough) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      List<String> kept = new ArrayList<>();
      if (Files.exists(file)) {
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          if (line.isBlank()) {
            continue;
          }
          JsonNode n;
          try {
            n = Json.LINE.readTree(line);
          } catch (IOException e) {
            break; // a torn last line from a crash
          }
          if (n.path("step").asLong(Long.MAX_VALUE) <= keepThrough) {
            kept.add(line);
          }
        }
      }
      Json.writeStringAtomic(file, kept.isEmpty() ? "" : String.join("\n", kept) + "\n");
      out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open " + file + ": " + e.getMessage(), e);
    }
  }

  public synchronized void write(Map<String, ?> record) {
    try {
      out.write(Json.LINE.writeValueAsString(record));
      out.write('\n');
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to " + file + ": " + e.getMessage(), e);
    }
  }

  public Path file() {
    return file;
  }

  /** Reads all records of a metrics file. */
  public static List<JsonNode> readAll(Path file) {
    List<JsonNode> out = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (!line.isBlank()) {
          out.add(Json.LINE.readTree(line));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    return out;
  }

  @Override
  public void close() {
    try {
      if (out != null) {
        out.close();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
