package dev.undo.reproduce;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.Serializable;
import java.util.List;

/**
 * A plan node ready to run anywhere: its id and name, and each stage as (kind, folder, spec JSON) — plain data, so
 * it can be shipped to another JVM and run there with {@link Stages#run}.
 */
public record ResolvedNode(String id, String name, List<Stage> stages) implements Serializable {
  /** One stage: {@code spec} is the spec record as JSON text. */
  public record Stage(String kind, String dir, String spec) implements Serializable {
    JsonNode specTree() {
      try {
        return dev.undo.stage.Specs.MAPPER.readTree(spec);
      } catch (java.io.IOException e) {
        throw new IllegalStateException("bad spec JSON of " + dir + ": " + e.getMessage(), e);
      }
    }
  }
}
