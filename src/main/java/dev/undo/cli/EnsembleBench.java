package dev.undo.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.undo.model.Decoder;
import dev.undo.model.EnsembleDecoder;
import dev.undo.model.EnsembleParams;
import dev.undo.model.Init;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.run.Compute;
import dev.undo.train.AdamW;
import dev.undo.train.Autograd;
import dev.undo.train.EnsembleAdamW;
import dev.undo.train.EnsembleLosses;
import dev.undo.train.Losses;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code undo bench --ensemble K,…}: throughput of an ensemble training step (K members, each on its own batch of
 * the bench's size: forward, per-member CE, backward of the sum, per-member clipping and AdamW) against the
 * single-model step, with the step split into forward (with loss), backward and optimizer so that the time a
 * change saves can be located. Prints numbers; asserts nothing.
 */
final class EnsembleBench {
  private final ModelConfig cfg;
  private final int batch;
  private final int seq;
  private final int warmup;
  private final int steps;
  private final long[][] batches;
  private final double gemm;

  EnsembleBench(ModelConfig cfg, int batch, int seq, int warmup, int steps, long[][] batches, double gemm) {
    this.cfg = cfg;
    this.batch = batch;
    this.seq = seq;
    this.warmup = warmup;
    this.steps = steps;
    this.batches = batches;
    this.gemm = gemm;
  }

  /**
   * Median phase times (ms) of a step: forward with loss, backward, optimizer, total wall; and the process CPU time
   * per step (all threads), which a loaded machine inflates far less than wall time.
   */
  record Phases(double forward, double backward, double optimizer, double total, double cpu) {}

  /** One row of the result: members (0 = the single-model Decoder path), phases, throughput. */
  Map<String, Object> row(int members, Phases ph, double gemmPerCpuSecond, int threads) {
    long tokensPerStep = (long) Math.max(members, 1) * batch * seq;
    double tokPerS = tokensPerStep / (ph.total() / 1000);
    double flopsPerToken = 3 * Compute.forwardFlopsPerToken(cfg, seq);
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("members", members == 0 ? 1 : members);
    r.put("path", members == 0 ? "single" : "ensemble");
    r.put("step_ms_median", round(ph.total()));
    r.put("forward_ms", round(ph.forward()));
    r.put("backward_ms", round(ph.backward()));
    r.put("optimizer_ms", round(ph.optimizer()));
    r.put("tokens_per_s", Math.round(tokPerS));
    r.put("achieved_gflops", round(flopsPerToken * tokPerS / 1e9));
    r.put("mfu", round(flopsPerToken * tokPerS / 1e9 / gemm));
    // The same ratio on CPU time: model FLOPs per CPU-second of the step against GEMM FLOPs per CPU-second.
    double flopsPerCpuSecond = flopsPerToken * tokensPerStep / (ph.cpu() / 1000);
    r.put("cpu_ms_per_step", round(ph.cpu()));
    r.put("mfu_cpu", round(flopsPerCpuSecond / gemmPerCpuSecond));
    return r;
  }

  /** The single-model step through {@link Decoder} and {@link AdamW}, timed by phase. */
  Phases single(NDManager m) {
    try (Params p = Init.random(cfg, m, 1); Decoder dec = new Decoder(cfg, m)) {
      p.requireGradients();
      try (AdamW adam = new AdamW(new AdamW.Hyper(0.9, 0.95, 1e-8, 0.1), p, p.names(), m)) {
        return time(s -> {
          NDArray tokens = m.create(inputs(s, 0), new Shape(batch, seq));
          Losses.Targets targets = Losses.Targets.of(m, targets(s, 0), batch, seq);
          return Losses.crossEntropy(dec.logits(p, tokens), targets);
        }, () -> {
          adam.clipGradients(p, 1.0);
          adam.step(p, 1e-3);
          adam.zeroGradients(p);
        });
      }
    }
  }

  /** The ensemble step at {@code k} members, each on its own batch, timed by phase. */
  Phases ensemble(NDManager m, int k) {
    List<Params> members = new ArrayList<>();
    for (int j = 0; j < k; j++) {
      members.add(Init.random(cfg, m, 1 + j));
    }
    double[] lr = new double[k];
    double[] clip = new double[k];
    for (int j = 0; j < k; j++) {
      lr[j] = 1e-3 * (j + 1);
      clip[j] = 1.0;
    }
    try (EnsembleParams e = EnsembleParams.stack(members, m); EnsembleDecoder dec = new EnsembleDecoder(cfg, k, m)) {
      members.forEach(Params::close);
      e.requireGradients();
      try (EnsembleAdamW adam = new EnsembleAdamW(new AdamW.Hyper(0.9, 0.95, 1e-8, 0.1), e, e.names(), m)) {
        return time(s -> {
          long[] tokens = new long[k * batch * seq];
          int[][] targets = new int[k][];
          for (int j = 0; j < k; j++) {
            System.arraycopy(inputs(s, j), 0, tokens, j * batch * seq, batch * seq);
            targets[j] = targets(s, j);
          }
          NDArray t = m.create(tokens, new Shape(k, batch, seq));
          EnsembleLosses.Targets tg = EnsembleLosses.Targets.of(m, targets, batch, seq);
          return EnsembleLosses.crossEntropy(dec.logits(e, t), tg).sum();
        }, () -> {
          adam.clipGradients(e, clip);
          adam.step(e, lr);
          adam.zeroGradients(e);
        });
      }
    }
  }

  /** The scalar training loss of a step (built while gradients are recorded). */
  interface Forward {
    NDArray loss(int step);
  }

  private Phases time(Forward forward, Runnable optimizer) {
    double[] f = new double[steps];
    double[] b = new double[steps];
    double[] o = new double[steps];
    double[] t = new double[steps];
    double[] c = new double[steps];
    for (int s = 0; s < warmup + steps; s++) {
      long c0 = cpuNanos();
      long t0 = System.nanoTime();
      long t1;
      long t2;
      try (NDScope scope = new NDScope()) {
        try (Autograd gc = Autograd.record()) {
          NDArray loss = forward.loss(s);
          loss.getFloat(); // libtorch on CPU runs eagerly; reading the loss only marks the phase boundary
          t1 = System.nanoTime();
          gc.backward(loss);
        }
        t2 = System.nanoTime();
        optimizer.run();
      }
      long t3 = System.nanoTime();
      long c3 = cpuNanos();
      if (s >= warmup) {
        c[s - warmup] = (c3 - c0) / 1e6;
        f[s - warmup] = (t1 - t0) / 1e6;
        b[s - warmup] = (t2 - t1) / 1e6;
        o[s - warmup] = (t3 - t2) / 1e6;
        t[s - warmup] = (t3 - t0) / 1e6;
      }
    }
    return new Phases(median(f), median(b), median(o), median(t), median(c));
  }

  /** CPU time of this process, all threads. */
  static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /**
   * FLOPs per CPU-second of the bench's reference GEMM (the MLP-shaped (2048×d)·(d×F) product), median of 5
   * batches of 200: the ceiling that {@code mfu_cpu} divides by. Process CPU time ticks in 10 ms, so each batch
   * must run for several hundred ms to be resolved.
   */
  double gemmPerCpuSecond(NDManager m) {
    int rows = 2048;
    int calls = 200;
    double[] rates = new double[5];
    try (NDScope scope = new NDScope()) {
      NDArray a = m.randomUniform(-1, 1, new Shape(rows, cfg.hiddenSize()));
      NDArray b = m.randomUniform(-1, 1, new Shape(cfg.hiddenSize(), cfg.intermediateSize()));
      for (int i = 0; i < 5; i++) {
        a.matMul(b).close();
      }
      for (int i = 0; i < rates.length; i++) {
        long c0 = cpuNanos();
        for (int k = 0; k < calls; k++) {
          a.matMul(b).close();
        }
        double s = (cpuNanos() - c0) / 1e9 / calls;
        rates[i] = 2.0 * rows * cfg.hiddenSize() * cfg.intermediateSize() / Math.max(s, 1e-9);
      }
    }
    return median(rates);
  }

  /** Inputs of member j at step s: the bench's batches, a different one per member. */
  private long[] inputs(int s, int j) {
    long[] rows = batches[(s + j) % batches.length];
    long[] in = new long[batch * seq];
    for (int b = 0; b < batch; b++) {
      System.arraycopy(rows, b * (seq + 1), in, b * seq, seq);
    }
    return in;
  }

  private int[] targets(int s, int j) {
    long[] rows = batches[(s + j) % batches.length];
    int[] tg = new int[batch * seq];
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < seq; t++) {
        tg[b * seq + t] = (int) rows[b * (seq + 1) + t + 1];
      }
    }
    return tg;
  }

  static double median(double[] v) {
    double[] c = v.clone();
    Arrays.sort(c);
    return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
  }

  static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
