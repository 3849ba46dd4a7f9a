/**
 * Interchange with the Hugging Face ecosystem: a model as a transformers Gemma-2 folder ({@code config.json} with
 * {@code Gemma2Config}'s keys, {@code model.safetensors} with {@code Gemma2ForCausalLM}'s tensor names, the
 * tokenizer as a tokenizers-library {@code tokenizer.json}) and back, so a model unlearned here opens there and one
 * trained there (with a config our decoder computes exactly) can start UNDO here. Inputs and outputs: our
 * {@code ModelConfig}, {@code Params} and {@code Tokenizer}; docs/MODEL.md ("Hugging Face layout") lists the
 * mapping, the supported config fields and what cannot be expressed. Depends on model, data and run (JSON I/O).
 */
package dev.undo.hf;
