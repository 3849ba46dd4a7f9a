package dev.undo.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Character-level tokenizer with UTF-8 byte fallback.
 *
 * <p>The paper uses the Gemma tokenizer; our models are small enough that a character vocabulary is the better
 * trade (a few thousand embeddings instead of 256k), and Hangul syllables, digits and English letters are each
 * one token, so arithmetic answers and Korean text are not split oddly. Characters that were too rare when the
 * vocabulary was built are written as their UTF-8 bytes, so no text ever maps to an unknown token and
 * {@code decode(encode(s))} returns {@code s} for every well-formed string.
 *
 * <p>Ids: 0 = {@code <pad>}; 1..256 = raw bytes 0..255; 257.. = code points seen at least {@code minCount}
 * times, by descending count then ascending code point. Instances are immutable and thread-safe.
 */
public final class Tokenizer {
  /** Id of the padding token; never produced by {@link #encode}. */
  public static final int PAD_ID = 0;
  /** First id of the 256 byte-fallback tokens (byte {@code b} has id {@code BYTE_OFFSET + b}). */
  public static final int BYTE_OFFSET = 1;
  /** First id of the character tokens. */
  public static final int CHAR_OFFSET = BYTE_OFFSET + 256;

  private static final String FORMAT = "undo-char-tokenizer";
  private static final int VERSION = 1;
  private static final int BMP = 1 << 16;
  private static final Set<String> FILE_KEYS = Set.of("format", "version", "minCount", "codePoints", "sha256");

  private final int minCount;
  private final int[] codePoints; // code point of id CHAR_OFFSET + i
  private final int[] bmpIds; // id of a BMP code point, or -1 for byte fallback
  private final Map<Integer, Integer> supplementaryIds;
  private final int newlineId;
  private final String sha256;

  private Tokenizer(int minCount, int[] codePoints) {
    if (minCount < 1) {
      throw new IllegalArgumentException("minCount must be >= 1, got " + minCount);
    }
    this.minCount = minCount;
    this.codePoints = codePoints.clone();
    this.bmpIds = new int[BMP];
    Arrays.fill(bmpIds, -1);
    this.supplementaryIds = new HashMap<>();
    for (int i = 0; i < codePoints.length; i++) {
      int cp = codePoints[i];
      if (cp < 0 || cp > Character.MAX_CODE_POINT) {
        throw new IllegalArgumentException("invalid code point " + cp + " at vocabulary index " + i);
      }
      boolean fresh = cp < BMP ? bmpIds[cp] < 0 : !supplementaryIds.containsKey(cp);
      if (!fresh) {
        throw new IllegalArgumentException("duplicate code point U+" + Integer.toHexString(cp).toUpperCase());
      }
      if (cp < BMP) {
        bmpIds[cp] = CHAR_OFFSET + i;
      } else {
        supplementaryIds.put(cp, CHAR_OFFSET + i);
      }
    }
    this.newlineId = bmpIds['\n'] >= 0 ? bmpIds['\n'] : BYTE_OFFSET + '\n';
    this.sha256 = computeSha256(codePoints);
  }

  /**
   * Builds the vocabulary from {@code texts}: every code point occurring at least {@code minCount} times gets
   * its own id.
   *
   * @param texts the training texts; iterated once
   * @param minCount rarer code points fall back to bytes; must be at least 1
   */
  public static Tokenizer build(Iterable<String> texts, int minCount) {
    if (minCount < 1) {
      // Checked before counting so a bad argument fails fast instead of after a pass over the corpus.
      throw new IllegalArgumentException("minCount must be >= 1, got " + minCount);
    }
    long[] bmpCounts = new long[BMP];
    Map<Integer, Long> otherCounts = new HashMap<>();
    for (String text : texts) {
      for (int i = 0; i < text.length(); ) {
        int cp = text.codePointAt(i);
        i += Character.charCount(cp);
        if (cp < BMP) {
          bmpCounts[cp]++;
        } else {
          otherCounts.merge(cp, 1L, Long::sum);
        }
      }
    }
    List<long[]> kept = new ArrayList<>(); // {codePoint, count}
    for (int cp = 0; cp < BMP; cp++) {
      if (bmpCounts[cp] >= minCount) {
        kept.add(new long[] {cp, bmpCounts[cp]});
      }
    }
    otherCounts.forEach(
        (cp, n) -> {
          if (n >= minCount) {
            kept.add(new long[] {cp, n});
          }
        });
    kept.sort((x, y) -> x[1] != y[1] ? Long.compare(y[1], x[1]) : Long.compare(x[0], y[0]));
    int[] cps = new int[kept.size()];
    for (int i = 0; i < cps.length; i++) {
      cps[i] = (int) kept.get(i)[0];
    }
    return new Tokenizer(minCount, cps);
  }

