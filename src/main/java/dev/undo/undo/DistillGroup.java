package dev.undo.undo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import com.fasterxml.jackson.databind.JsonNode;
import dev.undo.data.Batch;
import dev.undo.data.BatchSampler;
import dev.undo.eval.EnsembleEvaluator;
import dev.undo.eval.Evaluator;
import dev.undo.model.Decoder;
import dev.undo.model.EnsembleDecoder;
import dev.undo.model.EnsembleParams;
import dev.undo.model.Params;
import dev.undo.run.Compute;
import dev.undo.run.Json;
import dev.undo.run.MetricsLog;
import dev.undo.run.MetricsRecords;
import dev.undo.run.Provenance;
import dev.undo.run.Seeds;
import dev.undo.run.SourceModel;
import dev.undo.run.TaskSpec;
import dev.undo.stage.StageContext;
import dev.undo.stage.StageRunner;
import dev.undo.stage.StageSpec;
import dev.undo.task.Evaluation;
import dev.undo.task.StopRule;
import dev.undo.task.Task;
import dev.undo.task.Tasks;
import dev.undo.train.AdamW;
import dev.undo.train.Batches;
import dev.undo.train.Checkpoint;
import dev.undo.train.EnsembleAdamW;
import dev.undo.train.EnsembleLosses;
import dev.undo.train.EnsembleTrainer;
import dev.undo.train.Listeners;
import dev.undo.train.LrSchedule;
import dev.undo.train.Trainer;
import dev.undo.train.Timings;
import dev.undo.train.TrainingRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Students of one teacher distilled together (UNDO's α sweep and Unlearn-and-Distill of one unlearned teacher): one
 * ensemble whose members are the students, trained on the same batches, so the teacher's forward pass is computed
 * <b>once per batch</b> and shared, and the students' forward and backward passes run as one batched computation.
 * Each member is exactly a {@link Distill} stage — same spec, same folder, same files, same stop rule (a member that
 * meets its rule stops; the others go on) — and its numbers equal those of running it alone up to float rounding of
 * batched products. The compute ledger charges each member its own training and evaluations and an equal share of
 * the teacher passes it took part in.
 *
 * <p>Members may resume from checkpoints at different steps (a kill between two members' checkpoint writes): a
 * member waits, inactive, until the group reaches its step, and all active members are always at the same step,
 * so they always share the batch.
 *
 * <p>A member that meets its rule leaves the group: every member is checkpointed at each rule check, so when one
 * stops the group ends that <em>segment</em> and the rest go on as a smaller ensemble resumed from those
 * checkpoints (a finished member no longer rides along in the batched passes). Segments are decided by the
 * members' stop steps, so a rerun makes the same cuts and the same numbers.
 */
public final class DistillGroup {
  private DistillGroup() {}

  /** A group for the plan: each member's folder and spec. Not a stage of its own: each member is a Distill stage. */
  public record Spec(List<Member> members) implements StageSpec {}

  public record Member(Path dir, Distill.Spec spec) {}

  /** Runs the group's members through the stage-folder protocol ({@link StageRunner#runGroup}). */
  public static List<Distill.Result> run(Spec group, StageRunner.Options o) {
    List<Distill.Spec> specs = group.members().stream().map(Member::spec).toList();
    List<Path> dirs = group.members().stream().map(Member::dir).toList();
    if (specs.size() == 1) {
      return List.of(StageRunner.run(Distill.STAGE, specs.get(0), dirs.get(0), o));
    }
    return StageRunner.runGroup(Distill.STAGE, specs, dirs, o, DistillGroup::train);
  }

  /** True when two specs can share a group: same teacher, data, loop, evaluation and rule; only the start differs. */
  public static boolean compatible(Distill.Spec a, Distill.Spec b) {
    return a.teacher().toAbsolutePath().normalize().equals(b.teacher().toAbsolutePath().normalize())
        && a.loop().equals(b.loop()) && a.eval().equals(b.eval()) && a.seed() == b.seed()
        && a.stopRule().equals(b.stopRule()) && a.tolerance() == b.tolerance()
        && a.matchKlBound() == b.matchKlBound();
  }

  /** Per member state the group keeps beside the ensemble. */
  private static final class State {
    final Distill.Spec spec;
    final StageContext ctx;
    long start;
    long last; // steps completed
    double wallBefore;
    long evals;
    double teacherTokens; // this member's share of the shared teacher passes
    boolean ruleMet;
    boolean finished;
    boolean fresh; // no checkpoint yet: starts at step 0 with an evaluation
    Map<String, Double> lastMetrics = new LinkedHashMap<>();
    MetricsLog log;
    Map<String, NDArray> optState;

    State(Distill.Spec spec, StageContext ctx) {
      this.spec = spec;
      this.ctx = ctx;
    }
  }

  static List<Distill.Result> train(List<Distill.Spec> specs, List<StageContext> contexts) {
    Distill.Spec first = specs.get(0);
    for (Distill.Spec s : specs) {
      if (!compatible(first, s)) {
        throw new IllegalArgumentException("students of one group must share teacher, loop, evaluation and rule: "
            + first.teacher() + " vs " + s.teacher());
      }
    }
    while (true) {
      List<Distill.Result> out = segment(specs, contexts);
      if (out != null) {
        return out;
      }
    }
  }

  /**
   * Trains the members not yet finished as one ensemble until all of them finish (returns every member's result)
   * or until one of them meets its rule while others go on (returns null: the caller starts the next segment from
   * the checkpoints this one wrote).
   */
  private static List<Distill.Result> segment(List<Distill.Spec> specs, List<StageContext> contexts) {
    Distill.Spec first = specs.get(0);
    int n = specs.size();
    long t0 = System.nanoTime();
    try (NDManager m = NDManager.newBaseManager(); Checkpoint.Loaded teacher = Checkpoint.load(first.teacher(), m);
        Decoder dec = new Decoder(teacher.config(), m)) {
      TaskSpec protocol = SourceModel.task(first.teacher(), teacher.provenance());
      String setting = protocol.setting();
      Task task = Tasks.of(setting, protocol.data());
      Distill.Loop d = first.loop();
      int seqLen = protocol.seqLen();
      Evaluator ev = new Evaluator(dec, teacher.tokenizer(), m, first.eval().batchSize());
      Evaluation evaluation = task.evaluation(first.eval(), teacher.tokenizer(), seqLen);
      Map<String, Double> teacherMetrics = null;
      for (StageContext c : contexts) {
        Path f = c.dir().file("teacher_eval.json");
        if (Files.exists(f)) {
          teacherMetrics = new LinkedHashMap<>();
          Map<String, Double> tm = teacherMetrics;
          Json.read(f, JsonNode.class).fields().forEachRemaining(e -> tm.put(e.getKey(), e.getValue().asDouble()));
          break;
        }
      }
      if (teacherMetrics == null) {
        teacherMetrics = evaluation.evaluate(ev, teacher.params());
      }
      for (StageContext c : contexts) {
        if (!Files.exists(c.dir().file("teacher_eval.json"))) {
          Json.writeAtomic(c.dir().file("teacher_eval.json"), teacherMetrics);
        }
      }
      long noiseSeed = Seeds.derive(first.seed(), setting + "/distill/noise");
      long initSeed = Seeds.derive(first.seed(), setting + "/distill/init");
      long dataSeed = Seeds.derive(first.seed(), setting + "/distill/data");
      BatchSampler sampler = new BatchSampler(teacher.tokenizer(), task.pretrainMixture(false), d.batchSize(), seqLen,
          dataSeed);
      BatchSampler heldOut = new BatchSampler(teacher.tokenizer(), task.pretrainMixture(false), d.batchSize(), seqLen,
          Seeds.derive(first.seed(), setting + "/distill/kl"));
      TrainingRun.StopRule rule = switch (first.stopRule()) {
        case "paper" -> task.distillStopRule(teacherMetrics, first.tolerance(), first.eval().summaryCells());
        case "match" -> Distill.matchRule(first.matchKlBound());
        default -> null;
      };
      Distill.Lineage lin = Distill.Lineage.of(first, noiseSeed, initSeed, dataSeed, task, sampler, teacher);
      Map<String, Long> seeds = lin.seeds();
      Map<String, String> ident = lin.identity();
      Map<String, JsonNode> parents = lin.parents();

      // Members: resumed from their checkpoints or started as their spec says.
      List<State> states = new ArrayList<>();
      List<Params> starts = new ArrayList<>();
      List<Integer> live = new ArrayList<>(); // ensemble member e is state live.get(e)
      for (int j = 0; j < n; j++) {
        State st = new State(specs.get(j), contexts.get(j));
        Path ckDir = st.ctx.dir().checkpoint();
        Timings timings = Files.exists(st.ctx.dir().file(TIMING))
            ? Json.read(st.ctx.dir().file(TIMING), Timings.class) : Timings.EMPTY;
        if (Checkpoint.exists(ckDir)) {
          Checkpoint.Loaded ck = Checkpoint.load(ckDir, m);
          String was = ck.provenance().path("fingerprint").asText("");
          if (ck.trainerState() == null
              || (!st.ctx.fingerprint().equals(was) && !st.ctx.acceptedFingerprints().contains(was))) {
            ck.close();
            throw new IllegalStateException(ckDir + " was written by another configuration; rerun with --force");
          }
          st.start = ck.trainerState().step();
          Timings.Entry t = timings.at(st.start);
          if (t != null) {
            st.wallBefore = t.wallSeconds();
            st.evals = t.evals();
            st.teacherTokens = t.teacherTokens();
            st.finished = t.finished();
          }
          st.lastMetrics = MetricsRecords.lastEval(st.ctx.dir().metrics());
          if (st.finished) {
            ck.close();
          } else {
            starts.add(ck.params());
            st.optState = ck.optimizerState();
          }
        } else {
          starts.add(Distill.student(st.spec, teacher, noiseSeed, initSeed, m));
          st.fresh = true;
        }
        if (!st.finished) {
          live.add(j);
        }
        st.last = st.start;
        states.add(st);
      }
      if (live.isEmpty()) {
        List<Distill.Result> out = new ArrayList<>();
        for (State st : states) {
          out.add(result(st, st.wallBefore, rule, first, d, seqLen, teacher, evaluation, heldOut, setting,
              teacherMetrics));
        }
        return out;
      }
      int k = live.size();
      try (EnsembleDecoder edec = new EnsembleDecoder(teacher.config(), k, m);
          EnsembleParams ens = EnsembleParams.stack(starts, m)) {
        List<String> names = ens.names();
        ens.requireGradients();
        EnsembleEvaluator eev = new EnsembleEvaluator(edec, teacher.tokenizer(), m, first.eval().batchSize());
        AdamW.Hyper hyper = new AdamW.Hyper(d.beta1(), d.beta2(), 1e-8, d.weightDecay());
        try (EnsembleAdamW opt = new EnsembleAdamW(hyper, ens, names, m)) {
          for (int j = 0; j < k; j++) {
            State st = states.get(live.get(j));
            if (st.optState != null) {
              opt.restoreMember(j, st.optState, st.start);
            }
            // Without a checkpoint the member starts over: drop every record a killed attempt left.
            st.log = new MetricsLog(st.ctx.dir().metrics()).open(Checkpoint.exists(st.ctx.dir().checkpoint())
                ? st.start : -1);
          }
          // The optimizer state was read into each checkpoint's own manager: close both only now.
          starts.forEach(Params::close);
          long[] startSteps = new long[k];
          long[] stepsOf = new long[k];
          double[] clip = new double[k];
          LrSchedule[] schedules = new LrSchedule[k];
          LrSchedule schedule = d.minLr() < d.lr() ? LrSchedule.warmupCosine(d.lr(), d.minLr(), d.warmupSteps(),
              d.maxSteps()) : LrSchedule.constant(d.lr());
          for (int j = 0; j < k; j++) {
            startSteps[j] = states.get(live.get(j)).start;
            stepsOf[j] = d.maxSteps();
            clip[j] = d.gradClip();
            schedules[j] = schedule;
          }
          // Step 0: the starting point of every curve, and members already there (a copy of the teacher).
          List<Integer> atZero = new ArrayList<>();
          for (int j = 0; j < k; j++) {
            if (states.get(live.get(j)).fresh) {
              atZero.add(j);
            }
          }
          boolean[] leaving = new boolean[1]; // a member met its rule while others go on: end this segment
          if (!atZero.isEmpty()) {
            List<Map<String, Double>> ms = evaluate(evaluation, eev, ens, dec, teacher.params(), edec, heldOut, m);
            for (int j : atZero) {
              State st = states.get(live.get(j));
              st.evals++;
              write(st.log, 0, ms.get(j));
              st.lastMetrics = ms.get(j);
              if (rule != null && rule.satisfied(ms.get(j))) {
                st.ruleMet = true;
                st.finished = true;
                stepsOf[j] = 0;
                persist(st, j, ens, opt, teacher, m, protocol, seeds, ident, parents, 0, true, t0, d, seqLen,
                    evaluation, heldOut);
              }
            }
            if (k > 1 && atZero.stream().anyMatch(j -> states.get(live.get(j)).finished)) {
              // Members that need no training leave before the first step; the others are checkpointed at step 0
              // and go on without them.
              for (int j = 0; j < k; j++) {
                State st = states.get(live.get(j));
                if (!st.finished) {
                  persist(st, j, ens, opt, teacher, m, protocol, seeds, ident, parents, st.start, false, t0, d,
                      seqLen, evaluation, heldOut);
                }
              }
              leaving[0] = live.stream().anyMatch(j -> !states.get(j).finished);
            }
          }
          EnsembleTrainer.Objective obj = (step, micro, active, terms) -> {
            Batch b = sampler.batch(step);
            NDArray tokens = Batches.tokens(m, b);
            // The teacher's weights need no gradient: its one forward serves every student.
            NDArray teacherLogits = dec.logits(teacher.params(), tokens);
            return EnsembleLosses.forwardKl(teacherLogits, edec.logits(ens, tokens),
                EnsembleLosses.Targets.shared(m, b.targets(), k, b.batchSize(), b.seqLen()));
          };
          EnsembleTrainer trainer = new EnsembleTrainer(ens, opt, obj, new EnsembleTrainer.Settings(stepsOf, 1, clip,
              schedules, (long) d.batchSize() * seqLen));
          trainer.addListener(new EnsembleTrainer.Listener() {
            @Override
            public void afterStep(EnsembleTrainer.StepResult r, boolean[] stop) {
              long done = r.step() + 1;
              int active = 0;
              for (boolean a : r.active()) {
                active += a ? 1 : 0;
              }
              for (int j = 0; j < k; j++) {
                if (!r.active()[j]) {
                  continue;
                }
                State st = states.get(live.get(j));
                st.last = done;
                st.teacherTokens += (double) d.batchSize() * seqLen / active;
                Map<String, Object> rec = new LinkedHashMap<>();
                rec.put("step", done);
                rec.put("split", "train");
                rec.put("lr", r.lr()[j]);
                rec.put("loss", r.loss()[j]);
                rec.put("grad_norm", r.gradNorm()[j]);
                st.log.write(rec);
              }
              if (done % d.evalEvery() != 0 && done != d.maxSteps()) {
                return;
              }
              List<Map<String, Double>> ms = evaluate(evaluation, eev, ens, dec, teacher.params(), edec, heldOut, m);
              boolean anyStops = false;
              boolean anyGoesOn = false;
              for (int j = 0; j < k; j++) {
                if (!r.active()[j]) {
                  continue;
                }
                State st = states.get(live.get(j));
                st.evals++;
                write(st.log, done, ms.get(j));
                st.lastMetrics = ms.get(j);
                if (rule != null && rule.satisfied(ms.get(j))) {
                  st.ruleMet = true;
                  stop[j] = true;
                }
                st.finished = stop[j] || done == d.maxSteps();
                anyStops |= stop[j];
                anyGoesOn |= !st.finished;
                persist(st, j, ens, opt, teacher, m, protocol, seeds, ident, parents, done, st.finished, t0, d,
                    seqLen, evaluation, heldOut);
              }
              boolean allActive = true;
              for (boolean a : r.active()) {
                allActive &= a;
              }
              if (anyStops && anyGoesOn && allActive) {
                // Every member was just checkpointed: the others go on in a smaller ensemble.
                leaving[0] = true;
                Arrays.fill(stop, true);
              }
            }
          });
          if (contexts.get(0).progress() && !leaving[0]) {
            long from = Arrays.stream(startSteps).min().orElse(0);
            trainer.addListener(progress(String.format(Locale.ROOT, "distill x%d", k), from, d.maxSteps()));
          }
          if (!leaving[0]) {
            trainer.run(startSteps);
          }
          for (int j : live) {
            states.get(j).log.close();
          }
          if (leaving[0]) {
            return null;
          }
          List<Distill.Result> out = new ArrayList<>();
          double segmentWall = (System.nanoTime() - t0) / 1e9 / k;
          for (int j = 0; j < n; j++) {
            State st = states.get(j);
            double wall = live.contains(j) ? st.wallBefore + segmentWall : st.wallBefore;
            out.add(result(st, wall, rule, first, d, seqLen, teacher, evaluation, heldOut, setting,
                teacherMetrics));
          }
          return out;
        }
      }
    }
  }

  /** A member's stage result from its state after training. */
  private static Distill.Result result(State st, double wall, TrainingRun.StopRule rule, Distill.Spec first,
      Distill.Loop d, int seqLen, Checkpoint.Loaded teacher, Evaluation evaluation, BatchSampler heldOut,
      String setting, Map<String, Double> teacherMetrics) {
    Compute c = compute(st, d, seqLen, teacher, evaluation, heldOut).withWallSeconds(wall);
    Map<String, Double> start = MetricsRecords.firstEval(st.ctx.dir().metrics());
    Double gap = rule == null ? null : rule instanceof StopRule sr ? sr.gap(st.lastMetrics)
        : st.lastMetrics.get(Distill.KL);
    Double bound = first.stopRule().equals("paper") ? (Double) first.tolerance()
        : first.stopRule().equals("match") ? (Double) first.matchKlBound() : null;
    boolean met = st.ruleMet || (rule != null && !st.lastMetrics.isEmpty() && rule.satisfied(st.lastMetrics));
    String init = st.spec.init().equals("checkpoint") ? "checkpoint:" + st.spec.initFrom() : st.spec.init();
    return new Distill.Result(setting, st.lastMetrics, c, st.last, d.maxSteps(),
        rule == null ? "fixed length" : rule.describe(), met, gap, bound, init, st.spec.alpha(), st.spec.beta(),
        teacherMetrics, start);
  }

  /** Every member's metrics, with its KL to the teacher on the held-out batches. */
  static List<Map<String, Double>> evaluate(Evaluation evaluation, EnsembleEvaluator eev, EnsembleParams ens,
      Decoder dec, Params teacher, EnsembleDecoder edec, BatchSampler heldOut, NDManager m) {
    try (NDScope scope = new NDScope()) {
      List<Map<String, Double>> ms = evaluation.evaluate(eev.scorer(ens));
      int k = ens.size();
      double[] kl = new double[k];
      for (int i = 0; i < Distill.KL_BATCHES; i++) {
        Batch b = heldOut.batch(i);
        NDArray tokens = Batches.tokens(m, b);
        float[] v = EnsembleLosses.forwardKl(dec.logits(teacher, tokens), edec.logits(ens, tokens),
            EnsembleLosses.Targets.shared(m, b.targets(), k, b.batchSize(), b.seqLen())).toFloatArray();
        for (int j = 0; j < k; j++) {
          kl[j] += v[j];
        }
      }
      List<Map<String, Double>> out = new ArrayList<>();
      for (int j = 0; j < k; j++) {
        Map<String, Double> mm = new LinkedHashMap<>(ms.get(j));
        mm.put(Distill.KL, kl[j] / Distill.KL_BATCHES);
        out.add(mm);
      }
      return out;
    }
  }

  private static void write(MetricsLog log, long step, Map<String, Double> metrics) {
    Map<String, Object> rec = new LinkedHashMap<>();
    rec.put("step", step);
    rec.put("split", "eval");
    rec.putAll(metrics);
    log.write(rec);
  }

  /** A member's compute: its training, its share of the teacher passes, its evaluations. */
  static Compute compute(State st, Distill.Loop d, int seqLen, Checkpoint.Loaded teacher, Evaluation evaluation,
      BatchSampler heldOut) {
    long evalTokens = evaluation.forwardTokens() + 2L * Distill.KL_BATCHES * heldOut.batchSize() * heldOut.seqLen();
    return Compute.training(teacher.config(), seqLen, st.last * d.batchSize() * (long) seqLen, st.last)
        .plus(Compute.forward(teacher.config(), seqLen, Math.round(st.teacherTokens)))
        .plus(Compute.evaluation(teacher.config(), seqLen, st.evals * evalTokens));
  }

  /** Member {@code j}'s checkpoint (weights, its optimizer state, step) and timing after {@code done} steps. */
  static void persist(State st, int j, EnsembleParams ens, EnsembleAdamW opt, Checkpoint.Loaded teacher,
      NDManager m, TaskSpec protocol, Map<String, Long> seeds, Map<String, String> ident,
      Map<String, JsonNode> parents, long done, boolean finished, long t0, Distill.Loop d, int seqLen,
      Evaluation evaluation, BatchSampler heldOut) {
    st.last = done;
    double wall = st.wallBefore + (System.nanoTime() - t0) / 1e9 / ens.size();
    Compute c = compute(st, d, seqLen, teacher, evaluation, heldOut).withWallSeconds(wall);
    Path timingFile = st.ctx.dir().file(TIMING);
    Timings timings = Files.exists(timingFile) ? Json.read(timingFile, Timings.class) : Timings.EMPTY;
    Json.writeAtomic(timingFile, timings.with(new Timings.Entry(done, wall, st.evals, st.teacherTokens, finished)));
    try (NDManager tmp = m.newSubManager(); Params p = ens.member(j, tmp)) {
      Checkpoint.saveWithState(st.ctx.dir().checkpoint(), teacher.config(), p, teacher.tokenizer(),
          st.ctx.provenance(protocol, seeds, ident, parents, c), opt.memberState(j, tmp), done);
    }
  }

  static final String TIMING = "timing.json";


  /** A progress bar over the group's steps. */
  static EnsembleTrainer.Listener progress(String task, long from, long steps) {
    Trainer.Listener single = Listeners.progress(task, from, steps, true);
    return new EnsembleTrainer.Listener() {
      @Override
      public void afterStep(EnsembleTrainer.StepResult r, boolean[] stop) {
        int j = 0;
        while (j < r.active().length - 1 && !r.active()[j]) {
          j++;
        }
        single.afterStep(new Trainer.StepResult(r.step(), r.lr()[j], r.loss()[j], r.gradNorm()[j], Map.of(), 0));
      }

      @Override
      public void onEnd(long[] lastStep, boolean[] stoppedEarly) {
        single.onEnd(lastStep[0], false);
      }
    };
  }
}
