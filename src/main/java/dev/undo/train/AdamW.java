package dev.undo.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.undo.model.Params;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW with PyTorch's formula (torch.optim.AdamW, non-fused), written here because DJL's differs in where ε goes,
 * keeps its state private (no checkpoint, so no exact resume) and moves parameters that received no gradient.
 * Weight decay applies to matrices only, as in nanoGPT; norm gains are not decayed.
 *
 * <p>Also owns gradient clipping by global norm and zeroing, since those act on the same parameter set.
 */
public final class AdamW implements Optimizer {
  public record Hyper(double beta1, double beta2, double eps, double weightDecay) {
    public Hyper {
      if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
        throw new IllegalArgumentException("optimizer betas must be in [0, 1)");
      }
      if (!(eps > 0) || !(weightDecay >= 0)) {
        throw new IllegalArgumentException("optimizer eps must be > 0 and weight_decay >= 0");
      }
    }
  }

  private final Hyper hyper;
  private final List<String> trainable;
  private final NDManager manager;
  private final Map<String, NDArray> m = new LinkedHashMap<>();
  private final Map<String, NDArray> v = new LinkedHashMap<>();
  private long step;

  /** State is allocated (zeros) for the {@code trainable} parameters only. */
  public AdamW(Hyper hyper, Params params, Collection<String> trainable, NDManager parent) {
    this.hyper = hyper;
    this.trainable = new ArrayList<>(trainable);
    this.manager = parent.newSubManager();
    for (String n : this.trainable) {
      NDArray p = params.get(n);
      m.put(n, manager.zeros(p.getShape()));
      v.put(n, manager.zeros(p.getShape()));
    }
  }

  @Override
  public List<String> trainable() {
    return trainable;
  }

  /** Updates taken so far (the bias correction's step; moves with the state between single and ensemble runs). */
  public long stepCount() {
    return step;
  }

  /**
   * Scales gradients so their global L2 norm is at most {@code maxNorm} (torch.nn.utils.clip_grad_norm_) and
   * returns the norm before clipping. {@code maxNorm <= 0} only measures.
   */
  @Override
  public double clipGradients(Params params, double maxNorm) {
    double sq = 0;
    for (String n : trainable) {
      NDArray g = params.get(n).getGradient();
      sq += g.mul(g).sum().toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble();
    }
    double norm = Math.sqrt(sq);
    if (maxNorm > 0) {
      double coef = maxNorm / (norm + 1e-6);
      if (coef < 1.0) {
        for (String n : trainable) {
          params.get(n).getGradient().muli((float) coef);
        }
      }
    }
    return norm;
  }

  /** One update at learning rate {@code lr}. Call outside a gradient collector (in-place ops on leaves). */
  @Override
  public void step(Params params, double lr) {
    step++;
    double bc1 = 1 - Math.pow(hyper.beta1(), step);
    double bc2Sqrt = Math.sqrt(1 - Math.pow(hyper.beta2(), step));
    float stepSize = (float) (lr / bc1);
    for (String n : trainable) {
      NDArray p = params.get(n);
      NDArray g = p.getGradient();
      if (hyper.weightDecay() > 0 && p.getShape().dimension() >= 2) {
        p.muli((float) (1 - lr * hyper.weightDecay()));
      }
      NDArray mn = m.get(n);
      NDArray vn = v.get(n);
      mn.muli((float) hyper.beta1()).addi(g.mul((float) (1 - hyper.beta1())));
      vn.muli((float) hyper.beta2()).addi(g.mul(g).muli((float) (1 - hyper.beta2())));
      NDArray denom = vn.sqrt().divi((float) bc2Sqrt).addi((float) hyper.eps());
      p.subi(mn.div(denom).muli(stepSize));
    }
  }

  /** Sets the trainable parameters' gradients to zero (they accumulate otherwise). */
  @Override
  public void zeroGradients(Params params) {
    for (String n : trainable) {
      JniUtils.zeroGrad((PtNDArray) params.get(n));
    }
  }

  /** Optimizer state as named arrays ({@code m.<name>}, {@code v.<name>}) for a checkpoint. */
  public Map<String, NDArray> state() {
    Map<String, NDArray> out = new LinkedHashMap<>();
    m.forEach((k, a) -> out.put("m." + k, a));
    v.forEach((k, a) -> out.put("v." + k, a));
    return out;
  }

  /** Restores state saved by {@link #state()} and the step counter. */
  public void restore(Map<String, NDArray> state, long stepCount) {
    for (String n : trainable) {
      NDArray sm = state.get("m." + n);
      NDArray sv = state.get("v." + n);
      if (sm == null || sv == null) {
        throw new IllegalArgumentException("optimizer state lacks parameter '" + n + "'");
      }
      m.get(n).set(sm.toByteBuffer());
      v.get(n).set(sv.toByteBuffer());
    }
    this.step = stepCount;
  }

  @Override
  public void close() {
    manager.close();
  }
}
