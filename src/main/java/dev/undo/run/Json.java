package dev.undo.run;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Shared Jackson mapper and atomic file writes (temp file in the same folder, then rename). */
public final class Json {
  public static final ObjectMapper MAPPER = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  /** Single-line writer for JSONL records. */
  public static final ObjectMapper LINE = new ObjectMapper();

  private Json() {}

  public static void writeAtomic(Path file, Object value) {
    try {
      writeStringAtomic(file, MAPPER.writeValueAsString(value) + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  public static void writeStringAtomic(Path file, String text) {
    try {
      Path parent = file.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      // A unique temp name: two processes writing the same file (e.g. two settings of one run) must not collide.
      Path tmp = Files.createTempFile(parent, file.getFileName().toString(), ".tmp");
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  public static <T> T read(Path file, Class<T> type) {
    try {
      return MAPPER.readValue(file.toFile(), type);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
