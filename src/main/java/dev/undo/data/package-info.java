/**
 * Data for both settings of the paper (docs/PROTOCOL.md, "Settings"): what the models read and how it is batched.
 *
 * <ul>
 *   <li>{@link dev.undo.data.Tokenizer}: character vocabulary with UTF-8 byte fallback (replaces the paper's
 *       Gemma tokenizer at our model sizes), saved as JSON next to checkpoints.
 *   <li>{@link dev.undo.data.Corpus}: the English (retain) and Korean (forget) corpora, shipped in
 *       {@code data/corpora/} and built from MPL-2.0 LibreOffice help pages by {@code scripts/build-corpora.sh}.
 *   <li>{@link dev.undo.data.ArithmeticGenerator}: equations and word problems for the arithmetic setting
 *       (retain {@code +} and {@code -}, forget {@code *} and {@code /}), training templates and held-out
 *       evaluation templates, and the fixed evaluation sets.
 *   <li>{@link dev.undo.data.Mixture}, {@link dev.undo.data.Mixtures}: sources and their probabilities for
 *       pretraining, data filtering, and the forget and retain sides of each setting.
 *   <li>{@link dev.undo.data.BatchSampler}: packs documents into newline-separated fixed-length rows; a batch is
 *       a pure function of (seed, step), so training can resume from a step number alone.
 * </ul>
 *
 * <p>Inputs: the corpus files and a seed. Outputs: token-id batches, evaluation problems, a tokenizer file. This
 * package depends on nothing else in the project.
 */
package dev.undo.data;
