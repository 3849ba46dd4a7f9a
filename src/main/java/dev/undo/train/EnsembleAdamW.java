package dev.undo.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.undo.model.EnsembleParams;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link AdamW} (PyTorch's formula) for K stacked members: moments are stacked like the weights, {@code (K, ...S)},
 * and every per-member quantity (learning rate, weight decay, betas, ε, bias corrections, clip coefficient) is a
 * {@code (K, 1, …)} factor that broadcasts over a member's slice. Member k's update is elementwise the same float32
 * arithmetic, in the same order, as {@link AdamW}'s on member k alone, so an ensemble member follows the
 * single-model trajectory up to the matmul kernels' summation order.
 *
 * <p>Each member has its own step counter (bias correction), and members can be inactive for a step (stopped, or
 * ahead after a resume): an inactive member's weights and moments are left bit-identical. Weight decay applies to
 * a parameter whose <em>member slice</em> has two or more dimensions (matrices and the embedding), as in
 * {@link AdamW}; the stacked array always has one dimension more.
 *
 * <p>Optimizer state moves per member in {@link AdamW#state()}'s names ({@code m.<param>}, {@code v.<param>}), so a
 * member taken out of the ensemble resumes as a single model with {@link AdamW#restore} and vice versa.
 */
public final class EnsembleAdamW implements EnsembleOptimizer {
  private final int members;
  private final List<AdamW.Hyper> hyper;
  private final List<String> trainable;
  private final NDManager manager;
  private final Map<String, NDArray> m = new LinkedHashMap<>();
  private final Map<String, NDArray> v = new LinkedHashMap<>();
  private final long[] steps;
  private final NDArray negZero;
  private final NDArray posZero;

  /** One {@link AdamW.Hyper} per member; state (zeros) only for the {@code trainable} parameters. */
  public EnsembleAdamW(List<AdamW.Hyper> hyper, EnsembleParams params, Collection<String> trainable,
      NDManager parent) {
    this.members = params.size();
    EnsembleGradients.check(hyper.size(), members, "hyper");
    this.hyper = List.copyOf(hyper);
    this.trainable = new ArrayList<>(trainable);
    this.manager = parent.newSubManager();
    this.steps = new long[members];
    for (String n : this.trainable) {
      NDArray p = params.get(n);
      m.put(n, manager.zeros(p.getShape()));
      v.put(n, manager.zeros(p.getShape()));
    }
    negZero = manager.full(new Shape(), -0.0f, DataType.FLOAT32);
    posZero = manager.full(new Shape(), 0.0f, DataType.FLOAT32);
  }

  /** The same hyper-parameters for every member. */
  public EnsembleAdamW(AdamW.Hyper hyper, EnsembleParams params, Collection<String> trainable, NDManager parent) {
    this(Collections.nCopies(params.size(), hyper), params, trainable, parent);
  }

  @Override
  public List<String> trainable() {
    return trainable;
  }

  @Override
  public int members() {
    return members;
  }

  /** Updates member {@code k} has taken (the {@code t} of its bias correction). */
  public long stepCount(int k) {
    return steps[k];
  }

  @Override
  public double[] clipGradients(EnsembleParams params, double[] maxNorm) {
    try (NDManager tmp = manager.newSubManager()) {
      return EnsembleGradients.clip(params, trainable, maxNorm, tmp);
    }
  }

  @Override
  public void step(EnsembleParams params, double[] lr, boolean[] active) {
    EnsembleGradients.check(lr.length, members, "lr");
    EnsembleGradients.check(active.length, members, "active");
    boolean all = EnsembleGradients.all(active);
    // Per-member factors, computed in double and rounded to float once, exactly as AdamW passes them as floats.
    float[] decay = new float[members];
    float[] beta1 = new float[members];
    float[] oneMinusBeta1 = new float[members];
    float[] beta2 = new float[members];
    float[] oneMinusBeta2 = new float[members];
    float[] bc2Sqrt = new float[members];
    float[] eps = new float[members];
    float[] stepSize = new float[members];
    boolean anyDecay = false;
    for (int k = 0; k < members; k++) {
      AdamW.Hyper h = hyper.get(k);
      eps[k] = (float) h.eps();
      if (!active[k]) {
        // Identity factors (×1); the masked increments below make the update exact zero. bc2Sqrt = 1 keeps the
        // (discarded) quotient finite for a member that has not stepped yet.
        decay[k] = 1f;
        beta1[k] = 1f;
        beta2[k] = 1f;
        bc2Sqrt[k] = 1f;
        continue;
      }
      long t = ++steps[k];
      double bc1 = 1 - Math.pow(h.beta1(), t);
      bc2Sqrt[k] = (float) Math.sqrt(1 - Math.pow(h.beta2(), t));
      stepSize[k] = (float) (lr[k] / bc1);
      beta1[k] = (float) h.beta1();
      oneMinusBeta1[k] = (float) (1 - h.beta1());
      beta2[k] = (float) h.beta2();
      oneMinusBeta2[k] = (float) (1 - h.beta2());
      // AdamW skips the multiply when weight decay is 0; ×1f is the same identity here.
      decay[k] = h.weightDecay() > 0 ? (float) (1 - lr[k] * h.weightDecay()) : 1f;
      anyDecay |= h.weightDecay() > 0;
    }
    try (NDManager tmp = manager.newSubManager()) {
      Map<Integer, NDArray[]> byRank = new LinkedHashMap<>();
      for (String n : trainable) {
        NDArray p = params.get(n);
        int rank = p.getShape().dimension();
        NDArray[] f = byRank.computeIfAbsent(rank, r -> new NDArray[] {
            EnsembleGradients.factor(tmp, decay, r), EnsembleGradients.factor(tmp, beta1, r),
            EnsembleGradients.factor(tmp, oneMinusBeta1, r), EnsembleGradients.factor(tmp, beta2, r),
            EnsembleGradients.factor(tmp, oneMinusBeta2, r), EnsembleGradients.factor(tmp, bc2Sqrt, r),
            EnsembleGradients.factor(tmp, eps, r), EnsembleGradients.factor(tmp, stepSize, r),
            all ? null : EnsembleGradients.mask(tmp, active, r)});
        NDArray activeMask = f[8];
        try (NDArray g = p.getGradient(); NDManager stepTmp = tmp.newSubManager()) {
          if (anyDecay && rank - 1 >= 2) {
            p.muli(f[0]);
          }
          NDArray mn = m.get(n);
          NDArray vn = v.get(n);
          // m ← β1·m + (1−β1)·g
          NDArray inc1 = attach(g.mul(f[2]), stepTmp);
          mn.muli(f[1]).addi(all ? inc1 : attach(EnsembleGradients.masked(inc1, activeMask, negZero), stepTmp));
          // v ← β2·v + (1−β2)·g²
          NDArray inc2 = attach(g.mul(g), stepTmp).muli(f[4]);
          vn.muli(f[3]).addi(all ? inc2 : attach(EnsembleGradients.masked(inc2, activeMask, negZero), stepTmp));
          // p ← p − lr/bc1 · m / (sqrt(v)/sqrt(bc2) + ε)
          NDArray denom = attach(vn.sqrt(), stepTmp).divi(f[5]).addi(f[6]);
          NDArray upd = attach(mn.div(denom), stepTmp).muli(f[7]);
          p.subi(all ? upd : attach(EnsembleGradients.masked(upd, activeMask, posZero), stepTmp));
        }
      }
    }
  }

  private static NDArray attach(NDArray a, NDManager m) {
    a.attach(m);
    return a;
  }

  @Override
  public void zeroGradients(EnsembleParams params) {
    EnsembleGradients.zero(params, trainable);
  }

  /**
   * Member {@code k}'s moments as copies in {@code into}, named as {@link AdamW#state()} names them, each of the
   * single-model shape; pair it with {@link #stepCount(int)} in a checkpoint.
   */
  public Map<String, NDArray> memberState(int k, NDManager into) {
    checkMember(k);
    Map<String, NDArray> out = new LinkedHashMap<>();
    m.forEach((n, a) -> out.put("m." + n, slice(a, k, into)));
    v.forEach((n, a) -> out.put("v." + n, slice(a, k, into)));
    return out;
  }

  /** Restores member {@code k}'s moments (from {@link AdamW#state()} or {@link #memberState}) and step counter. */
  public void restoreMember(int k, Map<String, NDArray> state, long stepCount) {
    checkMember(k);
    for (String n : trainable) {
      NDArray sm = state.get("m." + n);
      NDArray sv = state.get("v." + n);
      if (sm == null || sv == null) {
        throw new IllegalArgumentException("optimizer state lacks parameter '" + n + "'");
      }
      Shape want = m.get(n).getShape().slice(1);
      if (!sm.getShape().equals(want) || !sv.getShape().equals(want)) {
        throw new IllegalArgumentException("optimizer state of '" + n + "' has shape " + sm.getShape() + "/"
            + sv.getShape() + ", want " + want);
      }
      m.get(n).set(new NDIndex().addIndices(k), sm);
      v.get(n).set(new NDIndex().addIndices(k), sv);
    }
    steps[k] = stepCount;
  }

  private static NDArray slice(NDArray stacked, int k, NDManager into) {
    try (NDArray view = stacked.get(new NDIndex().addIndices(k))) {
      NDArray c = view.duplicate();
      c.attach(into);
      return c;
    }
  }

  private void checkMember(int k) {
    if (k < 0 || k >= members) {
      throw new IllegalArgumentException("member " + k + " out of range [0, " + (members - 1) + "]");
    }
  }

  @Override
  public void close() {
    manager.close();
  }
}
