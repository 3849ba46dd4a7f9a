package dev.undo.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * An immutable list of text documents: the English or Korean side of the language setting, or any corpus a user
 * supplies.
 *
 * <p>Two file formats: plain text with one document per line, or JSONL ({@code .jsonl}) with one object per line
 * whose {@code "text"} field is the document (other fields are ignored, so metadata can ride along). Blank lines
 * and blank documents are skipped. Any problem is reported with the file and line, because a corpus is usually
 * produced by some other tool and the line is what the user has to fix.
 */
public final class Corpus {
  /** System property naming the data directory (the one holding {@code corpora/}). */
  public static final String DATA_DIR_PROPERTY = "undo.data.dir";
  /** Environment variable consulted when the system property is not set. */
  public static final String DATA_DIR_ENV = "UNDO_DATA_DIR";

  private final String name;
  private final List<String> documents;
  private volatile String sha256;

  private Corpus(String name, List<String> documents) {
    if (documents.isEmpty()) {
      throw new IllegalArgumentException("corpus " + name + " has no documents");
    }
    this.name = name;
    this.documents = List.copyOf(documents);
  }

  /** An in-memory corpus; blank documents are dropped as they would be from a file. */
  public static Corpus of(String name, List<String> documents) {
    Objects.requireNonNull(name, "name");
    List<String> kept = new ArrayList<>(documents.size());
    for (String d : documents) {
      if (!d.isBlank()) {
        kept.add(d);
      }
    }
    return new Corpus(name, kept);
  }

  /**
   * Loads a text or JSONL corpus; the format is chosen by the {@code .jsonl} extension. The corpus is named after
   * the file without its extension ({@code english.train} for {@code english.train.txt}).
   */
  public static Corpus load(Path path) {
    String fileName = path.getFileName().toString();
    boolean jsonl = fileName.endsWith(".jsonl");
    int dot = fileName.lastIndexOf('.');
    String name = dot > 0 ? fileName.substring(0, dot) : fileName;
    // Malformed UTF-8 is an error rather than silently replaced: it would become byte tokens nobody meant.
    var decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    ObjectMapper mapper = jsonl ? new ObjectMapper() : null;
    List<String> docs = new ArrayList<>();
    int lineNo = 0;
    try (BufferedReader in = new BufferedReader(new InputStreamReader(Files.newInputStream(path), decoder))) {
      String line;
      while (true) {
        try {
          line = in.readLine();
        } catch (CharacterCodingException e) {
          throw new IllegalArgumentException(path + ":" + (lineNo + 1) + ": invalid UTF-8", e);
        }
        if (line == null) {
          break;
        }
        lineNo++;
        if (line.isBlank()) {
          continue;
        }
        String doc = jsonl ? jsonText(mapper, line, path, lineNo) : stripCarriageReturn(line);
        if (!doc.isBlank()) {
          docs.add(doc);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read corpus " + path, e);
    }
    if (docs.isEmpty()) {
      throw new IllegalArgumentException(path + ": corpus has no documents");
    }
    return new Corpus(name, docs);
  }

  private static String stripCarriageReturn(String line) {
    return line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
  }

  private static String jsonText(ObjectMapper mapper, String line, Path path, int lineNo) {
    JsonNode node;
    try {
      node = mapper.readTree(line);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          path + ":" + lineNo + ": invalid JSON: " + e.getOriginalMessage(), e);
    }
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException(path + ":" + lineNo + ": expected a JSON object with a \"text\" field");
    }
    JsonNode text = node.get("text");
    if (text == null || !text.isTextual()) {
      throw new IllegalArgumentException(path + ":" + lineNo + ": missing string field \"text\"");
    }
    return text.asText();
  }

  /**
   * Loads {@code <data root>/corpora/<name>.txt}, e.g. {@code embedded("korean.val")}.
   *
   * @see #dataRoot()
   */
  public static Corpus embedded(String name) {
    if (!name.matches("[A-Za-z0-9_.-]+") || name.contains("..")) {
      throw new IllegalArgumentException("invalid corpus name '" + name + "'");
    }
    Path file = dataRoot().resolve("corpora").resolve(name + ".txt");
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(
          "no embedded corpus '" + name + "': " + file + " does not exist (rebuild with bash scripts/build-corpora.sh)");
    }
    return load(file);
  }

  /**
   * The data directory: system property {@value #DATA_DIR_PROPERTY}, else environment variable
   * {@value #DATA_DIR_ENV}, else the first {@code data} directory holding {@code corpora/} found from the working
   * directory upwards (so tests and commands work from any sub-directory of the repository).
   */
  public static Path dataRoot() {
    String property = System.getProperty(DATA_DIR_PROPERTY);
    if (property != null && !property.isBlank()) {
      return requireCorpora(Path.of(property), "system property " + DATA_DIR_PROPERTY);
    }
    String env = System.getenv(DATA_DIR_ENV);
    if (env != null && !env.isBlank()) {
      return requireCorpora(Path.of(env), "environment variable " + DATA_DIR_ENV);
    }
    Path start = Path.of("").toAbsolutePath();
    for (Path dir = start; dir != null; dir = dir.getParent()) {
      if (Files.isDirectory(dir.resolve("data").resolve("corpora"))) {
        return dir.resolve("data");
      }
    }
    throw new IllegalStateException(
        "cannot find the data directory: no data/corpora in " + start + " or any parent; set -D"
            + DATA_DIR_PROPERTY + "=<dir> or " + DATA_DIR_ENV + " to the directory that holds corpora/");
  }

  private static Path requireCorpora(Path dir, String origin) {
    if (!Files.isDirectory(dir.resolve("corpora"))) {
      throw new IllegalStateException(origin + " points to " + dir + ", which has no corpora/ directory");
    }
    return dir;
  }

  public String name() {
    return name;
  }

  public int size() {
    return documents.size();
  }

  public String get(int index) {
    return documents.get(index);
  }

  /** Unmodifiable view of all documents, e.g. to build a {@link Tokenizer}. */
  public List<String> documents() {
    return documents;
  }

  /**
   * SHA-256 (lower-case hex) of the documents, each followed by {@code "\n"}: the corpus identity recorded in
   * provenance. For a text file with LF line ends and no blank lines it equals the file's own checksum.
   */
  public String sha256() {
    String h = sha256;
    if (h == null) {
      StringBuilder sb = new StringBuilder();
      for (String d : documents) {
        sb.append(d).append('\n');
      }
      h = Tokenizer.sha256Hex(sb.toString().getBytes(StandardCharsets.UTF_8));
      sha256 = h;
    }
    return h;
  }

  @Override
  public String toString() {
    return "Corpus[" + name + ", " + documents.size() + " documents]";
  }
}
