package dev.undo.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.Tokenizer;
import dev.undo.model.Engines;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.run.Json;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pieces of the Hugging Face layout: tokenizer.json in the tokenizers library, dtypes, config and names. */
class HfFolderTest {
  /** Texts inside and outside the fixture vocabulary: 2-, 3- and 4-byte UTF-8, controls, spaces, the empty text. */
  static final List<String> TEXTS = List.of("12 + 34 = 46\n", "what is 7*8?", "é 한국어 😀 ∑", "", "   ",
      "tab\tnul\u0000del\u007f", "x".repeat(300), "<0x41> <pa d> ü");

  static NDManager manager;

  @TempDir
  Path tmp;

  @BeforeAll
  static void start() {
    manager = Engines.newManager();
  }

  @AfterAll
  static void close() {
    manager.close();
  }

  @Test
  void djlTokenizersBindingLoadsTheExportAndEncodesAndDecodesLikeOurs() throws Exception {
    Tokenizer ours = HfFixture.tokenizer();
    Path file = tmp.resolve("tokenizer.json");
    Json.writeAtomic(file, HfTokenizer.toJson(ours));
    // The binding's native library ships inside its Maven jar: this runs offline.
    try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(file,
        Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"))) {
      for (String text : TEXTS) {
        long[] ids = hf.encode(text).getIds();
        int[] expected = ours.encode(text);
        assertArrayEquals(java.util.Arrays.stream(expected).asLongStream().toArray(), ids, "encode " + text);
        assertEquals(ours.decode(expected), hf.decode(ids, true), "decode " + text);
      }
      assertEquals("", hf.decode(new long[] {Tokenizer.PAD_ID}, true), "pad is a special token");
      // The one documented difference (docs/MODEL.md): the literal text "<pad>" is the pad token there.
      assertArrayEquals(new long[] {Tokenizer.PAD_ID}, hf.encode("<pad>").getIds());
      assertEquals(5, ours.encode("<pad>").length);
    }
  }

