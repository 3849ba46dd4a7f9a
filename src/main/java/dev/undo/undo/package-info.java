/**
 * Stages 3 and 4, the method itself: shrink-and-perturb noise and distillation on outputs with the paper's stop
 * rules. The same distillation makes the oracle (filtered model into a random init), Unlearn-and-Distill and oracle
 * matching. docs/PROTOCOL.md §Pipeline 3-4.
 */
package dev.undo.undo;
