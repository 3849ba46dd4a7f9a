/**
 * Training machinery every stage shares: the step loop with listeners ({@link dev.undo.train.Trainer}), the
 * resumable stage wrapper ({@link dev.undo.train.TrainingRun}), PyTorch-formula AdamW, LR schedules, the losses
 * (CE, forward KL, KL to uniform) and checkpoints. docs/PROTOCOL.md §Pipeline 1 (optimiser, schedule, clipping).
 */
package dev.undo.train;
