package dev.undo.run;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code metrics.jsonl}: one JSON object per line, flushed per line so a crash of the process loses nothing written
 * ({@link #sync} also survives a power loss; call it before writing a checkpoint so the log is never behind it).
 * Records hold numbers a run computes, never wall-clock times, so two runs with the same seed write byte-identical
 * files. Every record has a {@code "step"}; on resume from step s the file is cut back to records of steps ≤ s
 * first, so a resumed run's file equals an uninterrupted run's.
 *
 * <p>The cut is done in place (one {@code truncate}, atomic on POSIX file systems) when the kept records are a
 * prefix of the file, which is the normal case since records are written in step order; only otherwise is the
 * file rewritten to a temp file and renamed. Appending then goes to the same file, not to an inode a rename has
 * replaced. Two processes must still not append to one log: the stage folder's {@link RunLock} prevents that.
 */
public final class MetricsLog implements AutoCloseable {
  private final Path file;
  private FileChannel channel;
  private Writer out;

  public MetricsLog(Path file) {
    this.file = file;
  }

  /** Opens for appending after dropping records with {@code step > keepThrough} (use −1 to start afresh). */
  public MetricsLog open(long keepThrough) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      if (Files.exists(file)) {
        cut(keepThrough);
      }
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.APPEND);
      out = new BufferedWriter(new OutputStreamWriter(Channels.newOutputStream(channel), StandardCharsets.UTF_8));
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open " + file + ": " + Json.describe(e), e);
    }
  }

  /** Drops records after {@code keepThrough} (and a torn last line), in place when they form a suffix. */
  private void cut(long keepThrough) throws IOException {
    byte[] all = Files.readAllBytes(file);
    List<String> kept = new ArrayList<>();
    long prefixEnd = 0; // bytes of the file that are exactly the kept records so far
    boolean prefix = true;
    int start = 0;
    while (start < all.length) {
      int nl = start;
      while (nl < all.length && all[nl] != '\n') {
        nl++;
      }
      String line = new String(all, start, nl - start, StandardCharsets.UTF_8);
      JsonNode n = null;
      if (!line.isBlank()) {
        try {
          n = Json.LINE.readTree(line);
        } catch (IOException e) {
          break; // a torn line from a crash; nothing after it is trusted
        }
      }
      if (n != null && n.path("step").asLong(Long.MAX_VALUE) <= keepThrough) {
        kept.add(line);
        if (prefix && nl < all.length) {
          prefixEnd = nl + 1L;
        } else {
          prefix = false; // a last line without its newline: rewrite so appends start on a new line
        }
      } else {
        prefix = false;
      }
      start = nl + 1;
    }
    String keptText = kept.isEmpty() ? "" : String.join("\n", kept) + "\n";
    if (keptText.getBytes(StandardCharsets.UTF_8).length == prefixEnd) {
      if (prefixEnd < all.length) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
          ch.truncate(prefixEnd);
          ch.force(true);
        }
      }
    } else {
      Json.writeStringAtomic(file, keptText);
    }
  }

  public synchronized void write(Map<String, ?> record) {
    try {
      out.write(Json.LINE.writeValueAsString(record));
      out.write('\n');
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to " + file + ": " + Json.describe(e), e);
    }
  }

  /** Forces every record written so far to disk. */
  public synchronized void sync() {
    try {
      out.flush();
      channel.force(false);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot sync " + file + ": " + Json.describe(e), e);
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
      throw new UncheckedIOException("cannot read " + file + ": " + Json.describe(e), e);
    }
    return out;
  }

  @Override
  public synchronized void close() {
    try {
      if (out != null) {
        out.flush();
        channel.force(false);
        out.close();
        out = null;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close " + file + ": " + Json.describe(e), e);
    }
  }
}
