package dev.undo.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.undo.run.Json;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI as a user meets it: --help everywhere, JSON that scripts rely on, one-line errors with exit code 2. */
class CliTest {
  @TempDir
  static Path tmp;

  static Path model;

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

  @BeforeAll
  static void pretrain() {
    model = tmp.resolve("base");
    Run r = run("pretrain", "--setting", "arithmetic", "--preset", "micro", "--set", "pretrain.steps=4", "-q",
        "--threads", "1", "--out", model.toString());
    assertEquals(0, r.code(), r.err());
  }

  @Test
  void everyCommandHasHelp() {
    for (String c : List.of("pretrain", "eval", "unlearn", "distill", "robustify", "relearn", "probe", "reproduce",
        "report", "bench")) {
      Run r = run(c, "--help");
      assertEquals(0, r.code(), c);
      assertTrue(r.out().contains("Usage: undo " + c), c + ": " + r.out());
    }
  }

  @Test
  void evalJsonHasTheDocumentedKeys() throws Exception {
    Run r = run("eval", "--model", model.toString(), "--json", "--threads", "1");
    assertEquals(0, r.code(), r.err());
    JsonNode n = Json.LINE.readTree(r.out().strip());
    assertEquals("arithmetic", n.get("setting").asText());
    JsonNode m = n.get("metrics");
    for (String op : List.of("addition", "subtraction", "multiplication", "division")) {
      assertTrue(m.has(op + "_equation_acc") && m.has(op + "_word_problem_acc"), op);
    }
    for (String k : List.of("retain_acc", "forget_acc", "eng_ce")) {
      assertTrue(m.get(k).isNumber(), k);
    }
  }

  /** The model's first whitespace-separated token after each prompt, by the uncached reference decoder. */
  static List<String> referenceAnswers(List<String> prompts, int maxNew) {
    dev.undo.model.Engines.start(1);
    try (ai.djl.ndarray.NDManager m = dev.undo.model.Engines.newManager();
        dev.undo.train.Checkpoint.Loaded ck = dev.undo.train.Checkpoint.load(model, m);
        dev.undo.model.Decoder dec = new dev.undo.model.Decoder(ck.config(), m)) {
      dev.undo.eval.Evaluator ev = new dev.undo.eval.Evaluator(dec, ck.tokenizer(), m, 16);
      List<String> out = new java.util.ArrayList<>();
      for (String g : ev.greedyNoCache(ck.params(), prompts, maxNew)) {
        String s = g.strip();
        out.add(s.split("\\s+", 2)[0]);
      }
      return out;
    }
  }

