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

  /** Loop settings of a stage. {@code forwardTokensPerStep} counts extra forward-only work (a teacher). */
  public record Spec(String task, long steps, int gradAccum, double gradClip, LrSchedule schedule, AdamW.Hyper hyper,
      long evalEvery, long checkpointEvery, long tokensPerMicro, long forwardTokensPerStep, int seqLen,
      boolean progress, double samRho) {}

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

  /** State beside the checkpoint: wall seconds spent so far, so resumed runs account all of it. */
  record Timing(double wallSeconds, long evals, boolean finished) {}

  private TrainingRun() {}

  public static Result run(StageDir stage, Spec spec, ModelConfig cfg, Tokenizer tok, NDManager manager,
      Supplier<Params> init, Function<Params, List<String>> trainable,
      Function<Params, Trainer.Objective> objective, Evaluation eval, StopRule stop,
      Function<Compute, ObjectNode> provenance) {
    long t0 = System.nanoTime();
    Params params;
    long start = 0;
    Map<String, ai.djl.ndarray.NDArray> optState = null;
    Timing timing = new Timing(0, 0, false);
    if (Checkpoint.exists(stage.checkpoint())) {
      Checkpoint.Loaded ck = Checkpoint.load(stage.checkpoint(), manager);
      if (ck.trainerState() == null) {
        ck.close();
        throw new IllegalStateException(stage.checkpoint() + " has no optimizer state to resume from; delete it to"
            + " start the stage afresh");
      }
      params = ck.params();
      start = ck.trainerState().step();
      optState = ck.optimizerState();
      if (Files.exists(stage.file("timing.json"))) {
        timing = Json.read(stage.file("timing.json"), Timing.class);
      }
      if (timing.finished()) {
        // The run ended (stop rule or last step) but the caller did not get to mark the stage done: no more steps.
        if (optState != null) {
          optState.values().forEach(ai.djl.ndarray.NDArray::close);
        }
        Compute c = compute(spec, cfg, start, timing.evals(), eval.forwardTokens())
            .withWallSeconds(timing.wallSeconds());
        return new Result(params, lastEval(stage), start, start < spec.steps(), c);
      }
    } else {
      params = init.get();
    }
    List<String> names = trainable.apply(params);
    for (String n : names) {
      params.get(n).setRequiresGradient(true);
    }
    final Timing before = timing;
    final long[] evals = {timing.evals()};
    final boolean[] ruleMet = {false};
    final Map<String, Double> last = new LinkedHashMap<>();
    final long startStep = start;
    try (AdamW adam = new AdamW(spec.hyper(), params, names, manager);
        MetricsLog log = new MetricsLog(stage.metrics()).open(start)) {
      if (optState != null) {
        adam.restore(optState, start);
        optState.values().forEach(ai.djl.ndarray.NDArray::close);
      }
      if (start == 0) {
        // The starting point is part of every curve (the damage right after noising, the base before unlearning).
        Map<String, Double> m0 = eval.evaluate(params);
        evals[0]++;
        writeEval(log, 0, m0);
        last.putAll(m0);
        if (stop != null && stop.satisfied(m0)) {
          // Already there (e.g. a student initialised as a copy of its teacher): no step is needed.
          ruleMet[0] = true;
          Compute c = persist(stage, spec, cfg, params, tok, provenance, adam, eval, 0, evals[0],
              (System.nanoTime() - t0) / 1e9, true);
          for (String n : names) {
            params.get(n).setRequiresGradient(false);
          }
          return new Result(params, last, 0, true, c);
        }
      }
      Trainer trainer = new Trainer(params, adam, objective.apply(params),
          new Trainer.Settings(spec.steps(), spec.gradAccum(), spec.gradClip(), spec.schedule(),
              spec.tokensPerMicro(), spec.samRho()));
      trainer.addListener(Listeners.metrics(log));
      trainer.addListener(crashHook());
      trainer.addListener(Listeners.every(spec.evalEvery(), spec.steps(), done -> {
        Map<String, Double> m = eval.evaluate(params);
        evals[0]++;
        writeEval(log, done, m);
        last.clear();
        last.putAll(m);
        if (stop != null && stop.satisfied(m)) {
          ruleMet[0] = true;
          return true;
        }
        return false;
      }));
      trainer.addListener(Listeners.every(spec.checkpointEvery(), spec.steps(), done -> {
        persist(stage, spec, cfg, params, tok, provenance, adam, eval, done, evals[0],
            before.wallSeconds() + (System.nanoTime() - t0) / 1e9, done == spec.steps());
        return false;
      }));
      trainer.addListener(Listeners.progress(spec.task(), start, spec.steps(), spec.progress()));
      long lastStep = trainer.run(start);
      long done = lastStep + 1;
      if (ruleMet[0] || done == startStep) {
        // Stopped between checkpoints (or nothing to run): write the final state now.
        persist(stage, spec, cfg, params, tok, provenance, adam, eval, done, evals[0],
            before.wallSeconds() + (System.nanoTime() - t0) / 1e9, true);
      }
      if (last.isEmpty()) {
        last.putAll(eval.evaluate(params));
        evals[0]++;
      }
      double wall = before.wallSeconds() + (System.nanoTime() - t0) / 1e9;
      Compute c = compute(spec, cfg, done, evals[0], eval.forwardTokens()).withWallSeconds(wall);
      for (String n : names) {
        params.get(n).setRequiresGradient(false);
      }
      return new Result(params, last, done, ruleMet[0], c);
    } catch (RuntimeException e) {
      params.close();
      throw e;
    }
  }

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

  /**
   * Writes the resumable state after {@code done} steps: checkpoint (weights, AdamW, step, provenance with the
   * compute so far) and {@code timing.json} ({@code finished}: no more steps are to run). Returns that compute.
   */
  private static Compute persist(StageDir stage, Spec spec, ModelConfig cfg, Params params, Tokenizer tok,
      Function<Compute, ObjectNode> provenance, AdamW adam, Evaluation eval, long done, long evals, double wall,
      boolean finished) {
    Compute c = compute(spec, cfg, done, evals, eval.forwardTokens()).withWallSeconds(wall);
    Checkpoint.save(stage.checkpoint(), cfg, params, tok, provenance.apply(c), adam, done);
    Json.writeAtomic(stage.file("timing.json"), new Timing(wall, evals, finished));
    return c;
  }

  /** The metrics of the last evaluation record in the stage's metrics log. */
  static Map<String, Double> lastEval(StageDir stage) {
    Map<String, Double> m = new LinkedHashMap<>();
    for (var rec : MetricsLog.readAll(stage.metrics())) {
      if (rec.path("split").asText().equals("eval")) {
        m.clear();
        rec.fields().forEachRemaining(e -> {
          if (e.getValue().isNumber() && !e.getKey().equals("step")) {
            m.put(e.getKey(), e.getValue().asDouble());
          }
        });
      }
    }
    return m;
  }

  static Compute compute(Spec spec, ModelConfig cfg, long steps, long evals, long evalTokens) {
    // A SAM step runs forward and backward twice.
    long trainTokens = steps * spec.tokensPerMicro() * spec.gradAccum() * (spec.samRho() > 0 ? 2 : 1);
    Compute train = Compute.training(cfg, spec.seqLen(), trainTokens, steps);
    Compute fwd = Compute.forward(cfg, spec.seqLen(), steps * spec.forwardTokensPerStep() + evals * evalTokens);
    return train.plus(fwd);
  }

  static void writeEval(MetricsLog log, long step, Map<String, Double> m) {
    Map<String, Object> rec = new LinkedHashMap<>();
    rec.put("step", step);
    rec.put("split", "eval");
    rec.putAll(m);
    log.write(rec);
  }
}
