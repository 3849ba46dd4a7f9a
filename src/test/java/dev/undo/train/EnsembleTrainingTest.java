package dev.undo.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.undo.model.Decoder;
import dev.undo.model.EnsembleDecoder;
import dev.undo.model.EnsembleParams;
import dev.undo.model.Engines;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An ensemble member trains exactly as that model would alone: K members with different learning rates, clip
 * values, weight decay and data, trained together ({@link EnsembleTrainer}, {@link EnsembleAdamW} or
 * {@link EnsembleSgd}) against each trained alone ({@link Trainer}, {@link AdamW} or {@link Sgd}), for CE and for
 * distillation from one shared teacher forward. Also: an inactive member stays bit-identical, and optimizer state
 * moves between a single model and an ensemble member in both directions.
 */
class EnsembleTrainingTest {
  static final ModelConfig CFG = ModelConfig.named("micro", 48, 16);
  static final int B = 4;
  static final int T = 16;
  // Relative tolerance on per-step losses and on final weights (max |Δ| / max |w| per parameter). Measured at
  // one intra-op thread (the test suite's): 0, the ensemble reproduces the single models bit for bit.
  static final double REL_TOL = 1e-5;

  // Per-member settings, indexed by "config" j; an ensemble slot names the j it runs.
  static final double[] LR = {3e-3, 1e-2, 3e-2};
  static final double[] CLIP = {1.0, 0.05, 0};
  static final double[] WD = {0.1, 0.0, 0.05};
  static final long[] DATA_SEED = {11, 22, 33};
  static final long[] INIT_SEED = {1, 2, 3};
  static final long TEACHER_SEED = 9;
  // Plain SGD needs far larger rates than AdamW to move these weights within a few steps.
  static final double[] SGD_LR = {1.0, 3.0, 0.5};

  static NDManager manager;

  @BeforeAll
  static void start() {
    manager = Engines.newManager();
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  /** A batch as a pure function of (seed, step): inputs and next-token-like targets, some positions ignored. */
  record Data(long[] tokens, int[] targets) {
    static Data of(long seed, long step) {
      SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + step);
      long[] tokens = new long[B * T];
      int[] targets = new int[B * T];
      for (int i = 0; i < tokens.length; i++) {
        tokens[i] = rnd.nextInt(CFG.vocabSize());
        // A learnable rule plus noise, so the gradients carry signal for all steps.
        targets[i] = rnd.nextInt(10) == 0 ? -1
            : rnd.nextInt(4) == 0 ? rnd.nextInt(CFG.vocabSize()) : (int) ((3 * tokens[i] + 1) % CFG.vocabSize());
      }
      return new Data(tokens, targets);
    }
  }

  /** The loss of one model alone at a step. */
  interface Single {
    NDArray loss(Decoder dec, Params p, long step);
  }

  /** The per-member losses of an ensemble at a step. */
  interface Together {
    NDArray losses(EnsembleDecoder dec, EnsembleParams e, long step);
  }

  static AdamW.Hyper hyper(int j) {
    return new AdamW.Hyper(0.9, 0.95, 1e-8, WD[j]);
  }

  static Single ce(int j) {
    return (dec, p, step) -> {
      Data d = Data.of(DATA_SEED[j], step);
      NDArray tokens = manager.create(d.tokens(), new Shape(B, T));
      return Losses.crossEntropy(dec.logits(p, tokens), Losses.Targets.of(manager, d.targets(), B, T));
    };
  }

  /** Each slot trains on its own config's data. */
  static Together ce(int[] slots) {
    int k = slots.length;
    return (dec, e, step) -> {
      long[] tokens = new long[k * B * T];
      int[][] targets = new int[k][];
      for (int s = 0; s < k; s++) {
        Data d = Data.of(DATA_SEED[slots[s]], step);
        System.arraycopy(d.tokens(), 0, tokens, s * B * T, B * T);
        targets[s] = d.targets();
      }
      NDArray t = manager.create(tokens, new Shape(k, B, T));
      return EnsembleLosses.crossEntropy(dec.logits(e, t), EnsembleLosses.Targets.of(manager, targets, B, T));
    };
  }

