/**
 * Run infrastructure: configuration presets and overrides (with integer and bounds checks), stage folders with DONE
 * markers, metrics logs, provenance, seed derivation and the compute ledger; and the reliability pieces beneath the
 * stage layer: one writer per folder ({@link dev.undo.run.RunLock}), durable atomic writes ({@link dev.undo.run.Json}),
 * file checksums ({@link dev.undo.run.Checksums}) and configuration fingerprints ({@link dev.undo.run.Fingerprint}).
 * Depends only on model and data.
 */
package dev.undo.run;
