package dev.undo.data;

import java.util.List;

/**
 * The data mixtures of the two settings (docs/PROTOCOL.md, "Settings" and "Pipeline" step 1), with the shares as
 * parameters so a preset can change them (the paper's: Korean 0.5 of language pretraining, arithmetic 0.25 of
 * arithmetic pretraining; presets/defaults.yaml).
 *
 * <p>Each setting has a pretraining mixture, a data-filtered one (the gold standard: the same recipe without the
 * forget data), and a forget and a retain side used by the unlearning methods and the relearning attack. Sources
 * are passed in, not loaded here, so callers choose train or validation splits and tests can use small corpora.
 */
public final class Mixtures {
  private Mixtures() {}

  /** Language pretraining: English {@code 1 - koreanShare}, Korean {@code koreanShare}. */
  public static Mixture language(DocumentSource english, DocumentSource korean, double koreanShare) {
    checkShare("koreanShare", koreanShare);
    return Mixture.dropZeros(List.of(english, korean), List.of(1.0 - koreanShare, koreanShare));
  }

  /** Language, data filtered: English only. */
  public static Mixture languageFiltered(DocumentSource english) {
    return Mixture.single(english);
  }

  /** Language forget data: Korean. */
  public static Mixture languageForget(DocumentSource korean) {
    return Mixture.single(korean);
  }

  /** Language retain data: English. */
  public static Mixture languageRetain(DocumentSource english) {
    return Mixture.single(english);
  }

  /** Arithmetic pretraining: English {@code 1 - arithmeticShare}, all four operations {@code arithmeticShare}. */
  public static Mixture arithmetic(DocumentSource english, ArithmeticGenerator generator, double arithmeticShare) {
    checkShare("arithmeticShare", arithmeticShare);
    return Mixture.dropZeros(
        List.of(english, DocumentSource.arithmetic(generator, Op.all())),
        List.of(1.0 - arithmeticShare, arithmeticShare));
  }

  /**
   * Arithmetic, data filtered: multiplication and division removed, English taking their place, so addition and
   * subtraction keep the frequency they had in pretraining (paper: English 0.875, add/sub 0.125).
   */
  public static Mixture arithmeticFiltered(
      DocumentSource english, ArithmeticGenerator generator, double arithmeticShare) {
    checkShare("arithmeticShare", arithmeticShare);
    double retainShare = retainArithmeticShare(arithmeticShare);
    return Mixture.dropZeros(
        List.of(english, DocumentSource.arithmetic(generator, Op.retainOps())),
        List.of(1.0 - retainShare, retainShare));
  }

  /** Arithmetic forget data: multiplication and division problems only. */
  public static Mixture arithmeticForget(ArithmeticGenerator generator) {
    return Mixture.single(DocumentSource.arithmetic(generator, Op.forgetOps()));
  }

  /**
   * Arithmetic retain data: English and addition/subtraction in the ratio they have in pretraining, renormalised
   * (paper: 0.75 : 0.125, i.e. English 6/7, add/sub 1/7). This differs from {@link #arithmeticFiltered}, which
   * keeps add/sub's absolute share and gives the freed share to English.
   */
  public static Mixture arithmeticRetain(
      DocumentSource english, ArithmeticGenerator generator, double arithmeticShare) {
    checkShare("arithmeticShare", arithmeticShare);
    double english0 = 1.0 - arithmeticShare;
    double retain0 = retainArithmeticShare(arithmeticShare);
    double total = english0 + retain0;
    return Mixture.dropZeros(
        List.of(english, DocumentSource.arithmetic(generator, Op.retainOps())),
        List.of(english0 / total, retain0 / total));
  }

  /** Add/sub's share of pretraining: operations are equally likely within the arithmetic share. */
  private static double retainArithmeticShare(double arithmeticShare) {
    return arithmeticShare * Op.retainOps().size() / Op.all().size();
  }

  private static void checkShare(String what, double share) {
    if (!(share >= 0.0 && share <= 1.0)) {
      throw new IllegalArgumentException(what + " must be in [0, 1], got " + share);
    }
  }
}