  /**
   * A tokenizer over the given character vocabulary ({@code codePoints[i]} gets id {@link #CHAR_OFFSET} + i), for
   * vocabularies read back from another file format (the Hugging Face {@code tokenizer.json} of an exported model).
   *
   * @param minCount recorded for provenance only; must be at least 1
   */
  public static Tokenizer of(int[] codePoints, int minCount) {
    return new Tokenizer(minCount, codePoints);
  }

  /** The character vocabulary in id order: {@code codePoints()[i]} is the code point of id {@link #CHAR_OFFSET} + i. */
  public int[] codePoints() {
    return codePoints.clone();
  }

  /** Encodes {@code text} to token ids; never fails and never yields {@link #PAD_ID}. */
  public int[] encode(String text) {
    // A BMP char falls back to at most 3 bytes, a surrogate pair to 4 (2 per char), so 3 per char suffices.
    int[] out = new int[3 * text.length()];
    int n = encodeInto(text, out, 0);
    return n == out.length ? out : Arrays.copyOf(out, n);
  }

  /**
   * Encodes {@code text} into {@code dst} starting at {@code offset}, stopping when {@code dst} is full. Lets a
   * packer fill a fixed-length row without encoding the unused tail of a long document.
   *
   * @return the offset just past the last id written
   */
  public int encodeInto(CharSequence text, int[] dst, int offset) {
    int pos = offset;
    int len = text.length();
    for (int i = 0; i < len && pos < dst.length; ) {
      char c = text.charAt(i);
      int cp;
      if (Character.isHighSurrogate(c) && i + 1 < len && Character.isLowSurrogate(text.charAt(i + 1))) {
        cp = Character.toCodePoint(c, text.charAt(i + 1));
        i += 2;
      } else {
        cp = c;
        i += 1;
      }
      int id = cp < BMP ? bmpIds[cp] : supplementaryIds.getOrDefault(cp, -1);
      if (id >= 0) {
        dst[pos++] = id;
      } else {
        pos = writeUtf8(cp, dst, pos);
      }
    }
    return pos;
  }

