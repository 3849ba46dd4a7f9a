package dev.undo.run;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * The data protocol a model was trained under: its setting, that setting's {@code data} section, and the training
 * sequence length. Every checkpoint carries it in {@code provenance.json} (key {@code task}), and every stage that
 * starts from a checkpoint draws its forget, retain and attack data from it — not from the stage's own preset — so
 * an unlearned or distilled model always sees the distribution its base model was pretrained on.
 */
public record TaskSpec(@JsonProperty("setting") String setting, @JsonProperty("data") JsonNode data,
    @JsonProperty("seq_len") int seqLen) {}
