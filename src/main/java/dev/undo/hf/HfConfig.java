package dev.undo.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.Tokenizer;
import dev.undo.model.ModelConfig;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Our {@link ModelConfig} as transformers' {@code Gemma2Config} ({@code config.json} of a Hugging Face folder), and
 * back.
 *
 * <p>Export writes every key that {@code Gemma2Config.__init__} takes in transformers v4.56
 * ({@code src/transformers/models/gemma2/configuration_gemma2.py}), plus {@code model_type}, {@code architectures}
 * and {@code torch_dtype}, each set so that {@code Gemma2ForCausalLM} computes docs/MODEL.md's function: exact
 * GELU ({@code "gelu"}), query scale {@code head_dim^-0.5}, both soft-caps {@code null}, every layer
 * {@code "full_attention"} and a sliding window as long as the context, tied embeddings.
 *
 * <p>Import reads a Gemma-2 {@code config.json} as transformers does (a key that is absent takes
 * {@code Gemma2Config}'s default, e.g. soft-capping 30/50 and tanh GELU) and refuses, in one line naming the key,
 * any setting our decoder does not compute: grouped-query attention, a head size other than hidden/heads, another
 * activation or query scale, soft-capping, a sliding window shorter than the context, biases, an untied head, RoPE
 * scaling, bidirectional attention, or a key it does not know (it cannot tell whether that key changes the model).
 */
public final class HfConfig {
  /** transformers' name for the exact (erf) GELU of docs/MODEL.md; Gemma-2's own default is the tanh approximation. */
  static final String ACTIVATION = "gelu";

  /**
   * The keys an exported {@code config.json} has, in file order (sorted, as transformers writes them): the
   * arguments of {@code Gemma2Config.__init__} in transformers v4.56 and {@code model_type}, {@code architectures},
   * {@code torch_dtype} of {@code PretrainedConfig}.
   */
  public static final List<String> KEYS = List.of(
      "architectures", "attention_bias", "attention_dropout", "attn_logit_softcapping", "bos_token_id",
      "eos_token_id", "final_logit_softcapping", "head_dim", "hidden_activation", "hidden_size",
      "initializer_range", "intermediate_size", "layer_types", "max_position_embeddings", "model_type",
      "num_attention_heads", "num_hidden_layers", "num_key_value_heads", "pad_token_id", "query_pre_attn_scalar",
      "rms_norm_eps", "rope_theta", "sliding_window", "tie_word_embeddings", "torch_dtype", "use_cache",
      "vocab_size");

  /**
   * Keys accepted on import that do not change the forward pass: bookkeeping that transformers' configs carry
   * ({@code PretrainedConfig} generics, generation ids, training-only dropout), legacy duplicates that Gemma-2
   * ignores ({@code hidden_act}, {@code sliding_window_size}), the v4.42–4.52 {@code cache_implementation}, and the
   * v5 spellings {@code dtype}, {@code rope_parameters} and {@code use_bidirectional_attention} (the last two are
   * checked).
   */
  static final Set<String> ACCEPTED = Set.of(
      "_name_or_path", "transformers_version", "dtype", "cache_implementation", "hidden_act", "sliding_window_size",
      "rope_scaling", "rope_parameters", "use_bidirectional_attention", "output_attentions", "output_hidden_states",
      "return_dict", "id2label", "label2id", "problem_type", "is_encoder_decoder", "is_decoder",
      "add_cross_attention", "tie_encoder_decoder", "chunk_size_feed_forward", "torchscript", "pruned_heads",
      "finetuning_task", "tokenizer_class", "prefix", "sep_token_id", "decoder_start_token_id",
      "task_specific_params", "_attn_implementation_autoset");

  /** {@code Gemma2Config}'s defaults (transformers v4.56) for the keys that decide the forward pass. */
  static final Map<String, Object> DEFAULTS = Map.ofEntries(
      Map.entry("vocab_size", 256000), Map.entry("hidden_size", 2304), Map.entry("intermediate_size", 9216),
      Map.entry("num_hidden_layers", 26), Map.entry("num_attention_heads", 8), Map.entry("num_key_value_heads", 4),
      Map.entry("head_dim", 256), Map.entry("hidden_activation", "gelu_pytorch_tanh"),
      Map.entry("max_position_embeddings", 8192), Map.entry("rms_norm_eps", 1e-6),
      Map.entry("tie_word_embeddings", true), Map.entry("rope_theta", 10000.0), Map.entry("attention_bias", false),
      Map.entry("query_pre_attn_scalar", 256), Map.entry("sliding_window", 4096),
      Map.entry("final_logit_softcapping", 30.0), Map.entry("attn_logit_softcapping", 50.0));

  private HfConfig() {}

  /** The {@code config.json} of an exported model. */
  public static ObjectNode toJson(ModelConfig c, Tokenizer tokenizer) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    TreeMap<String, JsonNode> m = new TreeMap<>();
    m.put("architectures", f.arrayNode().add("Gemma2ForCausalLM"));
    m.put("model_type", f.textNode("gemma2"));
    m.put("vocab_size", f.numberNode(c.vocabSize()));
    m.put("hidden_size", f.numberNode(c.hiddenSize()));
    m.put("intermediate_size", f.numberNode(c.intermediateSize()));
    m.put("num_hidden_layers", f.numberNode(c.numLayers()));
    m.put("num_attention_heads", f.numberNode(c.numHeads()));
    m.put("num_key_value_heads", f.numberNode(c.numHeads())); // no grouped-query attention
    m.put("head_dim", f.numberNode(c.headDim()));
    m.put("hidden_activation", f.textNode(ACTIVATION)); // ACT2FN["gelu"] is the exact erf GELU
    m.put("max_position_embeddings", f.numberNode(c.maxSeqLen()));
    m.put("initializer_range", f.numberNode(0.02)); // docs/MODEL.md's init std; used only by HF's own init
    m.put("rms_norm_eps", f.numberNode(c.rmsNormEps()));
    m.put("use_cache", f.booleanNode(true));
    m.put("pad_token_id", f.numberNode(Tokenizer.PAD_ID));
    m.put("eos_token_id", f.numberNode(tokenizer.newlineId())); // documents are separated by a newline
    m.put("bos_token_id", f.nullNode()); // our sequences start without a BOS token
    m.put("tie_word_embeddings", f.booleanNode(true));
    m.put("rope_theta", f.numberNode(c.ropeTheta()));
    m.put("attention_bias", f.booleanNode(false));
    m.put("attention_dropout", f.numberNode(0.0));
    m.put("query_pre_attn_scalar", f.numberNode(c.headDim())); // scale = head_dim^-0.5, as ours
    // Sliding window off twice over: no layer is a sliding one (v4.53+), and the window that v4.42-4.52 apply to
    // even layers spans the whole context.
    m.put("sliding_window", f.numberNode(c.maxSeqLen()));
    ArrayNode types = f.arrayNode();
    for (int i = 0; i < c.numLayers(); i++) {
      types.add("full_attention");
    }
    m.put("layer_types", types);
    m.put("final_logit_softcapping", f.nullNode());
    m.put("attn_logit_softcapping", f.nullNode());
    m.put("torch_dtype", f.textNode("float32"));
    if (!m.keySet().equals(new java.util.TreeSet<>(KEYS))) {
      throw new IllegalStateException("HfConfig.KEYS is out of date: " + m.keySet());
    }
    ObjectNode out = f.objectNode();
    m.forEach(out::set);
    return out;
  }

  /**
   * Reads a Gemma-2 {@code config.json} into our config, or refuses with one line naming the key.
   *
   * @param where prefix of error messages (the file)
   * @param maxSeqLen if not null, the context our decoder is built for instead of
   *     {@code max_position_embeddings} (the RoPE tables and causal mask are sized by it; a shorter context loses
   *     nothing for shorter sequences)
   */
  public static ModelConfig fromJson(JsonNode n, String where, Integer maxSeqLen) {
    if (n == null || !n.isObject()) {
      throw refuse(where, "is not a JSON object");
    }
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!KEYS.contains(k) && !ACCEPTED.contains(k)) {
        throw refuse(where, "unknown key '" + k + "' (not read by transformers' Gemma2Config; cannot tell whether "
            + "it changes the model)");
      }
    }
    String type = n.path("model_type").asText("");
    if (!type.equals("gemma2")) {
      throw refuse(where, "model_type '" + type + "' is not supported (only \"gemma2\")");
    }
    JsonNode arch = n.get("architectures");
    if (arch != null && !arch.isNull()) {
      boolean causal = false;
      for (JsonNode a : arch) {
        causal |= a.asText().equals("Gemma2ForCausalLM");
      }
      if (!causal) {
        throw refuse(where, "architectures " + arch + " has no Gemma2ForCausalLM (only the causal LM is supported)");
      }
    }
    int vocab = intKey(n, "vocab_size", where);
    int hidden = intKey(n, "hidden_size", where);
    int inter = intKey(n, "intermediate_size", where);
    int layers = intKey(n, "num_hidden_layers", where);
    int heads = intKey(n, "num_attention_heads", where);
    int kvHeads = intKey(n, "num_key_value_heads", where);
    if (kvHeads != heads) {
      throw refuse(where, "num_key_value_heads " + kvHeads + absent(n, "num_key_value_heads")
          + " != num_attention_heads " + heads + ": grouped-query attention is not supported");
    }
    if (heads <= 0 || hidden % heads != 0) {
      throw refuse(where, "hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads);
    }
    int headDim = intKey(n, "head_dim", where);
    if (headDim != hidden / heads) {
      throw refuse(where, "head_dim " + headDim + absent(n, "head_dim") + " != hidden_size / num_attention_heads = "
          + hidden / heads + " (not supported)");
    }
    String act = value(n, "hidden_activation").asText();
    if (!act.equals(ACTIVATION)) {
      throw refuse(where, "hidden_activation '" + act + "'" + absent(n, "hidden_activation") + " is not supported "
          + "(our decoder uses the exact GELU, \"gelu\")");
    }
    double scalar = numberKey(n, "query_pre_attn_scalar", where);
    if (scalar != headDim) {
      throw refuse(where, "query_pre_attn_scalar " + fmt(scalar) + absent(n, "query_pre_attn_scalar")
          + " != head_dim " + headDim
          + ": only the query scale head_dim^-0.5 is supported");
    }
    for (String cap : List.of("final_logit_softcapping", "attn_logit_softcapping")) {
      if (!value(n, cap).isNull()) {
        throw refuse(where, cap + " " + value(n, cap) + absent(n, cap) + ": soft-capping is not supported (must be "
            + "null)");
      }
    }
    if (value(n, "attention_bias").asBoolean(true)) {
      throw refuse(where, "attention_bias true: biases are not supported");
    }
    if (!value(n, "tie_word_embeddings").asBoolean(false)) {
      throw refuse(where, "tie_word_embeddings false: an untied LM head is not supported");
    }
    if (n.path("use_bidirectional_attention").asBoolean(false)) {
      throw refuse(where, "use_bidirectional_attention true: only causal attention is supported");
    }
    int maxPos = intKey(n, "max_position_embeddings", where);
    int context = maxSeqLen != null ? maxSeqLen : maxPos;
    checkSlidingWindow(n, layers, context, where);
    double theta = ropeTheta(n, where);
    double eps = numberKey(n, "rms_norm_eps", where);
    String dtype = n.hasNonNull("torch_dtype") ? n.get("torch_dtype").asText() : n.path("dtype").asText("float32");
    if (!Set.of("float32", "bfloat16", "float16").contains(dtype)) {
      throw refuse(where, "torch_dtype '" + dtype + "' is not supported (float32, bfloat16 or float16)");
    }
    try {
      return new ModelConfig(vocab, hidden, layers, heads, inter, context, theta, eps);
    } catch (IllegalArgumentException e) {
      throw refuse(where, e.getMessage());
    }
  }

  /**
   * Sliding-window attention is off when no layer uses it or when its window covers the whole context: a query
   * then sees every earlier position, as in full attention.
   */
  private static void checkSlidingWindow(JsonNode n, int layers, int context, String where) {
    JsonNode types = n.get("layer_types");
    boolean anySliding;
    if (types == null || types.isNull()) {
      anySliding = layers > 0; // Gemma-2's default: layers 0, 2, 4, ... slide
    } else {
      if (!types.isArray() || types.size() != layers) {
        throw refuse(where, "layer_types must list one type per layer (" + layers + "), got " + types);
      }
      anySliding = false;
      for (JsonNode t : types) {
        String s = t.asText();
        if (!s.equals("full_attention") && !s.equals("sliding_attention")) {
          throw refuse(where, "layer_types has '" + s + "' (only full_attention and sliding_attention are known)");
        }
        anySliding |= s.equals("sliding_attention");
      }
    }
    JsonNode w = value(n, "sliding_window");
    if (anySliding && !w.isNull() && w.asLong() < context) {
      throw refuse(where, "sliding_window " + w.asLong() + absent(n, "sliding_window") + " < context " + context
          + ": sliding-window attention is not supported (set layer_types to full_attention, or a window >= the "
          + "context)");
    }
  }

  /** {@code rope_theta} (v4) or {@code rope_parameters.rope_theta} (v5); RoPE scaling of any kind is refused. */
  private static double ropeTheta(JsonNode n, String where) {
    JsonNode scaling = n.get("rope_scaling");
    if (scaling != null && !scaling.isNull()) {
      throw refuse(where, "rope_scaling " + scaling + " is not supported (must be null)");
    }
    JsonNode params = n.get("rope_parameters");
    if (params != null && !params.isNull()) {
      String kind = params.path("rope_type").asText(params.path("type").asText("default"));
      if (!kind.equals("default") || !params.path("rope_theta").isNumber()) {
        throw refuse(where, "rope_parameters " + params + " is not supported (only rope_type \"default\" with a "
            + "rope_theta)");
      }
      double t = params.get("rope_theta").asDouble();
      if (n.hasNonNull("rope_theta") && n.get("rope_theta").asDouble() != t) {
        throw refuse(where, "rope_theta " + n.get("rope_theta") + " disagrees with rope_parameters.rope_theta " + t);
      }
      return t;
    }
    return numberKey(n, "rope_theta", where);
  }

  /** Marks a refused value that the file left out, so the user sees where it came from. */
  private static String absent(JsonNode n, String key) {
    return n.has(key) ? "" : " (absent, so Gemma2Config's default)";
  }

  private static JsonNode value(JsonNode n, String key) {
    if (n.has(key)) {
      return n.get(key);
    }
    Object d = DEFAULTS.get(key);
    return d == null ? JsonNodeFactory.instance.nullNode() : dev.undo.run.Json.MAPPER.valueToTree(d);
  }

  private static int intKey(JsonNode n, String key, String where) {
    JsonNode v = value(n, key);
    if (!v.canConvertToInt() || !v.isIntegralNumber()) {
      throw refuse(where, key + " must be an integer, got " + v);
    }
    return v.asInt();
  }

  private static double numberKey(JsonNode n, String key, String where) {
    JsonNode v = value(n, key);
    if (!v.isNumber()) {
      throw refuse(where, key + " must be a number, got " + v);
    }
    return v.asDouble();
  }

  private static String fmt(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }

  static IllegalArgumentException refuse(String where, String what) {
    return new IllegalArgumentException(where + ": " + what);
  }
}
