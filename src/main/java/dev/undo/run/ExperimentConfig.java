package dev.undo.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The resolved configuration of an experiment: one record tree bound from the preset YAML
 * ({@code presets/defaults.yaml} lists and documents every key). Each setting (arithmetic, language, text) has its
 * own data, pretraining, evaluation, unlearning, distillation and attack sections because the paper tunes them per
 * setting. A setting's {@code data} section differs per setting and is bound by its task ({@code task/Tasks}).
 */
public record ExperimentConfig(String name, long seed, int threads, ModelSpec model, Setting arithmetic,
    Setting language, Setting text, ReproduceSpec reproduce) {

  public Setting setting(String name) {
    return switch (name) {
      case "arithmetic" -> arithmetic;
      case "language" -> language;
      case "text" -> text;
      default -> throw new IllegalArgumentException("unknown setting '" + name
          + "' (use arithmetic, language or text)");
    };
  }

  public static ExperimentConfig from(ObjectNode tree) {
    ExperimentConfig c = ConfigLoader.bind(tree, ExperimentConfig.class, "");
    c.arithmetic.validate("arithmetic");
    c.language.validate("language");
    c.text.validate("text");
    c.reproduce.validate();
    c.arithmeticData();
    c.languageData();
    c.textData();
    return c;
  }

  /** {@code arithmetic.data}, typed (the task checks the values together). */
  public ArithmeticData arithmeticData() {
    return ConfigLoader.bind(arithmetic.data(), ArithmeticData.class, "arithmetic.data");
  }

  /** {@code language.data}, typed. */
  public LanguageData languageData() {
    return ConfigLoader.bind(language.data(), LanguageData.class, "language.data");
  }

  /** {@code text.data}, typed. */
  public TextData textData() {
    return ConfigLoader.bind(text.data(), TextData.class, "text.data");
  }

  /**
   * {@code arithmetic.data}: mixture shares (English + arithmetic = 1; the paper: 0.75 / 0.25), operand ranges
   * (paper: 1–50 for + and −, 1–20 for × and ÷), the share of arithmetic documents that are word problems, the
   * tokenizer's minimum character count and the English corpus (embedded name or path).
   */
  public record ArithmeticData(double english, double arithmetic, int addSubMin, int addSubMax, int mulDivMin,
      int mulDivMax, double wordProblemFraction, int tokenizerMinCount, String englishCorpus) {}

  /** {@code language.data}: shares (English + Korean = 1; the paper: 0.5 / 0.5), tokenizer, corpora. */
  public record LanguageData(double english, double korean, int tokenizerMinCount, String englishCorpus,
      String koreanCorpus) {}

  /**
   * {@code text.data}: shares of the retain and forget corpora in pretraining (sum 1), tokenizer, the two corpora
   * (UTF-8 text, one document per line, or JSONL with a {@code text} field), and which documents are held out when a
   * corpus has no {@code .val} file beside it.
   */
  public record TextData(double retain, double forget, int tokenizerMinCount, String retainCorpus,
      String forgetCorpus, int heldOutEvery) {}

  /**
   * What {@code undo reproduce} runs: settings, unlearning methods (variants such as {@code maxent+repnoise} or
   * {@code rmu+sam} add RepNoise / SAM), the methods whose teachers UNDO's α sweep distills, run seeds, whether each
   * method's LR is swept, the length of oracle matching, how many stages run side by side, and whether the preset
   * is meant as evidence (false for smoke tests such as quick and micro: their reports say so), and whether the
   * students of one teacher train together ({@code group_students}: one ensemble sharing the teacher's passes).
   */
  public record ReproduceSpec(List<String> settings, List<String> methods, List<String> variants,
      boolean distillVariants, List<String> undoMethods, List<Long> seeds, boolean sweep, long oracleMatchingSteps, int workers,
      boolean evidence, boolean groupStudents, double secondsPerUnit, KindRates secondsPerUnitByKind) {
    void validate() {
      if (!(secondsPerUnit > 0)) {
        throw new IllegalArgumentException("config key 'reproduce.seconds_per_unit': must be > 0, got "
            + secondsPerUnit);
      }
      secondsPerUnitByKind.validate("reproduce.seconds_per_unit_by_kind");
    }

    /** One-slot seconds per plan cost unit for a stage of {@code kind} (a stage kind: pretrain, distill, ...). */
    public double secondsPerUnit(String kind) {
      return secondsPerUnitByKind.rate(kind, secondsPerUnit);
    }
  }

  /**
   * {@code reproduce.seconds_per_unit_by_kind}: one-slot seconds per plan cost unit for each kind of stage, measured
   * on a finished run of the preset (its {@code progress.json}); 0 takes {@code seconds_per_unit}. Kinds differ: a
   * student is priced at its step cap but stops at its rule, an attack's unit holds its evaluations.
   */
  public record KindRates(double pretrain, double unlearn, double distill, double relearn) {
    void validate(String w) {
      double[] v = {pretrain, unlearn, distill, relearn};
      String[] k = {"pretrain", "unlearn", "distill", "relearn"};
      for (int i = 0; i < v.length; i++) {
        if (!(v[i] >= 0)) {
          throw new IllegalArgumentException("config key '" + w + "." + k[i] + "': must be >= 0, got " + v[i]);
        }
      }
    }

    /**
     * The rate of a stage kind ({@code distill_group} counts as distill; {@code select_teacher}, the end of a sweep,
     * as unlearn), or {@code fallback} when it is 0 or the kind has no key (probe).
     */
    public double rate(String kind, double fallback) {
      double r = switch (key(kind)) {
        case "pretrain" -> pretrain;
        case "unlearn" -> unlearn;
        case "distill" -> distill;
        case "relearn" -> relearn;
        default -> 0;
      };
      return r > 0 ? r : fallback;
    }

    /** The key a stage kind is priced under: a student group is distill, a sweep's teacher selection unlearn. */
    public static String key(String kind) {
      return switch (kind) {
        case "distill_group" -> "distill";
        case "select_teacher" -> "unlearn";
        default -> kind;
      };
    }

    public boolean any() {
      return pretrain > 0 || unlearn > 0 || distill > 0 || relearn > 0;
    }
  }

  /** Model shape: a named size, optionally overridden per dimension (0 keeps the named size's value). */
  public record ModelSpec(String size, int maxSeqLen, int hiddenSize, int numLayers, int numHeads,
      int intermediateSize) {}

  /** One setting's sections; {@code data} is bound by the setting's task. */
  public record Setting(JsonNode data, TrainSpec pretrain, EvalSpec eval, UnlearnSpec unlearn, DistillSpec distill,
      AttackSpec attack) {
    void validate(String s) {
      pretrain.validate(s + ".pretrain");
      eval.validate(s + ".eval");
      unlearn.validate(s + ".unlearn");
      distill.validate(s + ".distill");
      attack.validate(s + ".attack");
    }
  }

  /** One training run's loop settings (pretraining). */
  public record TrainSpec(long steps, int batchSize, int seqLen, double lr, double minLr, long warmupSteps,
      double weightDecay, double beta1, double beta2, double gradClip, int gradAccum, long evalEvery,
      long checkpointEvery) {
    void validate(String w) {
      if (steps < 1) {
        throw new IllegalArgumentException(w + ".steps must be >= 1");
      }
      if (batchSize < 1 || seqLen < 2 || gradAccum < 1) {
        throw new IllegalArgumentException(w + ": batch_size, grad_accum must be >= 1 and seq_len >= 2");
      }
      if (!(lr > 0) || minLr < 0 || minLr > lr) {
        throw new IllegalArgumentException(w + ": need 0 <= min_lr <= lr and lr > 0");
      }
      if (warmupSteps < 0 || evalEvery < 1 || checkpointEvery < 1) {
        throw new IllegalArgumentException(w + ": warmup_steps >= 0, eval_every >= 1, checkpoint_every >= 1");
      }
    }
  }

  /**
   * Evaluation: {@code n_per_cell} problems per operation × kind (100 in the paper) drawn with {@code seed};
   * {@code ce_sequences} held-out sequences of the training length for each CE metric; the arithmetic summaries
   * (retain and forget accuracy, the distillation stop rule) average {@code summary_cells}, or when it is empty the
   * cells where the base model reaches {@code cell_floor} ({@code reproduce} resolves them once the base model is
   * trained; a single stage run alone uses every cell); CE intervals resample held-out windows
   * {@code bootstrap_samples} times.
   */
  public record EvalSpec(int nPerCell, long seed, int ceSequences, int batchSize, double cellFloor,
      List<String> summaryCells, int bootstrapSamples) {
    void validate(String w) {
      if (nPerCell < 1 || ceSequences < 1 || batchSize < 1 || bootstrapSamples < 10) {
        throw new IllegalArgumentException(w + ": n_per_cell, ce_sequences and batch_size must be >= 1, "
            + "bootstrap_samples >= 10");
      }
      if (!(cellFloor >= 0 && cellFloor < 1)) {
        throw new IllegalArgumentException(w + ".cell_floor must be in [0, 1)");
      }
    }

    /** The same evaluation with other sizes (an attack's smaller, more frequent evaluation). */
    public EvalSpec withSizes(int problemsPerCell, int sequences) {
      return new EvalSpec(problemsPerCell, seed, sequences, batchSize, cellFloor, summaryCells, bootstrapSamples);
    }

    /** The same evaluation with its summary cells fixed. */
    public EvalSpec withSummaryCells(List<String> cells) {
      return new EvalSpec(nPerCell, seed, ceSequences, batchSize, cellFloor, List.copyOf(cells), bootstrapSamples);
    }
  }

  /**
   * Unlearning (docs/PROTOCOL.md §Pipeline 2): constant LR, AdamW with the given betas and weight decay (the paper: 0),
   * gradient clipping, and per method its loss settings and LR sweep. Teacher selection keeps the strongest
   * forgetting among LRs whose retain stays within {@code retain_tolerance} of the base; when none does, the best
   * retain score wins, where {@code selection_secondary_weight} weighs English CE against retain accuracy
   * (arithmetic).
   */
  public record UnlearnSpec(long steps, int batchSize, double lr, List<Double> sweepLrs, long evalEvery,
      double retainTolerance, double selectionSecondaryWeight, double gradClip, double beta1, double beta2,
      double weightDecay, GradDiffSpec graddiff, MaxEntSpec maxent, RmuSpec rmu, RepNoiseSpec repnoise,
      SamSpec sam) {
    /** The LRs to sweep for a method: {@code unlearn.<method>.sweep_lrs} when set, else {@code unlearn.sweep_lrs}. */
    public List<Double> sweepLrs(String method) {
      List<Double> own = switch (method) {
        case "graddiff" -> graddiff.sweepLrs();
        case "maxent" -> maxent.sweepLrs();
        case "rmu" -> rmu.sweepLrs();
        default -> throw new IllegalArgumentException("unlearning method must be graddiff, maxent or rmu, not '"
            + method + "'");
      };
      return own.isEmpty() ? sweepLrs : own;
    }

    void validate(String w) {
      if (steps < 1 || batchSize < 1 || evalEvery < 1) {
        throw new IllegalArgumentException(w + ": steps, batch_size and eval_every must be >= 1");
      }
      for (String m : List.of("graddiff", "maxent", "rmu")) {
        for (double lr : sweepLrs(m)) {
          if (!(lr > 0)) {
            throw new IllegalArgumentException(w + "." + m + ".sweep_lrs: " + lr + " is not > 0");
          }
        }
      }
      if (!(retainTolerance >= 0) || gradClip < 0 || selectionSecondaryWeight < 0) {
        throw new IllegalArgumentException(w + ": retain_tolerance, grad_clip, selection_secondary_weight >= 0");
      }
      if (repnoise.samples() < 2 || repnoise.bandwidth() < 0) {
        throw new IllegalArgumentException(w + ".repnoise: samples >= 2, bandwidth >= 0");
      }
      if (sam.rho() < 0) {
        throw new IllegalArgumentException(w + ".sam.rho must be >= 0");
      }
    }
  }

  /** GradDiff: {@code −CE(forget) + retain_weight·CE(retain)} (paper: 1 language, 15 arithmetic). */
  public record GradDiffSpec(double retainWeight, List<Double> sweepLrs) {}

  /** MaxEnt: {@code KL(Uniform ‖ p)(forget) + retain_weight·CE(retain)}. */
  public record MaxEntSpec(double retainWeight, List<Double> sweepLrs) {}

  /** RMU: the MLP down-projections of {@code layers} train to steer the state after {@code target_layer}. */
  public record RmuSpec(List<Integer> layers, int targetLayer, double steeringCoef, double retainWeight,
      List<Double> sweepLrs) {}

  /**
   * RepNoise: {@code weight·MMD²} between {@code samples} forget-token activations and as many N(0, σ²) draws,
   * Gaussian kernel with {@code 2s² = bandwidth} (0 = the hidden size, which keeps kernel values in a useful range
   * for unit-scale activations).
   */
  public record RepNoiseSpec(boolean enabled, double weight, double noiseStd, int samples, double bandwidth) {}

  /** Sharpness-aware minimisation: gradient taken at {@code θ + ρ·g/‖g‖}. */
  public record SamSpec(boolean enabled, double rho) {}

  /**
   * Noise and distillation (docs/PROTOCOL.md §Pipeline 3–4). The student's AdamW uses the given betas, weight
   * decay and gradient clipping (the pretraining recipe's, as the paper distills with its pretraining optimizer).
   * Stop rules: {@code paper} (the student recovered the teacher's retain performance within {@code tolerance}),
   * {@code match} (its KL to the teacher on held-out batches is at most {@code match_kl_bound}: oracle matching),
   * {@code fixed} (run {@code max_steps}).
   */
  public record DistillSpec(double alpha, double beta, long maxSteps, int batchSize, double lr, double minLr,
      long warmupSteps, long evalEvery, String stopRule, double tolerance, double matchKlBound,
      List<Double> alphaSweep, double gradClip, double beta1, double beta2, double weightDecay) {
    void validate(String w) {
      if (!stopRule.equals("paper") && !stopRule.equals("fixed") && !stopRule.equals("match")) {
        throw new IllegalArgumentException(w + ".stop_rule must be paper, match or fixed, got '" + stopRule + "'");
      }
      if (!(matchKlBound > 0)) {
        throw new IllegalArgumentException(w + ".match_kl_bound must be > 0");
      }
      if (maxSteps < 1 || batchSize < 1 || evalEvery < 1 || !(lr > 0) || minLr < 0 || minLr > lr) {
        throw new IllegalArgumentException(w + ": max_steps, batch_size, eval_every >= 1, 0 <= min_lr <= lr > 0");
      }
      if (!(alpha >= 0 && alpha <= 1) || beta < 0) {
        throw new IllegalArgumentException(w + ": alpha in [0, 1], beta >= 0");
      }
      for (double a : alphaSweep) {
        if (!(a >= 0 && a <= 1)) {
          throw new IllegalArgumentException(w + ".alpha_sweep: " + a + " is not in [0, 1]");
        }
      }
    }
  }

  /**
   * Relearning attacks (docs/PROTOCOL.md §Pipeline 5): the data the attacker may use ({@code forget},
   * {@code mixture}: the adversary's choice, like the learning rate), LR grid, length, evaluation cadence and size,
   * the attacker's optimizer (AdamW betas, or SGD) and gradient clipping (0 = none), attack seeds, LoRA, and whether
   * the runs train together as one ensemble ({@code batched}; the same curves as one at a time, faster).
   */
  public record AttackSpec(List<String> data, List<Double> lrs, long steps, long evalEvery, int batchSize,
      String optimizer, double beta1, double beta2, double gradClip, List<Long> seeds, List<Long> reportSteps,
      int evalProblemsPerCell, int ceSequences, int loraRank, double loraAlpha, boolean batched) {
    void validate(String w) {
      if (data.isEmpty() || !List.of("forget", "mixture").containsAll(data)) {
        throw new IllegalArgumentException(w + ".data must list forget and/or mixture, got " + data);
      }
      if (!optimizer.equals("adamw") && !optimizer.equals("sgd")) {
        throw new IllegalArgumentException(w + ".optimizer must be adamw or sgd, got '" + optimizer + "'");
      }
      if (lrs.isEmpty() || seeds.isEmpty()) {
        throw new IllegalArgumentException(w + ": lrs and seeds must not be empty");
      }
      for (double lr : lrs) {
        if (!(lr > 0)) {
          throw new IllegalArgumentException(w + ".lrs: " + lr + " is not > 0");
        }
      }
      if (steps < 1 || evalEvery < 1 || batchSize < 1 || evalProblemsPerCell < 1 || ceSequences < 1 || loraRank < 0
          || gradClip < 0) {
        throw new IllegalArgumentException(w + ": steps, eval_every, batch_size, eval_problems_per_cell, "
            + "ce_sequences must be >= 1; lora_rank, grad_clip >= 0");
      }
    }
  }
}
