package dev.undo.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.undo.run.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code text} setting end to end on corpora no other test or preset uses: a retain corpus of plain English
 * sentences and a forget corpus of Greek-letter pseudo-words (a script the embedded corpora do not contain, so the
 * tokenizer must come from these files). The micro reproduction runs every stage and writes a report with claims.
 */
class TextSettingTest {
  @TempDir
  Path tmp;

  static List<String> documents(String[] words, int n, long seed) {
    Random rnd = new Random(seed);
    List<String> docs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      StringBuilder sb = new StringBuilder();
      int len = 8 + rnd.nextInt(8);
      for (int w = 0; w < len; w++) {
        sb.append(w == 0 ? "" : " ").append(words[rnd.nextInt(words.length)]);
      }
      docs.add(sb.append('.').toString());
    }
    return docs;
  }

  @Test
  void microReproductionRunsOnUnseenCorporaAndWritesAReport() throws Exception {
    Path retain = tmp.resolve("retain.txt");
    Path forget = tmp.resolve("forget.jsonl");
    Files.write(retain, documents(new String[] {"the", "river", "carried", "small", "boats", "past", "old",
        "mills", "and", "quiet", "towns"}, 300, 1), StandardCharsets.UTF_8);
    List<String> jsonl = new ArrayList<>();
    for (String d : documents(new String[] {"αλφα", "βητα", "γαμμα", "δελτα", "ζητα", "θητα", "λαμδα"}, 300, 2)) {
      jsonl.add(Json.LINE.writeValueAsString(java.util.Map.of("text", d, "source", "synthetic")));
    }
    Files.write(forget, jsonl, StandardCharsets.UTF_8);
    Path out = tmp.resolve("run");
    CliTest.Run r = CliTest.run("reproduce", "--preset", "micro", "--setting", "text", "--retain-text",
        retain.toString(), "--forget-text", forget.toString(), "--threads", "1", "-q", "--out", out.toString());
    assertEquals(0, r.code(), r.err());

    JsonNode m = Json.read(out.resolve("manifest.json"), JsonNode.class);
    JsonNode s = m.path("settings").path("text");
    assertEquals("forget_ce", s.path("forget_metric").asText());
    assertEquals("retain_ce", s.path("retain_metric").asText());
    Set<String> kinds = new HashSet<>();
    for (JsonNode model : s.path("models")) {
      kinds.add(model.path("kind").asText());
      // The manifest's numbers are the model's own evaluation.
      JsonNode own = Json.read(out.resolve(model.path("stage").asText()).resolve("eval.json"), JsonNode.class);
      assertEquals(own.get("metrics"), model.path("metrics"), model.toString());
      // Two metrics, each with its 95% interval (keys _lo and _hi), the point inside it.
      // Distilled models also record their held-out KL to the teacher.
      boolean distilled = !model.path("student").isNull() && !model.path("student").isMissingNode();
      assertEquals(distilled ? 7 : 6, model.path("metrics").size(), model.toString());
      assertEquals(distilled, model.path("metrics").has("kl_teacher"), model.toString());
      for (String k : List.of("retain_ce", "forget_ce")) {
        double v = model.path("metrics").path(k).asDouble();
        assertTrue(model.path("metrics").path(k + "_lo").asDouble() <= v
            && v <= model.path("metrics").path(k + "_hi").asDouble(), model.toString());
      }
      assertTrue(Files.exists(out.resolve(model.path("attack").asText()).resolve("attack.json")), model.toString());
    }
    assertEquals(Set.of("base", "filtered", "oracle", "oracle_matching", "unlearn", "unlearn_distill", "undo"),
        kinds);
    // The data-filtered model never saw the Greek corpus: its forget CE is far above the base model's.
    JsonNode base = find(s, "base");
    JsonNode filtered = find(s, "filtered");
    assertTrue(filtered.path("metrics").path("forget_ce").asDouble()
        > base.path("metrics").path("forget_ce").asDouble() + 0.5, s.toString());
    // Before its first step the base model is close to uniform (logits of std ≈ 0.02·√d): both CEs are ln V.
    JsonNode step0 = Json.LINE.readTree(Files.readAllLines(out.resolve("text/s1234/base/metrics.jsonl")).get(0));
    int vocab = Json.read(out.resolve("text/s1234/base/checkpoint/config.json"), JsonNode.class).get("vocab_size")
        .asInt();
    assertEquals(0, step0.get("step").asLong());
    assertEquals(Math.log(vocab), step0.get("retain_ce").asDouble(), 0.03, step0.toString());
    assertEquals(Math.log(vocab), step0.get("forget_ce").asDouble(), 0.03, step0.toString());
    // The tokenizer was built from these corpora: Greek letters are characters, not byte fallbacks.
    JsonNode tok = Json.read(out.resolve("text/s1234/base/checkpoint/tokenizer.json"), JsonNode.class);
    Set<Integer> cps = new HashSet<>();
    tok.path("codePoints").forEach(c -> cps.add(c.asInt()));
    assertTrue(cps.contains((int) 'λ') && cps.contains((int) 'θ'), "tokenizer lacks the forget corpus's letters");

    JsonNode claims = Json.read(out.resolve("report/claims.json"), JsonNode.class);
    assertEquals(5, claims.path("claims").size());
    assertTrue(claims.path("claims").get(0).path("numbers").path("settings").has("text"), claims.toString());
    assertTrue(Files.size(out.resolve("report/index.html")) > 5_000);
  }

  private static JsonNode find(JsonNode setting, String name) {
    for (JsonNode x : setting.path("models")) {
      if (x.path("name").asText().equals(name)) {
        return x;
      }
    }
    throw new AssertionError("no model " + name);
  }
}
