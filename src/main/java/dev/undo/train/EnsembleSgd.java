package dev.undo.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.undo.model.EnsembleParams;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * {@link Sgd} ({@code p ← p − lr·g}) for K stacked members with a learning rate per member: the relearning
 * attack's alternative optimizer, batched. Stateless, so resuming needs nothing but the weights. Inactive members
 * stay bit-identical.
 */
public final class EnsembleSgd implements EnsembleOptimizer {
  private final int members;
  private final List<String> trainable;
  private final NDManager manager;
  private final NDArray posZero;

  public EnsembleSgd(EnsembleParams params, Collection<String> trainable, NDManager parent) {
    this.members = params.size();
    this.trainable = new ArrayList<>(trainable);
    for (String n : this.trainable) {
      params.get(n); // fails early on an unknown name
    }
    this.manager = parent.newSubManager();
    posZero = manager.full(new Shape(), 0.0f, DataType.FLOAT32);
  }

  @Override
  public List<String> trainable() {
    return trainable;
  }

  @Override
  public int members() {
    return members;
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
    float[] rate = new float[members];
    for (int k = 0; k < members; k++) {
      rate[k] = active[k] ? (float) lr[k] : 0f;
    }
    try (NDManager tmp = manager.newSubManager()) {
      for (String n : trainable) {
        NDArray p = params.get(n);
        int rank = p.getShape().dimension();
        try (NDArray g = p.getGradient(); NDArray delta = g.mul(EnsembleGradients.factor(tmp, rate, rank))) {
          if (all) {
            p.subi(delta);
          } else {
            try (NDArray d = EnsembleGradients.masked(delta, EnsembleGradients.mask(tmp, active, rank), posZero)) {
              p.subi(d);
            }
          }
        }
      }
    }
  }

  @Override
  public void zeroGradients(EnsembleParams params) {
    EnsembleGradients.zero(params, trainable);
  }

  @Override
  public void close() {
    manager.close();
  }
}
