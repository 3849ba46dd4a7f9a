package dev.undo.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * A finished run as the report sees it: {@code manifest.json} and the {@code attack.json} of every model it lists.
 *
 * <p>The report reads plain JSON rather than the pipeline's own classes on purpose: it must be able to render a run
 * written by an older build, and it must not be able to change one. Fields the report does not use are ignored;
 * the fields it does use are checked, and a wrong value (an unknown model kind, an attack measured on a different
 * metric than its setting) is an error rather than a silently wrong plot. A model whose attack file is missing is
 * kept without an attack and noted: a partial run still gets a report, with the affected claims inconclusive.
 */
final class RunData {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private RunData() {}

  /** The model kinds of docs/PROTOCOL.md §Pipeline 6 plus the unlearning and UNDO models, spelled as in the manifest. */
  enum Kind {
    BASE("base"),
    FILTERED("filtered"),
    ORACLE("oracle"),
    ORACLE_MATCHING("oracle_matching"),
    UNLEARN("unlearn"),
    UNLEARN_DISTILL("unlearn_distill"),
    UNDO("undo");

    final String wire;

    Kind(String wire) {
      this.wire = wire;
    }

    static Kind parse(String s, String model) {
      for (Kind k : values()) {
        if (k.wire.equals(s)) {
          return k;
        }
      }
      throw new IllegalArgumentException("model " + model + ": unknown kind '" + s + "'");
    }
  }

  record Run(String preset, Long seed, List<Long> seeds, Double wallSeconds, List<Setting> settings,
      List<String> notes) {}

  record Setting(String name, String forgetMetric, boolean higherIsMoreForgotten, String retainMetric,
      boolean retainHigherIsBetter, String reference, List<Model> models) {}

  /**
   * One trained model. {@code computeFlops} is its own total compute (for the filtered model: the reference for
   * every compute fraction); {@code addedFlops} is what it costs beyond the base pretrain. Either may be null.
   */
  record Model(String name, Kind kind, String method, Double alpha, long seed, Map<String, Double> metrics,
      Double computeFlops, Double addedFlops, Double klToTeacher, Attack attack) {

    double metric(String key) {
      Double v = metrics.get(key);
      return v == null ? Double.NaN : v;
    }
  }

  /** The relearning attack's worst case (the attacker's best learning rate at each evaluated step). */
  record Attack(NavigableMap<Long, Double> worstCase, NavigableMap<Long, Double> forgetAt, Double auc,
      Double computeFlops) {}

