package dev.undo.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.attack.Relearn;
import dev.undo.data.ArithmeticConfig;
import dev.undo.data.ArithmeticGenerator;
import dev.undo.data.Kind;
import dev.undo.data.Op;
import dev.undo.data.Problem;
import dev.undo.data.Tokenizer;
import dev.undo.eval.Evaluator;
import dev.undo.eval.ExactMatch;
import dev.undo.model.Decoder;
import dev.undo.model.Engines;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.model.Safetensors;
import dev.undo.pretrain.Pretrain;
import dev.undo.run.Compute;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.stage.StageRunner;
import dev.undo.train.AdamW;
import dev.undo.train.Autograd;
import dev.undo.train.Checkpoint;
import dev.undo.train.Losses;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "bench", mixinStandardHelpOptions = true,
    description = {"Training throughput of the default model: tokens/s, step time, peak memory, and model-FLOP "
        + "utilisation against a GEMM rate measured on this machine.",
        "With --compare, trains the same architecture on the same batches in Python PyTorch "
            + "(scripts/bench_torch.py, /usr/bin/python3) and prints both side by side.",
        "With --attack, instead times the relearning attack at the paper's protocol (the 10 learning rates of "
            + "attack.lrs, 200 steps, evaluation every 5 steps) on one model, every run alone (attack.batched: false) "
            + "against all runs as one ensemble (attack.batched: true), and checks both give the same curves."})
final class BenchCommand implements Callable<Integer> {
  @Option(names = "--size", defaultValue = "tiny", description = "Named model size (default: ${DEFAULT-VALUE}).")
  String size;

  @Option(names = "--vocab", defaultValue = "400", description = "Vocabulary (default ${DEFAULT-VALUE}, about the "
      + "arithmetic setting's).")
  int vocab;

  @Option(names = "--batch", defaultValue = "32")
  int batch;

  @Option(names = "--seq", defaultValue = "128")
  int seq;

  @Option(names = "--steps", defaultValue = "30", description = "Timed steps (after --warmup).")
  int steps;

  @Option(names = "--warmup", defaultValue = "5")
  int warmup;

  @Option(names = "--threads", defaultValue = "2")
  int threads;

  @Option(names = "--compare", description = "Also run scripts/bench_torch.py on the same shapes and batches.")
  boolean compare;

  @Option(names = "--python", defaultValue = "/usr/bin/python3")
  String python;

  @Option(names = "--distill", description = "Also time a distillation step (teacher forward without gradients + "
      + "student forward KL) on the same batches, and print its throughput next to pretraining's.")
  boolean distill;

  @Option(names = "--decode", description = "Also time greedy decoding of the paper's arithmetic evaluation set "
      + "(100 equations and 100 held-out word problems per operation, 6 new tokens each) with and without the "
      + "key-value cache, and check both give the same answers.")
  boolean decode;

  @Option(names = "--exact-match", description = "Also time arithmetic accuracy on the paper's evaluation set (800 "
      + "problems) two ways on the same model: greedy decoding with the key-value cache, as accuracy was scored "
      + "before, and one teacher-forced pass (eval/ExactMatch); print problems/s of both, whether their per-problem "
      + "verdicts agree under the exact-match rule, and how often the old numeric rule disagrees.")
  boolean exactMatch;

  @Option(names = "--model", paramLabel = "DIR", description = "Checkpoint for --exact-match (default: a random "
      + "model of --size with max_seq_len 192; a trained one stops greedy rows early and has real verdicts), or the "
      + "model --attack attacks (default: pretrain an arithmetic model in a temporary folder, the preset's model and "
      + "recipe for --pretrain-steps steps; quick's model is mini).")
  Path model;

  @Option(names = "--eval-batch", defaultValue = "100", description = "Problems per batch for --exact-match "
      + "(default ${DEFAULT-VALUE}, as in evaluation).")
  int evalBatch;

  @Option(names = "--eval-batch-tokens", defaultValue = "" + ExactMatch.BATCH_TOKENS, description = "Most padded "
      + "tokens per one-pass batch for --exact-match (default ${DEFAULT-VALUE}).")
  int evalBatchTokens;