  /** Distillation from a teacher on the batch every student shares (config 0's data). */
  static Single distill(Params teacher) {
    return (dec, p, step) -> {
      Data d = Data.of(DATA_SEED[0], step);
      NDArray tokens = manager.create(d.tokens(), new Shape(B, T));
      NDArray teacherLogits = dec.logits(teacher, tokens);
      return Losses.forwardKl(teacherLogits, dec.logits(p, tokens), Losses.Targets.of(manager, d.targets(), B, T));
    };
  }

  /** The UNDO case: one teacher forward (B, T, V) per batch, broadcast to every student. */
  static Together distill(Params teacher, Decoder teacherDecoder, int k) {
    return (dec, e, step) -> {
      Data d = Data.of(DATA_SEED[0], step);
      NDArray tokens = manager.create(d.tokens(), new Shape(B, T));
      NDArray teacherLogits = teacherDecoder.logits(teacher, tokens);
      return EnsembleLosses.forwardKl(teacherLogits, dec.logits(e, tokens),
          EnsembleLosses.Targets.shared(manager, d.targets(), k, B, T));
    };
  }

  /** Trains one model alone over steps [from, to) with the project's Trainer; returns losses indexed by step. */
  static double[] trainAlone(Params p, int j, Optimizer opt, long from, long to, Single objective) {
    return trainAlone(p, j, LR, opt, from, to, objective);
  }

  static double[] trainAlone(Params p, int j, double[] lr, Optimizer opt, long from, long to, Single objective) {
    double[] losses = new double[(int) to];
    try (Decoder dec = new Decoder(CFG, manager)) {
      Trainer tr = new Trainer(p, opt, (step, micro, terms) -> objective.loss(dec, p, step),
          new Trainer.Settings(to, 1, CLIP[j], LrSchedule.constant(lr[j]), B * T));
      tr.addListener(new Trainer.Listener() {
        @Override
        public boolean afterStep(Trainer.StepResult r) {
          losses[(int) r.step()] = r.loss();
          return false;
        }
      });
      tr.run(from);
    }
    return losses;
  }

  static double[] trainAlone(Params p, int j, long steps, Single objective) {
    p.requireGradients();
    try (AdamW adam = new AdamW(hyper(j), p, p.names(), manager)) {
      return trainAlone(p, j, adam, 0, steps, objective);
    }
  }

  /** Trains the slots together over steps [from, to); returns losses[step][slot]. */
  static double[][] trainTogether(EnsembleParams e, int[] slots, EnsembleOptimizer opt, long from, long to,
      Together objective, EnsembleTrainer.Listener extra) {
    return trainTogether(e, slots, LR, opt, from, to, objective, extra);
  }

  static double[][] trainTogether(EnsembleParams e, int[] slots, double[] lr, EnsembleOptimizer opt, long from,
      long to, Together objective, EnsembleTrainer.Listener extra) {
    int k = slots.length;
    double[][] losses = new double[(int) to][];
    LrSchedule[] schedules = new LrSchedule[k];
    long[] steps = new long[k];
    long[] starts = new long[k];
    double[] clip = new double[k];
    for (int s = 0; s < k; s++) {
      schedules[s] = LrSchedule.constant(lr[slots[s]]);
      steps[s] = to;
      starts[s] = from;
      clip[s] = CLIP[slots[s]];
    }
    try (EnsembleDecoder dec = new EnsembleDecoder(CFG, k, manager)) {
      EnsembleTrainer tr = new EnsembleTrainer(e, opt, (step, micro, active, terms) -> objective.losses(dec, e, step),
          new EnsembleTrainer.Settings(steps, 1, clip, schedules, B * T));
      tr.addListener(new EnsembleTrainer.Listener() {
        @Override
        public void afterStep(EnsembleTrainer.StepResult r, boolean[] stop) {
          losses[(int) r.step()] = r.loss();
        }
      });
      if (extra != null) {
        tr.addListener(extra);
      }
      tr.run(starts);
    }
    return losses;
  }

