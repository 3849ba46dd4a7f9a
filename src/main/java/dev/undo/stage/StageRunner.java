package dev.undo.stage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.undo.run.Fingerprint;
import dev.undo.run.Json;
import dev.undo.run.RunLock;
import dev.undo.train.DivergedException;
import java.util.ArrayList;
import dev.undo.run.StageDir;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The stage-folder protocol, written once for every stage (docs/DESIGN.md, "Stages are folders"):
 * <ol>
 *   <li>compute the stage's {@link StageFingerprint} from its spec and the contents of its inputs;
 *   <li>a folder with {@code DONE} and the same fingerprint is finished: its result is read back and nothing runs;
 *   <li>a folder made under another fingerprint (finished or not) is an error that names what differs — it is
 *       never reused or spliced — unless {@code force}, which deletes its contents and starts over;
 *   <li>otherwise write {@code config.json} (kind, fingerprint, canonical spec), run the stage (which resumes from
 *       a checkpoint a killed run left, recorded under the same fingerprint), write the result file and then
 *       {@code DONE}, each atomically.
 * </ol>
 * The whole protocol runs under the folder's {@link RunLock}, so a second writer stops at once. A stage whose
 * training diverged leaves {@code DIVERGED}; rerun with only a lower learning rate, it resumes from its last good
 * checkpoint and {@code config.json} records the change under {@code history}.
 */
public final class StageRunner {
  public static final String CONFIG = "config.json";
  public static final String DONE = StageDir.DONE;

  private StageRunner() {}

  /**
   * How to run: show progress bars; {@code force}: start over a folder that holds work of another configuration
   * (without it, such a folder is an error). A finished stage of the same configuration is reused either way.
   */
  public record Options(boolean progress, boolean force) {
    public static final Options QUIET = new Options(false, false);
  }

  public static <S extends StageSpec, R> R run(Stage<S, R> stage, S spec, Path dir, Options o) {
    // Hashing the inputs verifies their checksums: a damaged input stops the stage before its folder is created.
    ObjectNode canonical = StageFingerprint.canonical(stage.kind(), spec, stage.identity(spec));
    StageDir sd = new StageDir(dir);
    try (RunLock lock = RunLock.acquire(dir)) {
      lock.tookOverFrom().ifPresent(h -> System.err.println("note: " + dir + " was left locked by " + h.describe()
          + " (no longer running); continuing"));
      return runLocked(stage, spec, sd, canonical, o);
    }
  }

  private static <S extends StageSpec, R> R runLocked(Stage<S, R> stage, S spec, StageDir sd, ObjectNode canonical,
      Options o) {
    Prepared<R> p = prepare(stage, spec, sd, canonical, o);
    if (p.result() != null) {
      return p.result();
    }
    R r;
    try {
      r = stage.run(spec, p.context());
    } catch (DivergedException e) {
      throw diverged(stage, spec, sd, e);
    }
    finish(stage, sd, r);
    return r;
  }

  /**
   * A member folder after the protocol's first half: either its finished result ({@code result}, nothing to run)
   * or the context to run it in ({@code config.json} written).
   */
  record Prepared<R>(R result, StageContext context) {}

