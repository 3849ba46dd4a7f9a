package dev.undo.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.undo.model.Engines;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import org.junit.jupiter.api.Test;

class LoraTest {
  static final ModelConfig CFG = new ModelConfig(50, 16, 2, 2, 32, 16, 10000, 1e-6);

  @Test
  void adaptersStartAtTheModelAndAddScaledLowRankProducts() {
    try (NDManager m = Engines.newManager(); Params base = Init.random(CFG, m, 4)) {
      Lora lora = new Lora(base, 2, 8.0, 5, m);
      // One A and one B per attention and MLP matrix; embeddings and norms are not adapted.
      assertEquals(2 * 7 * CFG.numLayers(), lora.adapters().names().size());
      assertTrue(lora.adapters().names().stream().allMatch(n -> n.contains("_proj.weight.lora_")));
      try (NDScope s = new NDScope()) {
        Params eff = lora.effective();
        for (String n : base.names()) {
          assertArrayEquals(base.hostValues(n), eff.get(n).toFloatArray(), 0f, n + " must equal the base at B = 0");
        }
      }
      String n = "layers.1.mlp.down_proj.weight"; // (16, 32), A (2, 32), B (16, 2)
      NDArray b = lora.adapters().get(n + ".lora_B");
      float[] bv = new float[16 * 2];
      for (int i = 0; i < bv.length; i++) {
        bv[i] = 0.01f * (i + 1);
      }
      b.set(bv);
      float[] a = lora.adapters().get(n + ".lora_A").toFloatArray();
      float[] w = base.hostValues(n);
      try (NDScope s = new NDScope()) {
        float[] eff = lora.effective().get(n).toFloatArray();
        for (int i = 0; i < 16; i++) {
          for (int j = 0; j < 32; j++) {
            double delta = 0;
            for (int r = 0; r < 2; r++) {
              delta += bv[i * 2 + r] * a[r * 32 + j];
            }
            assertEquals(w[i * 32 + j] + 4.0 * delta, eff[i * 32 + j], 1e-5); // scale α/r = 8/2
          }
        }
      }
      assertArrayEquals(w, base.hostValues(n), 0f, "the base weights are never written");
    }
  }
}
