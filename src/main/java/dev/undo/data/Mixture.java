package dev.undo.data;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Random;
import java.util.Set;

/**
 * A training-data mixture: each sequence is drawn from one source, chosen with the entry's probability (the
 * paper's "mixture by probability", docs/PROTOCOL.md, "Pipeline" step 1).
 */
public final class Mixture {
  /**
   * One source and the probability that a training sequence comes from it.
   *
   * @param source the document source
   * @param probability in (0, 1]
   */
  public record Entry(DocumentSource source, double probability) {
    public Entry {
      Objects.requireNonNull(source, "source");
      if (!(probability > 0.0 && probability <= 1.0)) {
        throw new IllegalArgumentException(
            "probability of " + source.name() + " must be in (0, 1], got " + probability);
      }
    }
  }

  private static final double TOLERANCE = 1e-6;

  private final List<Entry> entries;
  private final double[] cumulative;

  /**
   * @param entries at least one; probabilities must sum to 1 within 1e-6 and source names must be distinct (they
   *     key per-source metrics)
   */
  public Mixture(List<Entry> entries) {
    if (entries.isEmpty()) {
      throw new IllegalArgumentException("a mixture needs at least one entry");
    }
    this.entries = List.copyOf(entries);
    this.cumulative = new double[entries.size()];
    Set<String> names = new HashSet<>();
    double sum = 0;
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      if (!names.add(e.source().name())) {
        throw new IllegalArgumentException("source name " + e.source().name() + " appears twice in the mixture");
      }
      sum += e.probability();
      cumulative[i] = sum;
    }
    if (Math.abs(sum - 1.0) > TOLERANCE) {
      throw new IllegalArgumentException("mixture probabilities sum to " + sum + ", not 1: " + describe(entries));
    }
  }

  public static Mixture of(Entry... entries) {
    return new Mixture(List.of(entries));
  }

  /** A mixture of one source, probability 1. */
  public static Mixture single(DocumentSource source) {
    return of(new Entry(source, 1.0));
  }

  /** Builds a mixture from parallel lists, leaving out sources whose probability is exactly zero. */
  static Mixture dropZeros(List<DocumentSource> sources, List<Double> probabilities) {
    List<Entry> kept = new ArrayList<>();
    for (int i = 0; i < sources.size(); i++) {
      if (probabilities.get(i) != 0.0) {
        kept.add(new Entry(sources.get(i), probabilities.get(i)));
      }
    }
    return new Mixture(kept);
  }

  public List<Entry> entries() {
    return entries;
  }

  public int size() {
    return entries.size();
  }

  /** Index of a source drawn with the mixture probabilities; consumes exactly one {@code nextDouble()}. */
  public int pickIndex(Random rnd) {
    double u = rnd.nextDouble();
    for (int i = 0; i < cumulative.length - 1; i++) {
      if (u < cumulative[i]) {
        return i;
      }
    }
    // The last entry also absorbs the rounding gap between the cumulative sum and 1.
    return cumulative.length - 1;
  }

  public DocumentSource pick(Random rnd) {
    return entries.get(pickIndex(rnd)).source();
  }

  /** E.g. {@code "english.train 0.7500, arithmetic:addition+subtraction+multiplication+division 0.2500"}. */
  public String describe() {
    return describe(entries);
  }

  private static String describe(List<Entry> entries) {
    List<String> parts = new ArrayList<>();
    for (Entry e : entries) {
      parts.add(String.format(Locale.ROOT, "%s %.4f", e.source().name(), e.probability()));
    }
    return String.join(", ", parts);
  }

  @Override
  public String toString() {
    return "Mixture[" + describe() + "]";
  }
}
