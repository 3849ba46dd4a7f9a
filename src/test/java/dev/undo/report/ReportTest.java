package dev.undo.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole report on hand-built runs: files, formats, and verdicts that follow from the numbers. */
class ReportTest {
  @TempDir
  Path tmp;

  @Test
  void paperLikeRunPassesEveryClaimAndWritesACompleteReport() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp.resolve("run"), "full");
    SyntheticRun.paperLike(run.arithmetic(), 1234, 0.95, +1);
    SyntheticRun.paperLike(run.language(), 1234, 2.5, -1);
    run.write();

    Report.Summary summary = Report.write(run.dir);

    // claims.json: the exact schema, and the verdicts this run was built to earn.
    JsonNode root = SyntheticRun.MAPPER.readTree(summary.claimsJson().toFile());
    assertEquals(List.of("evidence", "claims", "wall_seconds", "preset"), fieldNames(root));
    assertTrue(root.get("evidence").asBoolean());
    assertEquals(1234.5, root.get("wall_seconds").asDouble());
    assertEquals("full", root.get("preset").asText());
    JsonNode claims = root.get("claims");
    assertEquals(5, claims.size());
    List<String> statements = List.of(Claims.C1_STATEMENT, Claims.C2_STATEMENT, Claims.C3_STATEMENT,
        Claims.C4_STATEMENT, Claims.C5_STATEMENT);
    for (int i = 0; i < 5; i++) {
      JsonNode c = claims.get(i);
      assertEquals(List.of("id", "statement", "verdict", "numbers"), fieldNames(c));
      assertEquals("C" + (i + 1), c.get("id").asText());
      assertEquals(statements.get(i), c.get("statement").asText());
      assertEquals("pass", c.get("verdict").asText(), () -> c.toPrettyString());
      assertFalse(c.get("numbers").get("rule").asText().isBlank());
      assertEquals(Set.of("arithmetic", "language"), Set.copyOf(fieldNames(c.get("numbers").get("settings"))));
    }
    assertEquals(summary.claims().size(), 5);

    // Language runs the other way (lower Korean CE = more capable) and must give the same fractions.
    for (String setting : List.of("arithmetic", "language")) {
      JsonNode c1 = claims.get(0).get("numbers").get("settings").get(setting);
      assertEquals(0.7, c1.get("excess").get("mean").asDouble(), 1e-9, setting);
      assertEquals(0.68 / 1.02, c1.get("excess").get("ci").get(0).asDouble(), 1e-9, setting);
      JsonNode c5 = claims.get(4).get("numbers").get("settings").get(setting).get("methods").get("maxent");
      assertEquals(0.7, c5.get("paper_fraction").get("mean").asDouble(), 1e-9);
      assertEquals(0.05, c5.get("shortfall").get("mean").asDouble(), 1e-9);
    }

    // Every listed file exists, is non-empty, and no temporary file is left behind.
    List<Path> all = new ArrayList<>(summary.plots());
    all.addAll(summary.tables());
    all.add(summary.index());
    all.add(summary.claimsJson());
    for (Path p : all) {
      assertTrue(Files.size(p) > 0, p + " is empty");
      assertEquals(summary.reportDir(), p.getParent());
    }
    try (Stream<Path> files = Files.list(summary.reportDir())) {
      assertTrue(files.noneMatch(p -> p.toString().endsWith(".tmp")));
    }
    for (String setting : List.of("arithmetic", "language")) {
      for (String f : List.of("relearn_" + setting + "_graddiff.png", "relearn_" + setting + "_maxent.png",
          "relearn_" + setting + "_rmu.png", "relearn_" + setting + "_maxent-repnoise.png",
          "oracle_" + setting + ".png", "alpha_" + setting + ".png",
          "pareto_" + setting + "_0.png", "pareto_" + setting + "_40.png", "pareto_" + setting + "_500.png",
          "compute_" + setting + ".png", "models_" + setting + ".csv", "metrics_" + setting + ".csv",
          "worst_case_" + setting + ".csv")) {
        assertTrue(all.contains(summary.reportDir().resolve(f)), f + " not written");
      }
    }
    for (Path png : summary.plots()) {
      BufferedImage img = ImageIO.read(png.toFile());
      assertNotNull(img, png + " does not decode");
      assertTrue(img.getWidth() >= 700 && img.getHeight() >= 400, png + " is " + img.getWidth() + "x" + img.getHeight());
    }

    // index.html: nothing online, every plot linked to its PNG beside it, no smoke-test banner on evidence.
    String html = Files.readString(summary.index());
    assertFalse(html.contains("http"), "index.html must not reference anything online");
    assertFalse(html.contains("<script"));
    assertFalse(html.contains(Html.SMOKE));
    Matcher src = Pattern.compile("src=\"([^\"]*)\"").matcher(html);
    int images = 0;
    while (src.find()) {
      assertTrue(Files.isRegularFile(summary.index().resolveSibling(src.group(1))), "missing image " + src.group(1));
      assertFalse(src.group(1).contains("/"), "image outside the report folder: " + src.group(1));
      images++;
    }
    assertEquals(summary.plots().size(), images);
    for (String id : List.of("C1", "C2", "C3", "C4", "C5")) {
      assertTrue(html.contains("<td>" + id + "</td>"), id + " missing from the claims table");
    }
    assertTrue(html.contains("class=\"verdict pass\""));
    // The attack and where the data-filtered model starts to relearn (step 10: 0.05 leaves its ±0.01 at step 0).
    assertTrue(html.contains("Attack (every model): learning rates [0.001, 1.0E-4], data [forget, mixture]"), html);
    assertTrue(html.contains("relearns part of the capability? It does from step 10"));
    // Interval cells: "value [lo, hi]" in the HTML; the recovered flag beside each distilled model.
    assertTrue(html.contains("<td class=\"num\">0.95 [0.945, 0.955]</td>"));
    assertTrue(html.contains("✓ gap 0.01 (bound 0.05); 100/400 steps"));

    // CSV: one row per model plus the header, and the relearned fraction the curve encodes, with its interval.
    List<String> models = Files.readAllLines(summary.reportDir().resolve("models_arithmetic.csv"));
    assertEquals(1 + 16, models.size());
    List<String> header = List.of(models.get(0).split(",", -1));
    assertTrue(header.containsAll(List.of("name", "kind", "method", "alpha", "seed", "recovered", "retain_acc",
        "retain_acc_lo", "retain_acc_hi", "forget_acc", "forget_at_0", "forget_at_40", "forget_at_500",
        "relearned_at_0", "relearned_at_40", "relearned_at_40_lo", "relearned_at_40_hi", "relearned_at_500", "auc",
        "paper_fraction", "flops_fraction", "labelled_fraction")), header.toString());
    String om = models.stream().filter(l -> l.startsWith("oracle_matching_")).findFirst().orElseThrow();
    List<String> cells = List.of(om.split(",", -1));
    assertEquals(0.8, Double.parseDouble(cells.get(header.indexOf("relearned_at_40"))), 1e-9);
    // Lowest corner: (0.79 − 0.01) / (1.01 − 0.01), the filtered value counted once in both terms.
    assertEquals(0.78, Double.parseDouble(cells.get(header.indexOf("relearned_at_40_lo"))), 1e-6);
    assertEquals(0.3, Double.parseDouble(cells.get(header.indexOf("flops_fraction"))), 1e-9);
    List<String> worst = Files.readAllLines(summary.reportDir().resolve("worst_case_language.csv"));
    assertEquals(1 + SyntheticRun.STEPS.length, worst.size());
    assertEquals(1 + 3 * 16, worst.get(0).split(",").length);
    // Per-cell accuracies with intervals for every model.
    List<String> metrics = Files.readAllLines(summary.reportDir().resolve("metrics_arithmetic.csv"));
    List<String> mh = List.of(metrics.get(0).split(",", -1));
    for (String cell : SyntheticRun.CELLS) {
      assertTrue(mh.containsAll(List.of(cell, cell + "_lo", cell + "_hi")), cell);
    }
    List<String> base = List.of(metrics.get(1).split(",", -1));
    assertEquals(0.9, Double.parseDouble(base.get(mh.indexOf("multiplication_equation_acc"))), 1e-9);
    assertEquals(0.95, Double.parseDouble(base.get(mh.indexOf("addition_word_problem_acc_lo"))) + 0.05, 1e-9);
  }

  @Test
  void smokeTestRunsSayTheyAreNotEvidence() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp.resolve("run"), "micro");
    run.evidence = false;
    SyntheticRun.paperLike(run.arithmetic(), 1234, 0.95, +1);
    run.write();
    Report.Summary summary = Report.write(run.dir);
    JsonNode root = SyntheticRun.MAPPER.readTree(summary.claimsJson().toFile());
    assertFalse(root.get("evidence").asBoolean());
    assertEquals("smoke test: these numbers are not evidence", root.get("notice").asText());
    String html = Files.readString(summary.index());
    assertTrue(html.contains("<p class=\"smoke\">smoke test: these numbers are not evidence"), html);
    // The banner comes before the claims.
    assertTrue(html.indexOf(Html.SMOKE) < html.indexOf("<h2>Claims</h2>"));
  }

  @Test
  void anAttackTooShortForTheFilteredModelToRelearnIsSaid() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp.resolve("run"), "full");
    SyntheticRun.Setting s = run.arithmetic();
    s.model("base", null, null, 1, 0.95, 0, 1, 1, 1, 1, 1);
    s.model("filtered", null, null, 1, 0.94, SyntheticRun.FILTERED_FLOPS, 0, 0, .005, .008, .009);
    run.write();
    Relearning r = new Relearning(RunData.load(run.dir).settings().get(0));
    assertEquals(null, Relearning.relearnsFrom(r.of(RunData.Kind.FILTERED).get(0), false));
    assertTrue(String.join(" ", Report.describe(r.setting, r)).contains("not within the 500 attack steps"));
  }

  @Test
  void runWithOneSettingReportsOnlyThatSetting() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp.resolve("run"), "full");
    SyntheticRun.paperLike(run.arithmetic(), 1234, 0.95, +1);
    run.write();

    Report.Summary summary = Report.write(run.dir);

    for (Claims.Claim c : summary.claims()) {
      assertEquals(List.of("arithmetic"), fieldNames(c.numbers().get("settings")), c.id());
      assertEquals(Claims.Verdict.PASS, c.verdict(), c.id());
    }
    assertTrue(summary.plots().stream().noneMatch(p -> p.getFileName().toString().contains("language")));
    assertTrue(summary.tables().stream().noneMatch(p -> p.getFileName().toString().contains("language")));
    assertTrue(Files.exists(summary.reportDir().resolve("models_arithmetic.csv")));
  }

  @Test
  void missingAttackResultIsNotedAndLeavesItsClaimInconclusive() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp.resolve("run"), "quick");
    SyntheticRun.paperLike(run.arithmetic(), 1234, 0.95, +1);
    run.write();
    Files.delete(run.dir.resolve("arithmetic/attack/oracle_matching_s1234/attack.json"));

    Report.Summary summary = Report.write(run.dir);

    assertEquals(1, summary.notes().size(), summary.notes().toString());
    assertTrue(summary.notes().get(0).contains("oracle_matching_s1234"));
    assertEquals(Claims.Verdict.INCONCLUSIVE, summary.claims().get(0).verdict());
    assertEquals(Claims.Verdict.PASS, summary.claims().get(1).verdict());
    assertTrue(Files.readString(summary.index()).contains("oracle_matching_s1234: no attack result"));
  }

  @Test
  void rewritingReplacesTheReport() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp.resolve("run"), "quick");
    SyntheticRun.Setting s = run.arithmetic();
    s.model("base", null, null, 1234, 0.95, 0, 1, 1, 1, 1, 1);
    s.model("filtered", null, null, 1234, 0.94, SyntheticRun.FILTERED_FLOPS, 0, .05, .1, .15, .25);
    run.write();
    Report.write(run.dir);
    // A second pass over a changed run must replace, not append to, what the first wrote.
    run.preset = "full";
    run.write();
    Report.Summary again = Report.write(run.dir);
    JsonNode root = SyntheticRun.MAPPER.readTree(again.claimsJson().toFile());
    assertEquals("full", root.get("preset").asText());
    assertTrue(Files.readString(again.index()).contains("Preset <b>full</b>"));
  }

  static List<String> fieldNames(JsonNode n) {
    List<String> out = new ArrayList<>();
    n.fieldNames().forEachRemaining(out::add);
    return out;
  }
}
