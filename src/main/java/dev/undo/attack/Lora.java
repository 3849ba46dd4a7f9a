package dev.undo.attack;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.undo.model.Init;
import dev.undo.model.Params;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * LoRA adapters for a relearning attack: every attention and MLP matrix W (out × in) gets a trainable low-rank
 * update W + (α/r)·B·A with A (r × in) random normal(0, 1/r) and B (out × r) zero, so training starts from the
 * model itself. The base weights stay frozen; only A and B are in {@link #adapters()}.
 */
final class Lora {
  private final Params base;
  private final Params adapters;
  private final NDArray scale;

  Lora(Params base, int rank, double alpha, long seed, NDManager m) {
    this.base = base;
    this.adapters = new Params(m);
    this.scale = adapters.manager().full(new Shape(), (float) (alpha / rank), DataType.FLOAT32);
    SplittableRandom rnd = new SplittableRandom(seed);
    for (String n : base.names()) {
      if (!n.contains("_proj.")) {
        continue;
      }
      Shape s = base.get(n).getShape();
      float[] a = new float[(int) (rank * s.get(1))];
      for (int i = 0; i < a.length; i++) {
        a[i] = (float) (Init.gaussian(rnd) / rank);
      }
      adapters.put(n + ".lora_A", adapters.manager().create(a, new Shape(rank, s.get(1))));
      adapters.put(n + ".lora_B", adapters.manager().zeros(new Shape(s.get(0), rank)));
    }
  }

  Params adapters() {
    return adapters;
  }

  /** The model's effective weights for this step (a view; the sums live in the caller's scope). */
  Params effective() {
    Map<String, NDArray> eff = new LinkedHashMap<>();
    for (String n : base.names()) {
      NDArray w = base.get(n);
      if (adapters.has(n + ".lora_A")) {
        NDArray delta = adapters.get(n + ".lora_B").matMul(adapters.get(n + ".lora_A")).mul(scale);
        w = w.add(delta);
      }
      eff.put(n, w);
    }
    return Params.view(eff);
  }
}
