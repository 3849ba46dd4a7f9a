package dev.undo.hf;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.Tokenizer;
import dev.undo.model.Engines;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.run.Json;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * The model behind the committed Hugging Face golden fixture ({@code src/test/resources/golden/hf/}): a tiny
 * decoder with seeded random weights, exported by {@link HfFolder#export}. {@code scripts/golden/hf_reference.py}
 * computes its logits from the exported files alone; {@link HfGoldenTest} checks ours against them and that the
 * committed folder is exactly what the exporter writes today.
 *
 * <p>The weights are far larger than an initialisation (matrices N(0, 0.3), embedding N(0, 0.5), norm gains
 * N(0, 0.1)), so that the MLP gates reach the range where the exact and the tanh GELU differ and attention is
 * peaked: a config key read wrongly on either side moves the logits well past the tolerance (the script prints by
 * how much).
 *
 * <p>Regenerate (only when the export format changes): {@code java -cp ... dev.undo.hf.HfFixture
 * src/test/resources/golden/hf}, then {@code /usr/bin/python3 scripts/golden/hf_reference.py}.
 */
public final class HfFixture {
  static final long SEED = 20250216L;
  /** The tokenizer's vocabulary: the characters of this text (byte fallback covers the rest). */
  static final String VOCAB_TEXT = "0123456789 +-*/=?\nabcdefghijklmnopqrstuvwxyz.,";

  private HfFixture() {}

  static Tokenizer tokenizer() {
    return Tokenizer.build(List.of(VOCAB_TEXT), 1);
  }

  static ModelConfig config(Tokenizer t) {
    return new ModelConfig(t.vocabSize(), 32, 2, 4, 64, 16, 10000.0, 1e-6);
  }

  /** The fixture's weights, drawn from one seeded generator in canonical parameter order. */
  static Params params(ModelConfig c, NDManager m) {
    Random r = new Random(SEED);
    Params p = new Params(m);
    for (String n : Params.names(c)) {
      var shape = Params.shapeOf(c, n);
      double std = n.equals("embed_tokens.weight") ? 0.5 : shape.dimension() == 1 ? 0.1 : 0.3;
      float[] v = new float[(int) shape.size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (r.nextGaussian() * std);
      }
      p.put(n, p.manager().create(v, shape));
    }
    return p;
  }

  static ObjectNode provenance() {
    ObjectNode p = Json.MAPPER.createObjectNode();
    p.put("stage", "fixture");
    p.put("generator", "dev.undo.hf.HfFixture (src/test/java)");
    return p;
  }

  /** Exports the fixture model to {@code dir}. */
  static void write(Path dir, NDManager m) {
    Tokenizer t = tokenizer();
    ModelConfig c = config(t);
    try (Params p = params(c, m)) {
      HfFolder.export(dir, c, p, t, provenance());
    }
  }

  public static void main(String[] args) {
    Path out = Path.of(args.length > 0 ? args[0] : "src/test/resources/golden/hf");
    try (NDManager m = Engines.newManager()) {
      write(out, m);
    }
    System.out.println("wrote " + out);
  }
}
