package dev.undo.stage;

import java.util.Map;

/**
 * A stage of the pipeline: a function from a typed spec (and the checkpoints it names) to a typed result.
 * {@link StageRunner} does everything around it — lock, fingerprint check, {@code config.json}, resume or skip,
 * the result file, {@code DONE} — so an implementation only computes. Implementations are stateless singletons
 * registered in {@code reproduce/Stages} by {@link #kind()}, so a stage can be run from its kind and spec JSON
 * alone (another JVM, a Spark executor).
 *
 * @param <S> the spec record
 * @param <R> the result record, written as {@link #resultFile()}
 */
public interface Stage<S extends StageSpec, R> {
  /** The stage's name in {@code config.json} and plans: {@code pretrain}, {@code unlearn}, … */
  String kind();

  Class<S> specType();

  Class<R> resultType();

  /** The file the result is written to inside the stage folder. */
  default String resultFile() {
    return "eval.json";
  }

  /**
   * Content identities that the spec does not hold but the result depends on (e.g. the hashes of corpora a spec
   * names by path); they enter the fingerprint. Default: none.
   */
  default Map<String, String> identity(S spec) {
    return Map.of();
  }

  /** The configuration key of the learning rate a divergence message should name, or null. */
  default String lrKey(S spec) {
    return null;
  }

  /** Does the work in {@code ctx.dir()} (resuming from a checkpoint a killed run left there) and returns the result. */
  R run(S spec, StageContext ctx);
}
