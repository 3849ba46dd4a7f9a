package dev.undo.model;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/**
 * Shape of a decoder. Immutable; stored as {@code config.json} next to every checkpoint so a checkpoint loads with
 * nothing else. docs/MODEL.md is the exact function these sizes parameterise.
 */
public record ModelConfig(
    @JsonProperty("vocab_size") int vocabSize,
    @JsonProperty("hidden_size") int hiddenSize,
    @JsonProperty("num_layers") int numLayers,
    @JsonProperty("num_heads") int numHeads,
    @JsonProperty("intermediate_size") int intermediateSize,
    @JsonProperty("max_seq_len") int maxSeqLen,
    @JsonProperty("rope_theta") double ropeTheta,
    @JsonProperty("rms_norm_eps") double rmsNormEps) {

  public ModelConfig {
    positive("vocab_size", vocabSize);
    positive("hidden_size", hiddenSize);
    positive("num_layers", numLayers);
    positive("num_heads", numHeads);
    positive("intermediate_size", intermediateSize);
    positive("max_seq_len", maxSeqLen);
    if (hiddenSize % numHeads != 0) {
      throw new IllegalArgumentException(
          "model.hidden_size (" + hiddenSize + ") must be divisible by model.num_heads (" + numHeads + ")");
    }
    if ((hiddenSize / numHeads) % 2 != 0) {
      throw new IllegalArgumentException("model head_dim = hidden_size/num_heads must be even for RoPE");
    }
    if (!(ropeTheta > 0) || !(rmsNormEps > 0)) {
      throw new IllegalArgumentException("model.rope_theta and model.rms_norm_eps must be > 0");
    }
  }

  /**
   * Named sizes. {@code tiny} is what a 2-core CPU trains in minutes; the larger ones are for users with a GPU or
   * patience. The paper's 0.1B shape is listed for reference (14 layers, 8 heads, hidden 320, MLP 1280).
   */
  public static final Map<String, int[]> SIZES = Map.of(
      // layers, heads, hidden, mlp
      "micro", new int[] {2, 2, 32, 64},
      "mini", new int[] {3, 4, 64, 256},
      "tiny", new int[] {4, 4, 128, 512},
      "small", new int[] {6, 6, 192, 768},
      "base", new int[] {8, 8, 256, 1024},
      "gemma-0.1b", new int[] {14, 8, 320, 1280});

  public static ModelConfig named(String size, int vocabSize, int maxSeqLen) {
    int[] s = SIZES.get(size);
    if (s == null) {
      throw new IllegalArgumentException("unknown model.size '" + size + "' (known: " + SIZES.keySet() + ")");
    }
    return new ModelConfig(vocabSize, s[2], s[0], s[1], s[3], maxSeqLen, 10000.0, 1e-6);
  }

  public int headDim() {
    return hiddenSize / numHeads;
  }

  /** Parameter count (embedding counted once: the LM head is tied to it). */
  public long parameterCount() {
    long d = hiddenSize;
    long perLayer = 4 * d * d + 3 * d * intermediateSize + 4 * d;
    return vocabSize * d + numLayers * perLayer + d;
  }

  private static void positive(String key, int v) {
    if (v <= 0) {
      throw new IllegalArgumentException("model." + key + " must be > 0, got " + v);
    }
  }
}
