package dev.undo.data;

import java.util.Objects;
import java.util.Random;

/**
 * Draws documents uniformly with replacement: the paper samples by mixture probability, not by epochs, and a
 * stateless draw keeps every batch reproducible from (seed, step) alone.
 */
public final class CorpusSource implements DocumentSource {
  private final Corpus corpus;

  public CorpusSource(Corpus corpus) {
    this.corpus = Objects.requireNonNull(corpus, "corpus");
  }

  @Override
  public String next(Random rnd) {
    return corpus.get(rnd.nextInt(corpus.size()));
  }

  @Override
  public String name() {
    return corpus.name();
  }

  public Corpus corpus() {
    return corpus;
  }

  @Override
  public String toString() {
    return "CorpusSource[" + corpus + "]";
  }
}
