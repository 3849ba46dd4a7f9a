package dev.undo.data;

import java.util.Random;
import java.util.Set;

/**
 * An endless supply of training documents, one component of a {@link Mixture}. Implementations draw all their
 * randomness from the {@link Random} they are given, so a batch is a pure function of the sampler's seed and step.
 */
public interface DocumentSource {
  /**
   * The next document, never null. The packer marks document boundaries with a newline, so documents normally
   * hold none; one that does (from JSONL) is still packed as is.
   */
  String next(Random rnd);

  /** Short stable name for logs and per-source metrics, e.g. {@code "korean.train"}. */
  String name();

  /** Uniformly random documents of {@code corpus}. */
  static DocumentSource of(Corpus corpus) {
    return new CorpusSource(corpus);
  }

  /** Arithmetic documents of the given operations (see {@link ArithmeticGenerator#trainingDocument}). */
  static DocumentSource arithmetic(ArithmeticGenerator generator, Set<Op> ops) {
    return new ArithmeticSource(generator, ops);
  }
}