  @Option(names = "--ensemble", split = ",", paramLabel = "K", description = "Also time ensemble training steps "
      + "with K members (comma-separated list, e.g. 1,2,4,8), each member on its own batch of --batch x --seq "
      + "tokens, against the single-model step; prints forward/backward/optimizer times, tokens/s and MFU.")
  int[] ensemble;

  @Option(names = "--attack", description = "Time the relearning attack, sequential vs ensemble (see above); the "
      + "--attack-* options size it.")
  boolean attack;

  @Option(names = "--json", description = "With --attack: print only one JSON line.")
  boolean json;

  @Option(names = "--preset", defaultValue = "quick", paramLabel = "NAME|FILE", description = "With --attack: the "
      + "preset of the attack settings and the pretraining recipe, except what the --attack-* options set (default: "
      + "${DEFAULT-VALUE}).")
  String preset;

  @Option(names = "--pretrain-steps", defaultValue = "300", paramLabel = "N",
      description = "With --attack and no --model: pretraining steps (default: ${DEFAULT-VALUE}).")
  long pretrainSteps;

  @Option(names = "--attack-steps", defaultValue = "200", paramLabel = "N", description = "Attack steps (default: "
      + "${DEFAULT-VALUE}).")
  long attackSteps;

  @Option(names = "--attack-lrs", defaultValue = "10", paramLabel = "N", description = "The first N learning rates "
      + "of the default attack.lrs grid, 1e-3 ... 1e-6 (default: ${DEFAULT-VALUE}, all).")
  int attackLrs;

  @Option(names = "--attack-eval-every", defaultValue = "5", paramLabel = "K", description = "Evaluate every K "
      + "attack steps (default: ${DEFAULT-VALUE}).")
  long attackEvalEvery;

  @Option(names = "--attack-items", paramLabel = "N", description = "Evaluation size: arithmetic, problems per "
      + "cell (attack.eval_problems_per_cell; 8 cells, 4 of them forget cells); language/text, held-out windows "
      + "(attack.ce_sequences). Default: the preset's (quick: 100 problems per cell, 400 forget items).")
  Integer attackItems;

  @Option(names = "--sequential-first", description = "With --attack: run the sequential path first (default: the "
      + "ensemble first, so that a warm-up cost falls on it).")
  boolean sequentialFirst;

  @Option(names = "--attack-data", split = ",", paramLabel = "forget|mixture", description = "Attack data "
      + "(default: the preset's attack.data).")
  List<String> attackData;

