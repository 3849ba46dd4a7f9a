package dev.undo.unlearn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.undo.data.Batch;
import dev.undo.data.BatchSampler;
import dev.undo.model.Decoder;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.train.Batches;
import dev.undo.train.Losses;
import dev.undo.train.Trainer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The unlearning losses of docs/PROTOCOL.md §Pipeline 2, each an {@link Trainer.Objective} over a forget batch and a
 * retain batch of the same step:
 *
 * <ul>
 *   <li>GradDiff: {@code −CE(forget) + α_r·CE(retain)}.
 *   <li>MaxEnt: {@code KL(Uniform ‖ p)(forget) + α_r·CE(retain)}.
 *   <li>RMU: {@code MSE(h_ℓ(forget), c·u) + α_r·MSE(h_ℓ(retain), h_ℓ^frozen(retain))}, only the MLP
 *       down-projections of a band of layers at or before ℓ train.
 * </ul>
 * RepNoise adds {@code w·MMD(h(forget), N(0, σ²))} (pushes forget-data activations toward Gaussian noise);
 * SAM is a property of the step, not the loss, and lives in {@link Trainer}.
 */
public final class Methods {
  private Methods() {}

  /** A configured method: which parameters train, and the loss. */
  public interface Method {
    String name();

    List<String> trainable(Params p);

    Trainer.Objective objective(Decoder dec, Params p, NDManager m);

    /** Forward passes of the frozen model per step, in tokens (RMU's retain targets), for the ledger. */
    default long frozenForwardTokensPerStep() {
      return 0;
    }
  }

  /** The data both sides draw from; step s uses batch s of each sampler. */
  public record Data(BatchSampler forget, BatchSampler retain) {}

  /**
   * RepNoise settings; {@code weight <= 0} disables it. Layer is where activations are taken; {@code samples}
   * token positions enter the MMD; {@code bandwidth} is the kernel's 2s² (0 = the hidden size).
   */
  public record RepNoise(double weight, double noiseStd, int layer, long seed, int samples, double bandwidth) {}

  public static Method gradDiff(Data data, double retainWeight) {
    return gradDiff(data, retainWeight, null);
  }

  /** GradDiff, optionally with RepNoise's MMD term on the forget batch (the paper applies the add-ons to every method). */
  public static Method gradDiff(Data data, double retainWeight, RepNoise repNoise) {
    return new Method() {
      @Override
      public String name() {
        return "graddiff";
      }

      @Override
      public List<String> trainable(Params p) {
        return p.names();
      }

      @Override
      public Trainer.Objective objective(Decoder dec, Params p, NDManager m) {
        NDArray aR = m.full(new Shape(), (float) retainWeight, DataType.FLOAT32);
        RepNoiseTerm rn = repNoise == null || repNoise.weight() <= 0 ? null : new RepNoiseTerm(repNoise, m);
        return (step, micro, terms) -> {
          Batch fb = data.forget().batch(step);
          NDArray tokens = Batches.tokens(m, fb);
          Forget f = forget(dec, p, tokens, rn, step, terms);
          NDArray forgetCe = Losses.crossEntropy(f.logits(), Batches.targets(m, fb));
          NDArray loss = f.withRepNoise(forgetCe.neg());
          NDArray retainCe = ce(dec, p, m, data.retain().batch(step));
          terms.put("forget_ce", (double) forgetCe.getFloat());
          terms.put("retain_ce", (double) retainCe.getFloat());
          return loss.add(retainCe.mul(aR));
        };
      }
    };
  }

  public static Method maxEnt(Data data, double retainWeight, RepNoise repNoise) {
    return new Method() {
      @Override
      public String name() {
        return "maxent";
      }

      @Override
      public List<String> trainable(Params p) {
        return p.names();
      }

      @Override
      public Trainer.Objective objective(Decoder dec, Params p, NDManager m) {
        NDArray aR = m.full(new Shape(), (float) retainWeight, DataType.FLOAT32);
        NDArray logV = m.full(new Shape(), (float) Math.log(dec.config().vocabSize()), DataType.FLOAT32);
        RepNoiseTerm rn = repNoise == null || repNoise.weight() <= 0 ? null : new RepNoiseTerm(repNoise, m);
        return (step, micro, terms) -> {
          Batch fb = data.forget().batch(step);
          NDArray tokens = Batches.tokens(m, fb);
          Losses.Targets ft = Losses.Targets.of(m, fb.targets(), fb.batchSize(), fb.seqLen());
          Forget f = forget(dec, p, tokens, rn, step, terms);
          NDArray forgetKl = Losses.klUniform(f.logits(), ft, logV);
          NDArray loss = f.withRepNoise(forgetKl);
          NDArray retainCe = ce(dec, p, m, data.retain().batch(step));
          terms.put("forget_kl_uniform", (double) forgetKl.getFloat());
          terms.put("retain_ce", (double) retainCe.getFloat());
          return loss.add(retainCe.mul(aR));
        };
      }
    };
  }

