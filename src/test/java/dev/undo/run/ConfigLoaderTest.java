package dev.undo.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    assertEquals(java.util.List.of(1e-3, 2e-3, 3e-3, 5e-3), c.arithmetic().unlearn().sweepLrs("rmu"));
    assertEquals(0.75, c.arithmetic().data().get("arithmetic").asDouble());
    assertEquals(0.2, c.arithmetic().data().get("word_problem_fraction").asDouble());
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
}
