package dev.undo.reproduce;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.attack.Relearn;
import dev.undo.pretrain.Pretrain;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import dev.undo.stage.StageRunner;
import dev.undo.task.Metric;
import dev.undo.task.Task;
import dev.undo.task.Tasks;
import dev.undo.undo.Distill;
import dev.undo.undo.DistillGroup;
import dev.undo.unlearn.Sweep;
import dev.undo.unlearn.Unlearn;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The paper's experiments at our scale as a {@link Plan} (docs/PROTOCOL.md §Claims). For each setting and seed: pretrain
 * the base and the data-filtered model; distill the filtered model into a random init (oracle); fine-tune the base
 * to match the oracle (oracle matching); unlearn with each method (LR sweep, teacher chosen by rule);
 * Unlearn-and-Distill each teacher; UNDO's α sweep on one method's teacher; attack every resulting model with the
 * same adversary. Folders: {@code <setting>/s<seed>/<stage>} under the run folder.
 */
public final class Planner {
  private Planner() {}

  /** The plan of every setting and seed of {@code cfg}; {@code tree} is the resolved configuration it came from. */
  public static Plan plan(ObjectNode tree, List<String> settings, Path out) {
    ExperimentConfig cfg = ExperimentConfig.from(tree);
    List<Plan.Node> nodes = new ArrayList<>();
    List<Plan.PlannedModel> models = new ArrayList<>();
    for (String setting : settings) {
      Task task = Tasks.of(setting, cfg); // validates the setting's data section before anything runs
      // The summary cells are one set per setting, from every seed's base model, so seeds average the same cells.
      List<String> bases = cfg.reproduce().seeds().stream().map(sd -> setting + "/s" + sd + "/base").toList();
      for (long seed : cfg.reproduce().seeds()) {
        ObjectNode t = tree.deepCopy();
        t.put("seed", seed);
        planSetting(t, task, seed, bases, out, nodes, models);
      }
    }
    return new Plan(nodes, models);
  }

