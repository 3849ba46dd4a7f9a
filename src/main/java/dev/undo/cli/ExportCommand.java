package dev.undo.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.hf.HfFolder;
import dev.undo.model.Engines;
import dev.undo.run.Json;
import dev.undo.train.Checkpoint;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "export", mixinStandardHelpOptions = true,
    description = {"Write a checkpoint in another layout.",
        "--format hf: a folder that transformers' from_pretrained and AutoTokenizer load (Gemma2ForCausalLM): "
            + "model.safetensors, config.json, generation_config.json, tokenizer.json, tokenizer_config.json, "
            + "special_tokens_map.json, plus undo.json (our provenance; ignored by transformers). "
            + "docs/MODEL.md lists the mapping."})
final class ExportCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Checkpoint or stage folder.")
  Path model;

  @Option(names = "--format", defaultValue = "hf", paramLabel = "hf",
      description = "Output layout; only hf (Hugging Face transformers, Gemma-2) (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder to write (replaced).")
  Path out;

  @Option(names = "--threads", paramLabel = "N", description = "Intra-op threads (default: all cores).")
  Integer threads;

  @Override
  public Integer call() {
    if (!format.equals("hf")) {
      throw new IllegalArgumentException("--format " + format + ": only hf is supported");
    }
    Engines.start(threads == null ? 0 : threads);
    try (NDManager m = NDManager.newBaseManager(); Checkpoint.Loaded ck = Checkpoint.load(model, m)) {
      HfFolder.export(out, ck.config(), ck.params(), ck.tokenizer(), ck.provenance());
      ObjectNode rec = Json.MAPPER.createObjectNode();
      rec.put("out", out.toString());
      rec.put("format", "hf");
      rec.put("model_type", "gemma2");
      rec.put("tensors", ck.params().names().size());
      rec.put("vocab_size", ck.config().vocabSize());
      System.out.println(rec.toPrettyString());
    }
    return 0;
  }
}
