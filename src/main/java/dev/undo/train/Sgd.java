package dev.undo.train;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.undo.model.Params;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** Plain SGD, {@code p ← p − lr·g}: the relearning attack's alternative to AdamW. */
public final class Sgd implements Optimizer {
  private final List<String> trainable;
  private final AdamW measure;

  public Sgd(Params params, Collection<String> trainable, ai.djl.ndarray.NDManager parent) {
    this.trainable = new ArrayList<>(trainable);
    // Reuses AdamW's clipping code path; its (unused) moment buffers are small next to a forward pass.
    this.measure = new AdamW(new AdamW.Hyper(0.9, 0.999, 1e-8, 0), params, trainable, parent);
  }

  @Override
  public List<String> trainable() {
    return trainable;
  }

  @Override
  public double clipGradients(Params params, double maxNorm) {
    return measure.clipGradients(params, maxNorm);
  }

  @Override
  public void step(Params params, double lr) {
    for (String n : trainable) {
      NDArray p = params.get(n);
      p.subi(p.getGradient().mul((float) lr));
    }
  }

  @Override
  public void zeroGradients(Params params) {
    for (String n : trainable) {
      JniUtils.zeroGrad((PtNDArray) params.get(n));
    }
  }

  @Override
  public void close() {
    measure.close();
  }
}
