package dev.undo.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.Tokenizer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Our character tokenizer as a Hugging Face {@code tokenizer.json} (the tokenizers library's serialisation), and
 * back.
 *
 * <p>The mapping is exact because a BPE model with no merges and {@code byte_fallback} does what
 * {@link Tokenizer#encode} does: with no normalizer and no pre-tokenizer the whole text is one word, each character
 * becomes its vocabulary entry, and a character outside the vocabulary becomes the tokens {@code <0xXX>} of its
 * UTF-8 bytes. So the vocabulary is {@code <pad>} (id 0), {@code <0x00>}…{@code <0xFF>} (ids 1–256, our byte
 * tokens) and one entry per character (ids 257…). The decoder (byte fallback, then fuse) turns ids back into text.
 *
 * <p>{@code <pad>} is declared a special added token so that transformers pads with it and
 * {@code skip_special_tokens} drops it; the one consequence is that the literal text {@code "<pad>"} encodes as id 0
 * in the tokenizers library but as five characters here (docs/MODEL.md lists it).
 */
public final class HfTokenizer {
  static final String PAD = "<pad>";
  private static final Set<String> TOP_KEYS = Set.of("version", "truncation", "padding", "added_tokens",
      "normalizer", "pre_tokenizer", "post_processor", "decoder", "model");

  private HfTokenizer() {}

  /**
   * The {@code tokenizer.json} of {@code t}. Refuses a vocabulary holding a surrogate code point (a lone UTF-16
   * half, which no UTF-8 tokenizer can represent).
   */
  public static ObjectNode toJson(Tokenizer t) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    int[] cps = t.codePoints();
    ObjectNode vocab = f.objectNode();
    vocab.put(PAD, Tokenizer.PAD_ID);
    for (int b = 0; b < 256; b++) {
      vocab.put(byteToken(b), Tokenizer.BYTE_OFFSET + b);
    }
    for (int i = 0; i < cps.length; i++) {
      if (cps[i] >= Character.MIN_SURROGATE && cps[i] <= Character.MAX_SURROGATE) {
        throw new IllegalArgumentException("tokenizer has the surrogate code point U+"
            + Integer.toHexString(cps[i]).toUpperCase() + " (id " + (Tokenizer.CHAR_OFFSET + i)
            + "), which tokenizer.json cannot represent");
      }
      vocab.put(new String(Character.toChars(cps[i])), Tokenizer.CHAR_OFFSET + i);
    }
    ObjectNode root = f.objectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ObjectNode pad = root.putArray("added_tokens").addObject();
    pad.put("id", Tokenizer.PAD_ID);
    pad.put("content", PAD);
    pad.put("single_word", false);
    pad.put("lstrip", false);
    pad.put("rstrip", false);
    pad.put("normalized", false);
    pad.put("special", true);
    root.putNull("normalizer");
    root.putNull("pre_tokenizer");
    root.putNull("post_processor");
    ObjectNode decoder = root.putObject("decoder");
    decoder.put("type", "Sequence");
    ArrayNode decoders = decoder.putArray("decoders");
    decoders.addObject().put("type", "ByteFallback");
    decoders.addObject().put("type", "Fuse");
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.putNull("dropout");
    model.putNull("unk_token");
    model.putNull("continuing_subword_prefix");
    model.putNull("end_of_word_suffix");
    model.put("fuse_unk", false);
    model.put("byte_fallback", true);
    model.put("ignore_merges", false);
    model.set("vocab", vocab);
    model.putArray("merges");
    return root;
  }

  /**
   * {@code tokenizer_config.json} for transformers' {@code AutoTokenizer}: the generic fast tokenizer class (the
   * Gemma one would add a {@code <bos>} we do not have) and no clean-up of spaces, which would alter decoded text.
   */
  public static ObjectNode tokenizerConfig(int modelMaxLength) {
    ObjectNode c = JsonNodeFactory.instance.objectNode();
    c.put("tokenizer_class", "PreTrainedTokenizerFast");
    c.put("pad_token", PAD);
    c.put("model_max_length", modelMaxLength);
    c.put("clean_up_tokenization_spaces", false);
    return c;
  }

  /** {@code special_tokens_map.json}: only the pad token. */
  public static ObjectNode specialTokensMap() {
    ObjectNode c = JsonNodeFactory.instance.objectNode();
    c.put("pad_token", PAD);
    return c;
  }

  /**
   * Reads a {@code tokenizer.json} that our tokenizer can represent (see the class comment) or refuses with one
   * line naming what differs.
   *
   * @param minCount recorded in the result for provenance (the HF file does not carry it)
   */
  public static Tokenizer fromJson(JsonNode root, String where, int minCount) {
    if (root == null || !root.isObject()) {
      throw HfConfig.refuse(where, "is not a JSON object");
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!TOP_KEYS.contains(k)) {
        throw HfConfig.refuse(where, "unknown key '" + k + "'");
      }
    }
    for (String k : List.of("truncation", "padding", "normalizer", "pre_tokenizer", "post_processor")) {
      if (!root.path(k).isNull() && !root.path(k).isMissingNode()) {
        throw HfConfig.refuse(where, k + " is set; only tokenizers without one can be represented here");
      }
    }
    JsonNode model = root.path("model");
    if (!model.path("type").asText("").equals("BPE")) {
      throw HfConfig.refuse(where, "model.type '" + model.path("type").asText() + "' is not supported (only a BPE "
          + "character vocabulary with byte fallback and no merges)");
    }
    if (!model.path("merges").isArray() || model.path("merges").size() != 0) {
      throw HfConfig.refuse(where, "model.merges is not empty: a merge-based (subword) vocabulary cannot be "
          + "represented by our character tokenizer");
    }
    if (!model.path("byte_fallback").asBoolean(false)) {
      throw HfConfig.refuse(where, "model.byte_fallback is not true");
    }
    for (String k : List.of("dropout", "continuing_subword_prefix", "end_of_word_suffix")) {
      if (!model.path(k).isNull() && !model.path(k).isMissingNode()) {
        throw HfConfig.refuse(where, "model." + k + " is set (must be null)");
      }
    }
    JsonNode vocab = model.path("vocab");
    if (!vocab.isObject()) {
      throw HfConfig.refuse(where, "model.vocab is not an object");
    }
    String[] byId = new String[vocab.size()];
    for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      int id = e.getValue().asInt(-1);
      if (!e.getValue().isIntegralNumber() || id < 0 || id >= byId.length || byId[id] != null) {
        throw HfConfig.refuse(where, "model.vocab ids must be 0.." + (byId.length - 1) + ", each once; '"
            + e.getKey() + "' has " + e.getValue());
      }
      byId[id] = e.getKey();
    }
    if (byId.length < Tokenizer.CHAR_OFFSET) {
      throw HfConfig.refuse(where, "model.vocab has " + byId.length + " entries, fewer than pad + 256 bytes");
    }
    for (int b = 0; b < 256; b++) {
      if (!byteToken(b).equals(byId[Tokenizer.BYTE_OFFSET + b])) {
        throw HfConfig.refuse(where, "id " + (Tokenizer.BYTE_OFFSET + b) + " is '" + byId[Tokenizer.BYTE_OFFSET + b]
            + "', expected byte token " + byteToken(b) + " (ids 1-256 must be <0x00>..<0xFF>)");
      }
    }
    List<Integer> cps = new ArrayList<>();
    for (int id = Tokenizer.CHAR_OFFSET; id < byId.length; id++) {
      String s = byId[id];
      int cp = s.isEmpty() ? -1 : s.codePointAt(0);
      if (cp < 0 || s.length() != Character.charCount(cp)) {
        throw HfConfig.refuse(where, "id " + id + " is '" + s + "', not a single character (ids from 257 on must "
            + "be one character each)");
      }
      cps.add(cp);
    }
    JsonNode added = root.path("added_tokens");
    for (JsonNode a : added) {
      if (a.path("id").asInt(-1) != Tokenizer.PAD_ID) {
        throw HfConfig.refuse(where, "added token " + a.path("content") + " (id " + a.path("id") + "): only the "
            + "pad token (id 0) can be represented");
      }
    }
    int[] out = cps.stream().mapToInt(Integer::intValue).toArray();
    try {
      return Tokenizer.of(out, minCount);
    } catch (IllegalArgumentException e) {
      throw HfConfig.refuse(where, e.getMessage());
    }
  }

  /** The tokenizers library's name of a byte-fallback token, as SentencePiece spells it: {@code <0x0A>}. */
  static String byteToken(int b) {
    return String.format(java.util.Locale.ROOT, "<0x%02X>", b);
  }
}
