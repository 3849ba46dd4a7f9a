package dev.undo.run;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code checksums.json}: the SHA-256 of every file of a folder (a checkpoint), written last.
 *
 * <p>Why one manifest of whole-file SHA-256 rather than a CRC32 per tensor in the safetensors metadata: it covers
 * the small JSON files too ({@code config.json} — an edited {@code num_heads} with unchanged tensor shapes would
 * load a different model —, {@code tokenizer.json}, {@code trainer_state.json}), it leaves the safetensors files
 * byte-standard for HF tooling, and because the manifest is written after everything it lists, its presence marks a
 * complete folder. It guards against damage and unintended edits, not against an adversary: whoever can edit the
 * files can rewrite the manifest too. The cost is reading each
 * file twice on load (once to hash, once to parse): 12–15 ms of SHA-256 for a tiny-model checkpoint of 13 MB
 * (docs/DESIGN.md).
 */
public final class Checksums {
  public static final String FILE = "checksums.json";
  public static final String ALGORITHM = "sha256";

  /** What {@code checksums.json} holds: the algorithm and lower-case hex digest per file name. */
  public record Manifest(@JsonProperty("algorithm") String algorithm,
      @JsonProperty("files") Map<String, String> files) {}

  /** Whether a folder's files were checked against a manifest, or it has none (written by an older build). */
  public enum Status { VERIFIED, ABSENT }

  private Checksums() {}

  /**
   * Hashes the named files of {@code folder} and writes {@code checksums.json} beside them, durably. Call it after
   * every listed file is complete: its presence is what marks the folder complete.
   */
  public static void write(Path folder, Collection<String> names) {
    Map<String, String> files = new TreeMap<>();
    for (String n : names) {
      files.put(n, sha256(folder.resolve(n)));
    }
    Json.writeAtomic(folder.resolve(FILE), new Manifest(ALGORITHM, files));
  }

  /**
   * Checks every file the manifest lists against its digest, and that each of {@code mustCover} that exists in the
   * folder is listed (a file added after the manifest would otherwise load unchecked). Returns
   * {@link Status#ABSENT} if the folder has no manifest.
   *
   * @throws IllegalArgumentException one line naming the folder, the file and what is wrong
   */
  public static Status verify(Path folder, Collection<String> mustCover) {
    Path f = folder.resolve(FILE);
    if (!Files.exists(f)) {
      return Status.ABSENT;
    }
    Manifest m;
    try {
      m = Json.MAPPER.readValue(f.toFile(), Manifest.class);
    } catch (IOException e) {
      throw new IllegalArgumentException(f + " is unreadable: " + Json.describe(e) + " (the checkpoint cannot be "
          + "verified)");
    }
    if (!ALGORITHM.equals(m.algorithm()) || m.files() == null) {
      throw new IllegalArgumentException(f + ": expected algorithm " + ALGORITHM + " and a files map");
    }
    for (String n : mustCover) {
      if (Files.exists(folder.resolve(n)) && !m.files().containsKey(n)) {
        throw new IllegalArgumentException(folder.resolve(n) + " is not listed in " + f
            + " (added after the checkpoint was written?)");
      }
    }
    Path base = folder.toAbsolutePath().normalize();
    for (Map.Entry<String, String> e : m.files().entrySet()) {
      Path p = folder.resolve(e.getKey());
      if (!base.equals(base.resolve(e.getKey()).normalize().getParent())) {
        throw new IllegalArgumentException(f + " lists '" + e.getKey() + "', which is not a file of the folder");
      }
      if (!Files.isRegularFile(p)) {
        throw new IllegalArgumentException(p + " is missing (listed in " + f + ")");
      }
      String actual = sha256(p);
      if (!actual.equals(e.getValue())) {
        throw new IllegalArgumentException(p + " is corrupt: its sha256 " + actual.substring(0, 12) + "… differs "
            + "from " + abbreviate(e.getValue()) + " in " + FILE + " (changed or damaged after it was written)");
      }
    }
    return Status.VERIFIED;
  }

  /** Lower-case hex SHA-256 of a file's bytes, streamed. */
  public static String sha256(Path file) {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
    byte[] buf = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(file)) {
      for (int r; (r = in.read(buf)) > 0; ) {
        md.update(buf, 0, r);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + Json.describe(e), e);
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static String abbreviate(String digest) {
    return digest == null ? "null" : digest.length() > 12 ? digest.substring(0, 12) + "…" : digest;
  }
}