  /** Steps 1–3 of the protocol for one folder (its lock held by the caller). */
  static <S extends StageSpec, R> Prepared<R> prepare(Stage<S, R> stage, S spec, StageDir sd, ObjectNode canonical,
      Options o) {
    Path dir = sd.path();
    String fp = StageFingerprint.of(canonical);
    JsonNode recorded = Files.isRegularFile(sd.config()) ? Json.read(sd.config(), JsonNode.class) : null;
    boolean same = recorded != null && fp.equals(recorded.path("fingerprint").asText());
    boolean hasWork = sd.isDone() || Files.exists(sd.checkpoint()) || Files.exists(sd.metrics())
        || Files.exists(dir.resolve(stage.resultFile()));
    ArrayNode history = Json.MAPPER.createArrayNode();
    List<String> accepted = new ArrayList<>();
    if (!o.force() && !same && hasWork && resumableAfterDivergence(sd, recorded, canonical)) {
      // The stage diverged and is rerun with only its learning rate changed, as the divergence message advised:
      // resume from the last good checkpoint under the new rate, and say so in config.json.
      history = recorded.has("history") ? (ArrayNode) recorded.get("history").deepCopy() : history;
      ObjectNode h = history.addObject();
      h.set("diverged", Json.read(sd.file(DIVERGED), JsonNode.class));
      h.put("previous_fingerprint", recorded.path("fingerprint").asText());
      h.set("changes", Json.MAPPER.valueToTree(StageFingerprint.differences(recorded.get("canonical"), canonical)));
      accepted.add(recorded.path("fingerprint").asText());
      for (JsonNode e : recorded.path("history")) {
        accepted.add(e.path("previous_fingerprint").asText());
      }
      same = true;
    }
    if (!same && hasWork) {
      // Work of another configuration is never reused or spliced: an error, or with --force a fresh start.
      if (!o.force()) {
        throw new StaleStageException(dir, recorded, canonical);
      }
      clear(dir);
    }
    if (same && sd.isDone()) {
      return new Prepared<>(Specs.MAPPER.convertValue(Json.read(dir.resolve(stage.resultFile()), JsonNode.class),
          stage.resultType()), null);
    }
    ObjectNode cfg = Json.MAPPER.createObjectNode();
    cfg.put("stage", stage.kind());
    cfg.put("fingerprint", fp);
    cfg.set("spec", Specs.MAPPER.valueToTree(spec));
    cfg.set("canonical", canonical);
    if (!history.isEmpty()) {
      cfg.set("history", history);
    }
    Json.writeAtomic(sd.config(), cfg);
    return new Prepared<>(null, new StageContext(sd, stage.kind(), fp, cfg.get("spec"), o.progress(), accepted));
  }

  /** Step 4's end: the result file, then {@code DONE}. */
  static <R> void finish(Stage<?, R> stage, StageDir sd, R r) {
    writeResult(sd.path().resolve(stage.resultFile()), r);
    sd.markDone();
  }

  /** Records a divergence beside the stage ({@code DIVERGED}) and names the learning-rate key in the message. */
  static <S extends StageSpec> DivergedException diverged(Stage<S, ?> stage, S spec, StageDir sd,
      DivergedException e) {
    ObjectNode d = Json.MAPPER.createObjectNode();
    d.put("step", e.step());
    d.put("loss", e.loss());
    d.put("grad_norm", e.gradNorm());
    d.put("lr", e.lr());
    Json.writeAtomic(sd.file(DIVERGED), d);
    String key = stage.lrKey(spec);
    return key == null ? e : e.withLrKey(key);
  }

  /**
   * Stages that train together (a group of students of one teacher): the folder protocol for each member — lock,
   * fingerprint, reuse of finished members, {@code config.json} — then one call of {@code body} with the members
   * that still have work, then each member's result and {@code DONE}. Every member's folder ends exactly as if it
   * had run alone.
   */
  public static <S extends StageSpec, R> List<R> runGroup(Stage<S, R> stage, List<S> specs, List<Path> dirs,
      Options o, GroupBody<S, R> body) {
    List<ObjectNode> canonical = new ArrayList<>();
    for (S spec : specs) {
      canonical.add(StageFingerprint.canonical(stage.kind(), spec, stage.identity(spec)));
    }
    List<RunLock> locks = new ArrayList<>();
    try {
      // Locks in path order, so two groups that share a member cannot wait for each other.
      List<Integer> order = new ArrayList<>();
      for (int i = 0; i < dirs.size(); i++) {
        order.add(i);
      }
      order.sort((x, y) -> dirs.get(x).toAbsolutePath().normalize().toString()
          .compareTo(dirs.get(y).toAbsolutePath().normalize().toString()));
      List<StageDir> sds = new ArrayList<>();
      for (Path d : dirs) {
        sds.add(new StageDir(d));
      }
      for (int i : order) {
        locks.add(RunLock.acquire(dirs.get(i)));
      }
      List<R> results = new ArrayList<>();
      List<S> pending = new ArrayList<>();
      List<StageContext> contexts = new ArrayList<>();
      List<Integer> where = new ArrayList<>();
      for (int i = 0; i < specs.size(); i++) {
        Prepared<R> p = prepare(stage, specs.get(i), sds.get(i), canonical.get(i), o);
        results.add(p.result());
        if (p.result() == null) {
          pending.add(specs.get(i));
          contexts.add(p.context());
          where.add(i);
        }
      }
      if (!pending.isEmpty()) {
        List<R> out = body.run(pending, contexts);
        for (int j = 0; j < out.size(); j++) {
          int i = where.get(j);
          finish(stage, sds.get(i), out.get(j));
          results.set(i, out.get(j));
        }
      }
      return results;
    } finally {
      for (RunLock l : locks) {
        l.close();
      }
    }
  }

