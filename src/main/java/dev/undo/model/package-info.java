/**
 * The model: a small Gemma-2-style decoder (docs/MODEL.md) built from DJL PyTorch ops, its named parameters,
 * initialisation and safetensors I/O. Inputs: token ids. Outputs: logits or the residual stream after any block.
 * Depends on nothing else in the project.
 */
package dev.undo.model;