  static Run load(Path runDir) {
    Path manifest = runDir.resolve("manifest.json");
    JsonNode root = readTree(manifest);
    List<String> notes = new ArrayList<>();
    Long runSeed = root.hasNonNull("seed") ? root.get("seed").asLong() : null;
    List<Long> seeds = new ArrayList<>();
    root.path("seeds").forEach(s -> seeds.add(s.asLong()));
    if (seeds.isEmpty() && runSeed != null) {
      seeds.add(runSeed);
    }
    JsonNode settingsNode = root.get("settings");
    if (settingsNode == null || !settingsNode.isObject()) {
      throw new IllegalArgumentException(manifest + ": no \"settings\" object");
    }
    List<Setting> settings = new ArrayList<>();
    Iterator<Map.Entry<String, JsonNode>> it = settingsNode.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      settings.add(setting(runDir, e.getKey(), e.getValue(), runSeed == null ? 0 : runSeed, notes));
    }
    return new Run(root.path("preset").asText("?"), runSeed, List.copyOf(seeds),
        root.hasNonNull("wall_seconds") ? root.get("wall_seconds").asDouble() : null, List.copyOf(settings),
        Collections.unmodifiableList(notes));
  }

  private static Setting setting(Path runDir, String name, JsonNode n, long runSeed, List<String> notes) {
    String forget = required(n, "forget_metric", name).asText();
    boolean higherForgotten = required(n, "higher_is_more_forgotten", name).asBoolean();
    String retain = required(n, "retain_metric", name).asText();
    boolean retainHigher = required(n, "retain_higher_is_better", name).asBoolean();
    List<Model> models = new ArrayList<>();
    for (JsonNode m : n.path("models")) {
      models.add(model(runDir, name, m, forget, higherForgotten, runSeed, notes));
    }
    return new Setting(name, forget, higherForgotten, retain, retainHigher, n.path("reference").asText("filtered"),
        List.copyOf(models));
  }

  private static Model model(Path runDir, String setting, JsonNode m, String forgetMetric, boolean higherForgotten,
      long runSeed, List<String> notes) {
    String name = required(m, "name", setting).asText();
    Kind kind = Kind.parse(required(m, "kind", setting + "/" + name).asText(), name);
    Map<String, Double> metrics = new LinkedHashMap<>();
    m.path("metrics").fields().forEachRemaining(e -> {
      if (e.getValue().isNumber()) {
        metrics.put(e.getKey(), e.getValue().asDouble());
      }
    });
    Attack attack = null;
    if (m.hasNonNull("attack")) {
      Path file = runDir.resolve(m.get("attack").asText()).resolve("attack.json");
      if (Files.isRegularFile(file)) {
        attack = attack(file, forgetMetric, higherForgotten);
      } else {
        notes.add(setting + "/" + name + ": no attack result at " + runDir.relativize(file));
      }
    } else {
      notes.add(setting + "/" + name + ": the manifest lists no attack");
    }
    return new Model(name, kind, textOrNull(m, "method"), doubleOrNull(m.get("alpha")),
        m.hasNonNull("seed") ? m.get("seed").asLong() : runSeed, Collections.unmodifiableMap(metrics),
        totalFlops(m.get("compute")), totalFlops(m.get("added_compute")), doubleOrNull(m.get("kl_to_teacher")),
        attack);
  }

  private static Attack attack(Path file, String forgetMetric, boolean higherForgotten) {
    JsonNode a = readTree(file);
    // An attack scored on another metric or direction would make every relearned fraction meaningless.
    if (a.hasNonNull("forget_metric") && !a.get("forget_metric").asText().equals(forgetMetric)) {
      throw new IllegalArgumentException(file + ": forget_metric " + a.get("forget_metric").asText()
          + " but the setting's is " + forgetMetric);
    }
    if (a.hasNonNull("higher_is_more_forgotten") && a.get("higher_is_more_forgotten").asBoolean() != higherForgotten) {
      throw new IllegalArgumentException(file + ": higher_is_more_forgotten disagrees with the manifest");
    }
    NavigableMap<Long, Double> worst = new TreeMap<>();
    for (JsonNode w : a.path("worst_case")) {
      worst.put(w.get("step").asLong(), w.get("forget").asDouble());
    }
    NavigableMap<Long, Double> at = new TreeMap<>();
    a.path("forget_at").fields().forEachRemaining(e -> at.put(Long.parseLong(e.getKey()), e.getValue().asDouble()));
    return new Attack(Collections.unmodifiableNavigableMap(worst), Collections.unmodifiableNavigableMap(at),
        doubleOrNull(a.get("auc")), totalFlops(a.get("compute")));
  }

  /** total_flops when recorded, else train + forward (the ledger's definition of the total). */
  static Double totalFlops(JsonNode c) {
    if (c == null || !c.isObject()) {
      return null;
    }
    if (c.hasNonNull("total_flops")) {
      return c.get("total_flops").asDouble();
    }
    if (c.hasNonNull("train_flops") || c.hasNonNull("forward_flops")) {
      return c.path("train_flops").asDouble(0) + c.path("forward_flops").asDouble(0);
    }
    return null;
  }

  private static JsonNode required(JsonNode n, String key, String where) {
    JsonNode v = n.get(key);
    if (v == null || v.isNull()) {
      throw new IllegalArgumentException("manifest: " + where + " has no \"" + key + "\"");
    }
    return v;
  }

  private static String textOrNull(JsonNode n, String key) {
    return n.hasNonNull(key) ? n.get(key).asText() : null;
  }

  private static Double doubleOrNull(JsonNode v) {
    return v == null || v.isNull() || !v.isNumber() ? null : v.asDouble();
  }

  private static JsonNode readTree(Path file) {
    try {
      return MAPPER.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
