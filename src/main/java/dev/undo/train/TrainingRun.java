package dev.undo.train;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.undo.data.Tokenizer;
import dev.undo.model.ModelConfig;
import dev.undo.model.Params;
import dev.undo.run.Compute;
import dev.undo.run.Json;
import dev.undo.run.MetricsLog;
import dev.undo.run.StageDir;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A resumable training stage around {@link Trainer}: what pretraining, unlearning, distillation and oracle matching
 * share. It loads the stage's checkpoint if a killed run left one (weights, AdamW state, step) or starts from
 * {@code init}; logs metrics; evaluates every {@code evalEvery} steps and at the end (an optional stop rule reads
 * those evaluations); checkpoints every {@code checkpointEvery} steps; and accounts compute.
 *
 * <p>Because batches are a pure function of the step and the optimizer state is restored exactly, a resumed run
 * computes the same numbers as an uninterrupted one.
 */
public final class TrainingRun {

  /**
   * Loop settings of a stage; build with {@link #loop()}. {@code tokensPerMicro} is the tokens of one micro-batch
   * (for the ledger and the progress display), {@code forwardTokensPerStep} extra forward-only work per step (a
   * teacher), {@code samRho} > 0 makes every step sharpness-aware (two forward-backward passes).
   */
  public record Spec(String task, long steps, int gradAccum, double gradClip, LrSchedule schedule, AdamW.Hyper hyper,
      long evalEvery, long checkpointEvery, long tokensPerMicro, long forwardTokensPerStep, int seqLen,
      boolean progress, double samRho) {}

  /** A builder of {@link Spec}: required {@code steps, schedule, hyper, tokensPerMicro, seqLen}; the rest optional. */
  public static Builder loop() {
    return new Builder();
  }

  /** See {@link #loop()}. */
  public static final class Builder {
    private String task = "";
    private long steps = -1;
    private int gradAccum = 1;
    private double gradClip;
    private LrSchedule schedule;
    private AdamW.Hyper hyper;
    private long evalEvery = -1;
    private long checkpointEvery = -1;
    private long tokensPerMicro = -1;
    private long forwardTokensPerStep;
    private int seqLen = -1;
    private boolean progress;
    private double samRho;

    public Builder name(String v) {
      task = v;
      return this;
    }

    public Builder steps(long v) {
      steps = v;
      return this;
    }

    public Builder gradAccum(int v) {
      gradAccum = v;
      return this;
    }

    /** Global-norm clipping bound; 0 = none. */
    public Builder gradClip(double v) {
      gradClip = v;
      return this;
    }

    public Builder schedule(LrSchedule v) {
      schedule = v;
      return this;
    }

    public Builder optimizer(AdamW.Hyper v) {
      hyper = v;
      return this;
    }

    /** Evaluate after every {@code v} steps and at the end (default: only at the end). */
    public Builder evalEvery(long v) {
      evalEvery = v;
      return this;
    }

    /** Checkpoint after every {@code v} steps and at the end (default: only at the end). */
    public Builder checkpointEvery(long v) {
      checkpointEvery = v;
      return this;
    }

    /** Tokens one micro-batch trains on, and the sequence length they come in. */
    public Builder batchTokens(long tokensPerMicroBatch, int seqLen) {
      this.tokensPerMicro = tokensPerMicroBatch;
      this.seqLen = seqLen;
      return this;
    }

    /** Forward-only tokens per step beyond training (a teacher's pass), for the compute ledger. */
    public Builder forwardTokensPerStep(long v) {
      forwardTokensPerStep = v;
      return this;
    }

    public Builder progress(boolean v) {
      progress = v;
      return this;
    }

    /** SAM's ρ; 0 = plain steps. */
    public Builder sam(double rho) {
      samRho = rho;
      return this;
    }

    public Spec build() {
      if (steps < 0 || schedule == null || hyper == null || tokensPerMicro < 0 || seqLen < 1) {
        throw new IllegalStateException("training loop needs steps, schedule, optimizer and batchTokens");
      }
      return new Spec(task, steps, gradAccum, gradClip, schedule, hyper, evalEvery < 1 ? steps : evalEvery,
          checkpointEvery < 1 ? steps : checkpointEvery, tokensPerMicro, forwardTokensPerStep, seqLen, progress,
          samRho);
    }
  }

  /** Evaluation of the current weights; {@code forwardTokens} is its cost per call for the ledger. */
  public interface Evaluation {
    Map<String, Double> evaluate(Params p);

    long forwardTokens();
  }

  /** A stop rule read at each evaluation (distillation's "retain recovered"); null for none. */
  public interface StopRule {
    boolean satisfied(Map<String, Double> metrics);

    String describe();
  }

  /** Everything a caller needs after the run. The caller owns and closes {@code params}. */
  public record Result(Params params, Map<String, Double> finalMetrics, long steps, boolean stoppedByRule,
      Compute compute) {}


  private TrainingRun() {}

