package dev.undo.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.model.Decoder;
import dev.undo.model.Engines;
import dev.undo.run.Json;
import dev.undo.train.Checkpoint;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code undo export --format hf} and {@code undo import} as a user meets them (issue #16): an export of a pretrained
 * checkpoint imports back to the same logits and the same {@code eval --json}; the exported folder has exactly
 * transformers' Gemma-2 tensor names and config keys; a model from elsewhere needs a setting; unsupported configs
 * are refused in one line naming the key.
 */
class HfCommandsTest {
  /**
   * The keys of a transformers Gemma-2 {@code config.json}: the arguments of {@code Gemma2Config.__init__} in
   * transformers v4.56.2 ({@code src/transformers/models/gemma2/configuration_gemma2.py}; the same list as the
   * documented signature of {@code transformers.Gemma2Config} at v4.56.2), plus {@code model_type},
   * {@code architectures} and {@code torch_dtype} from {@code PretrainedConfig}.
   */
  static final List<String> GEMMA2_CONFIG_KEYS = List.of(
      "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
      "num_key_value_heads", "head_dim", "hidden_activation", "max_position_embeddings", "initializer_range",
      "rms_norm_eps", "use_cache", "pad_token_id", "eos_token_id", "bos_token_id", "tie_word_embeddings",
      "rope_theta", "attention_bias", "attention_dropout", "query_pre_attn_scalar", "sliding_window", "layer_types",
      "final_logit_softcapping", "attn_logit_softcapping",
      "model_type", "architectures", "torch_dtype");

  /**
   * {@code Gemma2ForCausalLM.state_dict()} names as {@code save_pretrained} writes them for a tied model (transformers
   * v4.56.2 {@code modeling_gemma2.py}: {@code Gemma2Model} under {@code model.}, {@code Gemma2DecoderLayer} modules
   * {@code self_attn.{q,k,v,o}_proj}, {@code mlp.{gate,up,down}_proj} and four norms; {@code lm_head.weight} is left
   * out because it is tied to {@code model.embed_tokens.weight}).
   */
  static List<String> gemma2TensorNames(int layers) {
    List<String> n = new ArrayList<>();
    n.add("model.embed_tokens.weight");
    n.add("model.norm.weight");
    for (int i = 0; i < layers; i++) {
      for (String s : List.of("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
          "post_feedforward_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
          "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")) {
        n.add("model.layers." + i + "." + s + ".weight");
      }
    }
    return n;
  }

  @TempDir
  static Path tmp;

  static Path base;
  static Path hf;
  static Path imported;

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      int code = Main.execute(args);
      return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  static void ok(Run r) {
    assertEquals(0, r.code(), r.err());
  }

  @BeforeAll
  static void pretrainExportImport() {
    base = tmp.resolve("base");
    hf = tmp.resolve("hf");
    imported = tmp.resolve("imported");
    ok(run("pretrain", "--setting", "arithmetic", "--preset", "micro", "--set", "pretrain.steps=4", "-q",
        "--threads", "1", "--out", base.toString()));
    ok(run("export", "--model", base.toString(), "--format", "hf", "--out", hf.toString(), "--threads", "1"));
    ok(run("import", "--from", hf.toString(), "--out", imported.toString(), "--threads", "1"));
  }

  @Test
  void exportAndImportHaveHelp() {
    for (String c : List.of("export", "import")) {
      Run r = run(c, "--help");
      assertEquals(0, r.code(), c);
      assertTrue(r.out().contains("Usage: undo " + c), c + ": " + r.out());
    }
    Run r = run("export", "--model", base.toString(), "--format", "onnx", "--out", tmp.resolve("x").toString());
    assertEquals(2, r.code());
    assertOneLine(r.err(), "--format");
  }

  @Test
  void roundTripGivesTheSameLogitsAndTheSameEvalJson() {
    String evalBase = evalJson(base);
    assertEquals(evalBase, evalJson(imported), "eval --json of the imported checkpoint");
    assertEquals(evalBase, evalJson(hf), "eval --json of the exported folder itself (--model H)");
    Engines.start(1);
    try (NDManager m = NDManager.newBaseManager(); Checkpoint.Loaded a = Checkpoint.load(base, m);
        Checkpoint.Loaded b = Checkpoint.load(imported, m); Checkpoint.Loaded c = Checkpoint.load(hf, m);
        Decoder d = new Decoder(a.config(), m); NDScope scope = new NDScope()) {
      assertEquals(a.config(), b.config());
      assertEquals(a.tokenizer(), b.tokenizer());
      assertEquals(a.tokenizer().sha256(), b.tokenizer().sha256());
      int t = a.config().maxSeqLen();
      long[] ids = new long[2 * t];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = (i * 7919L + 13) % a.config().vocabSize();
      }
      NDArray tokens = m.create(ids, new Shape(2, t));
      float[] la = d.logits(a.params(), tokens).toFloatArray();
      for (Checkpoint.Loaded other : List.of(b, c)) {
        float[] lb = d.logits(other.params(), tokens).toFloatArray();
        double max = 0;
        for (int i = 0; i < la.length; i++) {
          max = Math.max(max, Math.abs(la[i] - lb[i]));
        }
        System.out.printf("hf round trip (%s): max |logit difference| = %.3e%n", other.dir().getFileName(), max);
        assertTrue(max <= 1e-6, "round-trip logits differ by " + max);
      }
    }
  }

  private static String evalJson(Path model, String... extra) {
    List<String> args = new ArrayList<>(List.of("eval", "--model", model.toString(), "--json", "--threads", "1"));
    args.addAll(List.of(extra));
    Run r = run(args.toArray(String[]::new));
    ok(r);
    return r.out();
  }

  @Test
  void exportedFolderHasTransformersGemma2NamesAndKeys() throws Exception {
    JsonNode config = Json.MAPPER.readTree(hf.resolve("config.json").toFile());
    assertEquals(new TreeSet<>(GEMMA2_CONFIG_KEYS), fieldNames(config), "config.json keys");
    assertEquals("gemma2", config.get("model_type").asText());
    assertEquals("Gemma2ForCausalLM", config.get("architectures").get(0).asText());

    byte[] st = Files.readAllBytes(hf.resolve("model.safetensors"));
    long n = ByteBuffer.wrap(st).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    JsonNode header = Json.MAPPER.readTree(new String(st, 8, (int) n, StandardCharsets.UTF_8));
    TreeSet<String> names = fieldNames(header);
    assertTrue(names.remove("__metadata__"));
    assertEquals("pt", header.get("__metadata__").get("format").asText(), "transformers requires format=pt");
    assertEquals(new TreeSet<>(gemma2TensorNames(config.get("num_hidden_layers").asInt())), names, "tensor names");
    header.fields().forEachRemaining(e -> {
      if (!e.getKey().equals("__metadata__")) {
        assertEquals("F32", e.getValue().get("dtype").asText(), e.getKey());
      }
    });

    for (String f : List.of("generation_config.json", "tokenizer.json", "tokenizer_config.json",
        "special_tokens_map.json", "undo.json")) {
      assertTrue(Files.isRegularFile(hf.resolve(f)), f);
    }
    JsonNode gen = Json.MAPPER.readTree(hf.resolve("generation_config.json").toFile());
    assertEquals(config.get("eos_token_id"), gen.get("eos_token_id"));
    assertEquals(0, gen.get("pad_token_id").asInt());
  }

  private static TreeSet<String> fieldNames(JsonNode n) {
    TreeSet<String> s = new TreeSet<>();
    n.fieldNames().forEachRemaining(s::add);
    return s;
  }

  @Test
  void aModelFromElsewhereNeedsASetting() throws Exception {
    Path foreign = copy(hf, "foreign");
    Files.delete(foreign.resolve("undo.json")); // now it is like any Gemma-2 folder from the Hub
    Run r = run("eval", "--model", foreign.toString(), "--json", "--threads", "1");
    assertEquals(2, r.code(), r.err());
    assertOneLine(r.err(), "--setting");
    r = run("unlearn", "--method", "graddiff", "--model", foreign.toString(), "--out", tmp.resolve("u").toString(),
        "--preset", "micro", "-q", "--threads", "1");
    assertEquals(2, r.code(), r.err());
    assertOneLine(r.err(), "undo import");

    // eval --setting on the folder itself; import --setting makes a checkpoint every stage can start from.
    ok(run("eval", "--model", foreign.toString(), "--setting", "arithmetic", "--preset", "micro", "--json",
        "--threads", "1"));
    Path imp = tmp.resolve("foreign-imported");
    Run i = run("import", "--from", foreign.toString(), "--out", imp.toString(), "--setting", "arithmetic",
        "--preset", "micro", "--threads", "1");
    ok(i);
    JsonNode prov = Json.MAPPER.readTree(imp.resolve("provenance.json").toFile());
    assertEquals("import", prov.get("stage").asText());
    assertEquals("arithmetic", prov.get("task").get("setting").asText());
    assertTrue(prov.get("task").get("data").isObject());
    assertTrue(prov.get("parents").has("source"));
    String evalImported = evalJson(imp);
    assertTrue(Json.LINE.readTree(evalImported).get("metrics").has("retain_acc"), evalImported);
  }

  @Test
  void unsupportedConfigsAreRefusedInOneLineNamingTheKey() throws Exception {
    refused("num_key_value_heads", c -> c.put("num_key_value_heads", 1));
    refused("head_dim", c -> c.put("head_dim", 8));
    refused("hidden_activation", c -> c.put("hidden_activation", "gelu_pytorch_tanh"));
    refused("hidden_activation", c -> c.remove("hidden_activation")); // absent: Gemma-2's default, tanh GELU
    refused("query_pre_attn_scalar", c -> c.put("query_pre_attn_scalar", 256));
    refused("final_logit_softcapping", c -> c.put("final_logit_softcapping", 30.0));
    refused("attn_logit_softcapping", c -> c.remove("attn_logit_softcapping")); // absent: default 50
    refused("sliding_window", c -> {
      c.put("sliding_window", 4);
      c.putArray("layer_types").add("sliding_attention").add("full_attention");
    });
    refused("sliding_window", c -> {
      c.put("sliding_window", 4);
      c.remove("layer_types"); // Gemma-2's default alternation
    });
    refused("attention_bias", c -> c.put("attention_bias", true));
    refused("tie_word_embeddings", c -> c.put("tie_word_embeddings", false));
    refused("model_type", c -> c.put("model_type", "gemma"));
    refused("rope_scaling", c -> c.putObject("rope_scaling").put("rope_type", "linear").put("factor", 2.0));
    refused("quantization_config", c -> c.putObject("quantization_config").put("quant_method", "bitsandbytes"));
    refused("torch_dtype", c -> c.put("torch_dtype", "int8"));
    refused("vocab_size", c -> c.put("vocab_size", c.get("vocab_size").asInt() + 1));
  }

  @Test
  void unsupportedTokenizersAndHeadsAreRefused() throws Exception {
    refusedFile("merges", "tokenizer.json", t -> ((ObjectNode) t.get("model")).withArray("merges").add("1 2"));
    refusedFile("pre_tokenizer", "tokenizer.json", t -> t.putObject("pre_tokenizer").put("type", "Whitespace"));
    refusedFile("added token", "tokenizer.json", t -> t.withArray("added_tokens").addObject().put("id", 5)
        .put("content", "<bos>").put("special", true));
    // An lm_head.weight that is not the embedding: an untied head.
    Path d = copy(hf, "untied");
    appendTensor(d.resolve("model.safetensors"), "lm_head.weight");
    Run r = run("import", "--from", d.toString(), "--out", tmp.resolve("untied-out").toString(), "--threads", "1");
    assertEquals(2, r.code(), r.err());
    assertOneLine(r.err(), "lm_head.weight");
  }

  private static void refused(String key, Consumer<ObjectNode> edit) throws Exception {
    refusedFile(key, "config.json", edit);
  }

  private static int copies;

  private static void refusedFile(String expected, String file, Consumer<ObjectNode> edit) throws Exception {
    Path d = copy(hf, "bad" + copies++);
    ObjectNode n = (ObjectNode) Json.MAPPER.readTree(d.resolve(file).toFile());
    edit.accept(n);
    Json.writeAtomic(d.resolve(file), n);
    Run r = run("import", "--from", d.toString(), "--out", d.resolveSibling(d.getFileName() + "-out").toString(),
        "--threads", "1");
    assertEquals(2, r.code(), expected + ": " + r.err() + r.out());
    assertOneLine(r.err(), expected);
    assertFalse(Files.exists(d.resolveSibling(d.getFileName() + "-out")), "nothing written when refused");
  }

  private static void assertOneLine(String err, String mustContain) {
    List<String> lines = err.strip().lines().filter(l -> !l.isBlank()).toList();
    assertEquals(1, lines.size(), "expected one error line, got: " + err);
    assertTrue(lines.get(0).contains(mustContain), "error should name '" + mustContain + "': " + lines.get(0));
  }

  private static Path copy(Path from, String name) throws Exception {
    Path to = tmp.resolve(name);
    Files.createDirectories(to);
    try (Stream<Path> s = Files.list(from)) {
      for (Path f : (Iterable<Path>) s::iterator) {
        Files.copy(f, to.resolve(f.getFileName()));
      }
    }
    return to;
  }

  /** Rewrites a safetensors file with one more F32 tensor: a copy of the embedding with its first value changed. */
  private static void appendTensor(Path file, String name) throws Exception {
    byte[] st = Files.readAllBytes(file);
    long n = ByteBuffer.wrap(st).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    ObjectNode header = (ObjectNode) Json.MAPPER.readTree(new String(st, 8, (int) n, StandardCharsets.UTF_8));
    JsonNode embed = header.get("model.embed_tokens.weight");
    long begin = embed.get("data_offsets").get(0).asLong();
    long end = embed.get("data_offsets").get(1).asLong();
    long dataLen = st.length - 8 - n;
    byte[] copy = java.util.Arrays.copyOfRange(st, (int) (8 + n + begin), (int) (8 + n + end));
    copy[3] ^= 0x40; // flips a high bit of the first float
    ObjectNode t = header.putObject(name);
    t.put("dtype", "F32");
    t.set("shape", embed.get("shape"));
    t.putArray("data_offsets").add(dataLen).add(dataLen + copy.length);
    byte[] h = Json.LINE.writeValueAsBytes(header);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
    out.write(h);
    out.write(st, (int) (8 + n), (int) dataLen);
    out.write(copy);
    Files.write(file, out.toByteArray());
  }
}