  /**
   * RMU. {@code layers}: the blocks whose {@code mlp.down_proj} trains; {@code targetLayer}: ℓ, the block after
   * which the hidden state is steered. A trained layer after ℓ could not change h_ℓ, so such a config is rejected.
   */
  public static Method rmu(Data data, Params frozen, List<Integer> layers, int targetLayer, double steeringCoef,
      double retainWeight, long seed, RepNoise repNoise, ModelConfig cfg) {
    if (layers.isEmpty()) {
      throw new IllegalArgumentException("unlearn.rmu.layers must name at least one layer");
    }
    if (targetLayer < 0 || targetLayer >= cfg.numLayers()) {
      throw new IllegalArgumentException("unlearn.rmu.target_layer " + targetLayer + " is not a layer of this "
          + cfg.numLayers() + "-layer model");
    }
    for (int l : layers) {
      if (l < 0 || l >= cfg.numLayers()) {
        throw new IllegalArgumentException("unlearn.rmu.layers: " + l + " is not a layer of this model");
      }
    }
    if (layers.stream().allMatch(l -> l > targetLayer)) {
      throw new IllegalArgumentException("unlearn.rmu: no trained layer " + layers + " can influence target_layer "
          + targetLayer + " (train layers at or before it)");
    }
    return new Method() {
      @Override
      public String name() {
        return "rmu";
      }

      @Override
      public List<String> trainable(Params p) {
        List<String> out = new ArrayList<>();
        for (int l : layers) {
          out.add("layers." + l + ".mlp.down_proj.weight");
        }
        return out;
      }

      @Override
      public long frozenForwardTokensPerStep() {
        return (long) data.retain().batchSize() * data.retain().seqLen();
      }

      @Override
      public Trainer.Objective objective(Decoder dec, Params p, NDManager m) {
        int d = dec.config().hiddenSize();
        // u: a fixed random unit vector (seeded), scaled by c; broadcast over batch and positions.
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] u = new float[d];
        double norm = 0;
        for (int i = 0; i < d; i++) {
          u[i] = (float) rnd.nextDouble();
          norm += (double) u[i] * u[i];
        }
        for (int i = 0; i < d; i++) {
          u[i] = (float) (u[i] / Math.sqrt(norm) * steeringCoef);
        }
        NDArray target = m.create(u, new Shape(1, 1, d));
        NDArray aR = m.full(new Shape(), (float) retainWeight, DataType.FLOAT32);
        RepNoiseTerm rn = repNoise == null || repNoise.weight() <= 0 ? null : new RepNoiseTerm(repNoise, m);
        return (step, micro, terms) -> {
          Batch fb = data.forget().batch(step);
          NDArray hf = dec.residual(p, Batches.tokens(m, fb), targetLayer);
          NDArray forget = hf.sub(target).square().mean();
          Batch rb = data.retain().batch(step);
          NDArray rt = Batches.tokens(m, rb);
          NDArray hr = dec.residual(p, rt, targetLayer);
          NDArray hrFrozen = dec.residual(frozen, rt, targetLayer);
          NDArray retain = hr.sub(hrFrozen).square().mean();
          terms.put("forget_mse", (double) forget.getFloat());
          terms.put("retain_mse", (double) retain.getFloat());
          NDArray loss = forget.add(retain.mul(aR));
          if (rn != null) {
            NDArray mmd = rn.mmd(repNoise.layer() == targetLayer ? hf
                : dec.residual(p, Batches.tokens(m, fb), repNoise.layer()), step);
            terms.put("repnoise_mmd", (double) mmd.getFloat());
            loss = loss.add(mmd.mul(rn.weight));
          }
          return loss;
        };
      }
    };
  }

  /** The forget batch's forward: its logits and, with RepNoise, the weighted MMD term of its activations. */
  record Forget(NDArray logits, NDArray repNoisePenalty) {
    /** {@code forgetLoss} plus RepNoise's term when there is one. */
    NDArray withRepNoise(NDArray forgetLoss) {
      return repNoisePenalty == null ? forgetLoss : forgetLoss.add(repNoisePenalty);
    }
  }

  /**
   * Runs the forget batch; with RepNoise the forward is split at its layer so the same pass yields the activations
   * whose MMD to Gaussian noise the term penalises (logged as repnoise_mmd).
   */
  static Forget forget(Decoder dec, Params p, NDArray tokens, RepNoiseTerm rn, long step,
      Map<String, Double> terms) {
    if (rn == null) {
      return new Forget(dec.logits(p, tokens), null);
    }
    int layer = rn.spec.layer();
    NDArray h = dec.residual(p, tokens, layer);
    NDArray rest = h;
    for (int l = layer + 1; l < dec.config().numLayers(); l++) {
      rest = dec.block(p, l, rest);
    }
    NDArray mmd = rn.mmd(h, step);
    terms.put("repnoise_mmd", (double) mmd.getFloat());
    return new Forget(dec.head(p, rest), mmd.mul(rn.weight));
  }

  /** Mean next-token CE of a batch. */
  static NDArray ce(Decoder dec, Params p, NDManager m, Batch b) {
    return Losses.crossEntropy(dec.logits(p, Batches.tokens(m, b)), Batches.targets(m, b));
  }

  /**
   * RepNoise's distribution term: squared MMD with a Gaussian kernel between forget-data activations (a fixed
   * subsample of token positions) and as many samples of N(0, σ²·I), fresh per step from a seeded stream.
   * Bandwidth: the kernel's 2·s² is the configured bandwidth, by default the dimension d, so kernel values stay in
   * a useful range for unit-scale activations.
   */
  static final class RepNoiseTerm {
    final NDArray weight;
    final NDArray two;
    final RepNoise spec;
    final NDManager m;

    RepNoiseTerm(RepNoise spec, NDManager m) {
      this.spec = spec;
      this.m = m;
      this.weight = m.full(new Shape(), (float) spec.weight(), DataType.FLOAT32);
      this.two = m.full(new Shape(), 2f, DataType.FLOAT32);
    }

    NDArray mmd(NDArray h, long step) {
      long d = h.getShape().get(2);
      NDArray x = h.reshape(-1, d);
      long n = Math.min(spec.samples(), x.getShape().get(0));
      long stride = Math.max(1, x.getShape().get(0) / n);
      long[] idx = new long[(int) n];
      for (int i = 0; i < n; i++) {
        idx[i] = i * stride;
      }
      x = x.get(m.create(idx));
      SplittableRandom rnd = new SplittableRandom(spec.seed() ^ (step * 0x9E3779B97F4A7C15L));
      float[] noise = new float[(int) (n * d)];
      for (int i = 0; i < noise.length; i++) {
        noise[i] = (float) (Init.gaussian(rnd) * spec.noiseStd());
      }
      NDArray y = m.create(noise, new Shape(n, d));
      NDArray bw = m.full(new Shape(), (float) (spec.bandwidth() > 0 ? spec.bandwidth() : d), DataType.FLOAT32);
      return kernelMean(x, x, bw).add(kernelMean(y, y, bw)).sub(kernelMean(x, y, bw).mul(two));
    }

    private NDArray kernelMean(NDArray a, NDArray b, NDArray bw) {
      // ||a_i − b_j||² = |a_i|² + |b_j|² − 2 a_i·b_j; the 2 is a native constant (docs/ENGINE-NOTES.md trap 1).
      NDArray aa = a.square().sum(new int[] {1}, true); // (n, 1)
      NDArray bb = b.square().sum(new int[] {1}, true).transpose(); // (1, n)
      NDArray d2 = aa.add(bb).sub(a.matMul(b.transpose()).mul(two));
      return d2.div(bw).neg().exp().mean();
    }
  }
}