  /** Mean next-token CE of a text, documents joined by newlines, from the full forward pass, on the host. */
  static double[] referenceCe(String text) {
    try (ai.djl.ndarray.NDManager m = dev.undo.model.Engines.newManager();
        dev.undo.train.Checkpoint.Loaded ck = dev.undo.train.Checkpoint.load(model, m);
        dev.undo.model.Decoder dec = new dev.undo.model.Decoder(ck.config(), m)) {
      int[] ids = ck.tokenizer().encode(text);
      long[] in = new long[ids.length - 1];
      for (int i = 0; i < in.length; i++) {
        in[i] = ids[i];
      }
      float[] logits = dec.logits(ck.params(), m.create(in, new ai.djl.ndarray.types.Shape(1, in.length)))
          .toFloatArray();
      int v = ck.config().vocabSize();
      double sum = 0;
      for (int t = 0; t < in.length; t++) {
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < v; k++) {
          max = Math.max(max, logits[t * v + k]);
        }
        double z = 0;
        for (int k = 0; k < v; k++) {
          z += Math.exp(logits[t * v + k] - max);
        }
        sum += max + Math.log(z) - logits[t * v + ids[t + 1]];
      }
      return new double[] {sum / in.length, in.length};
    }
  }

  @Test
  void evalPromptsAndText() throws Exception {
    // A 4-step model mostly continues with whitespace (an empty answer). Find a one-letter prompt after which the
    // reference decoder produces a short token: scoring that token as the answer must count as right, and the
    // same prompt with another answer as wrong, together with a prompt the model answers with whitespace.
    List<String> letters = "abcdefghijklmnopqrstuvwxyz".chars().mapToObj(c -> String.valueOf((char) c)).toList();
    List<String> answers = referenceAnswers(letters, 6);
    int k = 0;
    while (k < letters.size() && (answers.get(k).isEmpty() || answers.get(k).length() > 4)) {
      k++;
    }
    assertTrue(k < letters.size(), "no letter makes the model produce a short token: " + answers);
    String prompt = letters.get(k);
    String own = answers.get(k);
    assertEquals("", referenceAnswers(List.of("2 + 2 = "), 6).get(0), "the model answers 2 + 2 with whitespace");
    Path file = tmp.resolve("p.jsonl");
    Files.writeString(file, "{\"prompt\": \"" + prompt + "\", \"answer\": " + Json.LINE.writeValueAsString(own)
        + "}\n{\"prompt\": \"" + prompt + "\", \"answer\": " + Json.LINE.writeValueAsString(own + "x")
        + "}\n{\"prompt\": \"2 + 2 = \", \"answer\": \"4\"}\n");
    Run r = run("eval", "--model", model.toString(), "--prompts", file.toString(), "--json");
    assertEquals(0, r.code(), r.err());
    JsonNode pm = Json.LINE.readTree(r.out().strip()).get("metrics");
    assertEquals(1.0 / 3, pm.get("acc").asDouble(), 1e-12, prompt + " -> " + own + ": " + r.out());
    assertEquals(3, pm.get("n").asDouble());
    Path text = tmp.resolve("t.txt");
    Files.writeString(text, "Hello world.\nAnother line.\n");
    r = run("eval", "--model", model.toString(), "--text", text.toString(), "--json");
    assertEquals(0, r.code(), r.err());
    JsonNode m = Json.LINE.readTree(r.out().strip()).get("metrics");
    // Two documents, each followed by a newline: 27 tokens, one window shorter than the 32-token context, so 26
    // next-token predictions, which the reference scores from one forward pass.
    double[] ref = referenceCe("Hello world.\nAnother line.\n");
    assertEquals(26, ref[1]);
    assertEquals(ref[1], m.get("tokens").asDouble(), r.out());
    assertEquals(ref[0], m.get("ce").asDouble(), 1e-4, r.out());
  }

  @Test
  void badInputGivesOneLineNamingTheProblem() throws Exception {
    Run r = run("pretrain", "--setting", "arithmetic", "--set", "pretrain.lrr=1", "--out", tmp.resolve("x").toString());
    assertEquals(2, r.code());
    assertTrue(r.err().contains("arithmetic.pretrain.lrr") && r.err().strip().lines().count() == 1, r.err());
    Path bad = tmp.resolve("bad.jsonl");
    Files.writeString(bad, "{\"prompt\": \"1 + 1 = \", \"answer\": \"2\"}\nnot json\n");
    r = run("eval", "--model", model.toString(), "--prompts", bad.toString());
    assertEquals(2, r.code());
    assertTrue(r.err().contains("bad.jsonl:2"), r.err());
    r = run("eval", "--model", tmp.resolve("nowhere").toString());
    assertEquals(2, r.code());
    assertTrue(r.err().contains("no checkpoint"), r.err());
    r = run("unlearn", "--method", "maxent", "--model", model.toString(), "--set", "unlearn.graddiff.retain_weight=3",
        "--out", tmp.resolve("u").toString());
    assertEquals(2, r.code());
    assertTrue(r.err().contains("graddiff"), r.err());
  }

  static void assertOneLineError(Run r, String expected) {
    assertEquals(2, r.code(), r.err());
    assertEquals(expected + "\n", r.err());
  }

  @Test
  void numericOptionsAreValidatedInOneLine() {
    assertOneLineError(run("eval", "--model", model.toString(), "--batch-size", "0"),
        "undo eval: error: --batch-size: 0 is below the minimum 1");
    assertOneLineError(run("eval", "--model", model.toString(), "--batch-size", "100000"),
        "undo eval: error: --batch-size: 100000 is above the limit 4096");
    assertOneLineError(run("eval", "--model", model.toString(), "--batch-size", "abc"),
        "undo eval: error: Invalid value for option '--batch-size': 'abc' is not an int (see undo eval --help)");
    assertOneLineError(run("pretrain", "--setting", "arithmetic", "--preset", "micro", "--set", "pretrain.steps=1.5",
        "--out", tmp.resolve("frac").toString()),
        "undo pretrain: error: config key 'arithmetic.pretrain.steps': 1.5 is not an integer");
  }

  @Test
  void promptFilesAreValidatedLineByLine() throws Exception {
    Path f = tmp.resolve("bad-types.jsonl");
    String[][] cases = {
        {"{\"prompt\": 5, \"answer\": \"4\"}", "\"prompt\" must be a string, not a number 5"},
        {"{\"prompt\": \"1 + 1 = \", \"answer\": 2}", "\"answer\" must be a string, not a number 2"},
        {"{\"prompt\": \"1 + 1 = \", \"answer\": [\"2\"]}", "\"answer\" must be a string, not an array [\"2\"]"},
        {"{\"prompt\": \"1 + 1 = \"}", "missing string field \"answer\""},
        {"{\"prompt\": \"\", \"answer\": \"1\"}", "\"prompt\" is empty"},
        {"[1, 2]", "expected a JSON object with string fields \"prompt\" and \"answer\""},
        {"{\"prompt\": \"1 + 1\"", "not valid JSON: Unexpected end-of-input: expected close marker for Object "
            + "(start marker at line 1, column 1) (column 19)"},
        {"{\"prompt\": \"1 + 1 = \", \"answer\": \"" + "2".repeat(30) + "\"}",
            "prompt and answer take 38 tokens (+1 the scorer generates past the answer), more than the model's "
                + "context of 32 tokens"}};
    for (String[] c : cases) {
      Files.writeString(f, "{\"prompt\": \"2 + 2 = \", \"answer\": \"4\"}\n\n" + c[0] + "\n");
      assertOneLineError(run("eval", "--model", model.toString(), "--prompts", f.toString()),
          "undo eval: error: " + f + ":3: " + c[1]);
    }
  }

  @Test
  void evalReadsCorpusFilesFromProvenanceOnlyUnderADataDirTheUserGave() throws Exception {
    Path foreign = tmp.resolve("foreign");
    copyTree(model.resolve("checkpoint"), foreign);
    Path corpora = Files.createDirectories(tmp.resolve("corpora"));
    Path root = dev.undo.data.Corpus.dataRoot().resolve("corpora");
    Files.copy(root.resolve("english.train.txt"), corpora.resolve("eng.txt"));
    Files.copy(root.resolve("english.val.txt"), corpora.resolve("eng.val.txt"));
    Path prov = foreign.resolve("provenance.json");
    com.fasterxml.jackson.databind.node.ObjectNode n = Json.read(prov,
        com.fasterxml.jackson.databind.node.ObjectNode.class);
    ((com.fasterxml.jackson.databind.node.ObjectNode) n.at("/task/data"))
        .put("english_corpus", corpora.resolve("eng.txt").toString());
    Json.writeAtomic(prov, n);
    dev.undo.run.Checksums.write(foreign, List.of("model.safetensors", "config.json", "tokenizer.json",
        "provenance.json", "optimizer.safetensors", "trainer_state.json"));
    Path real = corpora.resolve("eng.txt").toRealPath();
    assertOneLineError(run("eval", "--model", foreign.toString(), "--threads", "1"),
        "undo eval: error: " + foreign + "/provenance.json names the corpus file " + real + "; eval reads corpus "
            + "files only under a --data-dir you give (add --data-dir " + real.getParent() + " if you trust it, "
            + "or use --text)");
    Run r = run("eval", "--model", foreign.toString(), "--threads", "1", "--json", "--data-dir", corpora.toString());
    assertEquals(0, r.code(), r.err());
  }

  @Test
  void aCorruptCheckpointIsOneLineNamingTheFile() throws Exception {
    Path copy = tmp.resolve("corrupt");
    copyTree(model.resolve("checkpoint"), copy);
    Path w = copy.resolve("model.safetensors");
    byte[] b = Files.readAllBytes(w);
    b[b.length - 1] ^= 0x10;
    Files.write(w, b);
    Run r = run("eval", "--model", copy.toString(), "--threads", "1");
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().startsWith("undo eval: error: " + w + " is corrupt: its sha256 "), r.err());
    assertEquals(1, r.err().lines().count(), r.err());
  }

  static void copyTree(Path from, Path to) throws java.io.IOException {
    Files.createDirectories(to);
    try (java.util.stream.Stream<Path> s = Files.list(from)) {
      for (Path p : s.toList()) {
        Files.copy(p, to.resolve(p.getFileName()));
      }
    }
  }
}