  /** The work of a group: the members with work left, each with its context; results in the same order. */
  public interface GroupBody<S, R> {
    List<R> run(List<S> specs, List<StageContext> contexts);
  }

  /** Marker of a stage whose training diverged; its last checkpoint may be resumed with another learning rate. */
  static final String DIVERGED = "DIVERGED";

  /**
   * True when the folder's stage diverged and the new spec differs from the recorded one only in learning-rate
   * keys ({@code lr}, {@code min_lr}): the one change after which resuming the last good checkpoint is sound.
   */
  static boolean resumableAfterDivergence(StageDir sd, JsonNode recorded, ObjectNode now) {
    if (recorded == null || !recorded.has("canonical") || !Files.exists(sd.file(DIVERGED)) || sd.isDone()) {
      return false;
    }
    List<String> d = Fingerprint.differences(recorded.get("canonical"), now, Integer.MAX_VALUE);
    if (d.isEmpty()) {
      return false;
    }
    for (String line : d) {
      String key = line.substring(0, line.indexOf(':'));
      String leaf = key.substring(key.lastIndexOf('.') + 1);
      if (!leaf.equals("lr") && !leaf.equals("min_lr")) {
        return false;
      }
    }
    return true;
  }

  /** Writes a result record with the project's JSON conventions (snake_case, indented). */
  public static void writeResult(Path file, Object result) {
    try {
      Json.writeStringAtomic(file, Specs.MAPPER.writeValueAsString(result) + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  /** Reads a finished stage's result without running anything (for the manifest and the report). */
  public static <R> R result(Stage<?, R> stage, Path dir) {
    Path f = dir.resolve(stage.resultFile());
    if (!Files.exists(dir.resolve(DONE)) || !Files.isRegularFile(f)) {
      throw new IllegalArgumentException(dir + " is not a finished " + stage.kind() + " stage (no DONE or "
          + stage.resultFile() + ")");
    }
    return Specs.MAPPER.convertValue(Json.read(f, JsonNode.class), stage.resultType());
  }

  /** Deletes everything in a stage folder (the folder stays). */
  static void clear(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
        if (!p.equals(dir) && !p.equals(dir.resolve(RunLock.FILE))) {
          Files.delete(p);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot clear " + dir + ": " + e.getMessage(), e);
    }
  }

  /** A folder holds work of another configuration. */
  public static final class StaleStageException extends IllegalArgumentException {
    StaleStageException(Path dir, JsonNode recorded, ObjectNode now) {
      super(message(dir, recorded, now));
    }

    private static String message(Path dir, JsonNode recorded, ObjectNode now) {
      if (recorded == null || !recorded.has("canonical")) {
        return dir + " holds work without a recorded configuration (made by an older undo or another tool); use "
            + "another --out or --force";
      }
      List<String> d = StageFingerprint.differences(recorded.get("canonical"), now);
      String what = d.isEmpty() ? "fingerprint differs" : String.join("; ", d.subList(0, Math.min(3, d.size())))
          + (d.size() > 3 ? "; and " + (d.size() - 3) + " more" : "");
      return dir + " was made with a different configuration: " + what + "; use another --out or --force";
    }
  }
}
