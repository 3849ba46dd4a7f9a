package dev.undo.task;

import dev.undo.data.ArithmeticConfig;
import dev.undo.data.ArithmeticGenerator;
import dev.undo.data.CorpusSource;
import dev.undo.data.DocumentSource;
import dev.undo.data.Kind;
import dev.undo.data.Mixture;
import dev.undo.data.Mixtures;
import dev.undo.data.Op;
import dev.undo.data.Problem;
import dev.undo.data.Tokenizer;
import dev.undo.eval.Evaluator;
import dev.undo.eval.ExactMatch;
import dev.undo.eval.Intervals;
import dev.undo.eval.Scorer;
import dev.undo.model.Params;
import dev.undo.run.ExperimentConfig;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The arithmetic setting (docs/PROTOCOL.md §Settings): addition and subtraction (plus English) are retained, multiplication
 * and division forgotten. Metrics are exact-match accuracies per operation and kind ({@code <op>_equation_acc},
 * {@code <op>_word_problem_acc}, word problems on held-out templates), their retain and forget means, and CE on
 * held-out English.
 */
public final class ArithmeticTask implements Task {
  public static final String NAME = "arithmetic";
  static final Metric RETAIN = new Metric("retain_acc", true, Metric.ACCURACY);
  static final Metric FORGET = new Metric("forget_acc", false, Metric.ACCURACY);
  static final String ENG_CE = "eng_ce";

  /** Checks the data section's values together (types were checked when the configuration was bound). */
  static void validate(ExperimentConfig.ArithmeticData d) {
    if (d.english() < 0 || d.arithmetic() < 0 || Math.abs(d.english() + d.arithmetic() - 1) > 1e-6) {
      throw new IllegalArgumentException("arithmetic.data: english and arithmetic must be >= 0 and sum to 1, got "
          + d.english() + " + " + d.arithmetic());
    }
    if (!(d.wordProblemFraction() >= 0 && d.wordProblemFraction() <= 1)) {
      throw new IllegalArgumentException("arithmetic.data.word_problem_fraction must be in [0, 1]");
    }
    if (d.tokenizerMinCount() < 1) {
      throw new IllegalArgumentException("arithmetic.data.tokenizer_min_count must be >= 1");
    }
  }

  private final ExperimentConfig.ArithmeticData data;
  private final Corpora.Split english;
  private final ArithmeticGenerator generator;

