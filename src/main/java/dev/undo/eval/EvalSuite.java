package dev.undo.eval;

import dev.undo.data.Kind;
import dev.undo.data.Op;
import dev.undo.data.Problem;
import dev.undo.data.Tokenizer;
import dev.undo.model.Params;
import dev.undo.run.ExperimentConfig;
import dev.undo.run.SettingData;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A setting's fixed evaluation (PAPER.md §Settings): built once, then applied to any model of the setting.
 *
 * <ul>
 *   <li>arithmetic: accuracy on {@code n_per_cell} equations and word problems (held-out templates) per operation,
 *       keys {@code <op>_equation_acc}, {@code <op>_word_problem_acc}; {@code retain_acc} and {@code forget_acc}
 *       are the means over the + − and × ÷ cells; {@code eng_ce} on held-out English.
 *   <li>language: {@code eng_ce} and {@code kor_ce}, CE on held-out English and Korean.
 * </ul>
 * {@link #forgetMetric()} names the number attacks try to restore, with its direction.
 */
public final class EvalSuite {
  private final SettingData data;
  private final Map<String, List<Problem>> cells = new LinkedHashMap<>();
  private final List<int[]> englishWindows;
  private final List<int[]> koreanWindows;

  public EvalSuite(SettingData data, ExperimentConfig.EvalSpec spec, Tokenizer tok, int seqLen) {
    this.data = data;
    this.englishWindows = Evaluator.windows(tok, data.englishVal().documents(), seqLen, spec.ceSequences());
    if (data.isArithmetic()) {
      for (Op op : Op.values()) {
        for (Kind k : Kind.values()) {
          cells.put(op.key() + "_" + k.key() + "_acc", data.generator().evalSet(op, k, spec.nPerCell(), spec.seed()));
        }
      }
      koreanWindows = null;
    } else {
      koreanWindows = Evaluator.windows(tok, data.koreanVal().documents(), seqLen, spec.ceSequences());
    }
  }

  public String setting() {
    return data.setting();
  }

  /** All metrics of the setting for one model. */
  public Map<String, Double> evaluate(Evaluator ev, Params p) {
    Map<String, Double> m = new LinkedHashMap<>();
    if (data.isArithmetic()) {
      double retain = 0;
      double forget = 0;
      int nr = 0;
      int nf = 0;
      for (Map.Entry<String, List<Problem>> e : cells.entrySet()) {
        double acc = ev.accuracy(p, e.getValue());
        m.put(e.getKey(), acc);
        if (e.getValue().get(0).op().isRetain()) {
          retain += acc;
          nr++;
        } else {
          forget += acc;
          nf++;
        }
      }
      m.put("retain_acc", retain / nr);
      m.put("forget_acc", forget / nf);
      m.put("eng_ce", ev.crossEntropy(p, englishWindows).ce());
    } else {
      m.put("eng_ce", ev.crossEntropy(p, englishWindows).ce());
      m.put("kor_ce", ev.crossEntropy(p, koreanWindows).ce());
    }
    return m;
  }

  /** Tokens one {@link #evaluate} runs through the model, for the compute ledger (prompts counted once per token generated). */
  public long forwardTokens(int seqLen) {
    long t = (long) englishWindows.size() * seqLen;
    if (koreanWindows != null) {
      t += (long) koreanWindows.size() * seqLen;
    }
    for (List<Problem> ps : cells.values()) {
      for (Problem pr : ps) {
        // Greedy decoding recomputes the whole prefix for each of ~answer+1 new tokens.
        t += (long) (pr.prompt().length() + 2) * (pr.answer().length() + 1);
      }
    }
    return t;
  }

  /** The forget metric of the setting. */
  public Metric forgetMetric() {
    return data.isArithmetic() ? new Metric("forget_acc", false) : new Metric("kor_ce", true);
  }

  /** The retain metric of the setting. */
  public Metric retainMetric() {
    return data.isArithmetic() ? new Metric("retain_acc", true) : new Metric("eng_ce", false);
  }

  /**
   * A metric and its direction from the unlearner's side: for the forget metric "better" means more forgotten
   * (higher Korean CE, lower ×÷ accuracy); for the retain metric it means more kept.
   */
  public record Metric(String key, boolean higherIsBetter) {
    /** Maps a value so that larger is always better, for worst-case maxima and minima. */
    public double oriented(double v) {
      return higherIsBetter ? v : -v;
    }
  }

  /** Problems of one cell (for tests and reports). */
  public List<Problem> cell(String key) {
    return cells.get(key);
  }
}
