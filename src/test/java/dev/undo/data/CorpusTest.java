package dev.undo.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusTest {
  private static final Pattern MARKUP = Pattern.compile("<(p|span|div|a|h[1-6]) [a-z]+=\"|class=\"|&quot;");
  private static final List<String> EMBEDDED = List.of("english.train", "english.val", "korean.train", "korean.val");

  @Test
  void textFilesSkipBlankLinesAndCarriageReturns(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("tiny.txt");
    Files.writeString(file, "first line\r\n\n   \nsecond 둘째\n");
    Corpus c = Corpus.load(file);
    assertEquals("tiny", c.name());
    assertEquals(List.of("first line", "second 둘째"), c.documents());
  }

  @Test
  void jsonlReadsTheTextField(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("docs.jsonl");
    Files.writeString(file, "{\"text\": \"one\", \"id\": 1}\n\n{\"text\": \"two\\nlines\"}\n");
    Corpus c = Corpus.load(file);
    assertEquals(List.of("one", "two\nlines"), c.documents());
  }

  @Test
  void badJsonlNamesTheFileAndLine(@TempDir Path dir) throws Exception {
    Path broken = dir.resolve("broken.jsonl");
    Files.writeString(broken, "{\"text\": \"ok\"}\n{\"text\": \"ok too\"}\n{\"text\": oops}\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Corpus.load(broken));
    assertTrue(e.getMessage().contains(broken + ":3:"), e.getMessage());

    Path noText = dir.resolve("notext.jsonl");
    Files.writeString(noText, "{\"text\": \"ok\"}\n{\"body\": \"where is text\"}\n");
    e = assertThrows(IllegalArgumentException.class, () -> Corpus.load(noText));
    assertTrue(e.getMessage().contains(noText + ":2:") && e.getMessage().contains("text"), e.getMessage());

    Path array = dir.resolve("array.jsonl");
    Files.writeString(array, "[1, 2]\n");
    e = assertThrows(IllegalArgumentException.class, () -> Corpus.load(array));
    assertTrue(e.getMessage().contains(array + ":1:"), e.getMessage());
  }

  @Test
  void invalidUtf8AndEmptyFilesAreErrors(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.txt");
    Files.write(bad, new byte[] {'o', 'k', '\n', 'x', (byte) 0xC3, (byte) 0x28, '\n'});
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Corpus.load(bad));
    assertTrue(e.getMessage().contains(bad.toString()) && e.getMessage().contains("UTF-8"), e.getMessage());

    Path empty = dir.resolve("empty.txt");
    Files.writeString(empty, "\n\n");
    e = assertThrows(IllegalArgumentException.class, () -> Corpus.load(empty));
    assertTrue(e.getMessage().contains(empty.toString()), e.getMessage());
  }

  @Test
  void embeddedCorporaLoadAndAreInTheRightLanguage() throws Exception {
    for (String name : EMBEDDED) {
      Corpus c = Corpus.embedded(name);
      assertEquals(name, c.name());
      assertTrue(c.size() > (name.endsWith("train") ? 10_000 : 500), name + " has " + c.size() + " documents");
      boolean korean = name.startsWith("korean");
      for (String doc : c.documents()) {
        long letters = doc.codePoints().filter(Character::isLetter).count();
        long hangul = doc.codePoints().filter(cp -> cp >= 0xAC00 && cp <= 0xD7A3).count();
        if (korean) {
          assertTrue(hangul * 2 >= letters && hangul >= 5, "not mostly Hangul: " + doc);
        } else {
          assertEquals(0, hangul, "Hangul in English corpus: " + doc);
        }
        assertFalse(MARKUP.matcher(doc).find(), "markup left in: " + doc);
      }
      // For these LF-terminated files the corpus identity is the file checksum recorded in NOTICE.md.
      Path file = Corpus.dataRoot().resolve("corpora").resolve(name + ".txt");
      assertEquals(Tokenizer.sha256Hex(Files.readAllBytes(file)), c.sha256());
    }
  }

  @Test
  void embeddedSplitsAreDisjointAndSmall() throws Exception {
    for (String lang : List.of("english", "korean")) {
      Set<String> train = new HashSet<>(Corpus.embedded(lang + ".train").documents());
      List<String> val = Corpus.embedded(lang + ".val").documents();
      assertTrue(val.stream().noneMatch(train::contains), lang + ": validation line also in training");
      assertEquals(train.size(), Corpus.embedded(lang + ".train").size(), lang + ": duplicate lines");
    }
    long total;
    try (Stream<Path> files = Files.list(Corpus.dataRoot().resolve("corpora"))) {
      total = files.mapToLong(p -> p.toFile().length()).sum();
    }
    assertTrue(total < 6_000_000, "corpora take " + total + " bytes");
  }

  @Test
  void dataRootHonoursTheSystemProperty(@TempDir Path dir) throws Exception {
    Path corpora = Files.createDirectories(dir.resolve("corpora"));
    Files.writeString(corpora.resolve("mine.txt"), "hello\n", StandardCharsets.UTF_8);
    String previous = System.getProperty(Corpus.DATA_DIR_PROPERTY);
    try {
      System.setProperty(Corpus.DATA_DIR_PROPERTY, dir.toString());
      assertEquals(dir, Corpus.dataRoot());
      assertEquals(List.of("hello"), Corpus.embedded("mine").documents());
      IllegalArgumentException missing =
          assertThrows(IllegalArgumentException.class, () -> Corpus.embedded("absent"));
      assertTrue(missing.getMessage().contains("absent"), missing.getMessage());
      System.setProperty(Corpus.DATA_DIR_PROPERTY, dir.resolve("corpora").toString());
      IllegalStateException wrong = assertThrows(IllegalStateException.class, Corpus::dataRoot);
      assertTrue(wrong.getMessage().contains(Corpus.DATA_DIR_PROPERTY), wrong.getMessage());
    } finally {
      if (previous == null) {
        System.clearProperty(Corpus.DATA_DIR_PROPERTY);
      } else {
        System.setProperty(Corpus.DATA_DIR_PROPERTY, previous);
      }
    }
    assertThrows(IllegalArgumentException.class, () -> Corpus.embedded("../secrets"));
  }
}
