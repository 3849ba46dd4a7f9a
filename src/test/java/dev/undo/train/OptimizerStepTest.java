package dev.undo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.undo.model.Decoder;
import dev.undo.model.Engines;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One step of {@link Trainer} with {@link Sgd}, plain and sharpness-aware, against the same step done by hand on a
 * tiny decoder: gradients taken with a separate forward and backward on a copy of the weights, the update written
 * out on the host.
 */
class OptimizerStepTest {
  static final ModelConfig CFG = new ModelConfig(40, 16, 1, 2, 32, 16, 10000, 1e-6);
  static final int B = 2;
  static final int T = 8;

  static NDManager m;
  static Decoder dec;
  static long[] inputs;
  static int[] targets;

  @BeforeAll
  static void setUp() {
    Engines.start(1);
    m = Engines.newManager();
    dec = new Decoder(CFG, m);
    SplittableRandom rnd = new SplittableRandom(17);
    inputs = new long[B * T];
    targets = new int[B * T];
    for (int i = 0; i < B * T; i++) {
      inputs[i] = 1 + rnd.nextInt(CFG.vocabSize() - 1);
      targets[i] = 1 + rnd.nextInt(CFG.vocabSize() - 1);
    }
  }

  @AfterAll
  static void tearDown() {
    dec.close();
    m.close();
  }

  static NDArray loss(Params p) {
    NDArray logits = dec.logits(p, m.create(inputs, new Shape(B, T)));
    return Losses.crossEntropy(logits, Losses.Targets.of(m, targets, B, T));
  }

  /** Gradients of the loss at the weights {@code p}, computed on a copy (p is not touched). */
  static Map<String, float[]> gradients(Params p) {
    Map<String, float[]> g = new LinkedHashMap<>();
    try (Params q = p.copy(m); NDScope scope = new NDScope()) {
      q.requireGradients();
      try (Autograd gc = Autograd.record()) {
        gc.backward(loss(q));
      }
      for (String n : q.names()) {
        g.put(n, q.get(n).getGradient().toFloatArray());
      }
    }
    return g;
  }

  static double norm(Map<String, float[]> g) {
    double sq = 0;
    for (float[] v : g.values()) {
      for (float x : v) {
        sq += (double) x * x;
      }
    }
    return Math.sqrt(sq);
  }

  /** Runs one Trainer step with SGD at {@code lr} and SAM's ρ; returns what the listener saw. */
  static Trainer.StepResult trainOneStep(Params p, double lr, double rho) {
    p.requireGradients();
    List<Trainer.StepResult> seen = new ArrayList<>();
    try (Sgd sgd = new Sgd(p, p.names(), m)) {
      Trainer t = new Trainer(p, sgd, (step, micro, terms) -> loss(p),
          new Trainer.Settings(1, 1, 0.0, LrSchedule.constant(lr), B * T, rho));
      t.addListener(new Trainer.Listener() {
        @Override
        public boolean afterStep(Trainer.StepResult r) {
          seen.add(r);
          return false;
        }
      });
      t.run(0);
    }
    for (String n : p.names()) {
      p.get(n).setRequiresGradient(false);
    }
    assertEquals(1, seen.size());
    return seen.get(0);
  }

  @Test
  void sgdStepIsThetaMinusLrTimesGradientExactly() {
    try (Params p = Init.random(CFG, m, 3); Params before = p.copy(m)) {
      Map<String, float[]> g = gradients(p);
      double lossBefore;
      try (NDScope s = new NDScope()) {
        lossBefore = loss(p).getFloat();
      }
      float lr = 0.5f;
      Trainer.StepResult r = trainOneStep(p, lr, 0);
      assertEquals(lossBefore, r.loss(), 0.0, "the reported loss is the one before the update");
      assertEquals(norm(g), r.gradNorm(), 1e-6 * norm(g));
      int changed = 0;
      for (String n : p.names()) {
        float[] theta = before.hostValues(n);
        float[] after = p.hostValues(n);
        float[] gn = g.get(n);
        for (int i = 0; i < theta.length; i++) {
          assertEquals(theta[i] - gn[i] * lr, after[i], 0f, n + "[" + i + "]");
          changed += after[i] != theta[i] ? 1 : 0;
        }
      }
      assertTrue(changed > 1000, "most weights move: " + changed);
    }
  }

  @Test
  void samStepsWithTheGradientAtThePerturbedPoint() {
    double lr = 0.5;
    double rho = 0.5;
    try (Params p = Init.random(CFG, m, 3); Params before = p.copy(m); Params perturbed = p.copy(m)) {
      Map<String, float[]> g1 = gradients(p);
      double n1 = norm(g1);
      // θ + ρ·g/‖g‖, written out on the host.
      for (String n : perturbed.names()) {
        float[] w = perturbed.hostValues(n);
        float[] g = g1.get(n);
        for (int i = 0; i < w.length; i++) {
          w[i] += (float) (g[i] * (rho / n1));
        }
        perturbed.get(n).set(w);
      }
      Map<String, float[]> g2 = gradients(perturbed);
      double lossAtTheta;
      try (NDScope s = new NDScope()) {
        lossAtTheta = loss(p).getFloat();
      }

      Trainer.StepResult r = trainOneStep(p, lr, rho);

      assertEquals(lossAtTheta, r.loss(), 0.0, "the reported loss is the one at θ");
      assertEquals(norm(g2), r.gradNorm(), 1e-5 * norm(g2), "the reported norm is the perturbed gradient's");
      double worstSam = 0;
      double samVsPlain = 0;
      for (String n : p.names()) {
        float[] theta = before.hostValues(n);
        float[] after = p.hostValues(n);
        for (int i = 0; i < theta.length; i++) {
          double sam = theta[i] - lr * g2.get(n)[i];
          double plain = theta[i] - lr * g1.get(n)[i];
          worstSam = Math.max(worstSam, Math.abs(after[i] - sam));
          samVsPlain = Math.max(samVsPlain, Math.abs(sam - plain));
        }
      }
      assertTrue(worstSam < 2e-6, "SAM update differs from θ − lr·∇L(θ + ρ·g/‖g‖) by " + worstSam);
      assertTrue(samVsPlain > 1000 * 2e-6, "the perturbed gradient must differ from the plain one: " + samVsPlain);
    }
  }
}