  static void planSetting(ObjectNode tree, Task task, long seed, List<String> bases, Path out,
      List<Plan.Node> nodes, List<Plan.PlannedModel> models) {
    ExperimentConfig cfg = ExperimentConfig.from(tree);
    String setting = task.name();
    ExperimentConfig.Setting s = cfg.setting(setting);
    ExperimentConfig.ReproduceSpec r = cfg.reproduce();
    String root = setting + "/s" + seed;
    int tok = s.pretrain().seqLen();
    double pretrainCost = 3.0 * s.pretrain().steps() * s.pretrain().batchSize() * tok;
    double distillCost = 4.0 * s.distill().maxSteps() * s.distill().batchSize() * tok;
    double omCost = 4.0 * r.oracleMatchingSteps() * s.distill().batchSize() * tok;
    // One attack run per (data, learning rate, seed): arithmetic attacks on forget and mixture data, so twice the runs.
    // Each run trains `steps` steps and evaluates every `eval_every` (a forward pass over the evaluation set).
    ExperimentConfig.AttackSpec atk = s.attack();
    double attackCost = atk.data().size() * atk.lrs().size() * atk.seeds().size() * (3.0 * atk.steps()
        * atk.batchSize() * tok + (double) (atk.steps() / atk.evalEvery()) * attackEvalTokens(setting, atk, tok));
    List<Plan.PlannedModel> mine = new ArrayList<>();

    String base = root + "/base";
    String filtered = root + "/filtered";
    nodes.add(node(base, setting + " pretrain base", List.of(), pretrainCost,
        Plan.Call.of(Pretrain.STAGE.kind(), out.resolve(base), Pretrain.Spec.of(cfg, setting, false))));
    mine.add(model(setting, "base", "base", null, null, seed, base, false, root, List.of()));
    nodes.add(node(filtered, setting + " pretrain data-filtered", List.of(), pretrainCost,
        Plan.Call.of(Pretrain.STAGE.kind(), out.resolve(filtered), Pretrain.Spec.of(cfg, setting, true))));
    mine.add(model(setting, "filtered", "filtered", null, null, seed, filtered, false, root, List.of()));

    String oracle = root + "/oracle";
    // Summary cells (arithmetic) come from the base model, so every later stage waits for it.
    Supplier<List<String>> cells = () -> summaryCells(out, bases, task, s.eval());
    List<String> oracleDeps = new ArrayList<>(bases);
    oracleDeps.add(filtered);
    nodes.add(node(oracle, setting + " oracle (filtered -> random init)", oracleDeps, distillCost,
        new Plan.Call(Distill.STAGE.kind(), out.resolve(oracle), () -> Distill.Spec.of(cfg, setting,
            out.resolve(filtered), "random", null, 1, 0, s.distill().stopRule()).withSummaryCells(cells.get()),
            "summary cells: the base model's")));
    mine.add(model(setting, "oracle", "oracle", null, null, seed, oracle, false, root, List.of(filtered)));
    String om = root + "/oracle_matching";
    nodes.add(node(om, setting + " oracle matching (base -> oracle outputs)", List.of(base, oracle), omCost,
        new Plan.Call(Distill.STAGE.kind(), out.resolve(om), () -> Distill.Spec.of(cfg, setting, out.resolve(oracle),
            "checkpoint", out.resolve(base), 0, 0, "match").withMaxSteps(r.oracleMatchingSteps())
            .withSummaryCells(cells.get()), "summary cells: the base model's")));
    mine.add(model(setting, "oracle_matching", "oracle_matching", null, null, seed, om, false, root,
        List.of(filtered, oracle)));

    List<String> methods = new ArrayList<>(r.methods());
    methods.addAll(r.variants());
    // Student folder -> the group node that trains it (reproduce.group_students).
    Map<String, String> groupOf = new HashMap<>();
    for (String method : methods) {
      String[] parts = method.split("\\+");
      String baseMethod = parts[0];
      ObjectNode mTree = tree.deepCopy();
      for (int i = 1; i < parts.length; i++) {
        if (!parts[i].equals("repnoise") && !parts[i].equals("sam")) {
          throw new IllegalArgumentException("reproduce.variants: unknown add-on '" + parts[i] + "' in " + method
              + " (use repnoise or sam)");
        }
        ConfigLoader.set(mTree, setting + ".unlearn." + parts[i] + ".enabled", "true");
      }
      ExperimentConfig mCfg = ExperimentConfig.from(mTree);
      String folder = method.replace('+', '_');
      String sweep = root + "/unlearn/" + folder;
      Path sweepDir = out.resolve(sweep);
      List<Double> lrs = r.sweep() ? mCfg.setting(setting).unlearn().sweepLrs(baseMethod)
          : List.of(s.unlearn().lr());
      List<Plan.Call> calls = new ArrayList<>();
      List<Path> runs = new ArrayList<>();
      for (double lr : lrs) {
        Path dir = Sweep.runDir(sweepDir, lr);
        runs.add(dir);
        Unlearn.Spec us = Unlearn.Spec.of(mCfg, setting, out.resolve(base), baseMethod, lr);
        calls.add(new Plan.Call(Unlearn.STAGE.kind(), dir, () -> us.withSummaryCells(cells.get()),
            "summary cells: the base model's"));
      }
      ExperimentConfig.UnlearnSpec u = mCfg.setting(setting).unlearn();
      calls.add(Plan.Call.of(Sweep.STAGE.kind(), sweepDir, new Sweep.Spec(baseMethod, lrs, runs,
          u.retainTolerance(), u.selectionSecondaryWeight())));
      nodes.add(new Plan.Node(sweep, setting + " unlearn " + method + " (" + lrs.size() + " LRs)", bases,
          6.0 * lrs.size() * s.unlearn().steps() * s.unlearn().batchSize() * tok, calls));
      mine.add(model(setting, "unlearn_" + method, "unlearn", method, null, seed, sweep, true, root, List.of(sweep)));
      if (parts.length > 1 && !r.distillVariants() && !r.undoMethods().contains(method)) {
        continue; // reproduce.distill_variants: false — the variant is unlearned and attacked, not distilled
      }
      String uad = root + "/unlearn_distill/" + folder;
      mine.add(model(setting, "unlearn_distill_" + method, "unlearn_distill", method, 1.0, seed, uad, false, root,
          List.of(sweep)));
      // The students of this method's teacher: Unlearn-and-Distill (random init), and UNDO's α sweep when UNDO is
      // applied to the method. Grouped, they train as one ensemble that shares the teacher's forward pass.
      List<String> ids = new ArrayList<>(List.of(uad));
      List<java.util.function.Function<Path, Distill.Spec>> students = new ArrayList<>();
      students.add(teacher -> Distill.Spec.of(cfg, setting, teacher, "random", null, 1, 0, s.distill().stopRule())
          .withSummaryCells(cells.get()));
      List<String> names = new ArrayList<>(List.of(setting + " Unlearn-and-Distill " + method));
      if (r.undoMethods().contains(method)) {
        for (double alpha : s.distill().alphaSweep()) {
          String a = String.format(Locale.ROOT, "%.2f", alpha);
          ids.add(root + "/undo/" + folder + "_a" + a);
          names.add(setting + " UNDO " + method + " alpha=" + a);
          students.add(teacher -> Distill.Spec.of(cfg, setting, teacher, "noised", null, alpha, s.distill().beta(),
              s.distill().stopRule()).withSummaryCells(cells.get()));
        }
      }
      String describe = "teacher: the teacher " + sweep + " selects";
      if (r.groupStudents() && ids.size() > 1) {
        for (String id : ids) {
          groupOf.put(id, uad);
        }
        nodes.add(new Plan.Node(uad, setting + " students of " + method + " (" + ids.size() + " together)",
            List.of(sweep), distillCost * ids.size() * 0.8, List.of(new Plan.Call(Stages.DISTILL_GROUP,
                out.resolve(uad), () -> {
                  Path teacher = Sweep.selected(sweepDir);
                  List<DistillGroup.Member> members = new ArrayList<>();
                  for (int i = 0; i < ids.size(); i++) {
                    members.add(new DistillGroup.Member(out.resolve(ids.get(i)), students.get(i).apply(teacher)));
                  }
                  return new DistillGroup.Spec(members);
                }, describe + "; students " + ids))));
      } else {
        for (int i = 0; i < ids.size(); i++) {
          java.util.function.Function<Path, Distill.Spec> student = students.get(i);
          nodes.add(node(ids.get(i), names.get(i), List.of(sweep), distillCost, new Plan.Call(Distill.STAGE.kind(),
              out.resolve(ids.get(i)), () -> student.apply(Sweep.selected(sweepDir)), describe)));
        }
      }
    }
    // UNDO models after all methods, in method then α order (the manifest's order since the first build).
    for (String method : r.undoMethods()) {
      if (!methods.contains(method)) {
        throw new IllegalArgumentException("reproduce.undo_methods: '" + method + "' is not among the methods "
            + methods);
      }
      String folder = method.replace('+', '_');
      for (double alpha : s.distill().alphaSweep()) {
        String a = String.format(Locale.ROOT, "%.2f", alpha);
        mine.add(model(setting, "undo_" + method + "_a" + a, "undo", method, alpha, seed,
            root + "/undo/" + folder + "_a" + a, false, root, List.of(root + "/unlearn/" + folder)));
      }
    }
    // Attacks last, with one adversary for all, and the half-way threshold between filtered and base.
    for (Plan.PlannedModel m : mine) {
      List<String> deps = new ArrayList<>(List.of(base, filtered));
      // A student trained in a group is ready when its group node is.
      String made = groupOf.getOrDefault(m.stage(), m.stage());
      if (!deps.contains(made)) {
        deps.add(made);
      }
      Path attackDir = out.resolve(m.attack());
      nodes.add(node(m.attack(), setting + " attack " + m.name(), deps, attackCost,
          new Plan.Call(Relearn.STAGE.kind(), attackDir, () -> Relearn.Spec.of(cfg, setting, modelDir(out, m),
              threshold(out, base, filtered, task, cells.get(), s.eval().nPerCell())).withSummaryCells(cells.get()),
              "model: " + m.stage() + (m.selected() ? " (selected)" : ""))));
    }
    models.addAll(mine);
  }

