/**
 * Stage 2, unlearning: GradDiff, MaxEnt and RMU losses (with RepNoise and SAM options), the unlearning stage and its
 * learning-rate sweep with a recorded teacher-selection rule. docs/PROTOCOL.md §Pipeline 2.
 */
package dev.undo.unlearn;
