package dev.undo.reproduce;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.undo.attack.Probe;
import dev.undo.attack.Relearn;
import dev.undo.pretrain.Pretrain;
import dev.undo.stage.Specs;
import dev.undo.stage.Stage;
import dev.undo.stage.StageRunner;
import dev.undo.stage.StageSpec;
import dev.undo.undo.Distill;
import dev.undo.undo.DistillGroup;
import dev.undo.unlearn.Sweep;
import dev.undo.unlearn.Unlearn;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Every stage by kind, so a stage can be run from its kind and spec JSON alone (any JVM, any executor). */
public final class Stages {
  private static final Map<String, Stage<?, ?>> BY_KIND = new LinkedHashMap<>();

  static {
    for (Stage<?, ?> s : List.<Stage<?, ?>>of(Pretrain.STAGE, Unlearn.STAGE, Sweep.STAGE, Distill.STAGE,
        Relearn.STAGE, Probe.STAGE)) {
      BY_KIND.put(s.kind(), s);
    }
  }

  private Stages() {}

  public static Stage<?, ?> of(String kind) {
    Stage<?, ?> s = BY_KIND.get(kind);
    if (s == null) {
      throw new IllegalArgumentException("unknown stage kind '" + kind + "' (known: " + BY_KIND.keySet() + ")");
    }
    return s;
  }

  /**
   * The kind of a group of distillation students trained together ({@link DistillGroup}): not a stage of its own,
   * its spec lists member stages, each a {@code distill} stage in its own folder.
   */
  public static final String DISTILL_GROUP = "distill_group";

  /** Runs one stage (or a group) from its kind and spec JSON in {@code dir}; returns its result record(s). */
  public static Object run(String kind, JsonNode spec, Path dir, StageRunner.Options o) {
    if (kind.equals(DISTILL_GROUP)) {
      try {
        return DistillGroup.run(Specs.MAPPER.treeToValue(spec, DistillGroup.Spec.class), o);
      } catch (JsonProcessingException e) {
        throw new IllegalArgumentException("spec of student group " + dir + ": " + e.getOriginalMessage());
      }
    }
    return runTyped(of(kind), spec, dir, o);
  }

  private static <S extends StageSpec, R> R runTyped(Stage<S, R> stage, JsonNode spec, Path dir,
      StageRunner.Options o) {
    S s;
    try {
      s = Specs.MAPPER.treeToValue(spec, stage.specType());
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("spec of " + stage.kind() + " stage " + dir + ": " + e.getOriginalMessage());
    }
    return StageRunner.run(stage, s, dir, o);
  }

  /**
   * Runs every stage of a node in order on the calling thread, in any JVM: the body of every executor. Stages that
   * are already done are skipped by fingerprint, so running a node again after a crash resumes it.
   */
  public static void runNode(ResolvedNode node, StageRunner.Options o) {
    for (ResolvedNode.Stage s : node.stages()) {
      run(s.kind(), s.specTree(), Path.of(s.dir()), o);
    }
  }

  /** A spec as the JSON text a {@link ResolvedNode} carries. */
  static String json(StageSpec spec) {
    try {
      return Specs.MAPPER.writeValueAsString(spec);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
