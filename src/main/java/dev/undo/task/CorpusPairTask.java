package dev.undo.task;

import dev.undo.data.CorpusSource;
import dev.undo.data.Mixture;
import dev.undo.data.Mixtures;
import dev.undo.data.Tokenizer;
import dev.undo.eval.Evaluator;
import dev.undo.eval.Intervals;
import dev.undo.eval.Scorer;
import dev.undo.model.Params;
import dev.undo.run.ExperimentConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A setting made of two text corpora: one retained, one forgotten, both measured by cross-entropy on their held-out
 * splits (higher forget CE = more forgotten). The language setting is one (English retain, Korean forget:
 * {@link #language}); the {@code text} setting is another, on a user's own corpora ({@link #text}).
 *
 * <p>Pretraining mixes the two by the configured shares; data filtering trains on the retain corpus alone; the
 * forget and retain sides of unlearning are the corpora themselves; attacks train on the forget corpus's training
 * split (or the full mixture) and are scored on its held-out split.
 */
public final class CorpusPairTask implements Task {
  public static final String LANGUAGE = "language";
  public static final String TEXT = "text";

  private final String name;
  private final String retainName;
  private final String forgetName;
  private final Metric retain;
  private final Metric forget;
  private final double forgetShare;
  private final int tokenizerMinCount;
  private final String tokenizerExtra;
  private final Corpora.Split retainCorpus;
  private final Corpora.Split forgetCorpus;

  private CorpusPairTask(String name, String retainName, String forgetName, Metric retain, Metric forget,
      double retainShare, double forgetShare, int tokenizerMinCount, String tokenizerExtra,
      Corpora.Split retainCorpus, Corpora.Split forgetCorpus) {
    if (retainShare < 0 || forgetShare < 0 || Math.abs(retainShare + forgetShare - 1) > 1e-6) {
      throw new IllegalArgumentException(name + ".data: " + retainName + " and " + forgetName
          + " shares must be >= 0 and sum to 1, got " + retainShare + " + " + forgetShare);
    }
    if (tokenizerMinCount < 1) {
      throw new IllegalArgumentException(name + ".data.tokenizer_min_count must be >= 1");
    }
    this.name = name;
    this.retainName = retainName;
    this.forgetName = forgetName;
    this.retain = retain;
    this.forget = forget;
    this.forgetShare = forgetShare;
    this.tokenizerMinCount = tokenizerMinCount;
    this.tokenizerExtra = tokenizerExtra;
    this.retainCorpus = retainCorpus;
    this.forgetCorpus = forgetCorpus;
  }

  /** English retain, Korean forget; metrics {@code eng_ce} and {@code kor_ce}. */
  public static CorpusPairTask language(ExperimentConfig.LanguageData d) {
    return new CorpusPairTask(LANGUAGE, "english", "korean", new Metric("eng_ce", false, Metric.NATS),
        new Metric("kor_ce", true, Metric.NATS), d.english(), d.korean(), d.tokenizerMinCount(),
        "\n0123456789 +-*/=", Corpora.load(d.englishCorpus(), 0, "language.data.english_corpus"),
        Corpora.load(d.koreanCorpus(), 0, "language.data.korean_corpus"));
  }

  /** A user's retain and forget corpora; metrics {@code retain_ce} and {@code forget_ce}. */
  public static CorpusPairTask text(ExperimentConfig.TextData d) {
    if (d.heldOutEvery() < 2) {
      throw new IllegalArgumentException("text.data.held_out_every must be >= 2");
    }
    return new CorpusPairTask(TEXT, "retain", "forget", new Metric("retain_ce", false, Metric.NATS),
        new Metric("forget_ce", true, Metric.NATS), d.retain(), d.forget(), d.tokenizerMinCount(), "\n",
        Corpora.load(d.retainCorpus(), d.heldOutEvery(), "text.data.retain_corpus (--retain-text)"),
        Corpora.load(d.forgetCorpus(), d.heldOutEvery(), "text.data.forget_corpus (--forget-text)"));
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Metric retainMetric() {
    return retain;
  }

  @Override
  public Metric forgetMetric() {
    return forget;
  }

  @Override
  public Mixture pretrainMixture(boolean filterForget) {
    CorpusSource r = new CorpusSource(retainCorpus.train());
    return filterForget ? Mixtures.languageFiltered(r)
        : Mixtures.language(r, new CorpusSource(forgetCorpus.train()), forgetShare);
  }

  @Override
  public Mixture forgetMixture() {
    return Mixtures.languageForget(new CorpusSource(forgetCorpus.train()));
  }

  @Override
  public Mixture retainMixture() {
    return Mixtures.languageRetain(new CorpusSource(retainCorpus.train()));
  }

  /** Attacks train on training splits; evaluation reads the held-out splits, so nothing needs excluding. */
  @Override
  public Mixture attackMixture(String which, ExperimentConfig.EvalSpec eval) {
    return switch (which) {
      case "forget" -> forgetMixture();
      case "mixture" -> pretrainMixture(false);
      default -> throw new IllegalArgumentException("attack.data must be forget or mixture, got '" + which + "'");
    };
  }

  @Override
  public Tokenizer buildTokenizer() {
    List<String> texts = new ArrayList<>(retainCorpus.train().documents());
    texts.addAll(forgetCorpus.train().documents());
    texts.add(tokenizerExtra);
    return Tokenizer.build(texts, tokenizerMinCount);
  }

  @Override
  public Map<String, String> identity() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("setting", name);
    m.put(retainName + "_train_sha256", retainCorpus.train().sha256());
    m.put(retainName + "_val_sha256", retainCorpus.val().sha256());
    m.put(forgetName + "_train_sha256", forgetCorpus.train().sha256());
    m.put(forgetName + "_val_sha256", forgetCorpus.val().sha256());
    return m;
  }

  @Override
  public Evaluation evaluation(ExperimentConfig.EvalSpec spec, Tokenizer tok, int seqLen) {
    List<int[]> r = Evaluator.windows(tok, retainCorpus.val().documents(), seqLen, spec.ceSequences());
    List<int[]> f = Evaluator.windows(tok, forgetCorpus.val().documents(), seqLen, spec.ceSequences());
    return new Evaluation() {
      @Override
      public List<Map<String, Double>> evaluate(Scorer sc) {
        Evaluator.Ce[] rc = sc.crossEntropy(r);
        Evaluator.Ce[] fc = sc.crossEntropy(f);
        List<Map<String, Double>> out = new ArrayList<>();
        for (int j = 0; j < sc.members(); j++) {
          Map<String, Double> m = new LinkedHashMap<>();
          put(m, retain.key(), rc[j], spec, 1);
          put(m, forget.key(), fc[j], spec, 2);
          out.add(m);
        }
        return out;
      }

      @Override
      public long forwardTokens() {
        return (long) (r.size() + f.size()) * seqLen;
      }

      @Override
      public int windows() {
        return f.size();
      }
    };
  }

  /** A CE metric and its bootstrap interval over windows. */
  private static void put(Map<String, Double> m, String key, Evaluator.Ce ce, ExperimentConfig.EvalSpec spec,
      long stream) {
    m.put(key, ce.ce());
    double[] ci = Intervals.bootstrapRatio(ce.windowSums(), ce.windowTokens(), spec.bootstrapSamples(),
        spec.seed() * 31 + stream);
    m.put(key + "_lo", ci[0]);
    m.put(key + "_hi", ci[1]);
  }

  /** The paper's language rule: the relative retain-CE gap to the teacher is below the tolerance. */
  @Override
  public StopRule distillStopRule(Map<String, Double> teacher, double tolerance, List<String> cells) {
    return new StopRule() {
      @Override
      public boolean satisfied(Map<String, Double> m) {
        return gap(m) < tolerance;
      }

      @Override
      public double gap(Map<String, Double> m) {
        double t = teacher.get(retain.key());
        return (m.get(retain.key()) - t) / t;
      }

      @Override
      public String describe() {
        return "relative " + retain.key() + " gap to the teacher < " + tolerance;
      }
    };
  }

  @Override
  public List<String> summaryCells(Map<String, Double> base, double floor) {
    return List.of();
  }

  @Override
  public Map<String, Double> summarize(Map<String, Double> metrics, List<String> cells, int n) {
    return metrics;
  }

  @Override
  public boolean keepsRetain(Map<String, Double> m, Map<String, Double> base, double tolerance) {
    return m.get(retain.key()) <= base.get(retain.key()) * (1 + tolerance);
  }

  @Override
  public double retainScore(Map<String, Double> m, double secondaryWeight) {
    return -m.get(retain.key());
  }

  /** Next forget-corpus token from the residual stream: training split to fit, held-out split to score. */
  @Override
  public ProbeData probeData(ExperimentConfig.EvalSpec eval, long seed, int examples) {
    return new ProbeData.NextToken("next " + forgetName + " token from the residual stream",
        new CorpusSource(forgetCorpus.train()), forgetCorpus.val().documents());
  }
}
