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
    SyntheticRun run = new SyntheticRun(tmp.resolve("run"), "quick");
    SyntheticRun.paperLike(run.arithmetic(), 1234, 0.95, +1);
    SyntheticRun.paperLike(run.language(), 1234, 2.5, -1);
    run.write();

    Report.Summary summary = Report.write(run.dir);

    // claims.json: the exact schema, and the verdicts this run was built to earn.
    JsonNode root = SyntheticRun.MAPPER.readTree(summary.claimsJson().toFile());
    assertEquals(List.of("claims", "wall_seconds", "preset"), fieldNames(root));
    assertEquals(1234.5, root.get("wall_seconds").asDouble());
    assertEquals("quick", root.get("preset").asText());
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

    // The numbers behind C1 are the ones the curves encode: 0.8 vs 0.1 relearned at step 40.
    JsonNode c1 = claims.get(0).get("numbers").get("settings").get("arithmetic");
    assertEquals(40, c1.get("step").asLong());
    assertEquals(0.7, c1.get("excess").get("mean").asDouble(), 1e-9);
    assertTrue(c1.get("excess").get("ci").isNull(), "one seed has no interval");
    assertEquals(0.01, c1.get("kl_to_teacher").get("mean").asDouble(), 1e-12);
    // Language runs the other way (lower Korean CE = more capable) and must give the same fractions.
    JsonNode c1l = claims.get(0).get("numbers").get("settings").get("language");
    assertEquals(0.7, c1l.get("excess").get("mean").asDouble(), 1e-9);
    JsonNode c5 = claims.get(4).get("numbers").get("settings").get("arithmetic").get("methods").get("maxent");
    assertEquals(0.7, c5.get("compute_fraction_of_filtered").get("mean").asDouble(), 1e-9);
    assertEquals(0.05, c5.get("shortfall").get("mean").asDouble(), 1e-9);

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
          "relearn_" + setting + "_rmu.png", "oracle_" + setting + ".png", "alpha_" + setting + ".png",
          "pareto_" + setting + "_0.png", "pareto_" + setting + "_40.png", "pareto_" + setting + "_500.png",
          "compute_" + setting + ".png", "models_" + setting + ".csv", "worst_case_" + setting + ".csv")) {
        assertTrue(all.contains(summary.reportDir().resolve(f)), f + " not written");
      }
    }
    for (Path png : summary.plots()) {
      BufferedImage img = ImageIO.read(png.toFile());
      assertNotNull(img, png + " does not decode");
      assertTrue(img.getWidth() >= 700 && img.getHeight() >= 400, png + " is " + img.getWidth() + "x" + img.getHeight());
    }

    // index.html: nothing online, every plot linked to its PNG beside it.
    String html = Files.readString(summary.index());
    assertFalse(html.contains("http"), "index.html must not reference anything online");
    assertFalse(html.contains("<script"));
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

    // CSV: one row per model plus the header, and the relearned fraction the curve encodes.
    List<String> models = Files.readAllLines(summary.reportDir().resolve("models_arithmetic.csv"));
    assertEquals(1 + 4 + 3 * 5, models.size());
    List<String> header = List.of(models.get(0).split(",", -1));
    assertTrue(header.containsAll(List.of("name", "kind", "method", "alpha", "seed", "retain_acc", "forget_acc",
        "forget_at_0", "forget_at_40", "forget_at_500", "relearned_at_0", "relearned_at_40", "relearned_at_500", "auc",
        "added_compute_pct_of_filtered")), header.toString());
    String om = models.stream().filter(l -> l.startsWith("oracle_matching_")).findFirst().orElseThrow();
    List<String> cells = List.of(om.split(",", -1));
    assertEquals(0.8, Double.parseDouble(cells.get(header.indexOf("relearned_at_40"))), 1e-9);
    assertEquals(30, Double.parseDouble(cells.get(header.indexOf("added_compute_pct_of_filtered"))), 1e-9);
    List<String> worst = Files.readAllLines(summary.reportDir().resolve("worst_case_language.csv"));
    assertEquals(1 + SyntheticRun.STEPS.length, worst.size());
    assertEquals(1 + 4 + 3 * 5, worst.get(0).split(",").length);
  }

  @Test
  void runWithOneSettingReportsOnlyThatSetting() throws IOException {
    SyntheticRun run = new SyntheticRun(tmp.resolve("run"), "quick");
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
    run.manifest.put("preset", "full");
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
