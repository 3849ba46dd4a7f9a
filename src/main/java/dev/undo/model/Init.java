package dev.undo.model;

import ai.djl.ndarray.NDManager;
import java.util.SplittableRandom;

/**
 * Fresh weights per docs/MODEL.md: normal(0, 0.02) for every matrix and the embedding, 0 for norm weights (gain 1
 * under the 1 + w convention). Numbers are drawn on the host from a seeded generator, so the same seed gives the
 * same model whatever the engine's own RNG state or thread count.
 */
public final class Init {
  public static final double STD = 0.02;

  private Init() {}

  public static Params random(ModelConfig cfg, NDManager parent, long seed) {
    Params p = new Params(parent);
    SplittableRandom root = new SplittableRandom(seed);
    for (String name : Params.names(cfg)) {
      SplittableRandom rnd = root.split();
      var shape = Params.shapeOf(cfg, name);
      float[] v = new float[(int) shape.size()];
      if (shape.dimension() >= 2) {
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (gaussian(rnd) * STD);
        }
      }
      p.put(name, p.manager().create(v, shape));
    }
    return p;
  }

  /** Standard normal by Box-Muller: SplittableRandom has no nextGaussian in Java 17. */
  public static double gaussian(SplittableRandom rnd) {
    double u1 = rnd.nextDouble();
    double u2 = rnd.nextDouble();
    return Math.sqrt(-2.0 * Math.log(1.0 - u1)) * Math.cos(2.0 * Math.PI * u2);
  }
}
