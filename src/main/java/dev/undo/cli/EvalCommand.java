package dev.undo.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.Corpus;
import dev.undo.eval.EvalSuite;
import dev.undo.eval.Evaluator;
import dev.undo.model.Decoder;
import dev.undo.model.Engines;
import dev.undo.run.ConfigLoader;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.Json;
import dev.undo.run.SettingData;
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
        "Default: the setting's metrics (arithmetic: accuracy per operation × equation/word problem, retain_acc, "
            + "forget_acc, eng_ce; language: eng_ce, kor_ce).",
        "--prompts scores {\"prompt\",\"answer\"} JSONL lines by greedy exact match; --text gives the CE of a "
            + "UTF-8 file (one document per line)."})
final class EvalCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Checkpoint or stage folder.")
  Path model;

  @Option(names = "--json", description = "Print one JSON object (stable keys) instead of a table.")
  boolean json;

  @Option(names = "--prompts", paramLabel = "FILE.jsonl", description = "Score these prompt/answer pairs.")
  Path prompts;

  @Option(names = "--text", paramLabel = "FILE", description = "Cross-entropy of this text file.")
  Path text;

  @Option(names = "--threads", paramLabel = "N", description = "Intra-op threads (default: all cores).")
  Integer threads;

  @Option(names = "--setting", paramLabel = "arithmetic|language",
      description = "Setting to evaluate a model whose provenance names none (e.g. imported from Hugging Face).")
  String setting;

  @Option(names = "--preset", defaultValue = "quick", paramLabel = "NAME|FILE",
      description = "Experiment configuration that goes with --setting (default: ${DEFAULT-VALUE}).")
  String preset;

  @Option(names = "--batch-size", defaultValue = "100", paramLabel = "N", description = "Eval batch size.")
  int batchSize;

  @Override
  public Integer call() throws IOException {
    Engines.start(threads == null ? 0 : threads);
    ObjectNode out = Json.MAPPER.createObjectNode();
    try (NDManager m = NDManager.newBaseManager(); Checkpoint.Loaded ck = Checkpoint.load(model, m);
        Decoder dec = new Decoder(ck.config(), m)) {
      Evaluator ev = new Evaluator(dec, ck.tokenizer(), m, batchSize);
      Map<String, Double> metrics = new LinkedHashMap<>();
      if (prompts != null) {
        List<String> ps = new ArrayList<>();
        List<String> as = new ArrayList<>();
        readPrompts(prompts, ps, as);
        metrics.put("acc", ev.accuracy(ck.params(), ps, as));
        metrics.put("n", (double) ps.size());
      } else if (text != null) {
        Corpus c = Corpus.load(text);
        Evaluator.Ce ce = ev.crossEntropy(ck.params(),
            Evaluator.windows(ck.tokenizer(), c.documents(), seqLen(ck), Integer.MAX_VALUE));
        metrics.put("ce", ce.ce());
        metrics.put("tokens", (double) ce.tokens());
      } else {
        JsonNode stageCfg = ck.provenance().path("config");
        String setting = stageCfg.path("setting").asText("");
        ObjectNode experiment;
        if (!setting.isEmpty() && stageCfg.has("experiment")) {
          if (this.setting != null && !this.setting.equals(setting)) {
            throw new IllegalArgumentException("--setting " + this.setting + ": " + model + " was made under setting "
                + setting);
          }
          experiment = (ObjectNode) stageCfg.get("experiment").deepCopy();
        } else if (this.setting != null) {
          setting = this.setting;
          experiment = ConfigLoader.resolve(preset, Map.of());
        } else {
          throw new IllegalArgumentException(model + " names no setting in its provenance (a model imported from "
              + "Hugging Face has none): pass --setting arithmetic|language, or use --prompts or --text");
        }
        ExperimentConfig cfg = ExperimentConfig.from(experiment);
        ExperimentConfig.Setting s = cfg.setting(setting);
        SettingData data = SettingData.load(setting, s.data());
        EvalSuite suite = new EvalSuite(data, s.eval(), ck.tokenizer(), seqLen(ck, experiment, setting));
        metrics.putAll(suite.evaluate(ev, ck.params()));
        out.put("setting", setting);
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
    return seqLen(ck, ck.provenance().path("config").path("experiment"),
        ck.provenance().path("config").path("setting").asText(""));
  }

  private static int seqLen(Checkpoint.Loaded ck, JsonNode exp, String setting) {
    int t = exp.path(setting).path("pretrain").path("seq_len").asInt(0);
    return t > 0 ? Math.min(t, ck.config().maxSeqLen()) : ck.config().maxSeqLen();
  }

  static void readPrompts(Path file, List<String> ps, List<String> as) throws IOException {
    int lineNo = 0;
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      lineNo++;
      if (line.isBlank()) {
        continue;
      }
      JsonNode n;
      try {
        n = Json.LINE.readTree(line);
      } catch (IOException e) {
        throw new IllegalArgumentException(file + ":" + lineNo + ": not valid JSON");
      }
      if (!n.hasNonNull("prompt") || !n.hasNonNull("answer")) {
        throw new IllegalArgumentException(file + ":" + lineNo + ": needs string fields \"prompt\" and \"answer\"");
      }
      ps.add(n.get("prompt").asText());
      as.add(n.get("answer").asText());
    }
    if (ps.isEmpty()) {
      throw new IllegalArgumentException(file + ": no prompts");
    }
  }
}
