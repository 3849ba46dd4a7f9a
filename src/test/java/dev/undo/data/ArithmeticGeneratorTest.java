package dev.undo.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ArithmeticGeneratorTest {
  private static final ArithmeticConfig PAPER = ArithmeticConfig.paper();
  private static final ArithmeticGenerator GEN = new ArithmeticGenerator(PAPER);
  private static final Pattern EQUATION = Pattern.compile("(\\d+) ([-+*/]) (\\d+) = ");
  private static final Pattern NUMBER = Pattern.compile("\\d+");

  @Test
  void equationsAreCorrectAndWithinRange() {
    Random rnd = new Random(1);
    for (Op op : Op.values()) {
      Set<Integer> answers = new HashSet<>();
      for (int i = 0; i < 2000; i++) {
        Problem p = GEN.equation(op, rnd);
        assertEquals(Kind.EQUATION, p.kind());
        Matcher m = EQUATION.matcher(p.prompt());
        assertTrue(m.matches(), p.prompt());
        assertEquals(op.symbol(), m.group(2));
        int a = Integer.parseInt(m.group(1));
        int b = Integer.parseInt(m.group(3));
        checkOperands(op, a, b, Integer.parseInt(p.answer()));
        assertEquals(p.prompt() + p.answer(), p.text());
        answers.add(p.value());
      }
      assertTrue(answers.size() >= 15, "answers of " + op + " should vary");
    }
  }

  /** Checks the arithmetic and the paper's ranges; for division {@code a} is the dividend. */
  private static void checkOperands(Op op, int a, int b, int answer) {
    switch (op) {
      case ADDITION, SUBTRACTION -> {
        assertTrue(a >= 1 && a <= 50 && b >= 1 && b <= 50, a + " " + op.symbol() + " " + b);
        assertEquals(op == Op.ADDITION ? a + b : a - b, answer);
        assertTrue(answer >= 0, "subtraction must not go negative: " + a + " - " + b);
      }
      case MULTIPLICATION -> {
        assertTrue(a >= 1 && a <= 20 && b >= 1 && b <= 20, a + " * " + b);
        assertEquals(a * b, answer);
      }
      case DIVISION -> {
        assertTrue(b >= 1 && b <= 20 && answer >= 1 && answer <= 20, a + " / " + b);
        assertEquals(a, b * answer, "division must be exact: " + a + " / " + b);
      }
    }
  }

  @Test
  void wordProblemsStateBothOperandsAndTheRightAnswer() {
    Random rnd = new Random(2);
    for (Op op : Op.values()) {
      for (boolean heldOut : new boolean[] {false, true}) {
        for (int i = 0; i < 1500; i++) {
          Problem p = GEN.wordProblem(op, heldOut, rnd);
          assertEquals(Kind.WORD_PROBLEM, p.kind());
          assertTrue(p.prompt().endsWith(" Answer: "), p.prompt());
          assertEquals(1, count(p.text(), "Answer: "), p.text());
          List<Integer> numbers = new ArrayList<>();
          Matcher m = NUMBER.matcher(p.prompt());
          while (m.find()) {
            numbers.add(Integer.parseInt(m.group()));
          }
          assertEquals(2, numbers.size(), p.prompt());
          // Templates state the operands in either order; the larger is the minuend or the dividend.
          int big = Math.max(numbers.get(0), numbers.get(1));
          int small = Math.min(numbers.get(0), numbers.get(1));
          checkOperands(op, big, small, Integer.parseInt(p.answer()));
        }
      }
    }
  }

  private static int count(String s, String needle) {
    int n = 0;
    for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }

  @Test
  void nounsAgreeWithTheNumberOne() {
    ArithmeticGenerator small = new ArithmeticGenerator(new ArithmeticConfig(1, 2, 1, 2, 1.0));
    Set<String> plurals = new HashSet<>();
    for (String pair : WordProblemTemplates.OBJECTS) {
      plurals.add(pair.split("\\|")[1]);
    }
    for (String pair : WordProblemTemplates.CONTAINERS) {
      plurals.add(pair.split("\\|")[1]);
    }
    Random rnd = new Random(3);
    for (int i = 0; i < 4000; i++) {
      Problem p = small.wordProblem(Op.values()[i % 4], i % 2 == 0, rnd);
      for (String plural : plurals) {
        assertFalse(p.prompt().matches(".*\\b1 " + plural + "\\b.*"), p.prompt());
      }
      assertFalse(p.prompt().contains("{") || p.prompt().contains("}"), p.prompt());
    }
  }

  @Test
  void templateCountsMeetThePaper() {
    for (Op op : Op.values()) {
      assertTrue(GEN.trainingTemplateCount(op) >= 20, op + " training templates");
      assertTrue(GEN.heldOutTemplateCount(op) >= 10, op + " held-out templates");
      assertEquals(GEN.trainingTemplateCount(op), GEN.templates(op, false).size());
    }
    assertTrue(WordProblemTemplates.NAMES.size() >= 15);
    assertTrue(WordProblemTemplates.OBJECTS.size() >= 15);
    assertTrue(WordProblemTemplates.PLACES.size() >= 15);
    assertTrue(WordProblemTemplates.CONTAINERS.size() >= 15);
    assertTrue(WordProblemTemplates.GROUPS.size() >= 15);
  }

  /** A regex matching any filling of the template, followed by the answer cue and a number. */
  private static Pattern templatePattern(String template) {
    StringBuilder re = new StringBuilder("^");
    Matcher m = Pattern.compile("\\{[^{}]*}").matcher(template);
    int last = 0;
    while (m.find()) {
      re.append(Pattern.quote(template.substring(last, m.start()))).append(".+?");
      last = m.end();
    }
    re.append(Pattern.quote(template.substring(last))).append(" Answer: \\d+$");
    return Pattern.compile(re.toString());
  }

  private static List<Pattern> patterns(boolean heldOut) {
    List<Pattern> out = new ArrayList<>();
    for (Op op : Op.values()) {
      for (String t : GEN.templates(op, heldOut)) {
        out.add(templatePattern(t));
      }
    }
    return out;
  }

  @Test
  void heldOutTemplatesNeverAppearInTrainingDocuments() {
    List<Pattern> heldOut = patterns(true);
    List<Pattern> training = patterns(false);
    Random rnd = new Random(4);
    int wordProblems = 0;
    for (int i = 0; i < 4000; i++) {
      String doc = GEN.trainingDocument(Op.all(), rnd);
      if (!doc.contains("Answer: ")) {
        assertTrue(EQUATION.matcher(doc.substring(0, doc.lastIndexOf("= ") + 2)).matches(), doc);
        continue;
      }
      wordProblems++;
      for (Pattern p : heldOut) {
        assertFalse(p.matcher(doc).matches(), "held-out template in training: " + doc);
      }
      assertTrue(training.stream().anyMatch(p -> p.matcher(doc).matches()), "no training template: " + doc);
    }
    assertTrue(wordProblems > 1500, "expected about half word problems, got " + wordProblems);
    for (Op op : Op.values()) {
      for (Problem p : GEN.evalSet(op, Kind.WORD_PROBLEM, 200, 7)) {
        assertTrue(heldOut.stream().anyMatch(x -> x.matcher(p.text()).matches()), p.text());
        assertTrue(training.stream().noneMatch(x -> x.matcher(p.text()).matches()), p.text());
      }
    }
  }

  @Test
  void evalSetsAreFixedBySeed() {
    for (Op op : Op.values()) {
      for (Kind kind : Kind.values()) {
        List<Problem> a = GEN.evalSet(op, kind, 100, 1234);
        assertEquals(100, a.size());
        assertEquals(a, GEN.evalSet(op, kind, 100, 1234));
        assertEquals(a, new ArithmeticGenerator(PAPER).evalSet(op, kind, 100, 1234));
        assertNotEquals(a, GEN.evalSet(op, kind, 100, 1235));
        assertTrue(a.stream().allMatch(p -> p.op() == op && p.kind() == kind));
      }
    }
    assertNotEquals(
        GEN.evalSet(Op.ADDITION, Kind.EQUATION, 20, 1).stream().map(Problem::value).toList(),
        GEN.evalSet(Op.SUBTRACTION, Kind.EQUATION, 20, 1).stream().map(Problem::value).toList());
  }

  @Test
  void trainingDocumentsUseOnlyTheRequestedOperationsAndFraction() {
    Random rnd = new Random(5);
    Set<Op> seen = EnumSet.noneOf(Op.class);
    int words = 0;
    int n = 4000;
    for (int i = 0; i < n; i++) {
      Problem p = GEN.trainingProblem(Op.forgetOps(), rnd);
      assertFalse(p.op().isRetain());
      seen.add(p.op());
      words += p.kind() == Kind.WORD_PROBLEM ? 1 : 0;
    }
    assertEquals(Op.forgetOps(), seen);
    assertEquals(0.5, words / (double) n, 0.05);
    ArithmeticGenerator equationsOnly = new ArithmeticGenerator(new ArithmeticConfig(1, 50, 1, 20, 0.0));
    for (int i = 0; i < 200; i++) {
      assertTrue(EQUATION.matcher(stripAnswer(equationsOnly.trainingDocument(Set.of(Op.ADDITION), rnd))).matches());
    }
    assertThrows(IllegalArgumentException.class, () -> GEN.trainingDocument(Set.of(), rnd));
  }

  private static String stripAnswer(String equation) {
    return equation.substring(0, equation.lastIndexOf("= ") + 2);
  }

  @Test
  void configRejectsBadRangesWithClearMessages() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new ArithmeticConfig(1, 50, 0, 20, 0.5));
    assertTrue(e.getMessage().contains("mulDivMin"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new ArithmeticConfig(10, 5, 1, 20, 0.5));
    assertThrows(IllegalArgumentException.class, () -> new ArithmeticConfig(1, 50, 1, 20, 1.5));
    assertThrows(IllegalArgumentException.class, () -> new ArithmeticConfig(1, 50, 1, 20, Double.NaN));
    assertEquals(new ArithmeticConfig(1, 50, 1, 20, 0.5), ArithmeticConfig.paper());
  }

  @Test
  void opsAndKindsHaveStableKeys() {
    assertEquals("addition", Op.ADDITION.key());
    assertEquals("*", Op.MULTIPLICATION.symbol());
    assertTrue(Op.SUBTRACTION.isRetain());
    assertFalse(Op.DIVISION.isRetain());
    assertEquals(Op.DIVISION, Op.fromKey("division"));
    assertEquals("word_problem", Kind.WORD_PROBLEM.key());
    assertThrows(IllegalArgumentException.class, () -> new Problem(Op.ADDITION, Kind.EQUATION, "1 + 1 = ", "3", 2));
  }
}
