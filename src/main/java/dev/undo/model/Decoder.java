package dev.undo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;

/**
 * The forward pass of docs/MODEL.md over a {@link Params} store: token ids in, logits (or the residual stream after
 * any block) out. Stateless apart from constants (RoPE tables, causal mask, scalars) built once per instance.
 *
 * <p>Every scalar that takes part in a differentiated expression is a native constant held here, never a Java
 * float passed to {@code mul(float)}: DJL wraps such floats in a tensor over Java memory and frees it at once,
 * while autograd keeps a reference, so the backward pass would read freed memory (docs/ENGINE-NOTES.md trap 1).
 *
 * <p>Callers own the lifetime of results: run forward passes inside an {@code NDScope} (the training loop does).
 */
public final class Decoder implements AutoCloseable {
  private final ModelConfig cfg;
  private final NDManager constants;
  private final NDArray cos; // (maxT, hd)
  private final NDArray sin; // (maxT, hd)
  private final NDArray rotateHalf; // (hd, hd): x @ R == rotate_half(x)
  private final NDArray causalMask; // (maxT, maxT): 0 on and below the diagonal, -inf above
  private final NDArray one;
  private final NDArray eps;
  private final NDArray embedScale;
  private final NDArray queryScale;

  public Decoder(ModelConfig cfg, NDManager parent) {
    this.cfg = cfg;
    this.constants = parent.newSubManager();
    int hd = cfg.headDim();
    int maxT = cfg.maxSeqLen();
    float[] c = new float[maxT * hd];
    float[] s = new float[maxT * hd];
    for (int t = 0; t < maxT; t++) {
      for (int j = 0; j < hd / 2; j++) {
        // Computed in double and rounded once, as torch does for float32 tables of this size.
        double invFreq = 1.0 / Math.pow(cfg.ropeTheta(), (2.0 * j) / hd);
        float angle = (float) t * (float) invFreq;
        float cv = (float) Math.cos(angle);
        float sv = (float) Math.sin(angle);
        c[t * hd + j] = cv;
        c[t * hd + j + hd / 2] = cv;
        s[t * hd + j] = sv;
        s[t * hd + j + hd / 2] = sv;
      }
    }
    cos = constants.create(c, new Shape(maxT, hd));
    sin = constants.create(s, new Shape(maxT, hd));
    float[] r = new float[hd * hd];
    for (int j = 0; j < hd / 2; j++) {
      r[(j + hd / 2) * hd + j] = -1f; // out[j] = -x[j + hd/2]
      r[j * hd + j + hd / 2] = 1f; // out[j + hd/2] = x[j]
    }
    rotateHalf = constants.create(r, new Shape(hd, hd));
    float[] m = new float[maxT * maxT];
    for (int i = 0; i < maxT; i++) {
      for (int j = i + 1; j < maxT; j++) {
        m[i * maxT + j] = Float.NEGATIVE_INFINITY;
      }
    }
    causalMask = constants.create(m, new Shape(maxT, maxT));
    one = scalar(1f);
    eps = scalar((float) cfg.rmsNormEps());
    embedScale = scalar((float) Math.sqrt(cfg.hiddenSize()));
    queryScale = scalar((float) (1.0 / Math.sqrt(hd)));
  }

  public ModelConfig config() {
    return cfg;
  }

  private NDArray scalar(float v) {
    return constants.full(new Shape(), v, DataType.FLOAT32);
  }

  /** Token ids {@code (B, T)} int64 to logits {@code (B, T, V)}. */
  public NDArray logits(Params p, NDArray tokens) {
    return head(p, residual(p, tokens, cfg.numLayers() - 1));
  }

  /**
   * The residual stream after block {@code throughLayer} (0-based), shape {@code (B, T, d)}. Blocks after it are not
   * computed, so RMU and probes pay only for the layers they read.
   */
  public NDArray residual(Params p, NDArray tokens, int throughLayer) {
    if (throughLayer < -1 || throughLayer >= cfg.numLayers()) {
      throw new IllegalArgumentException(
          "layer " + throughLayer + " out of range [0, " + (cfg.numLayers() - 1) + "]");
    }
    NDArray x = embed(p, tokens);
    for (int l = 0; l <= throughLayer; l++) {
      x = block(p, l, x);
    }
    return x;
  }

  /** Embedding lookup scaled by sqrt(d), {@code (B, T, d)}; the "residual after layer -1". */
  public NDArray embed(Params p, NDArray tokens) {
    if (tokens.getShape().dimension() != 2) {
      throw new IllegalArgumentException("tokens must be (B, T), got " + tokens.getShape());
    }
    if (tokens.getShape().get(1) > cfg.maxSeqLen()) {
      throw new IllegalArgumentException(
          "sequence length " + tokens.getShape().get(1) + " exceeds model.max_seq_len " + cfg.maxSeqLen());
    }
    NDArray w = p.get("embed_tokens.weight");
    NDArray x = tokens.getNDArrayInternal().embedding(tokens, w, SparseFormat.DENSE).singletonOrThrow();
    return x.mul(embedScale);
  }

