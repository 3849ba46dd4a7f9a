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
      Figure curves = TrainingCurves.pretrain(runDir, s.name());
      if (curves != null) {
        figures.add(0, curves);
      }
      for (Figure f : figures) {
        plots.add(writeAtomic(dir.resolve(f.file()), f.png()));
      }
      List<Table> ts = List.of(Tables.models(r), Tables.worstCase(r));
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

  /** {"claims": [{id, statement, verdict, numbers}...], "wall_seconds": …, "preset": …}, in that order. */
  static byte[] claimsJson(Run run, List<Claim> claims) {
    ObjectNode root = MAPPER.createObjectNode();
    ArrayNode list = root.putArray("claims");
    for (Claim c : claims) {
      ObjectNode n = list.addObject();
      n.put("id", c.id());
      n.put("statement", c.statement());
      n.put("verdict", c.verdict().wire());
      n.set("numbers", c.numbers());
    }
    if (run.wallSeconds() == null) {
      root.putNull("wall_seconds");
    } else {
      root.put("wall_seconds", run.wallSeconds());
    }
    root.put("preset", run.preset());
    try {
      return (MAPPER.writeValueAsString(root) + "\n").getBytes(StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String describe(Setting s, Relearning r) {
    return "Forget metric " + s.forgetMetric() + " (" + (s.higherIsMoreForgotten() ? "higher" : "lower")
        + " = more forgotten); retain metric " + s.retainMetric() + " (" + (s.retainHigherIsBetter() ? "higher"
        : "lower") + " is better); " + s.models().size() + " models; report steps "
        + (r.steps.isEmpty() ? "none attacked" : r.steps.toString()) + ".";
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
