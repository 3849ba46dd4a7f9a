/**
 * Stage 5, robustness: relearning attacks over a learning-rate grid (full fine-tuning or LoRA, AdamW or SGD) and
 * the adversary's worst case per step budget. docs/PROTOCOL.md §Pipeline 5.
 */
package dev.undo.attack;