  @Test
  void hfDependsOnlyOnModelDataAndRun() {
    com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses().that().resideInAPackage("dev.undo.hf..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.undo.train..", "dev.undo.eval..",
            "dev.undo.pretrain..", "dev.undo.unlearn..", "dev.undo.undo..", "dev.undo.attack..",
            "dev.undo.report..", "dev.undo.reproduce..", "dev.undo.cli..")
        .check(new com.tngtech.archunit.core.importer.ClassFileImporter()
            .withImportOption(com.tngtech.archunit.core.importer.ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.undo.hf"));
  }

  @Test
  void tokenizerJsonReadsBackToTheSameVocabulary() {
    Tokenizer t = HfFixture.tokenizer();
    Tokenizer back = HfTokenizer.fromJson(HfTokenizer.toJson(t), "test", t.minCount());
    assertEquals(t, back);
    assertEquals(t.sha256(), back.sha256());
    JsonNode vocab = HfTokenizer.toJson(t).get("model").get("vocab");
    assertEquals(t.vocabSize(), vocab.size());
    assertEquals(1 + 0x0A, vocab.get("<0x0A>").asInt());
  }

  @Test
  void aSurrogateInTheVocabularyIsRefused() {
    Tokenizer t = Tokenizer.of(new int[] {'a', 0xD800}, 1);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.toJson(t));
    assertTrue(e.getMessage().contains("U+D800"), e.getMessage());
  }

  @Test
  void configReadsBackToTheSameModelConfig() {
    Tokenizer t = HfFixture.tokenizer();
    ModelConfig c = HfFixture.config(t);
    ObjectNode json = HfConfig.toJson(c, t);
    assertEquals(c, HfConfig.fromJson(json, "test", null));
    assertEquals(HfConfig.KEYS, iterate(json.fieldNames()));
    // transformers v5 spells RoPE as rope_parameters; dtype for torch_dtype.
    json.remove("rope_theta");
    json.remove("torch_dtype");
    json.putObject("rope_parameters").put("rope_type", "default").put("rope_theta", c.ropeTheta());
    json.put("dtype", "bfloat16");
    assertEquals(c, HfConfig.fromJson(json, "test", null));
    assertEquals(8, HfConfig.fromJson(json, "test", 8).maxSeqLen(), "--max-seq-len");
  }

  private static List<String> iterate(Iterator<String> it) {
    List<String> out = new java.util.ArrayList<>();
    it.forEachRemaining(out::add);
    return out;
  }

  @Test
  void halfPrecisionConvertsExactly() {
    assertEquals(1.0f, HfWeights.halfToFloat((short) 0x3C00));
    assertEquals(-2.0f, HfWeights.halfToFloat((short) 0xC000));
    assertEquals(65504f, HfWeights.halfToFloat((short) 0x7BFF));
    assertEquals(0x1p-24f, HfWeights.halfToFloat((short) 0x0001)); // smallest subnormal
    assertEquals(Float.NEGATIVE_INFINITY, HfWeights.halfToFloat((short) 0xFC00));
    assertTrue(Float.isNaN(HfWeights.halfToFloat((short) 0x7E00)));
    assertEquals(Float.floatToIntBits(-0.0f), Float.floatToIntBits(HfWeights.halfToFloat((short) 0x8000)));
  }

  @Test
  void bfloat16AndFloat16WeightsLoadAsFloat32OnTheHost() throws Exception {
    Path dir = tmp.resolve("hf");
    HfFixture.write(dir, manager);
    Map<String, HfWeights.Tensor> f32 = HfWeights.readFile(dir.resolve(HfFolder.WEIGHTS));
    for (String dtype : List.of("BF16", "F16")) {
      rewrite(dir.resolve(HfFolder.WEIGHTS), f32, dtype);
      HfFolder.Contents c = HfFolder.read(dir, manager, null);
      try (Params p = c.params()) {
        for (String n : Params.names(c.config())) {
          float[] want = f32.get(HfWeights.hfName(n)).values().clone();
          for (int i = 0; i < want.length; i++) {
            want[i] = dtype.equals("BF16") ? Float.intBitsToFloat(Float.floatToIntBits(want[i]) & 0xFFFF0000)
                : HfWeights.halfToFloat(toHalf(want[i]));
          }
          assertArrayEquals(want, p.hostValues(n), dtype + " " + n);
        }
      }
    }
  }

  /** Writes the tensors again in a 16-bit dtype (bf16 truncates, f16 rounds to nearest even). */
  private static void rewrite(Path file, Map<String, HfWeights.Tensor> tensors, String dtype) throws Exception {
    ObjectNode header = Json.MAPPER.createObjectNode();
    header.putObject("__metadata__").put("format", "pt");
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    for (Map.Entry<String, HfWeights.Tensor> e : tensors.entrySet()) {
      float[] v = e.getValue().values();
      ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
      for (float x : v) {
        b.putShort(dtype.equals("BF16") ? (short) (Float.floatToIntBits(x) >>> 16) : toHalf(x));
      }
      ObjectNode t = header.putObject(e.getKey());
      t.put("dtype", dtype);
      var shape = t.putArray("shape");
      for (long s : e.getValue().shape().getShape()) {
        shape.add(s);
      }
      t.putArray("data_offsets").add(data.size()).add(data.size() + b.capacity());
      data.write(b.array());
    }
    byte[] h = Json.LINE.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
    out.write(h);
    data.writeTo(out);
    Files.write(file, out.toByteArray());
  }

  /** float32 to IEEE half, round to nearest even; enough for the fixture's finite, normal-range values. */
  private static short toHalf(float x) {
    int bits = Float.floatToIntBits(x);
    int sign = (bits >>> 16) & 0x8000;
    int exp = ((bits >>> 23) & 0xFF) - 127 + 15;
    int mant = bits & 0x7FFFFF;
    if (exp <= 0) { // subnormal half: shift the implicit one in, round to nearest even
      int m = (mant | 0x800000) >> (14 - exp);
      int rest = (mant | 0x800000) & ((1 << (14 - exp)) - 1);
      int half = 1 << (13 - exp);
      if (rest > half || (rest == half && (m & 1) == 1)) {
        m++;
      }
      return (short) (sign | m);
    }
    int h = (exp << 10) | (mant >> 13);
    int rest = mant & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1)) {
      h++;
    }
    return (short) (sign | h);
  }
}
