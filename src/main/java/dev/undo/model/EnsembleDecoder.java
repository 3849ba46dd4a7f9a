package dev.undo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;

/**
 * The forward pass of docs/MODEL.md for K members at once ({@link EnsembleParams}): the same function as
 * {@link Decoder}, member by member, computed as one batched graph with a leading member axis. A training step of
 * the tiny model spends much of its time in small ops whose fixed cost does not grow with the tensor, so K models
 * in one graph pay that cost once.
 *
 * <p>How members stay apart: the embedding table {@code (K, V, d)} is read as one {@code (K·V, d)} table with
 * member k's ids offset by k·V; every linear layer is a batched matmul {@code (K, N, in) × (K, in, out)}; norm
 * gains broadcast as {@code (K, 1, d)}; attention folds members into the batch, {@code (K·B, H, T, hd)}; the tied
 * head is a batched matmul with each member's own table. No op mixes slices, so the gradient of a sum of
 * per-member losses gives each member exactly its own gradient.
 *
 * <p>Activations are kept as {@code (K, N, d)} with {@code N = B·T} so that each linear layer is one bmm without a
 * reshape. Scalars are the wrapped {@link Decoder}'s native constants (DJL-NOTES trap 1). Callers own results: run
 * inside an {@code NDScope}.
 */
public final class EnsembleDecoder implements AutoCloseable {
  private final ModelConfig cfg;
  private final int members;
  private final Decoder single;
  private final NDManager constants;
  private final NDArray idOffsets; // (K, 1, 1) int64: k·V, member k's rows in the (K·V, d) table

  public EnsembleDecoder(ModelConfig cfg, int members, NDManager parent) {
    if (members < 1) {
      throw new IllegalArgumentException("an ensemble needs at least one member, got " + members);
    }
    this.cfg = cfg;
    this.members = members;
    this.single = new Decoder(cfg, parent);
    this.constants = parent.newSubManager();
    long[] off = new long[members];
    for (int k = 0; k < members; k++) {
      off[k] = (long) k * cfg.vocabSize();
    }
    idOffsets = constants.create(off, new Shape(members, 1, 1));
  }

  public ModelConfig config() {
    return cfg;
  }

  public int members() {
    return members;
  }

  /**
   * Token ids to logits {@code (K, B, T, V)}. {@code tokens} is {@code (K, B, T)} int64 (each member its own
   * batch) or {@code (B, T)} (one batch shared by every member).
   */
  public NDArray logits(EnsembleParams p, NDArray tokens) {
    long[] bt = batchShape(tokens);
    return head(p, residualFlat(p, tokens, cfg.numLayers() - 1)).reshape(members, bt[0], bt[1], cfg.vocabSize());
  }

  /**
   * The residual stream after block {@code throughLayer} (0-based; −1 is the scaled embedding), {@code (K, B, T,
   * d)}. Later blocks are not computed.
   */
  public NDArray residual(EnsembleParams p, NDArray tokens, int throughLayer) {
    long[] bt = batchShape(tokens);
    return residualFlat(p, tokens, throughLayer).reshape(members, bt[0], bt[1], cfg.hiddenSize());
  }

  /** Final norm and tied head on a residual {@code (K, B, T, d)}: logits {@code (K, B, T, V)}. */
  public NDArray headOf(EnsembleParams p, NDArray residual) {
    Shape s = residual.getShape();
    NDArray flat = residual.reshape(members, s.get(1) * s.get(2), cfg.hiddenSize());
    return head(p, flat).reshape(members, s.get(1), s.get(2), cfg.vocabSize());
  }

  private NDArray residualFlat(EnsembleParams p, NDArray tokens, int throughLayer) {
    if (throughLayer < -1 || throughLayer >= cfg.numLayers()) {
      throw new IllegalArgumentException(
          "layer " + throughLayer + " out of range [0, " + (cfg.numLayers() - 1) + "]");
    }
    if (p.size() != members) {
      throw new IllegalArgumentException("ensemble has " + p.size() + " members, decoder was built for " + members);
    }
    long[] bt = batchShape(tokens);
    NDArray x = embed(p, tokens); // (K, N, d)
    for (int l = 0; l <= throughLayer; l++) {
      x = block(p, l, x, bt[0], bt[1]);
    }
    return x;
  }

