/**
 * Measurement (docs/PROTOCOL.md §Settings): cross-entropy on held-out text and exact-match accuracy of batched greedy
 * answers, assembled per setting by each task's evaluation (task/Task).
 */
package dev.undo.eval;
