package dev.undo.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BatchSamplerTest {
  private static final List<String> ENGLISH_DOCS =
      List.of(
          "Select the cells you want to format.",
          "Opens the dialog where you can choose a template.",
          "The chart is updated when the data changes.",
          "Press Enter to confirm.",
          "This command hides the selected rows from view and is one of the longer sentences of this corpus.");
  private static final Corpus ENGLISH = Corpus.of("english", ENGLISH_DOCS);
  private static final ArithmeticGenerator GEN = new ArithmeticGenerator(ArithmeticConfig.paper());
  private static final Tokenizer TOKENIZER = buildTokenizer();

  private static Tokenizer buildTokenizer() {
    List<String> texts = new ArrayList<>(ENGLISH_DOCS);
    java.util.Random rnd = new java.util.Random(0);
    for (int i = 0; i < 500; i++) {
      texts.add(GEN.trainingDocument(Op.all(), rnd));
    }
    return Tokenizer.build(texts, 1);
  }

  private static BatchSampler sampler(Mixture mixture, int b, int t, long seed) {
    return new BatchSampler(TOKENIZER, mixture, b, t, seed);
  }

  private static Mixture paperArithmetic() {
    return Mixtures.arithmetic(DocumentSource.of(ENGLISH), GEN, 0.25);
  }

  @Test
  void batchIsAPureFunctionOfSeedAndStep() {
    BatchSampler s = sampler(paperArithmetic(), 8, 64, 42);
    Batch b5 = s.batch(5);
    assertEquals(b5, s.batch(5));
    assertEquals(b5, sampler(paperArithmetic(), 8, 64, 42).batch(5));
    s.batch(6); // generating other steps in between must not matter
    assertEquals(b5, s.batch(5));
    assertNotEquals(b5, s.batch(6));
    assertNotEquals(b5, sampler(paperArithmetic(), 8, 64, 43).batch(5));
  }

  @Test
  void targetsAreInputsShiftedByOne() {
    BatchSampler s = sampler(paperArithmetic(), 6, 48, 1);
    Batch batch = s.batch(0);
    assertEquals(6 * 48, batch.inputs().length);
    for (int r = 0; r < 6; r++) {
      for (int t = 0; t + 1 < 48; t++) {
        assertEquals(batch.input(r, t + 1), batch.target(r, t));
      }
    }
    for (int i = 0; i < batch.targets().length; i++) {
      assertTrue(batch.targets()[i] > 0 && batch.inputs()[i] > 0, "no pad or ignore in packed rows");
    }
  }

  @Test
  void rowsAreWholeDocumentsJoinedByNewlines() {
    BatchSampler s = sampler(Mixture.single(DocumentSource.of(ENGLISH)), 4, 200, 9);
    Set<String> docs = new HashSet<>(ENGLISH_DOCS);
    for (long step = 0; step < 5; step++) {
      Batch batch = s.batch(step);
      for (int r = 0; r < 4; r++) {
        int[] row = Arrays.copyOfRange(batch.inputs(), r * 200, (r + 1) * 200);
        String[] pieces = TOKENIZER.decode(row).split("\n", -1);
        assertTrue(pieces.length > 2, "a 200-token row holds several short documents");
        for (int i = 0; i < pieces.length - 1; i++) {
          assertTrue(docs.contains(pieces[i]), "not a whole document: " + pieces[i]);
        }
        String tail = pieces[pieces.length - 1];
        assertTrue(docs.stream().anyMatch(d -> d.startsWith(tail)), "tail is not a document prefix: " + tail);
      }
    }
  }

  @Test
  void rowSourcesFollowTheMixtureProbabilities() {
    Mixture mixture = paperArithmetic();
    int t = 96;
    BatchSampler s = sampler(mixture, 64, t, 3);
    int arithmeticIndex = mixture.entries().get(1).source() instanceof ArithmeticSource ? 1 : 0;
    int rows = 0;
    int arithmetic = 0;
    for (long step = 0; step < 100; step++) {
      Batch batch = s.batch(step);
      for (int r = 0; r < 64; r++) {
        boolean fromArithmetic = s.sourceIndex(step, r) == arithmeticIndex;
        // The English test documents have no digits and every arithmetic row has some, so the content shows
        // whether sourceIndex names the source the row was really drawn from.
        String text = TOKENIZER.decode(Arrays.copyOfRange(batch.inputs(), r * t, (r + 1) * t));
        assertEquals(fromArithmetic, text.chars().anyMatch(Character::isDigit), text);
        arithmetic += fromArithmetic ? 1 : 0;
        rows++;
      }
    }
    assertEquals(0.25, arithmetic / (double) rows, 0.03);
  }

  @Test
  void mixtureValidatesProbabilities() {
    DocumentSource eng = DocumentSource.of(ENGLISH);
    DocumentSource arith = DocumentSource.arithmetic(GEN, Op.all());
    assertThrows(IllegalArgumentException.class, () -> Mixture.of(new Mixture.Entry(eng, 0.5)));
    assertThrows(IllegalArgumentException.class, () -> new Mixture.Entry(eng, -0.1));
    assertThrows(IllegalArgumentException.class, () -> new Mixture.Entry(eng, 0.0));
    assertThrows(IllegalArgumentException.class,
        () -> Mixture.of(new Mixture.Entry(eng, 0.5), new Mixture.Entry(DocumentSource.of(ENGLISH), 0.5)));
    assertThrows(IllegalArgumentException.class, () -> new Mixture(List.of()));
    Mixture ok = Mixture.of(new Mixture.Entry(eng, 0.7), new Mixture.Entry(arith, 0.3 + 1e-9));
    assertEquals(2, ok.size());
  }

  @Test
  void presetsMatchThePaper() {
    DocumentSource eng = DocumentSource.of(ENGLISH);
    DocumentSource kor = DocumentSource.of(Corpus.of("korean", List.of("안녕하세요")));
    assertProbabilities(Mixtures.language(eng, kor, 0.5), 0.5, 0.5);
    assertProbabilities(Mixtures.languageFiltered(eng), 1.0);
    assertEquals("korean", Mixtures.languageForget(kor).entries().get(0).source().name());
    assertEquals("english", Mixtures.languageRetain(eng).entries().get(0).source().name());

    Mixture arithmetic = Mixtures.arithmetic(eng, GEN, 0.25);
    assertProbabilities(arithmetic, 0.75, 0.25);
    assertEquals(Op.all(), ((ArithmeticSource) arithmetic.entries().get(1).source()).ops());

    Mixture filtered = Mixtures.arithmeticFiltered(eng, GEN, 0.25);
    assertProbabilities(filtered, 0.875, 0.125);
    assertEquals(Op.retainOps(), ((ArithmeticSource) filtered.entries().get(1).source()).ops());

    Mixture forget = Mixtures.arithmeticForget(GEN);
    assertEquals(Op.forgetOps(), ((ArithmeticSource) forget.entries().get(0).source()).ops());

    Mixture retain = Mixtures.arithmeticRetain(eng, GEN, 0.25);
    assertProbabilities(retain, 6.0 / 7.0, 1.0 / 7.0);

    assertProbabilities(Mixtures.arithmetic(eng, GEN, 0.5), 0.5, 0.5);
    assertProbabilities(Mixtures.language(eng, kor, 0.0), 1.0);
    assertThrows(IllegalArgumentException.class, () -> Mixtures.arithmetic(eng, GEN, 1.5));
  }

  private static void assertProbabilities(Mixture mixture, double... expected) {
    assertEquals(expected.length, mixture.size(), mixture.describe());
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], mixture.entries().get(i).probability(), 1e-12, mixture.describe());
    }
  }

  @Test
  void batchRejectsInconsistentShapes() {
    assertThrows(IllegalArgumentException.class, () -> new Batch(2, 3, new int[5], new int[6]));
    assertThrows(IllegalArgumentException.class, () -> sampler(paperArithmetic(), 0, 8, 1));
    assertArrayEquals(new int[] {1, 2}, new Batch(1, 2, new int[] {1, 2}, new int[] {2, Batch.IGNORE}).inputs());
  }
}
