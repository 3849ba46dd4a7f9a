package dev.undo.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Held-out splits of the {@code text} setting's corpora: a {@code .val} sibling is preferred; without one every n-th
 * document is held out; everything else is a one-line error naming the key and the file.
 */
class CorporaTest {
  static final String KEY = "text.data.retain_corpus (--retain-text)";

  @TempDir
  Path tmp;

  Path write(String name, String text) throws IOException {
    Path p = tmp.resolve(name);
    Files.writeString(p, text);
    return p;
  }

  @Test
  void withoutAValFileEveryNthDocumentIsHeldOutInOrder() throws IOException {
    // Blank lines are not documents, so they do not count toward n.
    Path p = write("mine.txt", "d0\nd1\n\nd2\nd3\nd4\n   \nd5\nd6\n");
    Corpora.Split s = Corpora.load(p.toString(), 3, KEY);
    assertEquals(List.of("d0", "d1", "d3", "d4", "d6"), s.train().documents());
    assertEquals(List.of("d2", "d5"), s.val().documents());
    assertEquals("mine.train", s.train().name());
    assertEquals("mine.val", s.val().name());
    Corpora.Split every2 = Corpora.load(p.toString(), 2, KEY);
    assertEquals(List.of("d0", "d2", "d4", "d6"), every2.train().documents());
    assertEquals(List.of("d1", "d3", "d5"), every2.val().documents());
  }

  @Test
  void aValSiblingIsPreferredAndTheWholeFileTrains() throws IOException {
    Path p = write("mine.txt", "a\nb\nc\nd\n");
    write("mine.val.txt", "held 1\nheld 2\n");
    Corpora.Split s = Corpora.load(p.toString(), 2, KEY);
    assertEquals(List.of("a", "b", "c", "d"), s.train().documents());
    assertEquals(List.of("held 1", "held 2"), s.val().documents());
    // JSONL takes a .val.jsonl sibling (not a .val.txt one).
    Path j = write("docs.jsonl", "{\"text\": \"x\"}\n{\"text\": \"y\"}\n{\"text\": \"z\"}\n");
    write("docs.val.txt", "not this one\n");
    assertEquals(List.of("z"), Corpora.load(j.toString(), 3, KEY).val().documents());
    write("docs.val.jsonl", "{\"text\": \"v\"}\n");
    Corpora.Split js = Corpora.load(j.toString(), 3, KEY);
    assertEquals(List.of("x", "y", "z"), js.train().documents());
    assertEquals(List.of("v"), js.val().documents());
  }

  @Test
  void embeddedNamesLoadTheirShippedSplits() {
    Corpora.Split s = Corpora.load("english", 0, "language.data.english_corpus");
    assertEquals("english.train", s.train().name());
    assertEquals("english.val", s.val().name());
  }

  @Test
  void errorsNameTheKeyAndTheFile() throws IOException {
    assertEquals(KEY + " is not set (give a file path or an embedded corpus name)",
        assertThrows(IllegalArgumentException.class, () -> Corpora.load(" ", 10, KEY)).getMessage());
    Path missing = tmp.resolve("nope.txt");
    assertEquals(KEY + ": file " + missing + " not found",
        assertThrows(IllegalArgumentException.class, () -> Corpora.load(missing.toString(), 10, KEY)).getMessage());
    Path p = write("two.txt", "one\ntwo\n");
    assertEquals(KEY + ": " + p + " has 2 documents; holding out every 3-th needs at least 3 (or give two.val.txt)",
        assertThrows(IllegalArgumentException.class, () -> Corpora.load(p.toString(), 3, KEY)).getMessage());
    // Settings that do not allow holding out (0) need the file.
    assertEquals("k: held-out file " + tmp.resolve("two.val.txt") + " for corpus " + p + " not found",
        assertThrows(IllegalArgumentException.class, () -> Corpora.load(p.toString(), 0, "k")).getMessage());
  }

  @Test
  void theTextSettingHoldsOutPerItsConfigKey() throws IOException {
    Path r = write("r.txt", "r0\nr1\nr2\nr3\n");
    Path f = write("f.txt", "f0\nf1\nf2\nf3\nf4\nf5\n");
    ExperimentConfig c = ExperimentConfig.from(ConfigLoader.resolve("micro", Map.of(
        "text.data.retain_corpus", r.toString(), "text.data.forget_corpus", f.toString(),
        "text.data.held_out_every", "2")));
    Task t = Tasks.of("text", c);
    // The probe's held-out documents are the forget corpus's held-out split: f1, f3, f5.
    assertEquals(List.of("f1", "f3", "f5"), ((ProbeData.NextToken) t.probeData(c.setting("text").eval(), 1, 10))
        .heldOut());
    ExperimentConfig one = ExperimentConfig.from(ConfigLoader.resolve("micro", Map.of(
        "text.data.retain_corpus", r.toString(), "text.data.forget_corpus", f.toString(),
        "text.data.held_out_every", "1")));
    assertEquals("text.data.held_out_every must be >= 2",
        assertThrows(IllegalArgumentException.class, () -> Tasks.of("text", one)).getMessage());
  }
}
