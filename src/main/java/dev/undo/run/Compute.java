package dev.undo.run;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.undo.model.ModelConfig;

/**
 * The compute ledger's unit: FLOPs, tokens, steps and wall time of one stage, kept apart by purpose — training,
 * forward-only passes the method needs (a distillation teacher, RMU's frozen model), and evaluations — so claims
 * can charge what the paper charges and report the rest beside it (docs/PROTOCOL.md §Compute). Every stage adds
 * what it spends and stores the total in its result and provenance; pipelines sum them.
 *
 * <p>FLOP model (nanoGPT's estimate): per token a forward pass costs 2·N + 4·L·T·d, where N is the parameters that
 * take part in matrix products (all blocks plus the tied LM head, not the embedding lookup or the norm gains) and
 * 4·L·T·d counts the attention scores and the weighted sum over a full context of T. Training is three forward
 * passes' worth (forward + backward), 6·N + 12·L·T·d per token.
 */
@JsonIgnoreProperties(value = "total_flops", allowGetters = true)
public record Compute(
    @JsonProperty("train_flops") double trainFlops,
    @JsonProperty("forward_flops") double forwardFlops,
    @JsonProperty("eval_flops") double evalFlops,
    @JsonProperty("train_tokens") long trainTokens,
    @JsonProperty("forward_tokens") long forwardTokens,
    @JsonProperty("eval_tokens") long evalTokens,
    @JsonProperty("steps") long steps,
    @JsonProperty("wall_seconds") double wallSeconds) {

  public static final Compute ZERO = new Compute(0, 0, 0, 0, 0, 0, 0, 0);

  @JsonProperty("total_flops")
  public double totalFlops() {
    return trainFlops + forwardFlops + evalFlops;
  }

  /** FLOPs of the method itself: training plus the forward passes it needs, evaluations excluded. */
  public double methodFlops() {
    return trainFlops + forwardFlops;
  }

  /** Parameters that take part in matrix products per token (docs: the FLOP model above). */
  public static long matmulParams(ModelConfig c) {
    long d = c.hiddenSize();
    long perLayer = 4 * d * d + 3 * d * c.intermediateSize();
    return c.numLayers() * perLayer + (long) c.vocabSize() * d;
  }

  /** Forward FLOPs per token at context length {@code seqLen}. */
  public static double forwardFlopsPerToken(ModelConfig c, int seqLen) {
    return 2.0 * matmulParams(c) + 4.0 * c.numLayers() * seqLen * c.hiddenSize();
  }

  public static Compute training(ModelConfig c, int seqLen, long tokens, long steps) {
    return new Compute(3 * forwardFlopsPerToken(c, seqLen) * tokens, 0, 0, tokens, 0, 0, steps, 0);
  }

  /** Forward-only passes the method needs (a teacher, a frozen model). */
  public static Compute forward(ModelConfig c, int seqLen, long tokens) {
    return new Compute(0, forwardFlopsPerToken(c, seqLen) * tokens, 0, 0, tokens, 0, 0, 0);
  }

  /** Forward passes of evaluations. */
  public static Compute evaluation(ModelConfig c, int seqLen, long tokens) {
    return new Compute(0, 0, forwardFlopsPerToken(c, seqLen) * tokens, 0, 0, tokens, 0, 0);
  }

  public Compute plus(Compute o) {
    return new Compute(trainFlops + o.trainFlops, forwardFlops + o.forwardFlops, evalFlops + o.evalFlops,
        trainTokens + o.trainTokens, forwardTokens + o.forwardTokens, evalTokens + o.evalTokens, steps + o.steps,
        wallSeconds + o.wallSeconds);
  }

  public Compute withWallSeconds(double s) {
    return new Compute(trainFlops, forwardFlops, evalFlops, trainTokens, forwardTokens, evalTokens, steps, s);
  }

  /** This total as a fraction of a reference (e.g. the data-filtering pretrain of the same setting). */
  public double fractionOf(Compute reference) {
    return reference.totalFlops() == 0 ? Double.NaN : totalFlops() / reference.totalFlops();
  }
}
