package dev.undo.run;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.undo.model.ModelConfig;
import org.junit.jupiter.api.Test;

class ComputeTest {
  @Test
  void flopsOfATinyConfigEqualAHandCount() {
    // V=10, d=4, L=1, H=2, F=8, T=3.
    ModelConfig c = new ModelConfig(10, 4, 1, 2, 8, 3, 10000, 1e-6);
    // Matmul parameters: q,k,v,o 4·16 = 64; gate, up, down 3·32 = 96; tied head 10·4 = 40. Total 200.
    assertEquals(200, Compute.matmulParams(c));
    // Forward per token: 2·200 + 4·L·T·d = 400 + 48 = 448.
    assertEquals(448.0, Compute.forwardFlopsPerToken(c, 3));
    Compute t = Compute.training(c, 3, 100, 5);
    assertEquals(3 * 448.0 * 100, t.trainFlops());
    Compute f = Compute.forward(c, 3, 10);
    assertEquals(4480.0, f.forwardFlops());
    Compute e = Compute.evaluation(c, 3, 2);
    assertEquals(896.0, e.evalFlops());
    Compute sum = t.plus(f).plus(e);
    assertEquals(134400 + 4480 + 896, sum.totalFlops());
    assertEquals(134400 + 4480, sum.methodFlops());
    assertEquals(2, sum.evalTokens());
    assertEquals(0.5, Compute.training(c, 3, 50, 1).fractionOf(t));
    // Parameter count: embedding 40 + per layer (64 + 96 + 16 norms) + final norm 4 = 220.
    assertEquals(220, c.parameterCount());
  }
}
