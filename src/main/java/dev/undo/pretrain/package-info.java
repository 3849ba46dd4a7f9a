/**
 * Stage 1, pretraining from scratch on a setting's mixture, and the data-filtering gold standard (the same recipe
 * without the forget data). docs/PROTOCOL.md §Pipeline 1.
 */
package dev.undo.pretrain;