  static EnsembleAdamW adam(EnsembleParams e, int[] slots) {
    List<AdamW.Hyper> h = new ArrayList<>();
    for (int s : slots) {
      h.add(hyper(s));
    }
    return new EnsembleAdamW(h, e, e.names(), manager);
  }

  static List<Params> inits(int[] slots) {
    List<Params> out = new ArrayList<>();
    for (int s : slots) {
      out.add(Init.random(CFG, manager, INIT_SEED[s]));
    }
    return out;
  }

  /** max |a − b| / max |b| over one array. */
  static double relDiff(NDArray a, NDArray b) {
    float[] x = a.toFloatArray();
    float[] y = b.toFloatArray();
    assertEquals(y.length, x.length);
    double diff = 0;
    double scale = 1e-12;
    for (int i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs(x[i] - y[i]));
      scale = Math.max(scale, Math.abs(y[i]));
    }
    return diff / scale;
  }

  static double weightDiff(Params want, Params got) {
    double worst = 0;
    for (String n : want.names()) {
      worst = Math.max(worst, relDiff(got.get(n), want.get(n)));
    }
    return worst;
  }

  static double lossDiff(double[] single, double[][] together, int slot, long from, long to) {
    double worst = 0;
    for (int s = (int) from; s < to; s++) {
      worst = Math.max(worst, Math.abs(together[s][slot] - single[s]) / Math.abs(single[s]));
    }
    return worst;
  }

  /** Compares each slot with its config trained alone; returns {max loss diff, max weight diff}. */
  static double[] compareWithAlone(EnsembleParams e, int[] slots, double[][] together, int steps,
      java.util.function.IntFunction<Single> objective, double[] sgdLr) {
    double loss = 0;
    double weights = 0;
    for (int s = 0; s < slots.length; s++) {
      int j = slots[s];
      try (Params alone = Init.random(CFG, manager, INIT_SEED[j])) {
        double[] single;
        if (sgdLr != null) {
          alone.requireGradients();
          try (Sgd opt = new Sgd(alone, alone.names(), manager)) {
            single = trainAlone(alone, j, sgdLr, opt, 0, steps, objective.apply(j));
          }
        } else {
          single = trainAlone(alone, j, steps, objective.apply(j));
        }
        loss = Math.max(loss, lossDiff(single, together, s, 0, steps));
        try (Params m = e.member(s, manager); Params init = Init.random(CFG, manager, INIT_SEED[j])) {
          weights = Math.max(weights, weightDiff(alone, m));
          // Training moved the member, so agreement is not the trivial one of two untouched models.
          double moved = weightDiff(init, m);
          assertTrue(moved > 1e-3, "slot " + s + " barely moved: " + moved);
        }
      }
      assertTrue(together[steps - 1][s] < together[0][s],
          "slot " + s + " did not learn: " + together[0][s] + " -> " + together[steps - 1][s]);
    }
    return new double[] {loss, weights};
  }

  @Test
  void ceTrajectoriesEqualTrainingEachMemberAlone() {
    int[] slots = {0, 1, 2};
    int steps = 50;
    List<Params> start = inits(slots);
    try (EnsembleParams e = EnsembleParams.stack(start, manager)) {
      e.requireGradients();
      double[][] together;
      try (EnsembleAdamW opt = adam(e, slots)) {
        together = trainTogether(e, slots, opt, 0, steps, ce(slots), null);
      }
      double[] d = compareWithAlone(e, slots, together, steps, EnsembleTrainingTest::ce, null);
      System.out.printf("ensemble AdamW CE, K=3, %d steps: max rel. loss diff %.3g, max rel. weight diff %.3g%n",
          steps, d[0], d[1]);
      assertTrue(d[0] < REL_TOL, "losses differ by " + d[0] + " (relative)");
      assertTrue(d[1] < REL_TOL, "weights differ by " + d[1] + " (relative)");
    } finally {
      start.forEach(Params::close);
    }
  }

  @Test
  void sgdTrajectoriesEqualTrainingEachMemberAlone() {
    int[] slots = {0, 1, 2};
    int steps = 20;
    List<Params> start = inits(slots);
    try (EnsembleParams e = EnsembleParams.stack(start, manager)) {
      e.requireGradients();
      double[][] together;
      try (EnsembleSgd opt = new EnsembleSgd(e, e.names(), manager)) {
        together = trainTogether(e, slots, SGD_LR, opt, 0, steps, ce(slots), null);
      }
      double[] d = compareWithAlone(e, slots, together, steps, EnsembleTrainingTest::ce, SGD_LR);
      System.out.printf("ensemble SGD CE, K=3, %d steps: max rel. loss diff %.3g, max rel. weight diff %.3g%n",
          steps, d[0], d[1]);
      assertTrue(d[0] < REL_TOL && d[1] < REL_TOL, "SGD: losses differ by " + d[0] + ", weights by " + d[1]);
    } finally {
      start.forEach(Params::close);
    }
  }

  @Test
  void distillationFromOneSharedTeacherForwardEqualsDistillingEachStudentAlone() {
    int[] slots = {0, 1, 2};
    int steps = 30;
    List<Params> start = inits(slots);
    try (Params teacher = Init.random(CFG, manager, TEACHER_SEED); Decoder teacherDec = new Decoder(CFG, manager);
        EnsembleParams e = EnsembleParams.stack(start, manager)) {
      e.requireGradients();
      double[][] together;
      try (EnsembleAdamW opt = adam(e, slots)) {
        together = trainTogether(e, slots, opt, 0, steps, distill(teacher, teacherDec, slots.length), null);
      }
      double[] d = compareWithAlone(e, slots, together, steps, j -> distill(teacher), null);
      System.out.printf("ensemble distillation, shared teacher, K=3, %d steps: max rel. loss diff %.3g, "
          + "max rel. weight diff %.3g%n", steps, d[0], d[1]);
      assertTrue(d[0] < REL_TOL, "losses differ by " + d[0] + " (relative)");
      assertTrue(d[1] < REL_TOL, "weights differ by " + d[1] + " (relative)");
    } finally {
      start.forEach(Params::close);
    }
  }

  @Test
  void aTrainableSubsetTrainsAloneAndTheRestStaysBitIdentical() {
    // RMU's shape: only one down_proj trains, on the MSE between the residual after that block and a fixed vector.
    List<String> trainable = List.of("layers.0.mlp.down_proj.weight");
    int layer = 0;
    int steps = 12;
    int[] slots = {1, 2};
    float[] u = new float[CFG.hiddenSize()];
    SplittableRandom rnd = new SplittableRandom(5);
    for (int i = 0; i < u.length; i++) {
      u[i] = (float) rnd.nextDouble();
    }
    NDArray target = manager.create(u, new Shape(1, 1, u.length));
    List<Params> start = inits(slots);
    try (EnsembleParams e = EnsembleParams.stack(start, manager);
        EnsembleAdamW opt = new EnsembleAdamW(List.of(hyper(1), hyper(2)), e, trainable, manager)) {
      e.requireGradients(trainable);
      double[][] together = trainTogether(e, slots, opt, 0, steps, (dec, ens, step) -> {
        long[] tokens = new long[2 * B * T];
        for (int s = 0; s < 2; s++) {
          System.arraycopy(Data.of(DATA_SEED[slots[s]], step).tokens(), 0, tokens, s * B * T, B * T);
        }
        NDArray h = dec.residual(ens, manager.create(tokens, new Shape(2, B, T)), layer);
        return EnsembleLosses.meanSquaredError(h, target);
      }, null);
      double lossDiff = 0;
      double weightDiff = 0;
      for (int s = 0; s < 2; s++) {
        int j = slots[s];
        try (Params alone = Init.random(CFG, manager, INIT_SEED[j]);
            Params init = Init.random(CFG, manager, INIT_SEED[j]);
            Params m = e.member(s, manager)) {
          alone.get(trainable.get(0)).setRequiresGradient(true);
          double[] single;
          try (AdamW adam = new AdamW(hyper(j), alone, trainable, manager)) {
            single = trainAlone(alone, j, adam, 0, steps, (dec, p, step) -> {
              NDArray tokens = manager.create(Data.of(DATA_SEED[j], step).tokens(), new Shape(B, T));
              return dec.residual(p, tokens, layer).sub(target).square().mean();
            });
          }
          lossDiff = Math.max(lossDiff, lossDiff(single, together, s, 0, steps));
          weightDiff = Math.max(weightDiff, weightDiff(alone, m));
          for (String n : init.names()) {
            if (!trainable.contains(n)) {
              assertArrayEquals(bits(init.get(n)), bits(m.get(n)), "frozen " + n + " of slot " + s + " moved");
            }
          }
          assertTrue(weightDiff(init, m) > 1e-3, "the trainable weight did not move");
        }
        assertTrue(together[steps - 1][s] < together[0][s], "slot " + s + " did not learn");
      }
      System.out.printf("ensemble trainable subset (RMU-style MSE), K=2, %d steps: max rel. loss diff %.3g, "
          + "weight diff %.3g%n", steps, lossDiff, weightDiff);
      assertTrue(lossDiff < REL_TOL && weightDiff < REL_TOL, "losses differ by " + lossDiff + ", weights by "
          + weightDiff);
    } finally {
      start.forEach(Params::close);
    }
  }

  static int[] bits(NDArray a) {
    float[] f = a.toFloatArray();
    int[] out = new int[f.length];
    for (int i = 0; i < f.length; i++) {
      out[i] = Float.floatToRawIntBits(f[i]);
    }
    return out;
  }

  @Test
  void aStoppedMemberStaysBitIdenticalAndTheOthersAreUnaffected() {
    int[] slots = {0, 1, 2};
    int steps = 16;
    int stopAfter = 5;
    List<Params> start = inits(slots);
    try (EnsembleParams e = EnsembleParams.stack(start, manager);
        EnsembleParams reference = EnsembleParams.stack(start, manager)) {
      e.requireGradients();
      reference.requireGradients();
      try (EnsembleAdamW opt = adam(e, slots); EnsembleAdamW refOpt = adam(reference, slots)) {
        Map<String, int[]>[] snapshot = new Map[2];
        EnsembleTrainer.Listener stopper = new EnsembleTrainer.Listener() {
          @Override
          public void afterStep(EnsembleTrainer.StepResult r, boolean[] stop) {
            if (r.step() == stopAfter) {
              stop[1] = true;
              // Signed zeros in the stopped member must survive: a masked update done by multiplying with 0
              // would turn them into +0.
              try (Params m = e.member(1, manager)) {
                float[] w = m.hostValues("norm.weight");
                w[0] = -0.0f;
                w[1] = 0.0f;
                m.put("norm.weight", manager.create(w, new Shape(w.length)));
                e.setMember(1, m);
              }
              snapshot[0] = new java.util.LinkedHashMap<>();
              snapshot[1] = new java.util.LinkedHashMap<>();
              for (String n : e.names()) {
                snapshot[0].put(n, bits(e.get(n).get(1)));
              }
              opt.memberState(1, manager).forEach((n, a) -> snapshot[1].put(n, bits(a)));
            }
            assertEquals(r.step() <= stopAfter, r.active()[1], "member 1 active at step " + r.step());
          }
        };
        double[][] together = trainTogether(e, slots, opt, 0, steps, ce(slots), stopper);
        trainTogether(reference, slots, refOpt, 0, steps, ce(slots), null);
        for (String n : e.names()) {
          assertArrayEquals(snapshot[0].get(n), bits(e.get(n).get(1)), "stopped member's " + n + " moved");
        }
        opt.memberState(1, manager).forEach(
            (n, a) -> assertArrayEquals(snapshot[1].get(n), bits(a), "stopped member's optimizer state " + n));
        assertEquals(stopAfter + 1, opt.stepCount(1));
        assertEquals(steps, opt.stepCount(0));
        assertEquals(Float.floatToRawIntBits(-0.0f), bits(e.get("norm.weight").get(1))[0]);
        // The others took the masked path and still match the all-active run bit for bit.
        for (int s : new int[] {0, 2}) {
          for (String n : e.names()) {
            assertArrayEquals(bits(reference.get(n).get(s)), bits(e.get(n).get(s)), "member " + s + " " + n);
          }
        }
        // And the stopped member did train before it stopped, then diverged from the reference run.
        assertNotEquals(bits(reference.get("norm.weight").get(1))[5], bits(e.get("norm.weight").get(1))[5]);
        assertTrue(together[steps - 1][1] > 0);
      }
    } finally {
      start.forEach(Params::close);
    }
  }

  @Test
  void optimizerStateMovesBetweenASingleModelAndAMemberBothWays() {
    int split = 8;
    int steps = 16;
    // Ensemble -> single: train [0, 1] together to `split`, take member 1 out with its moments, finish alone.
    int[] slots = {0, 1};
    List<Params> start = inits(slots);
    try (EnsembleParams e = EnsembleParams.stack(start, manager); EnsembleAdamW opt = adam(e, slots)) {
      e.requireGradients();
      trainTogether(e, slots, opt, 0, split, ce(slots), null);
      double[] alone;
      try (Params out = e.member(1, manager); NDManager stateManager = manager.newSubManager()) {
        out.requireGradients();
        try (AdamW single = new AdamW(hyper(1), out, out.names(), manager)) {
          single.restore(opt.memberState(1, stateManager), opt.stepCount(1));
          assertEquals(split, single.stepCount());
          alone = trainAlone(out, 1, single, split, steps, ce(1));
        }
        double[][] together = trainTogether(e, slots, opt, split, steps, ce(slots), null);
        double loss = lossDiff(alone, together, 1, split, steps);
        double w;
        try (Params m = e.member(1, manager)) {
          w = weightDiff(out, m);
        }
        System.out.printf("ensemble -> single resume: max rel. loss diff %.3g, weight diff %.3g%n", loss, w);
        assertTrue(loss < REL_TOL && w < REL_TOL, "resumed alone: losses differ by " + loss + ", weights by " + w);
      }
    } finally {
      start.forEach(Params::close);
    }
    // Single -> ensemble: config 2 trained alone to `split`, then placed in slot 0 of a [2, 0] ensemble with its
    // moments; it must continue as it would alone.
    int[] slots2 = {2, 0};
    List<Params> start2 = inits(new int[] {0, 0});
    try (Params single = Init.random(CFG, manager, INIT_SEED[2]);
        EnsembleParams e = EnsembleParams.stack(start2, manager); EnsembleAdamW opt = adam(e, slots2)) {
      single.requireGradients();
      e.requireGradients();
      try (AdamW adam = new AdamW(hyper(2), single, single.names(), manager)) {
        trainAlone(single, 2, adam, 0, split, ce(2));
        e.setMember(0, single);
        opt.restoreMember(0, adam.state(), adam.stepCount());
        double[][] together = trainTogether(e, slots2, opt, split, steps, ce(slots2), null);
        double[] alone = trainAlone(single, 2, adam, split, steps, ce(2));
        double loss = lossDiff(alone, together, 0, split, steps);
        double w;
        try (Params m = e.member(0, manager)) {
          w = weightDiff(single, m);
        }
        System.out.printf("single -> ensemble resume: max rel. loss diff %.3g, weight diff %.3g%n", loss, w);
        assertTrue(loss < REL_TOL && w < REL_TOL, "resumed in the ensemble: losses differ by " + loss
            + ", weights by " + w);
        assertEquals(steps, opt.stepCount(0));
      }
    } finally {
      start2.forEach(Params::close);
    }
  }
}
