/**
 * Measurement (PAPER.md §Settings): cross-entropy on held-out text and exact-match accuracy on arithmetic problems
 * (greedy decoding would emit the answer, then whitespace; scored by one teacher-forced pass, {@link
 * dev.undo.eval.ExactMatch}), assembled per setting by {@link dev.undo.eval.EvalSuite}. Greedy decoding
 * ({@link dev.undo.eval.Evaluator#greedy}) serves prompts without answers and is the tested reference.
 */
package dev.undo.eval;
