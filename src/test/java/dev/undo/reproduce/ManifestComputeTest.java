package dev.undo.reproduce;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.pretrain.Pretrain;
import dev.undo.run.Compute;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Manifest;
import dev.undo.stage.StageRunner;
import dev.undo.undo.Distill;
import dev.undo.unlearn.Sweep;
import dev.undo.unlearn.Unlearn;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The manifest's compute ledger on stage folders with hand-chosen compute: every model's own compute, and its
 * compute beyond the base pretrain — an unlearned model costs its whole LR sweep, the oracle the data-filtered
 * pretrain plus its distillation, oracle matching that plus its own fine-tuning, Unlearn-and-Distill and UNDO their
 * teacher's sweep plus their distillation.
 */
class ManifestComputeTest {
  @TempDir
  Path out;

  int next = 0;
  final Map<String, Compute> own = new HashMap<>();

  /** A distinct compute per stage, in powers of two so that every sum is exact and identifies its terms. */
  Compute fresh(String stage) {
    int k = next++;
    Compute c = new Compute(Math.scalb(1.0, k), Math.scalb(1.0, k + 30), 0, 1L << k, 1L << (k + 20), 0, k + 1,
        0.5 * k);
    own.put(stage, c);
    return c;
  }

  static void finish(Path dir, String file, Object result) throws IOException {
    Files.createDirectories(dir);
    StageRunner.writeResult(dir.resolve(file), result);
    Files.writeString(dir.resolve("DONE"), "done\n");
  }

  static Compute sum(Compute... cs) {
    Compute t = Compute.ZERO;
    for (Compute c : cs) {
      t = t.plus(c);
    }
    return t;
  }

