package dev.undo.undo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.undo.model.Params;
import java.util.SplittableRandom;

/**
 * Shrink-and-perturb (docs/PROTOCOL.md §Pipeline 3): for every matrix θ ← (1−α)·θ + α·β·N with N drawn from Xavier-uniform
 * of θ's shape, U(−a, a), a = sqrt(6 / (fan_in + fan_out)) (fan_in = columns, fan_out = rows, as torch computes
 * them for a Linear weight and for the embedding); every vector θ ← (1−α)·θ.
 *
 * <p>Norm convention: our RMSNorm gain is {@code 1 + w} (Gemma's), and the vectors are {@code w}. Shrinking w moves
 * each gain toward 1, the identity gain, not toward 0: at α = 1 the norms become plain RMS normalisation, as in a
 * freshly initialised model (w = 0), and the matrices are pure noise β·N. That noise is Xavier-uniform (the
 * paper's), not the normal(0, 0.02) of {@code model/Init}, so α = 1 is a fresh start of a different scale than
 * Unlearn-and-Distill's random init: with β = 1 its matrices have std sqrt(2 / (fan_in + fan_out)) (0.088 for a
 * 128 × 128 matrix), β = 0.1 gives 0.0088. α = 0 leaves every weight bit-identical.
 *
 * <p>Noise is drawn on the host from a seeded stream per parameter (in canonical order), so the same seed noises
 * identically on any thread count.
 */
public final class Noise {
  private Noise() {}

  /** Noises {@code p} in place. */
  public static void apply(Params p, double alpha, double beta, long seed) {
    if (!(alpha >= 0 && alpha <= 1)) {
      throw new IllegalArgumentException("distill.alpha must be in [0, 1], got " + alpha);
    }
    if (!(beta >= 0)) {
      throw new IllegalArgumentException("distill.beta must be >= 0, got " + beta);
    }
    if (alpha == 0) {
      return; // bit-identical by definition, not by floating-point luck
    }
    SplittableRandom root = new SplittableRandom(seed);
    for (String name : p.names()) {
      SplittableRandom rnd = root.split();
      NDArray w = p.get(name);
      float[] v = w.toFloatArray();
      Shape s = w.getShape();
      if (s.dimension() >= 2) {
        double fanOut = s.get(0);
        double fanIn = s.size() / s.get(0);
        double a = Math.sqrt(6.0 / (fanIn + fanOut));
        for (int i = 0; i < v.length; i++) {
          double n = (rnd.nextDouble() * 2 - 1) * a;
          v[i] = (float) ((1 - alpha) * v[i] + alpha * beta * n);
        }
      } else {
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) ((1 - alpha) * v[i]);
        }
      }
      w.set(v);
    }
  }
}