  @Override
  public Integer call() throws Exception {
    Engines.start(threads);
    if (attack) {
      return attack();
    }
    ModelConfig cfg = ModelConfig.named(size, vocab, seq);
    int total = warmup + steps;
    long[][] batches = new long[total][];
    SplittableRandom rnd = new SplittableRandom(42);
    for (int s = 0; s < total; s++) {
      batches[s] = new long[batch * (seq + 1)];
      for (int i = 0; i < batches[s].length; i++) {
        batches[s][i] = rnd.nextInt(vocab);
      }
    }
    Map<String, Object> java = new LinkedHashMap<>();
    double gemm;
    try (NDManager m = NDManager.newBaseManager()) {
      gemm = gemmGflops(m);
      try (Params p = Init.random(cfg, m, 1); Decoder dec = new Decoder(cfg, m)) {
        p.requireGradients();
        try (AdamW adam = new AdamW(new AdamW.Hyper(0.9, 0.95, 1e-8, 0.1), p, p.names(), m)) {
          double[] ms = new double[steps];
          for (int s = 0; s < total; s++) {
            long t0 = System.nanoTime();
            try (NDScope scope = new NDScope()) {
              NDArray tokens = tokens(m, batches[s]);
              Losses.Targets targets = targets(m, batches[s]);
              try (Autograd gc = Autograd.record()) {
                NDArray loss = Losses.crossEntropy(dec.logits(p, tokens), targets);
                gc.backward(loss);
              }
              adam.clipGradients(p, 1.0);
              adam.step(p, 1e-3);
              adam.zeroGradients(p);
            }
            if (s >= warmup) {
              ms[s - warmup] = (System.nanoTime() - t0) / 1e6;
            }
          }
          double median = median(ms);
          double tokPerS = batch * seq / (median / 1000);
          double flopsPerToken = 3 * Compute.forwardFlopsPerToken(cfg, seq);
          java.put("impl", "djl " + Engine.getDjlVersion() + " / libtorch " + Engine.getInstance().getVersion());
          java.put("params", p.count());
          java.put("threads", threads);
          java.put("step_ms_median", round(median));
          java.put("tokens_per_s", Math.round(tokPerS));
          java.put("achieved_gflops", round(flopsPerToken * tokPerS / 1e9));
          java.put("gemm_gflops", round(gemm));
          java.put("mfu", round(flopsPerToken * tokPerS / 1e9 / gemm));
          java.put("peak_rss_mb", peakRssMb());
          if (ensemble != null) {
            EnsembleBench eb = new EnsembleBench(cfg, batch, seq, warmup, steps, batches, gemm);
            double gemmCpu = eb.gemmPerCpuSecond(m);
            List<Map<String, Object>> rows = new ArrayList<>();
            rows.add(eb.row(0, eb.single(m), gemmCpu, threads));
            for (int k : ensemble) {
              rows.add(eb.row(k, eb.ensemble(m, k), gemmCpu, threads));
            }
            java.put("ensemble", rows);
            java.put("gemm_gflops_per_cpu_second", round(gemmCpu / 1e9));
            java.put("peak_rss_mb", peakRssMb());
            java.put("glibc_tunables", String.valueOf(System.getenv("GLIBC_TUNABLES")));
          }
          if (distill) {
            try (Params teacher = Init.random(cfg, m, 2)) {
              double dms = median(timeSteps(m, dec, p, teacher, adam, batches));
              java.put("distill_step_ms_median", round(dms));
              java.put("distill_tokens_per_s", Math.round(batch * seq / (dms / 1000)));
            }
          }
        }
      }
    }
    System.out.printf("model %s: %d layers, hidden %d, heads %d, mlp %d, vocab %d; batch %d x %d tokens%n", size,
        cfg.numLayers(), cfg.hiddenSize(), cfg.numHeads(), cfg.intermediateSize(), vocab, batch, seq);
    System.out.printf("GEMM (2048x%d)·(%dx%d), %d threads: %.1f GFLOP/s%n", cfg.hiddenSize(), cfg.hiddenSize(),
        cfg.intermediateSize(), threads, gemm);
    Map<String, Object> py = null;
    if (compare) {
      py = runPython(cfg, batches);
    }
    System.out.printf("%-10s %12s %12s %10s %8s%n", "impl", "step ms", "tokens/s", "GFLOP/s", "MFU");
    System.out.printf("%-10s %12.1f %12d %10.2f %8.3f%n", "djl", (double) java.get("step_ms_median"),
        (long) java.get("tokens_per_s"), (double) java.get("achieved_gflops"), (double) java.get("mfu"));
    if (py != null) {
      double pyTok = ((Number) py.get("tokens_per_s")).doubleValue();
      double pyMs = ((Number) py.get("step_ms_median")).doubleValue();
      double flopsPerToken = 3 * Compute.forwardFlopsPerToken(cfg, seq);
      System.out.printf("%-10s %12.1f %12d %10.2f %8.3f%n", "pytorch", pyMs, Math.round(pyTok),
          flopsPerToken * pyTok / 1e9, flopsPerToken * pyTok / 1e9 / gemm);
      String blas = blasVendor(py);
      System.out.printf("pytorch BLAS: %s%n", describeBlas(py));
      if (blas.equals("reference")) {
        System.out.println("WARNING: PyTorch ran on the unoptimised reference BLAS (libblas3), not a fair baseline: no "
            + "ratio printed. Get OpenBLAS with: apt-get install -y python3-torch libopenblas0-pthread");
      } else {
        System.out.printf("djl / pytorch tokens/s: %.2f%s%n", ((Number) java.get("tokens_per_s")).doubleValue() / pyTok,
            blas.equals("unknown") ? " (PyTorch's BLAS could not be identified; check it before trusting this)" : "");
      }
    }
    if (distill) {
      System.out.printf("distillation (teacher forward + student KL): %.1f ms/step, %d tokens/s (%.2fx pretraining "
          + "step time)%n", (double) java.get("distill_step_ms_median"), (long) java.get("distill_tokens_per_s"),
          (double) java.get("distill_step_ms_median") / (double) java.get("step_ms_median"));
    }
    if (decode) {
      Map<String, Object> dm = timeDecoding();
      java.put("decode", dm);
      System.out.printf("greedy decoding, %d prompts x %d new tokens (max_seq_len 192): cached %.2f s, uncached "
          + "%.2f s (%.1fx); same answers: %s%n", dm.get("prompts"), dm.get("new_tokens"), dm.get("cached_s"),
          dm.get("uncached_s"), (double) dm.get("uncached_s") / (double) dm.get("cached_s"), dm.get("same"));
    }
    if (exactMatch) {
      Map<String, Object> em = timeExactMatch();
      java.put("exact_match", em);
      System.out.printf("exact match, %d problems (operands %s; model %s, max_seq_len %d; batches of %d rows, one "
          + "pass also <= %d tokens), best of 3:%n", em.get("problems"), em.get("operands"), em.get("model"),
          em.get("max_seq_len"), evalBatch, evalBatchTokens);
      String[][] rows = {{"greedy", "greedy, cached (accuracy before)"},
          {"greedy_rule", "greedy, n+1 tokens (reference rule)"}, {"one_pass", "one teacher-forced pass"}};
      for (String[] row : rows) {
        System.out.printf("  %-38s %7.2f s wall %8.1f problems/s %8.2f s CPU%n", row[1], em.get(row[0] + "_s"),
            em.get(row[0] + "_problems_per_s"), em.get(row[0] + "_cpu_s"));
      }
      System.out.printf("  one pass vs greedy: %.2fx (wall), %.2fx (CPU)%n", em.get("speedup"), em.get("cpu_speedup"));
      System.out.printf("  accuracy %.4f; same_verdicts: %s; the old numeric rule disagrees on %d (same greedy "
          + "continuation: %d)%n", em.get("accuracy"), em.get("same_verdicts"), em.get("old_rule_disagreements"),
          em.get("numeric_rule_disagreements"));
    }
    if (ensemble != null) {
      System.out.printf("%nensemble training steps (each member its own batch of %d x %d; phases are medians):%n",
          batch, seq);
      System.out.printf("%-9s %7s %10s %10s %10s %10s %10s %7s %10s %8s%n", "path", "members", "step ms", "fwd ms",
          "bwd ms", "opt ms", "tokens/s", "MFU", "CPU ms", "MFU(cpu)");
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> rows = (List<Map<String, Object>>) java.get("ensemble");
      for (Map<String, Object> r : rows) {
        System.out.printf("%-9s %7d %10.1f %10.1f %10.1f %10.1f %10d %7.3f %10.1f %8.3f%n", r.get("path"),
            r.get("members"), r.get("step_ms_median"), r.get("forward_ms"), r.get("backward_ms"),
            r.get("optimizer_ms"), r.get("tokens_per_s"), r.get("mfu"), r.get("cpu_ms_per_step"), r.get("mfu_cpu"));
      }
      System.out.printf("MFU: model FLOPs/s over the GEMM rate above (wall time). MFU(cpu): model FLOPs per CPU-second "
          + "over the same GEMM's %.1f GFLOP per CPU-second (less sensitive to other load; at 2 threads CPU time "
          + "includes idle-spinning workers).%n", (double) java.get("gemm_gflops_per_cpu_second"));
      System.out.println("GLIBC_TUNABLES=" + java.get("glibc_tunables"));
    }
    System.out.printf("peak RSS: %d MB%n", (long) java.get("peak_rss_mb"));
    ObjectNode out = Json.MAPPER.createObjectNode();
    out.set("djl", Json.MAPPER.valueToTree(java));
    if (py != null) {
      out.set("pytorch", Json.MAPPER.valueToTree(py));
    }
    System.out.println(Json.LINE.writeValueAsString(out));
    return 0;
  }