  public ArithmeticTask(ExperimentConfig.ArithmeticData data) {
    validate(data);
    this.data = data;
    this.english = Corpora.load(data.englishCorpus(), 0, "arithmetic.data.english_corpus");
    try {
      this.generator = new ArithmeticGenerator(new ArithmeticConfig(data.addSubMin(), data.addSubMax(),
          data.mulDivMin(), data.mulDivMax(), data.wordProblemFraction()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("arithmetic.data: " + e.getMessage());
    }
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Metric retainMetric() {
    return RETAIN;
  }

  @Override
  public Metric forgetMetric() {
    return FORGET;
  }

  public ArithmeticGenerator generator() {
    return generator;
  }

  @Override
  public Mixture pretrainMixture(boolean filterForget) {
    CorpusSource eng = new CorpusSource(english.train());
    return filterForget ? Mixtures.arithmeticFiltered(eng, generator, data.arithmetic())
        : Mixtures.arithmetic(eng, generator, data.arithmetic());
  }

  @Override
  public Mixture forgetMixture() {
    return Mixtures.arithmeticForget(generator);
  }

  @Override
  public Mixture retainMixture() {
    return Mixtures.arithmeticRetain(new CorpusSource(english.train()), generator, data.arithmetic());
  }

  /**
   * Attack data without any evaluation equation: every draw that is an equation of an evaluation set is redrawn
   * (word problems are evaluated on held-out templates the stream never uses).
   */
  @Override
  public Mixture attackMixture(String which, ExperimentConfig.EvalSpec eval) {
    Mixture base = switch (which) {
      case "forget" -> forgetMixture();
      case "mixture" -> pretrainMixture(false);
      default -> throw new IllegalArgumentException("attack.data must be forget or mixture, got '" + which + "'");
    };
    Set<String> excluded = new HashSet<>();
    for (Op op : Op.values()) {
      for (Problem p : generator.evalSet(op, Kind.EQUATION, eval.nPerCell(), eval.seed())) {
        excluded.add(p.text());
      }
    }
    List<Mixture.Entry> entries = new ArrayList<>();
    for (Mixture.Entry e : base.entries()) {
      DocumentSource src = e.source();
      entries.add(new Mixture.Entry(new DocumentSource() {
        @Override
        public String next(Random rnd) {
          for (int i = 0; i < RESAMPLE_LIMIT; i++) {
            String d = src.next(rnd);
            if (!excluded.contains(d)) {
              return d;
            }
          }
          throw new IllegalStateException("attack data: " + RESAMPLE_LIMIT + " draws in a row were evaluation "
              + "equations; widen the operand ranges or shrink eval.n_per_cell");
        }

        @Override
        public String name() {
          return src.name() + " minus eval equations";
        }
      }, e.probability()));
    }
    return new Mixture(entries);
  }

  /**
   * Draws in a row that may hit an evaluation equation before the attack stream gives up. With the quick preset's
   * operands (1–10, so 100 distinct equations per operation and 50 of them evaluated) a draw is excluded half the
   * time, so 1000 failures in a row mean an evaluation set that covers (nearly) every equation.
   */
  static final int RESAMPLE_LIMIT = 1000;

  /**
   * The English training corpus, plus a fixed sample of generated documents (every character the generator can
   * emit appears in a few thousand of them).
   */
  @Override
  public Tokenizer buildTokenizer() {
    List<String> texts = new ArrayList<>(english.train().documents());
    Random rnd = new Random(0);
    for (int i = 0; i < 5000; i++) {
      texts.add(generator.trainingDocument(Op.all(), rnd));
      texts.add(generator.wordProblem(Op.values()[i % 4], true, rnd).text());
    }
    texts.add("\n0123456789 +-*/=");
    return Tokenizer.build(texts, data.tokenizerMinCount());
  }

  @Override
  public Map<String, String> identity() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("setting", NAME);
    m.put("english_train_sha256", english.train().sha256());
    m.put("english_val_sha256", english.val().sha256());
    return m;
  }

  /** The key of one evaluation cell, e.g. {@code multiplication_word_problem_acc}. */
  public static String cellKey(Op op, Kind kind) {
    return op.key() + "_" + kind.key() + "_acc";
  }

  /** Every evaluation cell's key, in evaluation order (operation, then kind). */
  public static List<String> cellKeys() {
    List<String> out = new ArrayList<>();
    for (Op op : Op.values()) {
      for (Kind k : Kind.values()) {
        out.add(cellKey(op, k));
      }
    }
    return out;
  }

  /**
   * The cells the summaries average: {@code spec.summary_cells} when set, else all. A cell name that is not a cell
   * is an error naming it.
   */
  static List<String> summaryCells(ExperimentConfig.EvalSpec spec) {
    if (spec.summaryCells().isEmpty()) {
      return cellKeys();
    }
    for (String c : spec.summaryCells()) {
      if (!cellKeys().contains(c)) {
        throw new IllegalArgumentException("eval.summary_cells: '" + c + "' is not a cell (cells: " + cellKeys() + ")");
      }
    }
    return spec.summaryCells();
  }

  /**
   * The cells the base model can do — accuracy at least {@code floor} — for the summaries and the stop rule, so a
   * cell no model learnt (held-out word problems of a small model) does not dilute every number. A side (retain or
   * forget) with no such cell keeps all of its cells.
   */
  @Override
  public List<String> summaryCells(Map<String, Double> base, double floor) {
    List<String> out = new ArrayList<>();
    for (boolean retain : new boolean[] {true, false}) {
      List<String> side = new ArrayList<>();
      List<String> all = new ArrayList<>();
      for (Op op : Op.values()) {
        if (op.isRetain() != retain) {
          continue;
        }
        for (Kind k : Kind.values()) {
          all.add(cellKey(op, k));
          Double v = base.get(cellKey(op, k));
          if (v != null && v >= floor) {
            side.add(cellKey(op, k));
          }
        }
      }
      out.addAll(side.isEmpty() ? all : side);
    }
    List<String> ordered = new ArrayList<>(cellKeys());
    ordered.retainAll(out);
    return ordered;
  }

  /**
   * Recomputes the summaries ({@code retain_acc}, {@code forget_acc} and their intervals) of per-cell metrics over
   * {@code cells}: the pooled accuracy of the cells' items ({@code n} items per cell).
   */
  @Override
  public Map<String, Double> summarize(Map<String, Double> metrics, List<String> cells, int n) {
    Map<String, Double> out = new LinkedHashMap<>(metrics);
    long[] kr = {0, 0};
    long[] kf = {0, 0};
    for (String c : cells) {
      Double acc = metrics.get(c);
      if (acc == null) {
        continue;
      }
      long[] side = Op.fromKey(c.substring(0, c.indexOf('_'))).isRetain() ? kr : kf;
      side[0] += Math.round(acc * n);
      side[1] += n;
    }
    put(out, RETAIN.key(), kr[0], kr[1]);
    put(out, FORGET.key(), kf[0], kf[1]);
    return out;
  }

  private static void put(Map<String, Double> m, String key, long k, long n) {
    double[] ci = Intervals.wilson(k, n);
    m.put(key, n == 0 ? Double.NaN : (double) k / n);
    m.put(key + "_lo", ci[0]);
    m.put(key + "_hi", ci[1]);
  }

  @Override
  public Evaluation evaluation(ExperimentConfig.EvalSpec spec, Tokenizer tok, int seqLen) {
    return evaluation(spec, tok, seqLen, false);
  }

  /**
   * Only the summary cells (when they are resolved: {@code eval.summary_cells} or the plan's base-model cells):
   * held-out word problems no model can do cost an attack as much as the equations it measures, for nothing it
   * records. The cells kept are generated with the same seed, so their problems are the full evaluation's.
   */
  @Override
  public Evaluation attackEvaluation(ExperimentConfig.EvalSpec spec, Tokenizer tok, int seqLen) {
    return evaluation(spec, tok, seqLen, true);
  }

  private Evaluation evaluation(ExperimentConfig.EvalSpec spec, Tokenizer tok, int seqLen, boolean summaryOnly) {
    List<String> summary = summaryCells(spec);
    Map<String, List<Problem>> cells = new LinkedHashMap<>();
    for (Op op : Op.values()) {
      for (Kind k : Kind.values()) {
        if (!summaryOnly || summary.contains(cellKey(op, k))) {
          cells.put(cellKey(op, k), generator.evalSet(op, k, spec.nPerCell(), spec.seed()));
        }
      }
    }
    List<int[]> englishWindows = Evaluator.windows(tok, english.val().documents(), seqLen, spec.ceSequences());
    // The ledger's cost of one evaluation: every window, and every problem once in eval/ExactMatch's teacher-forced
    // pass (prompt + answer, padding included, batched as a model of context seqLen with this batch size is).
    long tokens = (long) englishWindows.size() * seqLen;
    for (List<Problem> ps : cells.values()) {
      tokens += ExactMatch.forwardTokens(ExactMatch.prepare(ps, tok, seqLen, spec.batchSize()));
    }
    long forwardTokens = tokens;
    return new Evaluation() {
      @Override
      public List<Map<String, Double>> evaluate(Scorer sc) {
        int k = sc.members();
        List<Map<String, Double>> out = new ArrayList<>();
        for (int j = 0; j < k; j++) {
          out.add(new LinkedHashMap<>());
        }
        for (Map.Entry<String, List<Problem>> e : cells.entrySet()) {
          long[] solved = sc.solved(e.getValue());
          for (int j = 0; j < k; j++) {
            put(out.get(j), e.getKey(), solved[j], e.getValue().size());
          }
        }
        Evaluator.Ce[] ce = sc.crossEntropy(englishWindows);
        for (int j = 0; j < k; j++) {
          Map<String, Double> m = summarize(out.get(j), summary, spec.nPerCell());
          m.put(ENG_CE, ce[j].ce());
          double[] ci = Intervals.bootstrapRatio(ce[j].windowSums(), ce[j].windowTokens(), spec.bootstrapSamples(),
              spec.seed());
          m.put(ENG_CE + "_lo", ci[0]);
          m.put(ENG_CE + "_hi", ci[1]);
          out.set(j, m);
        }
        return out;
      }

      @Override
      public long forwardTokens() {
        return forwardTokens;
      }

      @Override
      public int forgetItems() {
        int n = 0;
        for (String c : summary) {
          if (!Op.fromKey(c.substring(0, c.indexOf('_'))).isRetain()) {
            n += spec.nPerCell();
          }
        }
        return n;
      }
    };
  }

  /**
   * The paper's arithmetic rule: the mean over the retain cells of (student − teacher) accuracy exceeds
   * −tolerance. The paper averages its four retain cells; we average the retain cells among {@code cells} (those
   * the base model can do), so a cell no model learnt neither helps nor blocks recovery.
   */
  @Override
  public StopRule distillStopRule(Map<String, Double> teacher, double tolerance, List<String> cells) {
    List<String> retainCells = new ArrayList<>();
    for (String c : cells.isEmpty() ? cellKeys() : cells) {
      if (Op.fromKey(c.substring(0, c.indexOf('_'))).isRetain()) {
        retainCells.add(c);
      }
    }
    return new StopRule() {
      @Override
      public boolean satisfied(Map<String, Double> m) {
        return gap(m) > -tolerance;
      }

      @Override
      public double gap(Map<String, Double> m) {
        double sum = 0;
        for (String key : retainCells) {
          sum += m.get(key) - teacher.get(key);
        }
        return sum / retainCells.size();
      }

      @Override
      public String describe() {
        return "mean accuracy gap to the teacher over " + retainCells + " > -" + tolerance;
      }
    };
  }

  /** Retain accuracy within {@code tolerance} (relative) of the base, and English CE too. */
  @Override
  public boolean keepsRetain(Map<String, Double> m, Map<String, Double> base, double tolerance) {
    return m.get(ENG_CE) <= base.get(ENG_CE) * (1 + tolerance)
        && m.get(RETAIN.key()) >= base.get(RETAIN.key()) * (1 - tolerance);
  }

  @Override
  public double retainScore(Map<String, Double> m, double secondaryWeight) {
    return m.get(RETAIN.key()) - secondaryWeight * m.get(ENG_CE);
  }

  /** First digit of × and ÷ answers from the last prompt position; trained outside the evaluation set. */
  @Override
  public ProbeData probeData(ExperimentConfig.EvalSpec eval, long seed, int examples) {
    List<Problem> test = new ArrayList<>();
    for (Op op : Op.forgetOps()) {
      test.addAll(generator.evalSet(op, Kind.EQUATION, eval.nPerCell(), eval.seed()));
    }
    Set<String> excluded = new HashSet<>();
    test.forEach(p -> excluded.add(p.text()));
    List<Problem> train = new ArrayList<>();
    Random rnd = new Random(seed);
    List<Op> ops = new ArrayList<>(Op.forgetOps());
    for (int i = 0; train.size() < examples && i < examples * 50; i++) {
      Problem p = generator.equation(ops.get(i % ops.size()), rnd);
      if (!excluded.contains(p.text())) {
        train.add(p);
      }
    }
    return new ProbeData.Prompts("first digit of x/÷ answers from the last prompt position", 10,
        train.stream().map(Problem::prompt).toList(), firstDigits(train),
        test.stream().map(Problem::prompt).toList(), firstDigits(test));
  }

  private static int[] firstDigits(List<Problem> ps) {
    int[] y = new int[ps.size()];
    for (int i = 0; i < y.length; i++) {
      y[i] = ps.get(i).answer().charAt(0) - '0';
    }
    return y;
  }
}