  /** Final norm and tied LM head: residual {@code (B, T, d)} to logits {@code (B, T, V)}. */
  public NDArray head(Params p, NDArray x) {
    NDArray h = rmsNorm(x, p.get("norm.weight"));
    return linear(h, p.get("embed_tokens.weight"));
  }

  /** One decoder block (Gemma-2 sandwich norms around attention and MLP). */
  public NDArray block(Params p, int layer, NDArray x) {
    long t = x.getShape().get(1);
    return block(p, layer, x, ropeCos(t), ropeSin(t), causalMask(t), null);
  }

  /** RoPE cosines of positions 0..t−1, {@code (t, hd)} (a view of the table; shared with {@link EnsembleDecoder}). */
  NDArray ropeCos(long t) {
    return t == cfg.maxSeqLen() ? cos : cos.get(new NDIndex("0:" + t));
  }

  /** RoPE sines of positions 0..t−1, {@code (t, hd)}. */
  NDArray ropeSin(long t) {
    return t == cfg.maxSeqLen() ? sin : sin.get(new NDIndex("0:" + t));
  }

  /** Additive causal mask of t positions, {@code (t, t)}. */
  NDArray causalMask(long t) {
    return t == cfg.maxSeqLen() ? causalMask : causalMask.get(new NDIndex("0:" + t + ", 0:" + t));
  }

  /** sqrt(d), the embedding scale, as a native constant. */
  NDArray embedScale() {
    return embedScale;
  }

  /** 1/sqrt(head_dim), the query scale, as a native constant. */
  NDArray queryScale() {
    return queryScale;
  }

  /**
   * One block over the positions of {@code x}, given their rotary tables ({@code (T, hd)}, or {@code (B, 1, T, hd)}
   * per row) and additive attention mask. With a cache, the queries also attend to the cached keys and values, and
   * the extended ones are staged in the cache.
   */
  private NDArray block(Params p, int layer, NDArray x, NDArray cosT, NDArray sinT, NDArray mask, KvCache cache) {
    String pre = "layers." + layer + ".";
    long b = x.getShape().get(0);
    long t = x.getShape().get(1);
    int h = cfg.numHeads();
    int hd = cfg.headDim();

    NDArray n = rmsNorm(x, p.get(pre + "input_layernorm.weight"));
    NDArray q = heads(linear(n, p.get(pre + "self_attn.q_proj.weight")), b, t, h, hd); // (B, H, T, hd)
    NDArray k = heads(linear(n, p.get(pre + "self_attn.k_proj.weight")), b, t, h, hd);
    NDArray v = heads(linear(n, p.get(pre + "self_attn.v_proj.weight")), b, t, h, hd);
    q = rope(q, cosT, sinT);
    k = rope(k, cosT, sinT);
    if (cache != null) {
      if (cache.k[layer] != null) {
        k = cache.k[layer].concat(k, 2);
        v = cache.v[layer].concat(v, 2);
      }
      cache.stage(layer, k, v);
    }
    NDArray scores = q.mul(queryScale).matMul(k.transpose(0, 1, 3, 2)).add(mask); // (B, H, T, keys)
    NDArray att = scores.softmax(-1).matMul(v); // (B, H, T, hd)
    NDArray merged = att.transpose(0, 2, 1, 3).reshape(b, t, cfg.hiddenSize()); // (B, T, d)
    NDArray o = linear(merged, p.get(pre + "self_attn.o_proj.weight"));
    x = x.add(rmsNorm(o, p.get(pre + "post_attention_layernorm.weight")));

    NDArray n2 = rmsNorm(x, p.get(pre + "pre_feedforward_layernorm.weight"));
    NDArray gate = linear(n2, p.get(pre + "mlp.gate_proj.weight")).getNDArrayInternal().gelu();
    NDArray up = linear(n2, p.get(pre + "mlp.up_proj.weight"));
    NDArray m = linear(gate.mul(up), p.get(pre + "mlp.down_proj.weight"));
    return x.add(rmsNorm(m, p.get(pre + "post_feedforward_layernorm.weight")));
  }

  /**
   * Keys and values of every layer, for decoding one token at a time without recomputing the prefix (evaluation
   * only: no gradients). Rows are left-padded: row {@code b} has {@code pad[b]} pad tokens first, its real tokens
   * take RoPE positions 0, 1, … as in an unpadded forward, and no real query ever attends to a pad key. Arrays of
   * a step are created inside the caller's {@link ai.djl.ndarray.NDScope}; {@link #commit()} takes the new keys
   * and values out of that scope (and frees the previous ones), {@link #close()} frees the last.
   */
  public static final class KvCache implements AutoCloseable {
    private final int[] pad;
    private final NDArray[] k;
    private final NDArray[] v;
    private final NDArray[] nextK;
    private final NDArray[] nextV;
    private int length;

