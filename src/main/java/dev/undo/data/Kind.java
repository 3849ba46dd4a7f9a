package dev.undo.data;

/** The two forms an arithmetic problem takes: a bare equation or a word problem. */
public enum Kind {
  EQUATION("equation"),
  WORD_PROBLEM("word_problem");

  private final String key;

  Kind(String key) {
    this.key = key;
  }

  /** Stable lower-case name for metrics, e.g. {@code "word_problem"}. */
  public String key() {
    return key;
  }
}