  /**
   * {@code --attack}: pretrains a model unless one was given, resolves the attack from the preset and the
   * --attack-* options, and runs {@link AttackBench} in a temporary folder that is deleted afterwards.
   */
  private int attack() throws Exception {
    Path work = Files.createTempDirectory("undo-bench-attack");
    try {
      Map<String, Object> head = new LinkedHashMap<>();
      Path target = model;
      if (target == null) {
        target = work.resolve("base");
        ExperimentConfig c = ExperimentConfig.from(ConfigLoader.resolve(preset, Map.of("arithmetic.pretrain.steps",
            Long.toString(pretrainSteps), "threads", Integer.toString(threads))));
        long t0 = System.nanoTime();
        StageRunner.run(Pretrain.STAGE, Pretrain.Spec.of(c, "arithmetic", false), target,
            StageRunner.Options.QUIET);
        head.put("model", "pretrained here: " + preset + " preset, arithmetic, " + c.model().size() + ", "
            + pretrainSteps + " steps");
        head.put("pretrain_seconds", EnsembleBench.round((System.nanoTime() - t0) / 1e9));
      } else {
        head.put("model", target.toString());
      }
      String setting = UnlearnCommand.setting(target);
      Relearn.Spec spec = Relearn.Spec.of(ExperimentConfig.from(ConfigLoader.resolve(preset,
          attackOverrides(setting))), setting, target, null);
      head.put("setting", setting);
      Map<String, Object> r = new LinkedHashMap<>(AttackBench.run(spec, work.resolve("attack"), threads,
          sequentialFirst));
      r.putAll(head);
      r.put("peak_rss_mb", peakRssMb());
      if (json) {
        System.out.println(Json.LINE.writeValueAsString(r));
      } else {
        System.out.printf("model: %s (%s)%n", r.get("model"), setting);
        System.out.print(AttackBench.table(r));
      }
      return 0;
    } finally {
      deleteTree(work);
    }
  }

