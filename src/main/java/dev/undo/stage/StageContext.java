package dev.undo.stage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.run.Compute;
import dev.undo.run.Provenance;
import dev.undo.run.StageDir;
import dev.undo.run.TaskSpec;
import java.util.List;
import java.util.Map;

/**
 * What a running stage gets from {@link StageRunner}: its folder, its fingerprint (recorded in every checkpoint it
 * writes, so a checkpoint is never resumed under another configuration), the spec as JSON, and whether to show
 * progress. {@code acceptedFingerprints} are earlier fingerprints of this folder whose checkpoint may be resumed (a
 * run that diverged and is continued at a lower learning rate).
 */
public record StageContext(StageDir dir, String kind, String fingerprint, JsonNode specJson, boolean progress,
    List<String> acceptedFingerprints) {
  /**
   * The provenance of an artefact of this stage (Tribuo's habit): stage, fingerprint, spec, the task protocol the
   * model was trained on, seeds, data identities, parents, versions, and the compute spent.
   */
  public ObjectNode provenance(TaskSpec task, Map<String, Long> seeds, Map<String, String> data,
      Map<String, JsonNode> parents, Compute compute) {
    return Provenance.create(kind, fingerprint, specJson, task, seeds, data, parents, compute);
  }
}
