package dev.undo.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.undo.attack.Relearn;
import dev.undo.run.Compute;
import dev.undo.run.Manifest;
import dev.undo.stage.Specs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A finished run as the report sees it: {@code manifest.json} read through its types ({@link Manifest}, the
 * contract between reproduce and the report) and the {@code attack.json} of every model it lists, read through
 * {@link Relearn.Result}. Both use the pipeline's own mapper ({@link Specs#MAPPER}: snake_case, unknown keys
 * rejected), so a field the pipeline renames is an error here rather than a silently missing number.
 *
 * <p>Manifests written before the typed format (no {@code evidence}, no {@code attack} per setting, no
 * {@code student} or {@code ledger} per model) are not supported: loading one is an error that says so. Values are
 * checked where a wrong one would make every derived number meaningless: an unknown model kind, an attack scored
 * on another metric or direction than its setting, or a worst case that is not the adversary's running best (one
 * that gets more forgotten as the step budget grows). A model whose attack file is missing is kept without an
 * attack and noted: a partial run still gets a report, with the claims that need it inconclusive.
 */
final class RunData {
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

    /** Kinds whose model is a distilled student, whose stop rule decides whether it may be compared at all. */
    boolean distilled() {
      return this == ORACLE || this == ORACLE_MATCHING || this == UNLEARN_DISTILL || this == UNDO;
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

  /** The run: the manifest as written, its settings with loaded attacks, and what was missing. */
  record Run(Path dir, Manifest manifest, List<Setting> settings, List<String> notes) {
    String preset() {
      return manifest.preset();
    }

    List<Long> seeds() {
      return manifest.seeds() == null || manifest.seeds().isEmpty() ? List.of(manifest.seed()) : manifest.seeds();
    }

    double wallSeconds() {
      return manifest.wallSeconds();
    }

    boolean evidence() {
      return manifest.evidence();
    }
  }

  /** One setting: its manifest entry and its models, in manifest order. */
  record Setting(String name, Manifest.SettingEntry entry, List<Model> models) {
    String forgetMetric() {
      return entry.forgetMetric();
    }

    boolean higherIsMoreForgotten() {
      return entry.higherIsMoreForgotten();
    }

    String retainMetric() {
      return entry.retainMetric();
    }

    boolean retainHigherIsBetter() {
      return entry.retainHigherIsBetter();
    }

    Manifest.AttackEntry attack() {
      return entry.attack();
    }

    /** Accuracy settings have evaluation cells; cross-entropy settings have none. */
    List<String> summaryCells() {
      return entry.summaryCells() == null ? List.of() : entry.summaryCells();
    }
  }

  /** One model: its manifest entry, its parsed kind, and its attack result (null when missing). */
  record Model(Manifest.ModelEntry entry, Kind kind, Relearn.Result attack) {
    String name() {
      return entry.name();
    }

    String method() {
      return entry.method();
    }

    Double alpha() {
      return entry.alpha();
    }

    long seed() {
      return entry.seed();
    }

    Map<String, Double> metrics() {
      return entry.metrics() == null ? Map.of() : entry.metrics();
    }

    double metric(String key) {
      Double v = metrics().get(key);
      return v == null ? Double.NaN : v;
    }

    /** A metric with its 95% interval ({@code <key>_lo}, {@code <key>_hi}). */
    Stats.Value value(String key) {
      return Stats.Value.of(metric(key), metric(key + "_lo"), metric(key + "_hi"));
    }

    Manifest.Student student() {
      return entry.student();
    }

    /**
     * Whether this model may be compared: true for a model that is not a distilled student; for a student, whether
     * it stopped by its rule (recovered its teacher's retain performance; for oracle matching, reached its KL bound)
     * rather than at the step cap.
     */
    boolean recovered() {
      return !kind.distilled() || (entry.student() != null && entry.student().stoppedByRule());
    }

    Manifest.Ledger ledger() {
      return entry.ledger();
    }
  }

  static Run load(Path runDir) {
    Path file = runDir.resolve("manifest.json");
    Manifest manifest;
    try {
      manifest = Specs.MAPPER.readValue(file.toFile(), Manifest.class);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(file + " is not a manifest this report can read (" + e.getOriginalMessage()
          + "). Manifests written before the typed format (evidence, per-setting attack, per-model student and "
          + "ledger) are not supported: rerun `undo reproduce` on this folder with this build to rewrite it.", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    if (manifest.settings() == null || manifest.settings().isEmpty()) {
      throw new IllegalArgumentException(file + ": no settings");
    }
    List<String> notes = new ArrayList<>();
    List<Setting> settings = new ArrayList<>();
    for (Map.Entry<String, Manifest.SettingEntry> e : manifest.settings().entrySet()) {
      Manifest.SettingEntry s = e.getValue();
      if (s.attack() == null || s.models() == null) {
        throw new IllegalArgumentException(file + ": setting " + e.getKey() + " has no attack or no models: an old-"
            + "format manifest, which is not supported (rerun `undo reproduce` with this build)");
      }
      List<Model> models = new ArrayList<>();
      for (Manifest.ModelEntry m : s.models()) {
        models.add(model(runDir, e.getKey(), s, m, notes));
      }
      settings.add(new Setting(e.getKey(), s, List.copyOf(models)));
    }
    return new Run(runDir, manifest, List.copyOf(settings), Collections.unmodifiableList(notes));
  }

  private static Model model(Path runDir, String setting, Manifest.SettingEntry s, Manifest.ModelEntry m,
      List<String> notes) {
    Kind kind = Kind.parse(m.kind(), setting + "/" + m.name());
    if (kind.distilled() && m.student() == null) {
      notes.add(setting + "/" + m.name() + ": a distilled model without a student record: treated as not recovered");
    }
    Relearn.Result attack = null;
    if (m.attack() == null) {
      notes.add(setting + "/" + m.name() + ": the manifest lists no attack");
    } else {
      Path f = runDir.resolve(m.attack()).resolve("attack.json");
      if (Files.isRegularFile(f)) {
        attack = attack(f, s);
      } else {
        notes.add(setting + "/" + m.name() + ": no attack result at " + runDir.relativize(f));
      }
    }
    return new Model(m, kind, attack);
  }

  /** Reads and checks one attack result against its setting. */
  static Relearn.Result attack(Path file, Manifest.SettingEntry s) {
    Relearn.Result a;
    try {
      a = Specs.MAPPER.readValue(file.toFile(), Relearn.Result.class);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(file + " is not an attack result this report can read ("
          + e.getOriginalMessage() + "); results of older builds are not supported", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    // An attack scored on another metric or direction would make every relearned fraction meaningless.
    if (!s.forgetMetric().equals(a.forgetMetric())) {
      throw new IllegalArgumentException(file + ": forget_metric " + a.forgetMetric() + " but the setting's is "
          + s.forgetMetric());
    }
    if (a.higherIsMoreForgotten() != s.higherIsMoreForgotten()) {
      throw new IllegalArgumentException(file + ": higher_is_more_forgotten disagrees with the manifest");
    }
    if (a.worstCase() == null || a.worstCase().isEmpty()) {
      throw new IllegalArgumentException(file + ": no worst_case");
    }
    checkRunning(file, a);
    return a;
  }

  /**
   * The worst case must be the adversary's running best: as the step budget grows it can only become less
   * forgotten (higher ×÷ accuracy, lower Korean CE), and its steps ascend. Anything else was summarised another
   * way and would let a model look more robust after more attack steps.
   */
  static void checkRunning(Path file, Relearn.Result a) {
    List<Relearn.Worst> w = a.worstCase();
    for (int i = 1; i < w.size(); i++) {
      Relearn.Worst prev = w.get(i - 1);
      Relearn.Worst cur = w.get(i);
      boolean moreForgotten = a.higherIsMoreForgotten() ? cur.forget() > prev.forget() : cur.forget() < prev.forget();
      if (cur.step() <= prev.step() || moreForgotten) {
        throw new IllegalArgumentException(file + ": worst_case is not the running worst case (step " + prev.step()
            + ": " + prev.forget() + ", step " + cur.step() + ": " + cur.forget() + ")");
      }
    }
  }

  /** FLOPs of training plus the forward passes a method needs (evaluations excluded); NaN without a record. */
  static double methodFlops(Compute c) {
    return c == null ? Double.NaN : c.methodFlops();
  }

  /** The methods every setting is checked for (claim C2): docs/PROTOCOL.md §Pipeline 2. */
  static final List<String> PAPER_METHODS = List.of("graddiff", "maxent", "rmu");

  /** Add-ons whose variants claim C4 compares UNDO against. */
  static final Set<String> ADD_ONS = Set.of("repnoise", "sam");
}