  private static void deleteTree(Path p) throws java.io.IOException {
    try (java.util.stream.Stream<Path> s = Files.walk(p)) {
      for (Path x : (Iterable<Path>) s.sorted(java.util.Comparator.reverseOrder())::iterator) {
        Files.delete(x);
      }
    }
  }

  /** The attack the --attack-* options describe, as config overrides of {@code setting}. */
  private Map<String, String> attackOverrides(String setting) {
    List<?> grid = Json.MAPPER.convertValue(ConfigLoader.preset("defaults").path(setting).path("attack").path("lrs"),
        List.class);
    if (attackLrs < 1 || attackLrs > grid.size()) {
      throw new IllegalArgumentException("--attack-lrs must be 1.." + grid.size() + " (the default attack.lrs grid "
          + grid + "), got " + attackLrs);
    }
    String a = setting + ".attack.";
    Map<String, String> o = new LinkedHashMap<>();
    o.put("threads", Integer.toString(threads));
    o.put(a + "lrs", grid.subList(0, attackLrs).toString());
    o.put(a + "steps", Long.toString(attackSteps));
    o.put(a + "eval_every", Long.toString(attackEvalEvery));
    // The report steps only pick points of the worst case; keep them within the attack.
    o.put(a + "report_steps", List.of(0L, attackSteps).toString());
    if (attackItems != null) {
      o.put(a + (setting.equals("arithmetic") ? "eval_problems_per_cell" : "ce_sequences"), attackItems.toString());
    }
    if (attackData != null) {
      o.put(a + "data", attackData.toString());
    }
    return o;
  }

  /** Greedy decoding of the arithmetic evaluation prompts on a random model, cached and uncached (best of 3). */
  private Map<String, Object> timeDecoding() {
    List<String> prompts = new ArrayList<>();
    ArithmeticGenerator gen = new ArithmeticGenerator(ArithmeticConfig.paper());
    for (Op op : Op.values()) {
      for (Kind kind : Kind.values()) {
        gen.evalSet(op, kind, 100, 7).forEach(pr -> prompts.add(pr.prompt()));
      }
    }
    Tokenizer tok = Tokenizer.build(prompts, 1);
    ModelConfig cfg = ModelConfig.named(size, tok.vocabSize(), 192);
    int newTokens = 6;
    Map<String, Object> r = new LinkedHashMap<>();
    try (NDManager m = NDManager.newBaseManager(); Params p = Init.random(cfg, m, 3); Decoder dec = new Decoder(cfg, m)) {
      Evaluator ev = new Evaluator(dec, tok, m, 100);
      double cached = Double.MAX_VALUE;
      double uncached = Double.MAX_VALUE;
      List<String> a = null;
      List<String> b = null;
      for (int rep = 0; rep < 3; rep++) {
        long t0 = System.nanoTime();
        a = ev.greedy(p, prompts, newTokens);
        cached = Math.min(cached, (System.nanoTime() - t0) / 1e9);
        t0 = System.nanoTime();
        b = ev.greedyNoCache(p, prompts, newTokens);
        uncached = Math.min(uncached, (System.nanoTime() - t0) / 1e9);
      }
      r.put("prompts", prompts.size());
      r.put("new_tokens", newTokens);
      r.put("cached_s", round(cached));
      r.put("uncached_s", round(uncached));
      r.put("same", a.equals(b));
    }
    return r;
  }