  /** A training run in a stage folder; set its parts, then {@link Job#run()}. */
  public static Job job(StageDir stage, Spec spec, ModelConfig cfg, Tokenizer tok, NDManager manager) {
    return new Job(stage, spec, cfg, tok, manager);
  }

  /**
   * The parts of a training run: where the weights start ({@link #init}), which train ({@link #trainable}, default
   * all), the loss ({@link #objective}), the evaluation, an optional stop rule, and the provenance each checkpoint
   * records ({@link #provenance}, with the stage's fingerprint: a checkpoint under another fingerprint is never
   * resumed).
   */
  public static final class Job {
    private final StageDir stage;
    private final Spec spec;
    private final ModelConfig cfg;
    private final Tokenizer tok;
    private final NDManager manager;
    private Supplier<Params> init;
    private Function<Params, List<String>> trainable = Params::names;
    private Function<Params, Trainer.Objective> objective;
    private Evaluation eval;
    private StopRule stop;
    private Function<Compute, ObjectNode> provenance;
    private String fingerprint;
    private List<String> accepted = List.of();

    Job(StageDir stage, Spec spec, ModelConfig cfg, Tokenizer tok, NDManager manager) {
      this.stage = stage;
      this.spec = spec;
      this.cfg = cfg;
      this.tok = tok;
      this.manager = manager;
    }

    public Job init(Supplier<Params> v) {
      init = v;
      return this;
    }

    public Job trainable(Function<Params, List<String>> v) {
      trainable = v;
      return this;
    }

    public Job objective(Function<Params, Trainer.Objective> v) {
      objective = v;
      return this;
    }

    public Job evaluation(Evaluation v) {
      eval = v;
      return this;
    }

    public Job stopRule(StopRule v) {
      stop = v;
      return this;
    }

    /** The provenance of each checkpoint, given the compute so far; must carry the stage's fingerprint. */
    public Job provenance(String stageFingerprint, Function<Compute, ObjectNode> v) {
      fingerprint = stageFingerprint;
      provenance = v;
      return this;
    }

    /** Earlier fingerprints of this stage whose checkpoint may be resumed (continued after a divergence). */
    public Job resumable(List<String> earlierFingerprints) {
      accepted = List.copyOf(earlierFingerprints);
      return this;
    }

    public Result run() {
      if (init == null || objective == null || eval == null || provenance == null) {
        throw new IllegalStateException("a training job needs init, objective, evaluation and provenance");
      }
      return TrainingRun.run(this);
    }
  }

