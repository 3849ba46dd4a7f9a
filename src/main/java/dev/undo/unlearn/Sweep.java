package dev.undo.unlearn;

import dev.undo.run.Json;
import dev.undo.run.Names;
import dev.undo.run.SourceModel;
import dev.undo.run.TaskSpec;
import dev.undo.stage.Stage;
import dev.undo.stage.StageContext;
import dev.undo.stage.StageRunner;
import dev.undo.stage.StageSpec;
import dev.undo.task.Task;
import dev.undo.task.Tasks;
import dev.undo.train.Checkpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Teacher selection after a learning-rate sweep of one unlearning method (the paper sweeps ~8 values, one
 * {@link Unlearn} stage per value in {@code lr_<value>/}). The rule, recorded with its reason in
 * {@code sweep.json}: the strongest forgetting among the values that keep the retain metric (and English CE) within
 * {@code retain_tolerance} of the base model; if none does, the best retain score. {@code sweep.csv} is the table.
 */
public final class Sweep implements Stage<Sweep.Spec, Sweep.Result> {
  public static final Sweep STAGE = new Sweep();

  private Sweep() {}

  /** The finished unlearning runs to choose among (one per LR), the method, and the rule's settings. */
  public record Spec(String method, List<Double> lrs, List<Path> candidates, double retainTolerance,
      double secondaryWeight) implements StageSpec {
    @Override
    public Map<String, Path> inputs() {
      Map<String, Path> m = new LinkedHashMap<>();
      for (int i = 0; i < candidates.size(); i++) {
        m.put("candidates[" + i + "]", candidates.get(i));
      }
      return m;
    }
  }

  /** One candidate: its LR, folder (relative to the sweep folder), metrics, and whether it kept retain. */
  public record Row(double lr, String dir, boolean keepsRetain, Map<String, Double> metrics) {}

  /** The chosen teacher: LR, folder (relative to the sweep folder) and why. */
  public record Selected(double lr, String dir, String reason) {}

  /** {@code sweep.json}. */
  public record Result(String method, String setting, double retainTolerance, Map<String, Double> base,
      List<Row> rows, Selected selected) {}

  /** The folder of one LR's run inside a sweep folder. */
  public static Path runDir(Path sweepDir, double lr) {
    return sweepDir.resolve("lr_" + Names.lr(lr));
  }

  @Override
  public String kind() {
    return "select_teacher";
  }

  @Override
  public Class<Spec> specType() {
    return Spec.class;
  }

  @Override
  public Class<Result> resultType() {
    return Result.class;
  }

  @Override
  public String resultFile() {
    return "sweep.json";
  }

  @Override
  public Result run(Spec spec, StageContext ctx) {
    if (spec.candidates().isEmpty() || spec.candidates().size() != spec.lrs().size()) {
      throw new IllegalArgumentException("teacher selection needs one finished run per learning rate");
    }
    Path out = ctx.dir().path();
    List<Unlearn.Result> runs = new ArrayList<>();
    for (Path c : spec.candidates()) {
      runs.add(StageRunner.result(Unlearn.STAGE, c));
    }
    Path firstCk = Checkpoint.resolve(spec.candidates().get(0).resolve("checkpoint"));
    TaskSpec protocol = SourceModel.task(firstCk, Json.read(firstCk.resolve(Checkpoint.PROVENANCE),
        com.fasterxml.jackson.databind.JsonNode.class));
    Task task = Tasks.of(protocol.setting(), protocol.data());
    Map<String, Double> base = runs.get(0).before();
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < runs.size(); i++) {
      Map<String, Double> m = runs.get(i).metrics();
      rows.add(new Row(spec.lrs().get(i), out.toAbsolutePath().relativize(spec.candidates().get(i).toAbsolutePath())
          .toString(), task.keepsRetain(m, base, spec.retainTolerance()), m));
    }
    Selected sel = select(task, rows, base, spec.retainTolerance(), spec.secondaryWeight());
    writeCsv(out, rows, base);
    return new Result(spec.method(), task.name(), spec.retainTolerance(), base, rows, sel);
  }

  /** The selection rule (see the class doc). */
  static Selected select(Task task, List<Row> rows, Map<String, Double> base, double tol, double secondaryWeight) {
    var forget = task.forgetMetric();
    Row best = null;
    long keeping = rows.stream().filter(Row::keepsRetain).count();
    for (Row r : rows) {
      if (r.keepsRetain() && (best == null
          || forget.oriented(forget.of(r.metrics())) > forget.oriented(forget.of(best.metrics())))) {
        best = r;
      }
    }
    if (best != null) {
      return new Selected(best.lr(), best.dir(), String.format(Locale.ROOT,
          "strongest forgetting (%s = %.4f) among the %d learning rates that keep retain within %.0f%% of the base",
          forget.key(), forget.of(best.metrics()), keeping, tol * 100));
    }
    Row closest = null;
    for (Row r : rows) {
      if (closest == null || task.retainScore(r.metrics(), secondaryWeight)
          > task.retainScore(closest.metrics(), secondaryWeight)) {
        closest = r;
      }
    }
    return new Selected(closest.lr(), closest.dir(), String.format(Locale.ROOT,
        "no learning rate kept retain within %.0f%% of the base; chose the one with the best retain", tol * 100));
  }

  private static void writeCsv(Path out, List<Row> rows, Map<String, Double> base) {
    StringBuilder csv = new StringBuilder("lr");
    List<String> keys = new ArrayList<>(rows.get(0).metrics().keySet());
    keys.forEach(k -> csv.append(',').append(k));
    csv.append(",keeps_retain\nbase");
    keys.forEach(k -> csv.append(',').append(base.getOrDefault(k, Double.NaN)));
    csv.append(",\n");
    for (Row r : rows) {
      csv.append(r.lr());
      keys.forEach(k -> csv.append(',').append(r.metrics().get(k)));
      csv.append(',').append(r.keepsRetain()).append('\n');
    }
    Json.writeStringAtomic(out.resolve("sweep.csv"), csv.toString());
  }

  /** The teacher chosen by a finished sweep: a folder inside the sweep folder. */
  public static Path selected(Path sweepDir) {
    return inside(sweepDir, StageRunner.result(STAGE, sweepDir).selected().dir(), "selected folder");
  }

  /** The LR runs of a finished sweep: folders inside the sweep folder. */
  public static List<Path> runs(Path sweepDir) {
    List<Path> out = new ArrayList<>();
    for (Row row : StageRunner.result(STAGE, sweepDir).rows()) {
      out.add(inside(sweepDir, row.dir(), "run folder"));
    }
    return out;
  }

  /** {@code dir} resolved against the sweep folder; an error if it leaves it (a hand-edited sweep.json). */
  static Path inside(Path sweepDir, String dir, String what) {
    Path p = sweepDir.resolve(dir).normalize();
    if (!p.startsWith(sweepDir.normalize())) {
      throw new IllegalArgumentException(sweepDir.resolve(STAGE.resultFile()) + ": " + what + " " + dir
          + " is outside the sweep folder");
    }
    return p;
  }
}