  /**
   * Accuracy on the paper's evaluation set (100 equations and 100 held-out word problems per operation, seed 7) three
   * ways, on one model: the old path (cached greedy decoding of the longest answer + 1 tokens with early stop, then
   * the numeric rule), the exact-match rule on top of greedy decoding (n + 1 tokens per problem) and one
   * teacher-forced pass (preparation included). Three rounds, interleaved so that load from other processes hits all
   * three alike; wall and CPU time are each the least of the three.
   */
  private Map<String, Object> timeExactMatch() {
    Map<String, Object> r = new LinkedHashMap<>();
    try (NDManager m = NDManager.newBaseManager()) {
      Checkpoint.Loaded ck = model == null ? null : Checkpoint.load(model, m);
      List<Problem> problems = new ArrayList<>();
      ArithmeticGenerator gen = new ArithmeticGenerator(ck == null ? ArithmeticConfig.paper() : arithmeticOf(ck));
      for (Op op : Op.values()) {
        for (Kind kind : Kind.values()) {
          problems.addAll(gen.evalSet(op, kind, 100, 7));
        }
      }
      List<String> prompts = problems.stream().map(Problem::prompt).toList();
      List<String> answers = problems.stream().map(Problem::answer).toList();
      Tokenizer tok = ck != null ? ck.tokenizer() : Tokenizer.build(problems.stream().map(Problem::text).toList(), 1);
      ModelConfig cfg = ck != null ? ck.config() : ModelConfig.named(size, tok.vocabSize(), 192);
      Params p = ck != null ? ck.params() : Init.random(cfg, m, 3);
      try (Decoder dec = new Decoder(cfg, m)) {
        Evaluator ev = new Evaluator(dec, tok, m, evalBatch);
        // {wall, process CPU} seconds, each the least of 3, of: old greedy path, greedy under the new rule, one pass.
        double[][] best = new double[3][];
        boolean[] old = null;
        boolean[] rule = null;
        ExactMatch.Verdicts one = null;
        for (int rep = 0; rep < 3; rep++) {
          double[] t0 = clocks();
          old = ev.numericVerdicts(p, prompts, answers);
          double[] t1 = clocks();
          rule = ev.greedyVerdicts(p, prompts, answers);
          double[] t2 = clocks();
          one = ev.exactMatch(p, ExactMatch.prepare(problems, tok, cfg.maxSeqLen(), evalBatch, evalBatchTokens));
          double[] t3 = clocks();
          double[][] ticks = {t0, t1, t2, t3};
          for (int k = 0; k < 3; k++) {
            double wall = ticks[k + 1][0] - ticks[k][0];
            double cpu = ticks[k + 1][1] - ticks[k][1];
            best[k] = best[k] == null ? new double[] {wall, cpu}
                : new double[] {Math.min(best[k][0], wall), Math.min(best[k][1], cpu)};
          }
        }
        int[][] continuations = ev.answerContinuations(p, prompts, answers);
        int oldDiff = 0;
        int numericDiff = 0;
        for (int i = 0; i < old.length; i++) {
          oldDiff += old[i] != one.solved()[i] ? 1 : 0;
          numericDiff += Evaluator.matches(tok.decode(continuations[i]), answers.get(i)) != one.solved()[i] ? 1 : 0;
        }
        r.put("model", ck != null ? model.toString() : "random " + size);
        ArithmeticConfig ac = gen.config();
        r.put("operands", ac.addSubMin() + "-" + ac.addSubMax() + " (+-), " + ac.mulDivMin() + "-" + ac.mulDivMax()
            + " (*/)");
        r.put("problems", problems.size());
        r.put("max_seq_len", cfg.maxSeqLen());
        String[] names = {"greedy", "greedy_rule", "one_pass"};
        for (int k = 0; k < 3; k++) {
          r.put(names[k] + "_s", round(best[k][0]));
          r.put(names[k] + "_cpu_s", round(best[k][1]));
          r.put(names[k] + "_problems_per_s", round(problems.size() / best[k][0]));
        }
        r.put("speedup", round(best[0][0] / best[2][0]));
        r.put("cpu_speedup", round(best[0][1] / best[2][1]));
        r.put("accuracy", round(one.accuracy()));
        r.put("same_verdicts", Arrays.equals(rule, one.solved()));
        r.put("old_rule_disagreements", oldDiff);
        r.put("numeric_rule_disagreements", numericDiff);
      } finally {
        p.close(); // the checkpoint's weights, if any; the rest of it goes with the manager
      }
    }
    return r;
  }

