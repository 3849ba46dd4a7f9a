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

  @Test
  void evalPromptsAndText() throws Exception {
    Path prompts = tmp.resolve("p.jsonl");
    Files.writeString(prompts, "{\"prompt\": \"2 + 2 = \", \"answer\": \"4\"}\n{\"prompt\": \"3 * 3 = \", \"answer\": \"9\"}\n");
    Run r = run("eval", "--model", model.toString(), "--prompts", prompts.toString(), "--json");
    assertEquals(0, r.code(), r.err());
    double acc = Json.LINE.readTree(r.out().strip()).get("metrics").get("acc").asDouble();
    assertTrue(acc >= 0 && acc <= 1);
    Path text = tmp.resolve("t.txt");
    Files.writeString(text, "Hello world.\nAnother line of text.\n");
    r = run("eval", "--model", model.toString(), "--text", text.toString(), "--json");
    JsonNode m = Json.LINE.readTree(r.out().strip()).get("metrics");
    assertTrue(m.get("ce").asDouble() > 0 && m.get("tokens").asLong() > 10, r.out());
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
}