  /**
   * Forward tokens of one attack evaluation, for the plan's cost: arithmetic scores its four summary cells' problems
   * (prompt + answer, about 12 tokens each as the one-pass exact match pads them: 5,412 tokens per evaluation of
   * 400 problems and 16 windows of 32 in the standard run) and the English windows; language and text score the
   * held-out windows of the forget and the retain corpus.
   */
  static double attackEvalTokens(String setting, ExperimentConfig.AttackSpec a, int seqLen) {
    double windows = (double) a.ceSequences() * seqLen;
    return setting.equals("arithmetic") ? 4.0 * a.evalProblemsPerCell() * 12 + windows : 2 * windows;
  }

  private static Plan.Node node(String id, String name, List<String> deps, double cost, Plan.Call call) {
    return new Plan.Node(id, name, deps, cost, List.of(call));
  }

  private static Plan.PlannedModel model(String setting, String name, String kind, String method, Double alpha,
      long seed, String stage, boolean selected, String root, List<String> ancestors) {
    return new Plan.PlannedModel(setting, name, kind, method, alpha, seed, stage, selected,
        root + "/attack/" + name.replace('+', '_'), ancestors);
  }

  /** The checkpoint a planned model lives in: its stage folder, or the teacher its sweep selected. */
  static Path modelDir(Path out, Plan.PlannedModel m) {
    return m.selected() ? Sweep.selected(out.resolve(m.stage())) : out.resolve(m.stage());
  }

  /** Half-way between the data-filtered and the base model's forget metric (summarised over the cells). */
  static double threshold(Path out, String base, String filtered, Task task, List<String> cells, int n) {
    Metric forget = task.forgetMetric();
    double b = forget.of(task.summarize(StageRunner.result(Pretrain.STAGE, out.resolve(base)).metrics(), cells, n));
    double f = forget.of(task.summarize(StageRunner.result(Pretrain.STAGE, out.resolve(filtered)).metrics(), cells,
        n));
    return (b + f) / 2;
  }

  /**
   * The evaluation cells the setting's summaries average: {@code eval.summary_cells} when set, else those every
   * seed's finished base model can do ({@code eval.cell_floor}).
   */
  static List<String> summaryCells(Path out, List<String> bases, Task task, ExperimentConfig.EvalSpec eval) {
    if (!eval.summaryCells().isEmpty()) {
      return eval.summaryCells();
    }
    // A cell counts when every seed's base reaches the floor: the task's rule applied to the per-cell minimum.
    java.util.Map<String, Double> min = new java.util.LinkedHashMap<>();
    for (String b : bases) {
      StageRunner.result(Pretrain.STAGE, out.resolve(b)).metrics().forEach((k, v) -> min.merge(k, v, Math::min));
    }
    return task.summaryCells(min, eval.cellFloor());
  }
}
