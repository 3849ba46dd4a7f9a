package dev.undo.stage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.run.Json;
import dev.undo.run.StageDir;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The stage-folder protocol, written once for every stage (STYLE.md run directory):
 * <ol>
 *   <li>compute the stage's {@link Fingerprint} from its spec and the contents of its inputs;
 *   <li>a folder with {@code DONE} and the same fingerprint is finished: its result is read back and nothing runs;
 *   <li>a folder made under another fingerprint (finished or not) is an error that names what differs — it is
 *       never reused or spliced — unless {@code force}, which deletes it and starts over;
 *   <li>otherwise write {@code config.json} (kind, fingerprint, canonical spec), run the stage (which resumes from
 *       a checkpoint a killed run left, recorded under the same fingerprint), write the result file and then
 *       {@code DONE}, each atomically.
 * </ol>
 */
public final class StageRunner {
  public static final String CONFIG = "config.json";
  public static final String DONE = StageDir.DONE;

  private StageRunner() {}

  /** How to run: show progress bars; start over a folder made under another configuration. */
  public record Options(boolean progress, boolean force) {
    public static final Options QUIET = new Options(false, false);
  }

  public static <S extends StageSpec, R> R run(Stage<S, R> stage, S spec, Path dir, Options o) {
    ObjectNode canonical = Fingerprint.canonical(stage.kind(), spec, stage.identity(spec));
    String fp = Fingerprint.of(canonical);
    StageDir sd = new StageDir(dir);
    JsonNode recorded = Files.isRegularFile(sd.config()) ? Json.read(sd.config(), JsonNode.class) : null;
    boolean same = recorded != null && fp.equals(recorded.path("fingerprint").asText());
    boolean hasWork = sd.isDone() || Files.exists(sd.checkpoint()) || Files.exists(sd.metrics())
        || Files.exists(dir.resolve(stage.resultFile()));
    if (o.force() || (!same && hasWork)) {
      if (!o.force()) {
        throw new StaleStageException(dir, recorded, canonical);
      }
      clear(dir);
      recorded = null;
      same = false;
    }
    if (same && sd.isDone()) {
      return Specs.MAPPER.convertValue(Json.read(dir.resolve(stage.resultFile()), JsonNode.class),
          stage.resultType());
    }
    ObjectNode cfg = Json.MAPPER.createObjectNode();
    cfg.put("stage", stage.kind());
    cfg.put("fingerprint", fp);
    cfg.set("spec", Specs.MAPPER.valueToTree(spec));
    cfg.set("canonical", canonical);
    Json.writeAtomic(sd.config(), cfg);
    R r = stage.run(spec, new StageContext(sd, stage.kind(), fp, cfg.get("spec"), o.progress()));
    writeResult(dir.resolve(stage.resultFile()), r);
    sd.markDone();
    return r;
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
        if (!p.equals(dir)) {
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
      List<String> d = Fingerprint.differences(recorded.get("canonical"), now);
      String what = d.isEmpty() ? "fingerprint differs" : String.join("; ", d.subList(0, Math.min(3, d.size())))
          + (d.size() > 3 ? "; and " + (d.size() - 3) + " more" : "");
      return dir + " was made with a different configuration: " + what + "; use another --out or --force";
    }
  }
}
