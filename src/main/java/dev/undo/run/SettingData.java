package dev.undo.run;

import dev.undo.data.ArithmeticConfig;
import dev.undo.data.ArithmeticGenerator;
import dev.undo.data.Corpus;
import dev.undo.data.CorpusSource;
import dev.undo.data.Mixture;
import dev.undo.data.Mixtures;
import dev.undo.data.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The data of one setting (PAPER.md §Settings), built from a {@link ExperimentConfig.DataSpec}: corpora, the
 * arithmetic generator, and the mixtures every stage draws from: pretraining (with or without the forget data),
 * forget side, retain side. The tokenizer is built from the full (unfiltered) data so that every model of a
 * setting, data-filtered ones included, shares one vocabulary and can be distilled into any other.
 */
public final class SettingData {
  public static final String ARITHMETIC = "arithmetic";
  public static final String LANGUAGE = "language";

  private final String setting;
  private final ExperimentConfig.DataSpec spec;
  private final Corpus englishTrain;
  private final Corpus englishVal;
  private final Corpus koreanTrain;
  private final Corpus koreanVal;
  private final ArithmeticGenerator generator;

  private SettingData(String setting, ExperimentConfig.DataSpec spec) {
    this.setting = setting;
    this.spec = spec;
    this.englishTrain = corpus(spec.englishCorpus(), "train");
    this.englishVal = corpus(spec.englishCorpus(), "val");
    if (setting.equals(LANGUAGE)) {
      this.koreanTrain = corpus(spec.koreanCorpus(), "train");
      this.koreanVal = corpus(spec.koreanCorpus(), "val");
      this.generator = null;
    } else if (setting.equals(ARITHMETIC)) {
      this.koreanTrain = null;
      this.koreanVal = null;
      this.generator = new ArithmeticGenerator(new ArithmeticConfig(spec.addSubMin(), spec.addSubMax(),
          spec.mulDivMin(), spec.mulDivMax(), spec.wordProblemFraction()));
    } else {
      throw new IllegalArgumentException("unknown setting '" + setting + "' (use arithmetic or language)");
    }
  }

  public static SettingData load(String setting, ExperimentConfig.DataSpec spec) {
    return new SettingData(setting, spec);
  }

  /**
   * A corpus by embedded name ({@code english} → data/corpora/english.train.txt and .val.txt) or by path: a path
   * {@code X.txt} or {@code X.jsonl} is the training file and {@code X.val.txt} / {@code X.val.jsonl} beside it the
   * held-out one.
   */
  static Corpus corpus(String nameOrPath, String split) {
    Path p = Path.of(nameOrPath);
    if (Files.isRegularFile(p)) {
      if (split.equals("train")) {
        return Corpus.load(p);
      }
      String f = p.getFileName().toString();
      int dot = f.lastIndexOf('.');
      Path val = p.resolveSibling(f.substring(0, dot) + ".val" + f.substring(dot));
      if (!Files.isRegularFile(val)) {
        throw new IllegalArgumentException("held-out file " + val + " for corpus " + p + " not found");
      }
      return Corpus.load(val);
    }
    return Corpus.embedded(nameOrPath + "." + split);
  }

  public String setting() {
    return setting;
  }

  public boolean isArithmetic() {
    return setting.equals(ARITHMETIC);
  }

  public ArithmeticGenerator generator() {
    return generator;
  }

  public Corpus englishVal() {
    return englishVal;
  }

  public Corpus koreanVal() {
    return koreanVal;
  }

  /** The pretraining mixture; {@code filterForget} is the data-filtering gold standard. */
  public Mixture pretrain(boolean filterForget) {
    CorpusSource eng = new CorpusSource(englishTrain);
    if (isArithmetic()) {
      return filterForget ? Mixtures.arithmeticFiltered(eng, generator, spec.arithmetic())
          : Mixtures.arithmetic(eng, generator, spec.arithmetic());
    }
    return filterForget ? Mixtures.languageFiltered(eng) : Mixtures.language(eng, new CorpusSource(koreanTrain),
        spec.korean());
  }

  /** Forget-side data: Korean text, or multiplication and division problems. */
  public Mixture forget() {
    return isArithmetic() ? Mixtures.arithmeticForget(generator)
        : Mixtures.languageForget(new CorpusSource(koreanTrain));
  }

  /** Retain-side data: English, or English plus addition and subtraction at their pretraining proportions. */
  public Mixture retain() {
    CorpusSource eng = new CorpusSource(englishTrain);
    return isArithmetic() ? Mixtures.arithmeticRetain(eng, generator, spec.arithmetic())
        : Mixtures.languageRetain(eng);
  }

  /**
   * The texts the tokenizer is built from: the training corpora, plus for arithmetic a fixed sample of generated
   * documents (every character the generator can emit appears in a few thousand of them).
   */
  public Tokenizer buildTokenizer() {
    List<String> texts = new ArrayList<>(englishTrain.documents());
    if (koreanTrain != null) {
      texts.addAll(koreanTrain.documents());
    }
    if (generator != null) {
      Random rnd = new Random(0);
      for (int i = 0; i < 5000; i++) {
        texts.add(generator.trainingDocument(dev.undo.data.Op.all(), rnd));
        texts.add(generator.wordProblem(dev.undo.data.Op.values()[i % 4], true, rnd).text());
      }
    }
    texts.add("\n0123456789 +-*/=");
    return Tokenizer.build(texts, spec.tokenizerMinCount());
  }

  /** Identities of the data for provenance. */
  public Map<String, String> identity() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("setting", setting);
    m.put("english_train_sha256", englishTrain.sha256());
    m.put("english_val_sha256", englishVal.sha256());
    if (koreanTrain != null) {
      m.put("korean_train_sha256", koreanTrain.sha256());
      m.put("korean_val_sha256", koreanVal.sha256());
    }
    return m;
  }
}
