/**
 * Measurement (docs/PROTOCOL.md §Settings): cross-entropy on held-out text and exact-match accuracy on arithmetic
 * problems (greedy decoding would emit the answer, then whitespace; scored by one teacher-forced pass, {@link
 * dev.undo.eval.ExactMatch}), for one model ({@link dev.undo.eval.Evaluator}) or every member of an ensemble at once
 * ({@link dev.undo.eval.EnsembleEvaluator}), assembled per setting by each task's evaluation (task/Task). Greedy
 * decoding ({@link dev.undo.eval.Evaluator#greedy}) serves prompts without answers and is the tested reference.
 */
package dev.undo.eval;
