package dev.undo.data;

/**
 * 64-bit seed mixing, so that sub-streams (one per step, per batch row, per evaluation set) can be derived from
 * a single run seed without the correlations that {@code seed + step} would give java.util.Random.
 */
final class Mix {
  private static final long GOLDEN = 0x9E3779B97F4A7C15L;

  private Mix() {}

  /** SplitMix64 finaliser: a bijection on longs with full avalanche. */
  static long finalise(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** Order-sensitive hash of the parts; {@code mix(a, b) != mix(b, a)} in general. */
  static long of(long... parts) {
    long h = GOLDEN;
    for (long p : parts) {
      h = finalise(h * GOLDEN + finalise(p + GOLDEN));
    }
    return h;
  }
}
