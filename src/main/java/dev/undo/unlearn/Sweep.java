package dev.undo.unlearn;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A learning-rate sweep of one unlearning method (the paper sweeps ~8 values), one stage folder per value
 * ({@code lr_<value>/}, finished ones skipped), a table of retain and forget per value, and the teacher the later
 * stages use, chosen by a rule recorded with its reason: the strongest forgetting among the values that keep the
 * retain metric (and English CE) within {@code retain_tolerance} of the base model.
 */
public final class Sweep {
  private Sweep() {}

  public record Row(double lr, Path dir, Map<String, Double> metrics) {}

  public record Selection(double lr, Path dir, String reason) {}

  public record Result(List<Row> rows, Map<String, Double> base, Selection selection) {}

  public static Result run(ExperimentConfig cfg, JsonNode resolved, String method, List<Double> lrs, Path base,
      Path out, boolean progress) {
    if (lrs.isEmpty()) {
      throw new IllegalArgumentException("the sweep needs at least one learning rate");
    }
    List<Row> rows = new ArrayList<>();
    Map<String, Double> baseMetrics = null;
    String setting = null;
    for (double lr : lrs) {
      Path dir = out.resolve("lr_" + format(lr));
      Unlearn.Summary s = Unlearn.run(cfg, resolved, method, lr, base, dir, progress);
      rows.add(new Row(lr, dir, s.metrics()));
      if (baseMetrics == null) {
        baseMetrics = s.before();
      }
      setting = s.metrics().containsKey("forget_acc") ? "arithmetic" : "language";
    }
    double tol = cfg.setting(setting).unlearn().retainTolerance();
    Selection sel = select(rows, baseMetrics, setting, tol);
    write(out, method, setting, rows, baseMetrics, sel, tol);
    return new Result(rows, baseMetrics, sel);
  }

  /** The selection rule (see class doc). */
  public static Selection select(List<Row> rows, Map<String, Double> base, String setting, double tol) {
    boolean arith = setting.equals("arithmetic");
    Row best = null;
    for (Row r : rows) {
      if (!keepsRetain(r.metrics(), base, arith, tol)) {
        continue;
      }
      if (best == null || forgetScore(r.metrics(), arith) > forgetScore(best.metrics(), arith)) {
        best = r;
      }
    }
    if (best != null) {
      return new Selection(best.lr(), best.dir(), String.format(Locale.ROOT,
          "strongest forgetting (%s = %.4f) among the %s learning rates that keep retain within %.0f%% of the base",
          arith ? "forget_acc" : "kor_ce", best.metrics().get(arith ? "forget_acc" : "kor_ce"),
          count(rows, base, arith, tol), tol * 100));
    }
    Row closest = null;
    for (Row r : rows) {
      if (closest == null || retainScore(r.metrics(), arith) > retainScore(closest.metrics(), arith)) {
        closest = r;
      }
    }
    return new Selection(closest.lr(), closest.dir(), String.format(Locale.ROOT,
        "no learning rate kept retain within %.0f%% of the base; chose the one with the best retain", tol * 100));
  }

  static boolean keepsRetain(Map<String, Double> m, Map<String, Double> base, boolean arith, double tol) {
    boolean eng = m.get("eng_ce") <= base.get("eng_ce") * (1 + tol);
    if (!arith) {
      return eng;
    }
    return eng && m.get("retain_acc") >= base.get("retain_acc") * (1 - tol);
  }

  private static long count(List<Row> rows, Map<String, Double> base, boolean arith, double tol) {
    return rows.stream().filter(r -> keepsRetain(r.metrics(), base, arith, tol)).count();
  }

  /** Larger is more forgotten. */
  static double forgetScore(Map<String, Double> m, boolean arith) {
    return arith ? -m.get("forget_acc") : m.get("kor_ce");
  }

  /** Larger is better kept. */
  static double retainScore(Map<String, Double> m, boolean arith) {
    return arith ? m.get("retain_acc") - 0.01 * m.get("eng_ce") : -m.get("eng_ce");
  }

  private static void write(Path out, String method, String setting, List<Row> rows, Map<String, Double> base,
      Selection sel, double tol) {
    ObjectNode n = Json.MAPPER.createObjectNode();
    n.put("method", method);
    n.put("setting", setting);
    n.put("retain_tolerance", tol);
    ObjectNode b = n.putObject("base");
    base.forEach(b::put);
    ArrayNode arr = n.putArray("rows");
    StringBuilder csv = new StringBuilder("lr");
    List<String> keys = new ArrayList<>(rows.get(0).metrics().keySet());
    keys.forEach(k -> csv.append(',').append(k));
    csv.append(",keeps_retain\n");
    csv.append("base");
    keys.forEach(k -> csv.append(',').append(base.getOrDefault(k, Double.NaN)));
    csv.append(",\n");
    boolean arith = setting.equals("arithmetic");
    for (Row r : rows) {
      ObjectNode o = arr.addObject();
      o.put("lr", r.lr());
      o.put("dir", out.relativize(r.dir()).toString());
      o.put("keeps_retain", keepsRetain(r.metrics(), base, arith, tol));
      ObjectNode mm = o.putObject("metrics");
      r.metrics().forEach(mm::put);
      csv.append(r.lr());
      keys.forEach(k -> csv.append(',').append(r.metrics().get(k)));
      csv.append(',').append(keepsRetain(r.metrics(), base, arith, tol)).append('\n');
    }
    ObjectNode s = n.putObject("selected");
    s.put("lr", sel.lr());
    s.put("dir", out.relativize(sel.dir()).toString());
    s.put("reason", sel.reason());
    Json.writeAtomic(out.resolve("sweep.json"), n);
    Json.writeStringAtomic(out.resolve("sweep.csv"), csv.toString());
    Json.writeAtomic(out.resolve("selected.json"), s);
  }

  public static String format(double lr) {
    return dev.undo.run.Names.lr(lr);
  }

  /** Reads the teacher chosen by a finished sweep. */
  public static Path selected(Path sweepDir) {
    JsonNode s = Json.read(sweepDir.resolve("selected.json"), JsonNode.class);
    return sweepDir.resolve(s.get("dir").asText());
  }
}
