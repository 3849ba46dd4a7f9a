package dev.undo.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.report.Claims.Claim;
import dev.undo.report.Plots.Figure;
import dev.undo.report.RunData.Run;
import dev.undo.report.RunData.Setting;
import dev.undo.report.Tables.Table;
import dev.undo.run.Manifest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a finished run into {@code runDir/report/}: plots (PNG), tables (CSV), the claim verdicts
 * ({@code claims.json}) and one self-contained {@code index.html}. Reads only {@code manifest.json} and the attack
 * results it points to, so a report can be rebuilt at any time without touching a model.
 *
 * <p>Every file is written to {@code name.tmp} beside its destination and renamed over it, so a reader never sees
 * half a file; index.html is written last, so its presence means the report is complete.
 */
public final class Report {
  private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private Report() {}

  /**
   * What {@link #write} produced.
   *
   * @param reportDir {@code runDir/report}
   * @param index the self-contained HTML report
   * @param claimsJson the claim verdicts
   * @param plots every PNG written, in report order
   * @param tables every CSV written, in report order
   * @param claims C1..C5 with their verdicts and numbers (as in claims.json)
   * @param notes what was missing from the run (models without attack results)
   */
  public record Summary(Path reportDir, Path index, Path claimsJson, List<Path> plots, List<Path> tables,
      List<Claim> claims, List<String> notes) {}

  public static Summary write(Path runDir) {
    Run run = RunData.load(runDir);
    Path dir = runDir.resolve("report");
    List<Path> plots = new ArrayList<>();
    List<Path> tables = new ArrayList<>();
    List<Html.Section> sections = new ArrayList<>();
    for (Setting s : run.settings()) {
      Relearning r = new Relearning(s);
      List<Figure> figures = new ArrayList<>(Plots.forSetting(r));
      Figure curves = TrainingCurves.pretrain(runDir, s);
      if (curves != null) {
        figures.add(0, curves);
      }
      for (Figure f : figures) {
        plots.add(writeAtomic(dir.resolve(f.file()), f.png()));
      }
      List<Table> ts = List.of(Tables.models(r), Tables.metrics(r), Tables.worstCase(r));
      for (Table t : ts) {
        tables.add(writeAtomic(dir.resolve(t.file()), t.csv().getBytes(StandardCharsets.UTF_8)));
      }
      sections.add(new Html.Section(s.name(), describe(s, r), figures, ts));
    }
    List<Claim> claims = Claims.evaluate(run);
    Path claimsJson = writeAtomic(dir.resolve("claims.json"), claimsJson(run, claims));
    Path index = writeAtomic(dir.resolve("index.html"),
        Html.render(run, claims, sections).getBytes(StandardCharsets.UTF_8));
    return new Summary(dir, index, claimsJson, List.copyOf(plots), List.copyOf(tables), claims, run.notes());
  }

  /**
   * {"evidence": …, ["notice": …,] "claims": [{id, statement, verdict, numbers}...], "wall_seconds": …,
   * "preset": …}, in that order: whether the run counts as evidence comes first, and a smoke test says so in words.
   */
  static byte[] claimsJson(Run run, List<Claim> claims) {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("evidence", run.evidence());
    if (!run.evidence()) {
      root.put("notice", Html.SMOKE);
    }
    ArrayNode list = root.putArray("claims");
    for (Claim c : claims) {
      ObjectNode n = list.addObject();
      n.put("id", c.id());
      n.put("statement", c.statement());
      n.put("verdict", c.verdict().wire());
      n.set("numbers", c.numbers());
    }
    Format.put(root, "wall_seconds", run.wallSeconds());
    root.put("preset", run.preset());
    try {
      return (MAPPER.writeValueAsString(root) + "\n").getBytes(StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The setting's header: metrics and directions, which cells the arithmetic summaries use, the attack every model
   * faces, and where the data-filtered model starts to relearn (docs/PROTOCOL.md §Pipeline 5: the attack must be
   * long enough for that).
   */
  static List<String> describe(Setting s, Relearning r) {
    List<String> out = new ArrayList<>();
    out.add("Forget metric " + s.forgetMetric() + " (" + (s.higherIsMoreForgotten() ? "higher" : "lower")
        + " = more forgotten); retain metric " + s.retainMetric() + " (" + (s.retainHigherIsBetter() ? "higher"
        : "lower") + " is better); " + s.models().size() + " models; report steps "
        + (r.steps.isEmpty() ? "none attacked" : r.steps.toString()) + ".");
    if (!s.summaryCells().isEmpty()) {
      out.add("Summaries: " + s.retainMetric() + " and " + s.forgetMetric() + " pool the items of the cells the base "
          + "model reaches at least cell_floor = " + Format.number(s.entry().cellFloor()) + " in: "
          + String.join(", ", s.summaryCells()) + ". Every cell is in metrics_" + Plots.slug(s.name()) + ".csv.");
    }
    Manifest.AttackEntry a = s.attack();
    out.add("Attack (every model): learning rates " + a.lrs() + ", data " + a.data() + ", seeds " + a.seeds() + ", "
        + a.steps() + " steps, evaluated every " + a.evalEvery() + ", gradient clipping "
        + (a.gradClip() > 0 ? Format.number(a.gradClip()) : "none") + ", "
        + (a.evalItems() > 0 ? a.evalItems() + " forget items" : a.evalWindows() + " held-out windows")
        + " per evaluation; the worst case is the adversary's best over all of them up to each step.");
    List<String> where = new ArrayList<>();
    for (RunData.Model f : r.of(RunData.Kind.FILTERED)) {
      Long from = Relearning.relearnsFrom(f, s.higherIsMoreForgotten());
      where.add((r.seeds().size() > 1 ? "seed " + f.seed() + ": " : "") + (from == null
          ? "not within the " + a.steps() + " attack steps (the attack may be too short to show relearning)"
          : "from step " + from + " (its worst case leaves its own step-0 interval)"));
    }
    if (!where.isEmpty()) {
      out.add("Length: enough that the data-filtered model relearns part of the capability? It does " + String.join(
          "; ", where) + ".");
    }
    return out;
  }

  /** Writes {@code bytes} to {@code file.tmp} in the same folder, then renames it over {@code file}. */
  static Path writeAtomic(Path file, byte[] bytes) {
    try {
      Path parent = file.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      Path tmp = parent.resolve(file.getFileName() + ".tmp");
      Files.write(tmp, bytes);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }
}