  /**
   * {wall, CPU of this process} in seconds. On a machine shared with other jobs the CPU time is the steadier
   * measure of work done (with one intra-op thread the model runs on the calling thread).
   */
  private static double[] clocks() {
    double cpu = ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
        ? os.getProcessCpuTime() / 1e9 : Double.NaN;
    return new double[] {System.nanoTime() / 1e9, cpu};
  }

  /**
   * The operand ranges a checkpoint was trained on, from its provenance ({@code config.experiment.<setting>.data}),
   * so that its bench problems are ones it can solve; the paper's ranges if the provenance does not say.
   */
  private static ArithmeticConfig arithmeticOf(Checkpoint.Loaded ck) {
    JsonNode c = ck.provenance().path("config");
    JsonNode d = c.path("experiment").path(c.path("setting").asText("arithmetic")).path("data");
    ArithmeticConfig paper = ArithmeticConfig.paper();
    return new ArithmeticConfig(d.path("add_sub_min").asInt(paper.addSubMin()),
        d.path("add_sub_max").asInt(paper.addSubMax()), d.path("mul_div_min").asInt(paper.mulDivMin()),
        d.path("mul_div_max").asInt(paper.mulDivMax()),
        d.path("word_problem_fraction").asDouble(paper.wordProblemFraction()));
  }

  /** Inputs of one bench batch: a row of seq + 1 ids gives seq inputs and seq next-token targets. */
  private NDArray tokens(NDManager m, long[] rows) {
    long[] in = new long[batch * seq];
    for (int b = 0; b < batch; b++) {
      System.arraycopy(rows, b * (seq + 1), in, b * seq, seq);
    }
    return m.create(in, new Shape(batch, seq));
  }