  private static Result run(Job j) {
    StageDir stage = j.stage;
    Spec spec = j.spec;
    long t0 = System.nanoTime();
    Params params;
    long start = 0;
    Map<String, ai.djl.ndarray.NDArray> optState = null;
    Timings timings = Files.exists(stage.file(TIMING)) ? Json.read(stage.file(TIMING), Timings.class)
        : Timings.EMPTY;
    Timings.Entry timing = new Timings.Entry(0, 0, 0, 0, false);
    boolean resumed = Checkpoint.exists(stage.checkpoint());
    if (resumed) {
      Checkpoint.Loaded ck = Checkpoint.load(stage.checkpoint(), j.manager);
      String was = ck.provenance().path("fingerprint").asText("");
      if (ck.trainerState() == null
          || (j.fingerprint != null && !j.fingerprint.equals(was) && !j.accepted.contains(was))) {
        ck.close();
        throw new IllegalStateException(stage.checkpoint() + (ck.trainerState() == null
            ? " has no optimizer state to resume from" : " was written by another configuration (fingerprint "
            + was + ")") + "; rerun with --force to start the stage afresh");
      }
      params = ck.params();
      start = ck.trainerState().step();
      optState = ck.optimizerState();
      Timings.Entry t = timings.at(start);
      if (t != null) {
        timing = t;
      }
      if (timing.finished()) {
        // The run ended (stop rule or last step) but the caller did not get to mark the stage done: no more steps.
        if (optState != null) {
          optState.values().forEach(ai.djl.ndarray.NDArray::close);
        }
        Compute c = compute(spec, j.cfg, start, timing.evals(), j.eval.forwardTokens())
            .withWallSeconds(timing.wallSeconds());
        return new Result(params, lastEval(stage), start, start < spec.steps(), c);
      }
    } else {
      params = j.init.get();
    }
    List<String> names = j.trainable.apply(params);
    for (String n : names) {
      params.get(n).setRequiresGradient(true);
    }
    final double wallBefore = timing.wallSeconds();
    final long[] evals = {timing.evals()};
    final boolean[] ruleMet = {false};
    final Map<String, Double> last = new LinkedHashMap<>();
    final long startStep = start;
    final Timings[] written = {timings};
    // Without a checkpoint the run starts over: drop every record a killed attempt left, step 0 included.
    try (AdamW adam = new AdamW(spec.hyper(), params, names, j.manager);
        MetricsLog log = new MetricsLog(stage.metrics()).open(resumed ? start : -1)) {
      if (optState != null) {
        adam.restore(optState, start);
        optState.values().forEach(ai.djl.ndarray.NDArray::close);
      }
      Persist persist = (done, finished) -> {
        double wall = wallBefore + (System.nanoTime() - t0) / 1e9;
        Compute c = compute(spec, j.cfg, done, evals[0], j.eval.forwardTokens()).withWallSeconds(wall);
        written[0] = written[0].with(new Timings.Entry(done, wall, evals[0], 0, finished));
        Json.writeAtomic(stage.file(TIMING), written[0]);
        Checkpoint.save(stage.checkpoint(), j.cfg, params, j.tok, j.provenance.apply(c), adam, done);
        return c;
      };
      if (start == 0) {
        // The starting point is part of every curve (the damage right after noising, the base before unlearning).
        Map<String, Double> m0 = j.eval.evaluate(params);
        evals[0]++;
        writeEval(log, 0, m0);
        last.putAll(m0);
        if (j.stop != null && j.stop.satisfied(m0)) {
          // Already there (e.g. a student initialised as a copy of its teacher): no step is needed.
          Compute c = persist.at(0, true);
          for (String n : names) {
            params.get(n).setRequiresGradient(false);
          }
          return new Result(params, last, 0, true, c);
        }
      }
      Trainer trainer = new Trainer(params, adam, j.objective.apply(params),
          new Trainer.Settings(spec.steps(), spec.gradAccum(), spec.gradClip(), spec.schedule(),
              spec.tokensPerMicro(), spec.samRho()));
      trainer.addListener(Listeners.metrics(log));
      trainer.addListener(crashHook());
      trainer.addListener(Listeners.every(spec.evalEvery(), spec.steps(), done -> {
        Map<String, Double> m = j.eval.evaluate(params);
        evals[0]++;
        writeEval(log, done, m);
        last.clear();
        last.putAll(m);
        if (j.stop != null && j.stop.satisfied(m)) {
          ruleMet[0] = true;
          return true;
        }
        return false;
      }));
      trainer.addListener(Listeners.every(spec.checkpointEvery(), spec.steps(), done -> {
        persist.at(done, done == spec.steps());
        return false;
      }));
      trainer.addListener(Listeners.progress(spec.task(), start, spec.steps(), spec.progress()));
      long lastStep = trainer.run(start);
      long done = lastStep + 1;
      if (ruleMet[0] || done == startStep) {
        // Stopped between checkpoints (or nothing to run): write the final state now.
        persist.at(done, true);
      }
      if (last.isEmpty()) {
        last.putAll(j.eval.evaluate(params));
        evals[0]++;
      }
      double wall = wallBefore + (System.nanoTime() - t0) / 1e9;
      Compute c = compute(spec, j.cfg, done, evals[0], j.eval.forwardTokens()).withWallSeconds(wall);
      for (String n : names) {
        params.get(n).setRequiresGradient(false);
      }
      return new Result(params, last, done, ruleMet[0], c);
    } catch (RuntimeException e) {
      params.close();
      throw e;
    }
  }

  /** Writes the resumable state after {@code done} steps and returns the compute so far. */
  private interface Persist {
    Compute at(long done, boolean finished);
  }

  static final String TIMING = "timing.json";

  /**
   * Test hook: with system property {@code undo.test.crashAfterStep=N}, the run dies right after step N as a killed
   * process would (after that step's listeners, before anything else). Used to prove that resuming gives the
   * uninterrupted run's numbers.
   */
  static Trainer.Listener crashHook() {
    long at = Long.getLong("undo.test.crashAfterStep", -1);
    return new Trainer.Listener() {
      @Override
      public boolean afterStep(Trainer.StepResult r) {
        if (r.step() + 1 == at) {
          throw new SimulatedCrash("simulated crash after step " + at);
        }
        return false;
      }
    };
  }

  /** Thrown by the crash hook. */
  public static final class SimulatedCrash extends RuntimeException {
    SimulatedCrash(String m) {
      super(m);
    }
  }

  /** The metrics of the last evaluation record in the stage's metrics log. */
  static Map<String, Double> lastEval(StageDir stage) {
    return dev.undo.run.MetricsRecords.lastEval(stage.metrics());
  }

  static Compute compute(Spec spec, ModelConfig cfg, long steps, long evals, long evalTokens) {
    // A SAM step runs forward and backward twice.
    long trainTokens = steps * spec.tokensPerMicro() * spec.gradAccum() * (spec.samRho() > 0 ? 2 : 1);
    Compute train = Compute.training(cfg, spec.seqLen(), trainTokens, steps);
    return train.plus(Compute.forward(cfg, spec.seqLen(), steps * spec.forwardTokensPerStep()))
        .plus(Compute.evaluation(cfg, spec.seqLen(), evals * evalTokens));
  }

  static void writeEval(MetricsLog log, long step, Map<String, Double> m) {
    Map<String, Object> rec = new LinkedHashMap<>();
    rec.put("step", step);
    rec.put("split", "eval");
    rec.putAll(m);
    log.write(rec);
  }
}
