/**
 * Measurement (PAPER.md §Settings): cross-entropy on held-out text and exact-match accuracy of batched greedy
 * answers, assembled per setting by {@link dev.undo.eval.EvalSuite}.
 */
package dev.undo.eval;