  /**
   * Writes the UTF-8 bytes of {@code cp} as byte tokens. Lone surrogates get their 3-byte form, which decodes to
   * U+FFFD: such strings are not valid Unicode and cannot round-trip through UTF-8 anyway.
   */
  private static int writeUtf8(int cp, int[] dst, int pos) {
    int[] bytes;
    if (cp < 0x80) {
      bytes = new int[] {cp};
    } else if (cp < 0x800) {
      bytes = new int[] {0xC0 | (cp >> 6), 0x80 | (cp & 0x3F)};
    } else if (cp < 0x10000) {
      bytes = new int[] {0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)};
    } else {
      bytes =
          new int[] {
            0xF0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3F), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)
          };
    }
    for (int b : bytes) {
      if (pos == dst.length) {
        break;
      }
      dst[pos++] = BYTE_OFFSET + b;
    }
    return pos;
  }

  /**
   * Decodes ids to text. Runs of byte tokens are reassembled as UTF-8 (malformed runs, e.g. a sequence cut by a
   * sampling budget, become U+FFFD); pad ids are skipped.
   *
   * @throws IllegalArgumentException for an id outside {@code [0, vocabSize())}
   */
  public String decode(int[] ids) {
    StringBuilder sb = new StringBuilder(ids.length);
    ByteArrayOutputStream pending = new ByteArrayOutputStream();
    for (int id : ids) {
      if (id < 0 || id >= vocabSize()) {
        throw new IllegalArgumentException("token id " + id + " outside vocabulary of size " + vocabSize());
      }
      if (id == PAD_ID) {
        continue;
      }
      if (id < CHAR_OFFSET) {
        pending.write(id - BYTE_OFFSET);
        continue;
      }
      flush(pending, sb);
      sb.appendCodePoint(codePoints[id - CHAR_OFFSET]);
    }
    flush(pending, sb);
    return sb.toString();
  }

  private static void flush(ByteArrayOutputStream pending, StringBuilder sb) {
    if (pending.size() > 0) {
      sb.append(new String(pending.toByteArray(), StandardCharsets.UTF_8));
      pending.reset();
    }
  }

  /** Number of ids, including pad and the 256 byte tokens. */
  public int vocabSize() {
    return CHAR_OFFSET + codePoints.length;
  }

  /** Number of character (non-byte, non-pad) tokens. */
  public int charCount() {
    return codePoints.length;
  }

  /** {@link #PAD_ID}; an instance method so callers can treat tokenizers uniformly. */
  public int padId() {
    return PAD_ID;
  }

  /**
   * Id that separates packed documents: the character token for {@code '\n'} if the vocabulary has one,
   * otherwise the byte token 0x0A. Either way it is a single id.
   */
  public int newlineId() {
    return newlineId;
  }

  /** The count threshold this vocabulary was built with (recorded for provenance). */
  public int minCount() {
    return minCount;
  }

  /**
   * SHA-256 (lower-case hex) of the format version and the ordered code points: two tokenizers with the same
   * hash map every string to the same ids, which is what a checkpoint needs to know.
   */
  public String sha256() {
    return sha256;
  }

  /** Writes the vocabulary as JSON, atomically, so a crash never leaves a half-written file. */
  public void save(Path path) {
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode root = mapper.createObjectNode();
    root.put("format", FORMAT);
    root.put("version", VERSION);
    root.put("minCount", minCount);
    ArrayNode cps = root.putArray("codePoints");
    for (int cp : codePoints) {
      cps.add(cp);
    }
    root.put("sha256", sha256);
    Path dir = path.toAbsolutePath().getParent();
    try {
      Files.createDirectories(dir);
      Path tmp = Files.createTempFile(dir, path.getFileName().toString(), ".tmp");
      try {
        mapper.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), root);
        Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write tokenizer to " + path, e);
    }
  }

  /**
   * Reads a vocabulary written by {@link #save}. Unknown keys, a different format or a hash that does not match
   * the code points are errors: a silently different vocabulary would make a checkpoint produce garbage.
   */
  public static Tokenizer load(Path path) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(path.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read tokenizer " + path, e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(path + ": tokenizer file is not a JSON object");
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!FILE_KEYS.contains(key)) {
        throw new IllegalArgumentException(path + ": unknown key '" + key + "' in tokenizer file");
      }
    }
    if (!FORMAT.equals(root.path("format").asText()) || root.path("version").asInt(-1) != VERSION) {
      throw new IllegalArgumentException(
          path + ": expected format " + FORMAT + " version " + VERSION + ", got " + root.path("format")
              + " version " + root.path("version"));
    }
    JsonNode cps = root.get("codePoints");
    if (cps == null || !cps.isArray() || !root.path("minCount").canConvertToInt()) {
      throw new IllegalArgumentException(path + ": missing codePoints array or minCount");
    }
    int[] codePoints = new int[cps.size()];
    for (int i = 0; i < codePoints.length; i++) {
      if (!cps.get(i).canConvertToInt() || !cps.get(i).isIntegralNumber()) {
        throw new IllegalArgumentException(path + ": codePoints[" + i + "] is not an integer");
      }
      codePoints[i] = cps.get(i).asInt();
    }
    Tokenizer tokenizer;
    try {
      tokenizer = new Tokenizer(root.get("minCount").asInt(), codePoints);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(path + ": " + e.getMessage(), e);
    }
    String stored = root.path("sha256").asText();
    if (!tokenizer.sha256.equals(stored)) {
      throw new IllegalArgumentException(
          path + ": sha256 " + stored + " does not match the code points (" + tokenizer.sha256 + ")");
    }
    return tokenizer;
  }

  private static String computeSha256(int[] codePoints) {
    StringBuilder sb = new StringBuilder(FORMAT).append(':').append(VERSION);
    for (int cp : codePoints) {
      sb.append(',').append(cp);
    }
    return sha256Hex(sb.toString().getBytes(StandardCharsets.UTF_8));
  }

  static String sha256Hex(byte[] data) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(data);
      StringBuilder hex = new StringBuilder(64);
      for (byte b : digest) {
        hex.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
      }
      return hex.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Tokenizer t && Arrays.equals(codePoints, t.codePoints);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(codePoints);
  }

  @Override
  public String toString() {
    return "Tokenizer[vocabSize=" + vocabSize() + ", chars=" + codePoints.length + ", sha256="
        + sha256.substring(0, 12) + "]";
  }
}