  private Losses.Targets targets(NDManager m, long[] rows) {
    int[] tg = new int[batch * seq];
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < seq; t++) {
        tg[b * seq + t] = (int) rows[b * (seq + 1) + t + 1];
      }
    }
    return Losses.Targets.of(m, tg, batch, seq);
  }

  /** Times distillation steps: teacher logits (no gradient), forward KL of the student, backward, AdamW. */
  private double[] timeSteps(NDManager m, Decoder dec, Params student, Params teacher, AdamW adam,
      long[][] batches) {
    double[] ms = new double[steps];
    for (int s = 0; s < warmup + steps; s++) {
      long t0 = System.nanoTime();
      try (NDScope scope = new NDScope()) {
        NDArray tokens = tokens(m, batches[s]);
        Losses.Targets targets = targets(m, batches[s]);
        NDArray teacherLogits = dec.logits(teacher, tokens);
        try (Autograd gc = Autograd.record()) {
          gc.backward(Losses.forwardKl(teacherLogits, dec.logits(student, tokens), targets));
        }
        adam.clipGradients(student, 1.0);
        adam.step(student, 1e-3);
        adam.zeroGradients(student);
      }
      if (s >= warmup) {
        ms[s - warmup] = (System.nanoTime() - t0) / 1e6;
      }
    }
    return ms;
  }

  /** Median GFLOP/s of the MLP-shaped GEMM through DJL, the ceiling MFU is measured against. */
  private double gemmGflops(NDManager m) {
    ModelConfig cfg = ModelConfig.named(size, vocab, seq);
    int rows = 2048;
    double[] rates = new double[30];
    try (NDScope scope = new NDScope()) {
      NDArray a = m.randomUniform(-1, 1, new Shape(rows, cfg.hiddenSize()));
      NDArray b = m.randomUniform(-1, 1, new Shape(cfg.hiddenSize(), cfg.intermediateSize()));
      for (int i = 0; i < 5; i++) {
        a.matMul(b).close();
      }
      for (int i = 0; i < rates.length; i++) {
        long t0 = System.nanoTime();
        for (int k = 0; k < 10; k++) {
          a.matMul(b).close();
        }
        double s = (System.nanoTime() - t0) / 1e9 / 10;
        rates[i] = 2.0 * rows * cfg.hiddenSize() * cfg.intermediateSize() / s / 1e9;
      }
    }
    return median(rates);
  }

  private Map<String, Object> runPython(ModelConfig cfg, long[][] batches) throws Exception {
    Path file = Files.createTempFile("undo-bench-batches", ".safetensors");
    try (NDManager m = NDManager.newBaseManager()) {
      long[] flat = new long[batches.length * batch * seq];
      long[] tflat = new long[flat.length];
      for (int s = 0; s < batches.length; s++) {
        for (int b = 0; b < batch; b++) {
          for (int t = 0; t < seq; t++) {
            flat[(s * batch + b) * seq + t] = batches[s][b * (seq + 1) + t];
            tflat[(s * batch + b) * seq + t] = batches[s][b * (seq + 1) + t + 1];
          }
        }
      }
      Map<String, NDArray> t = new LinkedHashMap<>();
      t.put("steps.tokens", m.create(flat, new Shape(batches.length, batch, seq)));
      t.put("steps.targets", m.create(tflat, new Shape(batches.length, batch, seq)));
      Safetensors.write(file, t, Map.of());
    }
    Path script = Path.of("scripts/bench_torch.py");
    if (!Files.exists(script)) {
      throw new IllegalArgumentException("--compare needs scripts/bench_torch.py (run from the repository root)");
    }
    List<String> cmd = new ArrayList<>(Arrays.asList(python, script.toString(), "--vocab", "" + vocab, "--hidden",
        "" + cfg.hiddenSize(), "--layers", "" + cfg.numLayers(), "--heads", "" + cfg.numHeads(), "--intermediate",
        "" + cfg.intermediateSize(), "--seq", "" + seq, "--batch", "" + batch, "--steps", "" + steps, "--warmup",
        "" + warmup, "--threads", "" + threads, "--batches", file.toString()));
    Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String lastJson = null;
    try (BufferedReader r = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        if (line.startsWith("{")) {
          lastJson = line;
        }
      }
    }
    int rc = proc.waitFor();
    Files.deleteIfExists(file);
    if (rc != 0 || lastJson == null) {
      throw new IllegalStateException("python bench failed (exit " + rc + "): " + String.join(" ", cmd));
    }
    JsonNode n = Json.LINE.readTree(lastJson);
    @SuppressWarnings("unchecked")
    Map<String, Object> out = Json.LINE.convertValue(n, Map.class);
    return out;
  }

  /**
   * The BLAS vendor scripts/bench_torch.py found loaded in its process ("openblas", "mkl", "blis", "atlas",
   * "reference" or "unknown"). Debian's torch runs whatever libblas.so.3 points to, and with the reference BLAS it
   * is about 20x slower than with OpenBLAS, which would make any ratio meaningless.
   */
  static String blasVendor(Map<String, Object> py) {
    Object b = py.get("blas");
    if (b instanceof Map<?, ?> m && m.get("vendor") != null) {
      return m.get("vendor").toString();
    }
    return "unknown";
  }

  private static String describeBlas(Map<String, Object> py) {
    Object b = py.get("blas");
    if (b instanceof Map<?, ?> m) {
      Object libs = m.get("libraries");
      String list = libs instanceof List<?> l && !l.isEmpty()
          ? l.stream().map(Object::toString).reduce((x, y) -> x + ", " + y).orElse("") : "no BLAS library mapped";
      return blasVendor(py) + " (" + list + "; torch build BLAS_INFO=" + m.get("build") + ")";
    }
    return "unknown (" + b + ")";
  }

  private static double median(double[] v) {
    double[] c = v.clone();
    Arrays.sort(c);
    return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

  private static long peakRssMb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
        }
      }
    } catch (Exception e) {
      // Not Linux: report 0 rather than fail the benchmark.
    }
    return 0;
  }
}
