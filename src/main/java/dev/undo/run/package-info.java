/**
 * Run infrastructure: configuration presets and overrides, stage folders with DONE markers, metrics logs,
 * provenance, seed derivation and the compute ledger. Depends only on model and data.
 */
package dev.undo.run;
