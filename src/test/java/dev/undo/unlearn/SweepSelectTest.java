package dev.undo.unlearn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import dev.undo.task.Task;
import dev.undo.task.Tasks;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Teacher selection after an LR sweep, on hand-made metrics for both kinds of task: among the learning rates that
 * keep retain within the tolerance, the strongest forgetting (ties: the first); when none does, the best retain
 * score, which in arithmetic weighs English CE by the secondary weight.
 */
class SweepSelectTest {
  static Task arithmetic;
  static Task language;

  @BeforeAll
  static void tasks() {
    ExperimentConfig c = ExperimentConfig.from(ConfigLoader.resolve("micro", Map.of()));
    arithmetic = Tasks.of("arithmetic", c);
    language = Tasks.of("language", c);
  }

  /** Rows with keeps-retain decided by the task, as {@code Sweep.run} does. */
  static List<Sweep.Row> rows(Task task, Map<String, Double> base, double tol, Object... lrAndMetrics) {
    List<Sweep.Row> out = new ArrayList<>();
    for (int i = 0; i < lrAndMetrics.length; i += 2) {
      double lr = (Double) lrAndMetrics[i];
      @SuppressWarnings("unchecked")
      Map<String, Double> m = (Map<String, Double>) lrAndMetrics[i + 1];
      out.add(new Sweep.Row(lr, "lr_" + lr, task.keepsRetain(m, base, tol), m));
    }
    return out;
  }

  static Map<String, Double> arith(double retain, double engCe, double forget) {
    return Map.of("retain_acc", retain, "eng_ce", engCe, "forget_acc", forget);
  }

  static Map<String, Double> lang(double engCe, double korCe) {
    return Map.of("eng_ce", engCe, "kor_ce", korCe);
  }

  @Test
  void folderEntriesOfASweepStayInsideIt() {
    java.nio.file.Path sweep = java.nio.file.Path.of("/runs/x/unlearn/maxent");
    assertEquals(sweep.resolve("lr_1e-04"), Sweep.inside(sweep, "lr_1e-04", "run folder"));
    // A hand-edited sweep.json cannot point the ledger or the teacher at another folder.
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> Sweep.inside(sweep, "../graddiff/lr_1e-04", "run folder"));
    assertEquals("/runs/x/unlearn/maxent/sweep.json: run folder ../graddiff/lr_1e-04 is outside the sweep folder",
        e.getMessage());
  }

  @Test
  void arithmeticKeepsRetainNeedsBothRetainAccuracyAndEnglishCe() {
    Map<String, Double> base = arith(0.80, 3.00, 0.70);
    // Within 10%: retain_acc >= 0.72 and eng_ce <= 3.3.
    assertEquals(true, arithmetic.keepsRetain(arith(0.721, 3.299, 0.0), base, 0.1));
    assertEquals(false, arithmetic.keepsRetain(arith(0.719, 3.0, 0.0), base, 0.1));
    assertEquals(false, arithmetic.keepsRetain(arith(0.9, 3.301, 0.0), base, 0.1));
    assertEquals(true, arithmetic.keepsRetain(arith(0.75, 3.4, 0.0), base, 0.2));
  }

  @Test
  void arithmeticTakesTheLowestForgetAccuracyAmongThoseThatKeepRetainAndTheFirstOfATie() {
    Map<String, Double> base = arith(0.80, 3.00, 0.70);
    List<Sweep.Row> rows = rows(arithmetic, base, 0.1,
        1e-5, arith(0.80, 3.00, 0.60),
        3e-5, arith(0.75, 3.20, 0.40),
        1e-4, arith(0.73, 3.29, 0.40), // ties with 3e-5: the first stays
        3e-4, arith(0.71, 3.10, 0.05), // forgets more but loses retain accuracy
        1e-3, arith(0.90, 3.31, 0.00)); // forgets everything but loses English
    assertEquals(List.of(true, true, true, false, false), rows.stream().map(Sweep.Row::keepsRetain).toList());
    assertEquals(new Sweep.Selected(3e-5, "lr_3.0E-5", "strongest forgetting (forget_acc = 0.4000) among the 3 "
        + "learning rates that keep retain within 10% of the base"), Sweep.select(arithmetic, rows, base, 0.1, 0.01));
  }

  @Test
  void arithmeticFallsBackToTheBestRetainScoreWithEnglishCeWeightedBySecondaryWeight() {
    Map<String, Double> base = arith(0.80, 3.00, 0.70);
    List<Sweep.Row> rows = rows(arithmetic, base, 0.1,
        1e-5, arith(0.50, 3.0, 0.1), // score 0.50 - 0.01·3.0 = 0.470
        1e-4, arith(0.49, 1.5, 0.2), // score 0.49 - 0.01·1.5 = 0.475
        1e-3, arith(0.30, 0.5, 0.0)); // score 0.295
    assertEquals(List.of(false, false, false), rows.stream().map(Sweep.Row::keepsRetain).toList());
    String reason = "no learning rate kept retain within 10% of the base; chose the one with the best retain";
    assertEquals(new Sweep.Selected(1e-4, "lr_1.0E-4", reason), Sweep.select(arithmetic, rows, base, 0.1, 0.01));
    // Without the secondary term retain accuracy alone decides.
    assertEquals(new Sweep.Selected(1e-5, "lr_1.0E-5", reason), Sweep.select(arithmetic, rows, base, 0.1, 0.0));
    // A tie in the score keeps the first.
    List<Sweep.Row> tie = rows(arithmetic, base, 0.1, 2e-5, arith(0.5, 2.0, 0.3), 4e-5, arith(0.5, 2.0, 0.1));
    assertEquals(2e-5, Sweep.select(arithmetic, tie, base, 0.1, 0.01).lr());
  }

  @Test
  void languageTakesTheHighestKoreanCeAmongThoseThatKeepEnglishElseTheLowestEnglishCe() {
    Map<String, Double> base = lang(3.0, 2.0);
    List<Sweep.Row> rows = rows(language, base, 0.1,
        1e-5, lang(3.10, 2.5),
        1e-4, lang(3.25, 4.0),
        1e-3, lang(3.40, 9.0)); // English CE above 3.3
    assertEquals(List.of(true, true, false), rows.stream().map(Sweep.Row::keepsRetain).toList());
    assertEquals(new Sweep.Selected(1e-4, "lr_1.0E-4", "strongest forgetting (kor_ce = 4.0000) among the 2 learning "
        + "rates that keep retain within 10% of the base"), Sweep.select(language, rows, base, 0.1, 0.01));
    List<Sweep.Row> none = rows(language, base, 0.1, 1e-5, lang(3.5, 5.0), 1e-4, lang(3.4, 4.0), 1e-3,
        lang(3.6, 9.0));
    Sweep.Selected s = Sweep.select(language, none, base, 0.1, 100.0); // no secondary quantity in language
    assertEquals(new Sweep.Selected(1e-4, "lr_1.0E-4", "no learning rate kept retain within 10% of the base; chose "
        + "the one with the best retain"), s);
  }
}
