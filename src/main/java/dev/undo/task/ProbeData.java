package dev.undo.task;

import dev.undo.data.DocumentSource;
import java.util.List;

/**
 * What a linear probe reads forget knowledge from (attack/Probe): either labelled prompts (the state at the last
 * prompt token predicts a label) or text whose next token is predicted from every position.
 */
public sealed interface ProbeData {
  String description();

  /** Labelled prompts: train and held-out test sets with labels in {@code [0, classes)}. */
  record Prompts(String description, int classes, List<String> trainPrompts, int[] trainLabels,
      List<String> testPrompts, int[] testLabels) implements ProbeData {}

  /** Next-token prediction on forget text: training documents drawn from a source, held-out documents to score. */
  record NextToken(String description, DocumentSource train, List<String> heldOut) implements ProbeData {}
}