  @Test
  void addedComputeSumsTheStagesEachModelNeeded() throws IOException {
    ObjectNode tree = ConfigLoader.resolve("micro", Map.of());
    ExperimentConfig cfg = ExperimentConfig.from(tree);
    Plan plan = Planner.plan(tree, List.of("arithmetic"), out);
    String root = "arithmetic/s1234/";
    // The summaries average the cells the base can do: here + equations (0.5) and × equations (0.25).
    Map<String, Double> metrics = new java.util.LinkedHashMap<>();
    for (String cell : dev.undo.task.ArithmeticTask.cellKeys()) {
      metrics.put(cell, cell.startsWith("addition_equation") ? 0.5 : cell.startsWith("multiplication_equation")
          ? 0.25 : 0.0);
    }
    metrics.put("retain_acc", 0.125);
    metrics.put("forget_acc", 0.0625);
    metrics.put("eng_ce", 3.0);
    for (String p : List.of("base", "filtered")) {
      finish(out.resolve(root + p), "eval.json", new Pretrain.Result("arithmetic", metrics, fresh(p)));
    }
    for (String d : List.of("oracle", "oracle_matching", "unlearn_distill/graddiff", "unlearn_distill/maxent",
        "unlearn_distill/rmu", "undo/maxent_a0.50")) {
      finish(out.resolve(root + d), "eval.json", new Distill.Result("arithmetic", metrics, fresh(d), 10, 20,
          "a rule", d.equals("oracle_matching"), d.equals("oracle_matching") ? 0.04 : -0.1,
          d.equals("oracle_matching") ? 0.05 : 0.05, "random", 1, 0, metrics, metrics));
    }
    Files.writeString(out.resolve(root + "oracle_matching/metrics.jsonl"),
        "{\"step\":0,\"split\":\"train\",\"loss\":0.5}\n{\"step\":1,\"split\":\"train\",\"loss\":0.125}\n"
            + "{\"step\":2,\"split\":\"eval\",\"eng_ce\":3.0}\n");
    Map<String, Map<String, Double>> selectedMetrics = new HashMap<>();
    for (String method : List.of("graddiff", "maxent", "rmu")) {
      Path sweep = out.resolve(root + "unlearn/" + method);
      List<Sweep.Row> rows = new ArrayList<>();
      for (double lr : List.of(1e-4, 1e-3)) {
        Path run = Sweep.runDir(sweep, lr);
        Map<String, Double> m = Map.of("retain_acc", 0.5, "forget_acc", lr * 100, "eng_ce", 3.0);
        finish(run, "eval.json", new Unlearn.Result("arithmetic", m, fresh("unlearn/" + method + "/" + lr), metrics,
            method, lr));
        rows.add(new Sweep.Row(lr, sweep.relativize(run).toString(), true, m));
      }
      // The second LR is the teacher.
      selectedMetrics.put(method, rows.get(1).metrics());
      finish(sweep, "sweep.json", new Sweep.Result(method, "arithmetic", 0.1, metrics, rows,
          new Sweep.Selected(1e-3, rows.get(1).dir(), "by hand")));
    }

    Manifest man = Reproduce.manifest(cfg, List.of("arithmetic"), plan, out, 12.5);

    assertEquals(12.5, man.wallSeconds());
    Map<String, Manifest.ModelEntry> byName = new HashMap<>();
    man.settings().get("arithmetic").models().forEach(e -> byName.put(e.name(), e));
    assertEquals(List.of("base", "filtered", "oracle", "oracle_matching", "unlearn_graddiff",
        "unlearn_distill_graddiff", "unlearn_maxent", "unlearn_distill_maxent", "unlearn_rmu", "unlearn_distill_rmu",
        "undo_maxent_a0.50"), man.settings().get("arithmetic").models().stream().map(Manifest.ModelEntry::name)
        .toList());
    Compute base = own.get("base");
    Compute filtered = own.get("filtered");
    Compute oracle = own.get("oracle");
    assertEquals(base, byName.get("base").compute());
    assertEquals(base, byName.get("base").addedCompute(), "as defined: a pretrain's added compute is its own");
    assertEquals(filtered, byName.get("filtered").addedCompute());
    assertEquals(oracle, byName.get("oracle").compute());
    assertEquals(sum(oracle, filtered), byName.get("oracle").addedCompute());
    Compute om = own.get("oracle_matching");
    assertEquals(sum(om, filtered, oracle), byName.get("oracle_matching").addedCompute());
    Manifest.Student om2 = byName.get("oracle_matching").student();
    assertEquals(new Manifest.Student("a rule", true, 10, 20, 0.04, 0.05), om2);
    assertEquals(false, byName.get("oracle").student().stoppedByRule());
    assertEquals(null, byName.get("base").student());
    // Base and filtered summaries are recomputed over the base's cells: + equations and × equations only.
    assertEquals(List.of("addition_equation_acc", "multiplication_equation_acc"),
        man.settings().get("arithmetic").summaryCells());
    assertEquals(0.5, byName.get("base").metrics().get("retain_acc"));
    assertEquals(0.25, byName.get("base").metrics().get("forget_acc"));
    for (String method : List.of("graddiff", "maxent", "rmu")) {
      Compute lo = own.get("unlearn/" + method + "/1.0E-4");
      Compute hi = own.get("unlearn/" + method + "/0.001");
      Manifest.ModelEntry u = byName.get("unlearn_" + method);
      assertEquals(hi, u.compute(), "the teacher's own compute is the selected run's");
      assertEquals(sum(lo, hi), u.addedCompute(), "an unlearned model costs its whole sweep");
      assertEquals(selectedMetrics.get(method), u.metrics());
      assertEquals(out.relativize(Sweep.runDir(out.resolve(root + "unlearn/" + method), 1e-3)).toString(),
          u.stage(), "the unlearned model lives in the selected run's folder");
      Manifest.ModelEntry uad = byName.get("unlearn_distill_" + method);
      assertEquals(sum(own.get("unlearn_distill/" + method), lo, hi), uad.addedCompute());
    }
    Compute undo = own.get("undo/maxent_a0.50");
    assertEquals(sum(undo, own.get("unlearn/maxent/1.0E-4"), own.get("unlearn/maxent/0.001")),
        byName.get("undo_maxent_a0.50").addedCompute());
    // Ledgers: the student's own steps and tokens against the filtered pretrain's tokens; FLOPs of the student,
    // its teacher's passes and the chosen unlearning run against the filtered pretrain's.
    Manifest.Ledger l = byName.get("undo_maxent_a0.50").ledger();
    Compute chosen = own.get("unlearn/maxent/0.001");
    assertEquals(undo.steps(), l.studentSteps());
    assertEquals((double) undo.trainTokens() / filtered.trainTokens(), l.paperFraction());
    assertEquals((undo.methodFlops() + chosen.methodFlops()) / filtered.methodFlops(), l.flopsFraction());
    assertEquals(own.get("unlearn/maxent/1.0E-4").methodFlops(), l.sweepFlops());
    assertEquals((double) chosen.trainTokens() / base.trainTokens(), byName.get("undo_maxent_a0.50")
        .labelledFraction());
    assertEquals(1.0, byName.get("filtered").labelledFraction());
    assertEquals(0.5, byName.get("undo_maxent_a0.50").alpha());
  }
}
