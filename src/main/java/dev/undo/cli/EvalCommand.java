package dev.undo.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.Corpus;
import dev.undo.data.Tokenizer;
import dev.undo.eval.Evaluator;
import dev.undo.model.Decoder;
import dev.undo.model.Engines;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.run.ConfigLoader;
import dev.undo.run.SourceModel;
import dev.undo.run.TaskSpec;
import dev.undo.task.Tasks;
import dev.undo.train.Checkpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "eval", mixinStandardHelpOptions = true,
    description = {"Evaluate a checkpoint.",
        "Default: the metrics of the model's setting (arithmetic: accuracy per operation × equation/word problem, "
            + "retain and forget means, English CE; language and text: CE of the retain and forget corpora).",
        "--prompts scores {\"prompt\",\"answer\"} JSONL lines by greedy exact match; --text gives the CE of a "
            + "UTF-8 file (one document per line).",
        "The default mode reads the corpora named in the checkpoint's provenance: embedded corpus names always, "
            + "corpus files only under a --data-dir you give (a checkpoint from elsewhere must not make eval read "
            + "arbitrary files)."})
final class EvalCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Checkpoint or stage folder.")
  Path model;

  @Option(names = "--json", description = "Print one JSON object (stable keys) instead of a table.")
  boolean json;

  @Option(names = "--prompts", paramLabel = "FILE.jsonl", description = "Score these prompt/answer pairs.")
  Path prompts;

  @Option(names = "--text", paramLabel = "FILE", description = "Cross-entropy of this text file.")
  Path text;

  @Option(names = "--threads", paramLabel = "N", description = "Intra-op threads (default and 0: all cores).")
  Integer threads;

  @Option(names = "--setting", paramLabel = "arithmetic|language|text",
      description = "Setting to evaluate a model whose provenance names none (e.g. imported from Hugging Face).")
  String setting;

  @Option(names = "--preset", defaultValue = "quick", paramLabel = "NAME|FILE",
      description = "Experiment configuration that goes with --setting (default: ${DEFAULT-VALUE}).")
  String preset;

  @Option(names = "--batch-size", defaultValue = "100", paramLabel = "N", description = "Eval batch size (1-4096).")
  int batchSize;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Allow corpus files under DIR named by the checkpoint's provenance (repeatable).")
  List<Path> dataDirs = new ArrayList<>();

  /** Largest --batch-size: as for the batch_size config keys (ConfigLoader.LIMITS). */
  static final int MAX_BATCH = 4096;

  @Override
  public Integer call() throws IOException {
    ConfigLoader.checkRange("--batch-size", batchSize, 1, MAX_BATCH);
    if (threads != null) {
      ConfigLoader.checkRange("--threads", threads, 0, 1024);
    }
    if (prompts != null && text != null) {
      throw new IllegalArgumentException("use one of --prompts and --text, not both");
    }
    Engines.start(threads == null ? 0 : threads);
    ObjectNode out = Json.MAPPER.createObjectNode();
    try (NDManager m = NDManager.newBaseManager(); Checkpoint.Loaded ck = Checkpoint.load(model, m);
        Decoder dec = new Decoder(ck.config(), m)) {
      Evaluator ev = new Evaluator(dec, ck.tokenizer(), m, batchSize);
      Map<String, Double> metrics = new LinkedHashMap<>();
      if (prompts != null) {
        List<String> ps = new ArrayList<>();
        List<String> as = new ArrayList<>();
        readPrompts(prompts, ck.tokenizer(), ck.config().maxSeqLen(), ps, as);
        metrics.put("acc", ev.accuracy(ck.params(), ps, as));
        metrics.put("n", (double) ps.size());
      } else if (text != null) {
        Corpus c = Corpus.load(text);
        Evaluator.Ce ce = ev.crossEntropy(ck.params(),
            Evaluator.windows(ck.tokenizer(), c.documents(), seqLen(ck), Integer.MAX_VALUE));
        metrics.put("ce", ce.ce());
        metrics.put("tokens", (double) ce.tokens());
      } else {
        boolean known = ck.provenance().has("task") || ck.provenance().has("config");
        TaskSpec task;
        ExperimentConfig.EvalSpec spec = SourceModel.evalSpec(ck.provenance());
        if (known) {
          task = SourceModel.task(ck.dir(), ck.provenance());
          if (setting != null && !setting.equals(task.setting())) {
            throw new IllegalArgumentException("--setting " + setting + ": " + model + " was made under setting "
                + task.setting());
          }
        } else if (setting != null) {
          ExperimentConfig.Setting s = ExperimentConfig.from(ConfigLoader.resolve(preset, Map.of())).setting(setting);
          task = new TaskSpec(setting, s.data(), s.pretrain().seqLen());
          spec = s.eval();
        } else {
          throw new IllegalArgumentException(model + " names no setting in its provenance (a model imported from "
              + "Hugging Face has none): pass --setting arithmetic|language|text, or use --prompts or --text");
        }
        if (spec == null) {
          spec = ExperimentConfig.from(ConfigLoader.resolve(preset, Map.of())).setting(task.setting()).eval();
        }
        // Corpus paths come from the checkpoint: follow only embedded names or files under --data-dir.
        for (java.util.Iterator<String> it = task.data().fieldNames(); it.hasNext(); ) {
          String key = it.next();
          if (key.endsWith("_corpus") && task.data().get(key).isTextual()) {
            requireAllowedCorpus(ck.dir(), task.data().get(key).asText(), dataDirs);
          }
        }
        metrics.putAll(Tasks.of(task.setting(), task.data()).evaluation(spec, ck.tokenizer(), seqLen(ck))
            .evaluate(ev, ck.params()));
        out.put("setting", task.setting());
      }
      ObjectNode mm = out.putObject("metrics");
      metrics.forEach((k, v) -> {
        if (k.equals("tokens") || k.equals("n")) {
          mm.put(k, v.longValue());
        } else {
          mm.put(k, v);
        }
      });
    }
    if (json) {
      System.out.println(Json.LINE.writeValueAsString(out));
    } else {
      if (out.has("setting")) {
        System.out.println("setting: " + out.get("setting").asText());
      }
      out.get("metrics").fields().forEachRemaining(e ->
          System.out.printf("%-32s %s%n", e.getKey(), e.getValue().asText()));
    }
    return 0;
  }

  private static int seqLen(Checkpoint.Loaded ck) {
    int t = ck.provenance().has("task") || ck.provenance().has("config")
        ? SourceModel.task(ck.dir(), ck.provenance()).seqLen() : 0;
    return t > 0 ? Math.min(t, ck.config().maxSeqLen()) : ck.config().maxSeqLen();
  }

  /**
   * Reads {@code --prompts}: one JSON object per line with a non-empty string {@code "prompt"} and a string
   * {@code "answer"} (other fields are ignored; blank lines are skipped). Each prompt plus its answer, plus the one
   * token the scorer generates beyond the answer, must fit in the model's context of {@code context} tokens, or the
   * prompt would be cropped and scored on text the model never saw. Every violation is one line naming the file
   * and line number.
   */
  static void readPrompts(Path file, Tokenizer tok, int context, List<String> ps, List<String> as)
      throws IOException {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + ": " + Json.describe(e));
    }
    int lineNo = 0;
    for (String line : lines) {
      lineNo++;
      if (line.isBlank()) {
        continue;
      }
      String where = file + ":" + lineNo + ": ";
      JsonNode n;
      try {
        n = Json.LINE.readTree(line);
      } catch (IOException e) {
        throw new IllegalArgumentException(where + "not valid JSON: " + Json.describe(e).replaceAll(" \\(line 1, ", " ("));
      }
      if (n == null || !n.isObject()) {
        throw new IllegalArgumentException(where + "expected a JSON object with string fields \"prompt\" and "
            + "\"answer\"");
      }
      String prompt = stringField(n, "prompt", where);
      String answer = stringField(n, "answer", where);
      if (prompt.isEmpty()) {
        throw new IllegalArgumentException(where + "\"prompt\" is empty");
      }
      int need = tok.encode(prompt).length + tok.encode(answer).length + 1;
      if (need > context) {
        throw new IllegalArgumentException(where + "prompt and answer take " + (need - 1) + " tokens (+1 the scorer "
            + "generates past the answer), more than the model's context of " + context + " tokens");
      }
      ps.add(prompt);
      as.add(answer);
    }
    if (ps.isEmpty()) {
      throw new IllegalArgumentException(file + ": no prompts");
    }
  }

  private static String stringField(JsonNode n, String name, String where) {
    JsonNode v = n.get(name);
    if (v == null || v.isNull()) {
      throw new IllegalArgumentException(where + "missing string field \"" + name + "\"");
    }
    if (!v.isTextual()) {
      throw new IllegalArgumentException(where + "\"" + name + "\" must be a string, not " + kind(v) + " " + v);
    }
    return v.asText();
  }

  private static String kind(JsonNode v) {
    return v.isNumber() ? "a number" : v.isBoolean() ? "a boolean" : v.isArray() ? "an array"
        : v.isObject() ? "an object" : v.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
  }

  /**
   * The provenance rule: a corpus the checkpoint's provenance names is read only if it is an embedded corpus name
   * or a file under one of the {@code --data-dir} folders the user gave (symbolic links resolved). A checkpoint is
   * data that may come from anyone; without this rule evaluating it would read whatever file its provenance names.
   */
  static void requireAllowedCorpus(Path checkpoint, String nameOrPath, List<Path> allowed) throws IOException {
    Path p = Path.of(nameOrPath);
    if (!Files.isRegularFile(p)) {
      return; // an embedded corpus name (task/Corpora reads a file only when one exists at the path)
    }
    String f = p.getFileName().toString();
    int dot = f.lastIndexOf('.');
    Path val = dot > 0 ? p.resolveSibling(f.substring(0, dot) + ".val" + f.substring(dot)) : null;
    for (Path file : val != null && Files.exists(val) ? List.of(p, val) : List.of(p)) {
      Path real = file.toRealPath();
      boolean ok = false;
      for (Path dir : allowed) {
        ok |= Files.isDirectory(dir) && real.startsWith(dir.toRealPath());
      }
      if (!ok) {
        throw new IllegalArgumentException(checkpoint + "/provenance.json names the corpus file " + real
            + "; eval reads corpus files only under a --data-dir you give (add --data-dir " + real.getParent()
            + " if you trust it, or use --text)");
      }
    }
  }
}
