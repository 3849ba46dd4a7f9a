package dev.undo.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {
  @Test
  void everyShippedPresetResolvesAndValidates() {
    for (String p : ConfigLoader.shippedPresets()) {
      ExperimentConfig c = ExperimentConfig.from(ConfigLoader.resolve(p, Map.of()));
      assertEquals(p, c.name());
    }
  }

  @Test
  void quickPresetOverridesDefaults() {
    ExperimentConfig c = ExperimentConfig.from(ConfigLoader.resolve("quick", Map.of()));
    assertEquals(10, c.arithmetic().data().get("add_sub_max").asInt());
    assertEquals(32, c.arithmetic().pretrain().seqLen());
    assertEquals(5.0, c.arithmetic().unlearn().maxent().retainWeight());
    assertEquals(java.util.List.of(2e-3, 3e-3, 5e-3), c.arithmetic().unlearn().sweepLrs("rmu"));
    assertEquals(0.75, c.arithmetic().data().get("arithmetic").asDouble());
    assertEquals(0.2, c.arithmetic().data().get("word_problem_fraction").asDouble());
    assertEquals("mini", c.model().size()); // standard-tiny is session 5's standard on the larger model
    assertEquals("mini", ExperimentConfig.from(ConfigLoader.resolve("standard", Map.of())).model().size());
    assertEquals("tiny", ExperimentConfig.from(ConfigLoader.resolve("standard-tiny", Map.of())).model().size());
    // Untouched keys keep defaults.
    assertEquals(0.1, c.arithmetic().pretrain().weightDecay());
  }

  @Test
  void overrideParsesYamlScalars() {
    ExperimentConfig c = ExperimentConfig.from(ConfigLoader.resolve("quick",
        Map.of("arithmetic.pretrain.lr", "1e-3", "language.attack.lrs", "[1e-3, 1e-4]")));
    assertEquals(1e-3, c.arithmetic().pretrain().lr());
    assertEquals(2, c.language().attack().lrs().size());
  }

  @Test
  void unknownKeyIsAnErrorNamingIt() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ConfigLoader.resolve("quick", Map.of("arithmetic.pretrain.lrr", "1")));
    assertTrue(e.getMessage().contains("arithmetic.pretrain.lrr"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> ConfigLoader.resolve("quick", Map.of("arithmetics.pretrain.lr", "1")));
    assertTrue(e.getMessage().contains("arithmetics"), e.getMessage());
  }

  @Test
  void wrongTypeIsAnErrorNamingTheKey() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ExperimentConfig.from(
        ConfigLoader.resolve("quick", Map.of("arithmetic.pretrain.steps", "lots"))));
    assertTrue(e.getMessage().contains("arithmetic.pretrain.steps"), e.getMessage());
  }

  @Test
  void badValueIsAnErrorNamingTheSection() {
    ExperimentConfig c = ExperimentConfig.from(ConfigLoader.resolve("quick",
        Map.of("arithmetic.data.english", "0.9")));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> dev.undo.task.Tasks.of("arithmetic", c));
    assertTrue(e.getMessage().contains("arithmetic.data"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ExperimentConfig.from(
        ConfigLoader.resolve("quick", Map.of("language.distill.stop_rule", "sometimes"))));
    assertTrue(e.getMessage().contains("language.distill.stop_rule"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ExperimentConfig.from(
        ConfigLoader.resolve("quick", Map.of("reproduce.seconds_per_unit_by_kind.relearn", "-1e-5"))));
    assertTrue(e.getMessage().contains("reproduce.seconds_per_unit_by_kind.relearn"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ExperimentConfig.from(
        ConfigLoader.resolve("quick", Map.of("reproduce.seconds_per_unit", "0"))));
    assertTrue(e.getMessage().contains("reproduce.seconds_per_unit"), e.getMessage());
  }

  /** full is standard with the paper's attack: every other key is standard's, and a preset cannot extend itself. */
  @Test
  void aPresetExtendsAnother() throws Exception {
    ObjectNode full = ConfigLoader.resolve("full", Map.of());
    ObjectNode standard = ConfigLoader.resolve("standard", Map.of());
    for (String s : List.of("arithmetic", "language")) {
      ObjectNode a = (ObjectNode) full.get(s).get("attack");
      assertEquals(10, a.get("lrs").size(), s);
      assertEquals(500, a.get("steps").asLong(), s);
      assertEquals(5, a.get("eval_every").asLong(), s);
      // Everything else under the setting is standard's.
      ObjectNode fs = full.get(s).deepCopy();
      ObjectNode ss = standard.get(s).deepCopy();
      fs.remove("attack");
      ss.remove("attack");
      assertEquals(ss, fs, s);
      assertEquals(standard.get(s).get("attack").get("batched"), a.get("batched"), "unlisted attack keys: standard's");
    }
    assertEquals(standard.get("model"), full.get("model"));
    assertEquals(standard.get("reproduce"), full.get("reproduce"));
    assertEquals("full", full.get("name").asText());
    assertFalse(full.has("extends"));

    Path dir = java.nio.file.Files.createTempDirectory("presets");
    java.nio.file.Files.writeString(dir.resolve("a.yaml"), "extends: b.yaml\nname: a\n");
    java.nio.file.Files.writeString(dir.resolve("b.yaml"), "extends: a.yaml\nname: b\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ConfigLoader.resolve(dir.resolve("a.yaml").toString(), Map.of()));
    assertTrue(e.getMessage().contains("extends itself"), e.getMessage());
    // A file beside the extending one, relative to it; then a shipped preset by name.
    java.nio.file.Files.writeString(dir.resolve("mine.yaml"), "extends: base.yaml\nname: mine\n"
        + "arithmetic:\n  attack:\n    steps: 7\n");
    java.nio.file.Files.writeString(dir.resolve("base.yaml"), "extends: quick\nname: base\n");
    ObjectNode mine = ConfigLoader.resolve(dir.resolve("mine.yaml").toString(), Map.of());
    assertEquals(7, mine.get("arithmetic").get("attack").get("steps").asLong());
    assertEquals(ConfigLoader.resolve("quick", Map.of()).get("model"), mine.get("model"));
  }

  @Test
  void unknownPresetListsShippedOnes() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ConfigLoader.resolve("qiuck", Map.of()));
    assertTrue(e.getMessage().contains("quick"), e.getMessage());
  }

  @Test
  void aMethodsOwnSweepOverridesTheSettingsSweep() {
    ExperimentConfig c = ExperimentConfig.from(ConfigLoader.resolve("quick", Map.of(
        "arithmetic.unlearn.sweep_lrs", "[1e-4, 3e-4]", "arithmetic.unlearn.rmu.sweep_lrs", "[1e-3, 2e-3]",
        "arithmetic.unlearn.graddiff.sweep_lrs", "[]")));
    assertEquals(java.util.List.of(1e-3, 2e-3), c.arithmetic().unlearn().sweepLrs("rmu"));
    assertEquals(java.util.List.of(1e-4, 3e-4), c.arithmetic().unlearn().sweepLrs("graddiff"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ExperimentConfig.from(ConfigLoader.resolve("quick", Map.of(
            "arithmetic.unlearn.maxent.sweep_lrs", "[1e-4, -1]"))));
    assertTrue(e.getMessage().contains("unlearn.maxent.sweep_lrs"), e.getMessage());
  }

  static String error(Map<String, String> overrides) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ExperimentConfig.from(ConfigLoader.resolve("micro", overrides)));
    return e.getMessage();
  }

  @Test
  void anIntegerKeyRejectsAFractionButAcceptsAnIntegralFloat() {
    assertEquals("config key 'arithmetic.pretrain.steps': 1.5 is not an integer",
        error(Map.of("arithmetic.pretrain.steps", "1.5")));
    assertEquals(2000, ExperimentConfig.from(ConfigLoader.resolve("micro",
        Map.of("arithmetic.pretrain.steps", "2.0e3"))).arithmetic().pretrain().steps());
    assertEquals(10000, ExperimentConfig.from(ConfigLoader.resolve("micro",
        Map.of("arithmetic.pretrain.steps", "1e4"))).arithmetic().pretrain().steps());
    // Keys without a bound are checked when binding: a long, an int in a list, an int field.
    assertEquals("config key 'seed': 12.5 is not an integer", error(Map.of("seed", "12.5")));
    assertEquals("config key 'arithmetic.attack.report_steps[1]': 0.5 is not an integer",
        error(Map.of("arithmetic.attack.report_steps", "[0, 0.5]")));
    assertEquals("config key 'arithmetic.data.add_sub_max': \"12\" is not an integer",
        error(Map.of("arithmetic.data.add_sub_max", "'12'")));
    assertEquals("config key 'arithmetic.data.add_sub_max': 3000000000 is out of range (-2147483648 to "
        + "2147483647)", error(Map.of("arithmetic.data.add_sub_max", "3000000000")));
  }

  @Test
  void sizesHaveSaneUpperBounds() {
    assertEquals("config key 'arithmetic.pretrain.batch_size': 100000 is above the limit 4096 (use grad_accum for "
        + "larger effective batches)", error(Map.of("arithmetic.pretrain.batch_size", "100000")));
    assertEquals("config key 'language.eval.batch_size': 0 is below the minimum 1 (use grad_accum for larger "
        + "effective batches)", error(Map.of("language.eval.batch_size", "0")));
    assertEquals("config key 'model.max_seq_len': 1.0E30 is above the limit 8192 (longer sequences do not fit in "
        + "memory)", error(Map.of("model.max_seq_len", "1e30")));
    assertEquals("config key 'arithmetic.pretrain.steps': 1000000000000 is above the limit 100000000",
        error(Map.of("arithmetic.pretrain.steps", "1000000000000")));
    assertEquals("--batch-size: 0 is below the minimum 1",
        assertThrows(IllegalArgumentException.class, () -> ConfigLoader.checkRange("--batch-size", 0, 1, 4096))
            .getMessage());
    assertEquals(7, ConfigLoader.checkRange("--threads", 7, 1, 1024));
  }
}
