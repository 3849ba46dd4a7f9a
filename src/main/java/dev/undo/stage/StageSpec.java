package dev.undo.stage;

import java.nio.file.Path;
import java.util.Map;

/**
 * The typed specification of one stage: a record holding every value that shapes the stage's result, serialised
 * to {@code config.json} and fingerprinted ({@link StageFingerprint}). Input checkpoints are named by role in
 * {@link #inputs()}; the fingerprint uses their contents, not their paths, so a moved run folder still resumes and
 * a changed parent is noticed.
 *
 * <p>Not part of a spec: the output folder, progress display, thread count (results repeat exactly for a given
 * thread count, and the count is recorded in provenance, but changing it does not invalidate finished work).
 */
public interface StageSpec {
  /**
   * Input checkpoints (or finished stage folders) by role. Each role must also be the name of the record component
   * that holds the path, so the fingerprint can replace the path by the content hash.
   */
  default Map<String, Path> inputs() {
    return Map.of();
  }
}