    public KvCache(int numLayers, int[] pad) {
      this.pad = pad.clone();
      this.k = new NDArray[numLayers];
      this.v = new NDArray[numLayers];
      this.nextK = new NDArray[numLayers];
      this.nextV = new NDArray[numLayers];
    }

    /** Positions held (pads included). */
    public int length() {
      return length;
    }

    void stage(int layer, NDArray keys, NDArray values) {
      nextK[layer] = keys;
      nextV[layer] = values;
    }

    /** Keeps the keys and values of the step just run (past the caller's scope) and frees the previous ones. */
    public void commit() {
      for (int l = 0; l < k.length; l++) {
        if (nextK[l] == null) {
          throw new IllegalStateException("commit() without a forward step");
        }
        ai.djl.ndarray.NDScope.unregister(nextK[l], nextV[l]);
        if (k[l] != null) {
          k[l].close();
          v[l].close();
        }
        k[l] = nextK[l];
        v[l] = nextV[l];
        nextK[l] = null;
        nextV[l] = null;
      }
      length = (int) k[0].getShape().get(2);
    }

    @Override
    public void close() {
      for (int l = 0; l < k.length; l++) {
        if (k[l] != null) {
          k[l].close();
          v[l].close();
          k[l] = null;
          v[l] = null;
        }
      }
    }
  }

  /**
   * Runs new tokens {@code (B, T)} through the model on top of {@code cache} (empty for the prompt, then one token
   * per call) and returns the logits of the last new position, {@code (B, V)}. Stages the extended keys and values
   * in the cache; call {@link KvCache#commit()} before the caller's scope closes.
   */
  public NDArray extend(Params p, NDArray tokens, KvCache cache) {
    long b = tokens.getShape().get(0);
    int t = (int) tokens.getShape().get(1);
    int past = cache.length;
    int total = past + t;
    if (b != cache.pad.length) {
      throw new IllegalArgumentException("batch " + b + " does not match the cache's " + cache.pad.length + " rows");
    }
    if (total > cfg.maxSeqLen()) {
      throw new IllegalArgumentException("sequence length " + total + " exceeds model.max_seq_len " + cfg.maxSeqLen());
    }
    long[] pos = new long[(int) b * t];
    float[] mask = new float[(int) b * t * total];
    for (int r = 0; r < b; r++) {
      for (int i = 0; i < t; i++) {
        int q = past + i; // absolute column of this query
        pos[r * t + i] = Math.max(0, q - cache.pad[r]);
        for (int j = 0; j < total; j++) {
          // Causal, and pad keys hidden; a pad query sees itself so its (unused) row stays finite.
          boolean visible = j <= q && (j >= cache.pad[r] || j == q);
          mask[(r * t + i) * total + j] = visible ? 0f : Float.NEGATIVE_INFINITY;
        }
      }
    }
    NDManager m = tokens.getManager();
    NDArray positions = m.create(pos, new Shape(b, t));
    NDArray cosT = embedRows(positions, cos).reshape(b, 1, t, cfg.headDim());
    NDArray sinT = embedRows(positions, sin).reshape(b, 1, t, cfg.headDim());
    NDArray maskT = m.create(mask, new Shape(b, 1, t, total));
    NDArray x = embed(p, tokens);
    for (int l = 0; l < cfg.numLayers(); l++) {
      x = block(p, l, x, cosT, sinT, maskT, cache);
    }
    NDArray last = x.get(new NDIndex(":, " + (t - 1) + ", :")); // (B, d)
    return head(p, last);
  }

  private static NDArray embedRows(NDArray ids, NDArray table) {
    return ids.getNDArrayInternal().embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
  }

  private static NDArray heads(NDArray x, long b, long t, int h, int hd) {
    return x.reshape(b, t, h, hd).transpose(0, 2, 1, 3);
  }

  NDArray rope(NDArray x, NDArray cosT, NDArray sinT) {
    return x.mul(cosT).add(x.matMul(rotateHalf).mul(sinT));
  }

  /** Gemma RMSNorm: the learned gain is {@code 1 + w}, so w = 0 is the identity gain. */
  public NDArray rmsNorm(NDArray x, NDArray w) {
    NDArray rms = x.mul(x).mean(new int[] {-1}, true).add(eps).sqrt();
    return x.div(rms).mul(w.add(one));
  }

  /** {@code x @ w^T} with {@code w} laid out (out, in) as in torch.nn.Linear. */
  public static NDArray linear(NDArray x, NDArray w) {
    return x.getNDArrayInternal().linear(x, w, null).singletonOrThrow();
  }

  @Override
  public void close() {
    constants.close();
  }
}
