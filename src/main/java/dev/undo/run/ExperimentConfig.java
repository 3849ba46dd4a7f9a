package dev.undo.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The resolved configuration of an experiment: one record tree bound from the preset YAML
 * ({@code presets/defaults.yaml} lists and documents every key). Each setting (arithmetic, language) has its own
 * data, pretraining, evaluation, unlearning, distillation and attack sections because the paper tunes them per
 * setting.
 */
public record ExperimentConfig(String name, long seed, int threads, ModelSpec model, Setting arithmetic,
    Setting language, ReproduceSpec reproduce) {

  public Setting setting(String name) {
    switch (name) {
      case "arithmetic":
        return arithmetic;
      case "language":
        return language;
      default:
        throw new IllegalArgumentException("unknown setting '" + name + "' (use arithmetic or language)");
    }
  }

  public static ExperimentConfig from(ObjectNode tree) {
    ExperimentConfig c = ConfigLoader.bind(tree, ExperimentConfig.class, "");
    c.arithmetic.validate("arithmetic");
    c.language.validate("language");
    return c;
  }

  /**
   * What {@code undo reproduce} runs: settings, unlearning methods (variants such as {@code maxent+repnoise} or
   * {@code rmu+sam} add RepNoise / SAM), the method whose teacher UNDO's α sweep distills, run seeds, whether each
   * method's LR is swept, and the length of oracle matching.
   */
  public record ReproduceSpec(List<String> settings, List<String> methods, List<String> variants, String undoMethod,
      List<Long> seeds, boolean sweep, long oracleMatchingSteps, int workers) {}

  /** Model shape: a named size, optionally overridden per dimension (0 keeps the named size's value). */
  public record ModelSpec(String size, int maxSeqLen, int hiddenSize, int numLayers, int numHeads,
      int intermediateSize) {}

  public record Setting(DataSpec data, TrainSpec pretrain, EvalSpec eval, UnlearnSpec unlearn, DistillSpec distill,
      AttackSpec attack) {
    void validate(String s) {
      data.validate(s + ".data");
      pretrain.validate(s + ".pretrain");
      eval.validate(s + ".eval");
    }
  }

  /**
   * Data of a setting. Shares are the pretraining mixture's probabilities (they must sum to 1 over the sources the
   * setting uses); corpora are embedded names ({@code english}, {@code korean}) or paths to text/JSONL files.
   */
  public record DataSpec(double english, double korean, double arithmetic, int addSubMin, int addSubMax,
      int mulDivMin, int mulDivMax, double wordProblemFraction, int tokenizerMinCount, String englishCorpus,
      String koreanCorpus) {
    void validate(String w) {
      for (double v : new double[] {english, korean, arithmetic}) {
        if (v < 0) {
          throw new IllegalArgumentException(w + ": mixture shares must be >= 0");
        }
      }
      if (Math.abs(english + korean + arithmetic - 1) > 1e-6) {
        throw new IllegalArgumentException(w + ": english + korean + arithmetic must sum to 1, got "
            + (english + korean + arithmetic));
      }
      if (!(wordProblemFraction >= 0 && wordProblemFraction <= 1)) {
        throw new IllegalArgumentException(w + ".word_problem_fraction must be in [0, 1]");
      }
      if (tokenizerMinCount < 1) {
        throw new IllegalArgumentException(w + ".tokenizer_min_count must be >= 1");
      }
    }
  }

  /** One training run's loop settings (also reused by later stages through their own sections). */
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
   * {@code ce_sequences} held-out sequences of the training length for each CE metric.
   */
  public record EvalSpec(int nPerCell, long seed, int ceSequences, int batchSize) {
    void validate(String w) {
      if (nPerCell < 1 || ceSequences < 1 || batchSize < 1) {
        throw new IllegalArgumentException(w + ": n_per_cell, ce_sequences and batch_size must be >= 1");
      }
    }
  }

  /** Unlearning (PAPER.md §Pipeline 2); the method-specific blocks are read by the unlearn stage. */
  public record UnlearnSpec(String method, long steps, int batchSize, double lr, List<Double> sweepLrs,
      long evalEvery, double retainTolerance, JsonNode graddiff, JsonNode maxent, JsonNode rmu, JsonNode repnoise,
      JsonNode sam) {
    /** The LRs to sweep for a method: {@code unlearn.<method>.sweep_lrs} when set, else {@code unlearn.sweep_lrs}. */
    public List<Double> sweepLrs(String method) {
      JsonNode own = switch (method) {
        case "graddiff" -> graddiff;
        case "maxent" -> maxent;
        case "rmu" -> rmu;
        default -> throw new IllegalArgumentException("unlearn.method must be graddiff, maxent or rmu, not '"
            + method + "'");
      };
      List<Double> lrs = new java.util.ArrayList<>();
      if (own != null) {
        for (JsonNode n : own.path("sweep_lrs")) {
          if (!n.isNumber() || n.asDouble() <= 0) {
            throw new IllegalArgumentException("unlearn." + method + ".sweep_lrs: '" + n.asText()
                + "' is not a positive number");
          }
          lrs.add(n.asDouble());
        }
      }
      return lrs.isEmpty() ? sweepLrs : lrs;
    }
  }

  /** Noise and distillation (PAPER.md §Pipeline 3–4). */
  public record DistillSpec(double alpha, double beta, long maxSteps, int batchSize, double lr, double minLr,
      long warmupSteps, long evalEvery, String stopRule, double tolerance, List<Double> alphaSweep) {}

  /** Relearning attacks (PAPER.md §Pipeline 5). */
  public record AttackSpec(String data, List<Double> lrs, long steps, long evalEvery, int batchSize,
      String optimizer, List<Long> seeds, List<Long> reportSteps,
      int evalProblemsPerCell, int ceSequences, int loraRank,
      double loraAlpha) {}
}
