package dev.undo.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerTest {
  private static final List<String> TEXTS =
      List.of(
          "The quick brown fox jumps over the lazy dog.",
          "12 + 7 = 19",
          "자동 필터 기능은 표시할 레코드를 선택할 수 있는 콤보 상자를 삽입합니다.",
          "Sphinx of black quartz, judge my vow: 0123456789");

  private static final Tokenizer TOKENIZER = Tokenizer.build(TEXTS, 1);

  @Test
  void roundTripsEveryKindOfText() {
    List<String> samples =
        List.of(
            "",
            "The lazy dog.",
            "필터 기능",
            "42 / 6 = 7",
            "emoji 😀 and 🇰🇷 flags",
            "unseen: Ωmega €uro ñ 漢字 \t tab",
            "한국어 and English 123 mixed 😀",
            "\n\nnewlines\n");
    for (String s : samples) {
      int[] ids = TOKENIZER.encode(s);
      for (int id : ids) {
        assertTrue(id > 0 && id < TOKENIZER.vocabSize(), "id " + id + " for " + s);
      }
      assertEquals(s, TOKENIZER.decode(ids), "round trip of " + s);
    }
  }

  @Test
  void seenCharactersAreSingleTokensAndUnseenOnesAreUtf8Bytes() {
    assertEquals(1, TOKENIZER.encode("필").length);
    assertTrue(TOKENIZER.encode("필")[0] >= Tokenizer.CHAR_OFFSET);
    assertEquals(1, TOKENIZER.encode("7").length);

    byte[] utf8 = "😀".getBytes(StandardCharsets.UTF_8);
    int[] ids = TOKENIZER.encode("😀");
    assertEquals(utf8.length, ids.length);
    for (int i = 0; i < utf8.length; i++) {
      assertEquals(Tokenizer.BYTE_OFFSET + (utf8[i] & 0xFF), ids[i]);
    }
  }

  @Test
  void supplementaryCharactersCanBeInTheVocabulary() {
    Tokenizer t = Tokenizer.build(List.of("😀😀 hi"), 2);
    assertEquals(1, t.encode("😀").length);
    assertEquals(1, t.charCount()); // only 😀 occurs twice
    assertEquals("😀 hi 😀", t.decode(t.encode("😀 hi 😀")));
  }

  @Test
  void vocabularyIsOrderedByCountThenCodePoint() {
    Tokenizer t = Tokenizer.build(List.of("aab", "bb c"), 1);
    // counts: b=3, a=2, ' '=1, c=1; ties broken by code point (' ' < 'c')
    assertArrayEquals(
        new int[] {Tokenizer.CHAR_OFFSET, Tokenizer.CHAR_OFFSET + 1, Tokenizer.CHAR_OFFSET + 2,
          Tokenizer.CHAR_OFFSET + 3},
        t.encode("ba c"));
    assertEquals(Tokenizer.CHAR_OFFSET + 4, t.vocabSize());
  }

  @Test
  void minCountSendsRareCharactersToBytes() {
    Tokenizer t = Tokenizer.build(List.of("aaab"), 2);
    assertEquals(1, t.charCount());
    assertArrayEquals(new int[] {Tokenizer.CHAR_OFFSET, Tokenizer.BYTE_OFFSET + 'b'}, t.encode("ab"));
    assertThrows(IllegalArgumentException.class, () -> Tokenizer.build(List.of("a"), 0));
  }

  @Test
  void buildIsDeterministicAndIndependentOfTextOrder() {
    Tokenizer again = Tokenizer.build(TEXTS, 1);
    Tokenizer reversed = Tokenizer.build(List.of(TEXTS.get(3), TEXTS.get(2), TEXTS.get(1), TEXTS.get(0)), 1);
    assertEquals(TOKENIZER.sha256(), again.sha256());
    assertEquals(TOKENIZER.sha256(), reversed.sha256());
    assertEquals(TOKENIZER, reversed);
    assertNotEquals(TOKENIZER.sha256(), Tokenizer.build(TEXTS, 2).sha256());
    assertEquals(64, TOKENIZER.sha256().length());
  }

  @Test
  void newlineIsOneTokenWhetherOrNotItWasSeen() {
    assertEquals(Tokenizer.BYTE_OFFSET + '\n', TOKENIZER.newlineId());
    assertArrayEquals(new int[] {TOKENIZER.newlineId()}, TOKENIZER.encode("\n"));
    Tokenizer withNewline = Tokenizer.build(List.of("a\nb\n"), 1);
    assertEquals(Tokenizer.CHAR_OFFSET, withNewline.newlineId());
    assertEquals("\n", withNewline.decode(new int[] {withNewline.newlineId()}));
  }

  @Test
  void decodeSkipsPadAndRejectsUnknownIds() {
    int[] ids = TOKENIZER.encode("fox");
    int[] padded = {0, ids[0], 0, ids[1], ids[2], 0};
    assertEquals("fox", TOKENIZER.decode(padded));
    assertThrows(IllegalArgumentException.class, () -> TOKENIZER.decode(new int[] {TOKENIZER.vocabSize()}));
    assertThrows(IllegalArgumentException.class, () -> TOKENIZER.decode(new int[] {-1}));
  }

  @Test
  void loneSurrogatesEncodeWithoutFailing() {
    String broken = "a\uD800b";
    assertEquals("a\uFFFDb", TOKENIZER.decode(TOKENIZER.encode(broken)));
  }

  @Test
  void encodeIntoStopsWhenTheBufferIsFull() {
    int[] buf = new int[4];
    int end = TOKENIZER.encodeInto("The quick", buf, 1);
    assertEquals(4, end);
    assertArrayEquals(new int[] {0, TOKENIZER.encode("T")[0], TOKENIZER.encode("h")[0], TOKENIZER.encode("e")[0]},
        buf);
  }

  @Test
  void saveAndLoadPreserveTheVocabulary(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("sub").resolve("tokenizer.json");
    TOKENIZER.save(file);
    Tokenizer loaded = Tokenizer.load(file);
    assertEquals(TOKENIZER, loaded);
    assertEquals(TOKENIZER.sha256(), loaded.sha256());
    assertEquals(TOKENIZER.minCount(), loaded.minCount());
    String s = "자동 필터 12 😀";
    assertArrayEquals(TOKENIZER.encode(s), loaded.encode(s));
    try (var listing = Files.list(file.getParent())) {
      assertEquals(1, listing.count(), "no temporary file may be left behind");
    }
    TOKENIZER.save(file); // overwriting an existing file must work too
    assertEquals(TOKENIZER, Tokenizer.load(file));
  }

  @Test
  void loadRejectsTamperedOrUnknownFiles(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("tokenizer.json");
    TOKENIZER.save(file);
    String json = Files.readString(file);

    Path swapped = dir.resolve("swapped.json");
    int first = json.indexOf("\"codePoints\"");
    Files.writeString(swapped, json.substring(0, first) + "\"extra\" : 1,\n  " + json.substring(first));
    IllegalArgumentException unknown =
        assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(swapped));
    assertTrue(unknown.getMessage().contains("extra"), unknown.getMessage());

    Path tampered = dir.resolve("tampered.json");
    String reordered = json.replaceFirst("\\[ (\\d+), (\\d+)", "[ $2, $1");
    assertNotEquals(json, reordered, "test setup: the code point array was not found");
    Files.writeString(tampered, reordered);
    IllegalArgumentException hash = assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(tampered));
    assertTrue(hash.getMessage().contains("sha256"), hash.getMessage());
  }
}
