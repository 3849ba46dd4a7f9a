package dev.undo.run;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Shared Jackson mapper, durable atomic file writes, and one-line descriptions of I/O and JSON errors.
 *
 * <p>An atomic write goes to a uniquely named temp file in the target's folder ({@link Files#createTempFile}, so two
 * processes or threads writing the same file never share a temp file), is forced to disk, renamed over the target,
 * and then the folder itself is forced, so that after a power loss the file is either the old or the new content,
 * never empty: without the fsync a rename can reach the disk before the data it names (ext4 with
 * {@code data=writeback}, XFS).
 */
public final class Json {
  public static final ObjectMapper MAPPER = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  /** Single-line writer for JSONL records. */
  public static final ObjectMapper LINE = new ObjectMapper();

  private Json() {}

  public static void writeAtomic(Path file, Object value) {
    String text;
    try {
      text = MAPPER.writeValueAsString(value) + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + describe(e), e);
    }
    writeStringAtomic(file, text);
  }

  public static void writeStringAtomic(Path file, String text) {
    try {
      writeBytesAtomic(file, text.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + describe(e), e);
    }
  }

  /**
   * Writes {@code bytes} to {@code file} durably and atomically (see the class comment). The temp file is removed
   * if anything fails before the rename.
   */
  public static void writeBytesAtomic(Path file, byte[] bytes) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path tmp = Files.createTempFile(parent, file.getFileName().toString() + ".", ".tmp");
    boolean moved = false;
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
          ch.write(b);
        }
        ch.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      moved = true;
      syncDirectory(parent);
    } finally {
      if (!moved) {
        Files.deleteIfExists(tmp);
      }
    }
  }

  /**
   * Forces a folder's entries (renames, creations) to disk. Best effort: some file systems and platforms cannot
   * open a directory for syncing, and there is nothing more a caller could do about it.
   */
  public static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // Not supported here (e.g. Windows); the rename itself is still atomic.
    }
  }

  public static <T> T read(Path file, Class<T> type) {
    try (InputStream in = Files.newInputStream(file)) {
      return MAPPER.readValue(in, type);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + describe(e), e);
    }
  }

  /**
   * One line saying what went wrong, without the file name the caller already states: Jackson's own message with
   * its line and column (not its multi-line source excerpt), or "no such file", "permission denied", or the
   * exception's message.
   */
  public static String describe(Throwable e) {
    if (e instanceof JsonProcessingException j) {
      JsonLocation loc = j.getLocation();
      String where = loc == null || loc.getLineNr() < 1 ? ""
          : " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")";
      // Jackson quotes other locations as "[Source: REDACTED (...); line: 1, column: 1]": keep only the position.
      String m = oneLine(j.getOriginalMessage())
          .replaceAll("\\[Source: [^\\]]*?; line: (\\d+), column: (\\d+)\\]", "line $1, column $2");
      return m + where;
    }
    if (e instanceof FileNotFoundException && e.getMessage() != null && e.getMessage().endsWith(")")) {
      // java.io's "PATH (No such file or directory)": keep the reason.
      String m = e.getMessage();
      return m.substring(m.lastIndexOf('(') + 1, m.length() - 1).toLowerCase(java.util.Locale.ROOT);
    }
    if (e instanceof NoSuchFileException) {
      return "no such file";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof FileAlreadyExistsException) {
      return "already exists";
    }
    if (e instanceof DirectoryNotEmptyException) {
      return "directory not empty";
    }
    if (e instanceof NotDirectoryException) {
      return "not a directory";
    }
    if (e instanceof FileSystemException f) {
      return f.getReason() != null ? oneLine(f.getReason()) : e.getClass().getSimpleName();
    }
    String m = e.getMessage();
    return m == null || m.isBlank() ? e.getClass().getSimpleName() : oneLine(m);
  }

  private static String oneLine(String s) {
    return s == null ? "" : s.strip().replaceAll("\\s*\\R\\s*", " ");
  }
}