  /** (B, T) of a token array, checking its rank and length. */
  private long[] batchShape(NDArray tokens) {
    Shape s = tokens.getShape();
    if (s.dimension() == 3 && s.get(0) != members) {
      throw new IllegalArgumentException("tokens " + s + " are for " + s.get(0) + " members, not " + members);
    }
    if (s.dimension() != 2 && s.dimension() != 3) {
      throw new IllegalArgumentException("tokens must be (K, B, T) or (B, T), got " + s);
    }
    long t = s.get(s.dimension() - 1);
    if (t > cfg.maxSeqLen()) {
      throw new IllegalArgumentException("sequence length " + t + " exceeds model.max_seq_len " + cfg.maxSeqLen());
    }
    return new long[] {s.get(s.dimension() - 2), t};
  }

  /** Scaled embedding {@code (K, N, d)}: member k reads rows k·V.. of the stacked table. */
  private NDArray embed(EnsembleParams p, NDArray tokens) {
    long[] bt = batchShape(tokens);
    NDArray ids = tokens.add(idOffsets); // (K, B, T); a shared (B, T) batch broadcasts to every member
    NDArray table = p.get("embed_tokens.weight").reshape(-1, cfg.hiddenSize()); // (K·V, d), a view
    NDArray x = ids.getNDArrayInternal().embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
    return x.reshape(members, bt[0] * bt[1], cfg.hiddenSize()).mul(single.embedScale());
  }

  /** Final norm and tied head: {@code (K, N, d)} to {@code (K, N, V)}. */
  private NDArray head(EnsembleParams p, NDArray x) {
    NDArray h = rmsNorm(x, p.get("norm.weight"));
    return linear(h, p.get("embed_tokens.weight"));
  }

  /** One Gemma-2 block over {@code (K, N, d)}, N = B·T; attention runs with members folded into the batch. */
  private NDArray block(EnsembleParams p, int layer, NDArray x, long b, long t) {
    String pre = "layers." + layer + ".";
    int h = cfg.numHeads();
    int hd = cfg.headDim();
    long kb = members * b;
    NDArray cosT = single.ropeCos(t);
    NDArray sinT = single.ropeSin(t);

    NDArray n = rmsNorm(x, p.get(pre + "input_layernorm.weight"));
    NDArray q = heads(linear(n, p.get(pre + "self_attn.q_proj.weight")), kb, t, h, hd); // (K·B, H, T, hd)
    NDArray k = heads(linear(n, p.get(pre + "self_attn.k_proj.weight")), kb, t, h, hd);
    NDArray v = heads(linear(n, p.get(pre + "self_attn.v_proj.weight")), kb, t, h, hd);
    q = single.rope(q, cosT, sinT);
    k = single.rope(k, cosT, sinT);
    NDArray scores = q.mul(single.queryScale()).matMul(k.transpose(0, 1, 3, 2)).add(single.causalMask(t));
    NDArray att = scores.softmax(-1).matMul(v); // (K·B, H, T, hd)
    NDArray merged = att.transpose(0, 2, 1, 3).reshape(members, b * t, cfg.hiddenSize()); // (K, N, d)
    NDArray o = linear(merged, p.get(pre + "self_attn.o_proj.weight"));
    x = x.add(rmsNorm(o, p.get(pre + "post_attention_layernorm.weight")));

    NDArray n2 = rmsNorm(x, p.get(pre + "pre_feedforward_layernorm.weight"));
    NDArray gate = linear(n2, p.get(pre + "mlp.gate_proj.weight")).getNDArrayInternal().gelu();
    NDArray up = linear(n2, p.get(pre + "mlp.up_proj.weight"));
    NDArray m = linear(gate.mul(up), p.get(pre + "mlp.down_proj.weight"));
    return x.add(rmsNorm(m, p.get(pre + "post_feedforward_layernorm.weight")));
  }

  /** {@code (K, N, d)} to heads {@code (K·B, H, T, hd)}: members and batch rows become one attention batch. */
  private static NDArray heads(NDArray x, long kb, long t, int h, int hd) {
    return x.reshape(kb, t, h, hd).transpose(0, 2, 1, 3);
  }

  /** Gemma RMSNorm with each member's gain: {@code w} is {@code (K, d)}, applied as {@code (K, 1, d)}. */
  private NDArray rmsNorm(NDArray x, NDArray w) {
    return single.rmsNorm(x, w.expandDims(1));
  }

  /**
   * Each member's {@code x @ w^T}: {@code x} {@code (K, N, in)}, {@code w} {@code (K, out, in)} as torch.nn.Linear
   * lays it out, result {@code (K, N, out)}. One bmm; the transpose is a stride view, not a copy.
   */
  static NDArray linear(NDArray x, NDArray w) {
    return x.matMul(w.transpose(0, 2, 1));
  }

  @Override
  public void close() {
    constants.close();
    single.close();
  }
}
