"""PyTorch reference of the decoder specified in docs/MODEL.md.

This is the function the Java `dev.undo.model.Decoder` must compute, written as plainly as possible so that a
reader can check it line by line against MODEL.md. It is used by make_golden.py (the golden-test fixture) and by
scripts/bench_torch.py (the throughput baseline). It is deliberately not fast, not general and not a port of HF
`modeling_gemma2`: no KV cache, no soft-capping, no sliding window, no grouped-query attention.

Parameter names are exactly the HF Gemma-2 names listed in MODEL.md (`model.named_parameters()` yields them, in
the order of that list), so a state dict moves between the two implementations by name with nothing renamed.

Requires only torch (tested with Debian's python3-torch 1.13).
"""

import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F

IGNORE_INDEX = -1  # target value that the loss skips (MODEL.md, "Loss")


@dataclass(frozen=True)
class ModelConfig:
    """The keys of MODEL.md's `config.json`, same names, same meaning."""

    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_seq_len: int
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-6

    def __post_init__(self):
        if self.hidden_size % self.num_heads != 0:
            raise ValueError("hidden_size must be divisible by num_heads")
        if (self.hidden_size // self.num_heads) % 2 != 0:
            raise ValueError("head_dim must be even for rotate_half RoPE")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> "ModelConfig":
        known = set(ModelConfig.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:  # a misspelt key would otherwise silently fall back to a default
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        return ModelConfig(**d)


class RMSNorm(nn.Module):
    """Gemma convention: the stored weight w is an offset, the gain is (1 + w), so w = 0 is the identity gain."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        inv_rms = torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return x * inv_rms * (1.0 + self.weight)


def rope_tables(cfg: ModelConfig, dtype=torch.float32):
    """cos, sin of shape (max_seq_len, head_dim) in HF's rotate_half layout (angles repeated twice).

    Computed in float64 and rounded once to float32, so the tables are the correctly rounded values and any
    implementation that does the same (e.g. with Java doubles) gets bit-identical tables.
    """
    hd = cfg.head_dim
    j = torch.arange(0, hd // 2, dtype=torch.float64)
    inv_freq = cfg.rope_theta ** (-2.0 * j / hd)  # (hd/2)
    pos = torch.arange(cfg.max_seq_len, dtype=torch.float64)
    angles = torch.outer(pos, inv_freq)  # (T, hd/2)
    angles = torch.cat([angles, angles], dim=-1)  # (T, hd)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x, cos, sin):
    """x: (B, H, T, hd); cos, sin: (T, hd)."""
    return x * cos + rotate_half(x) * sin


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.hidden_size
        self.num_heads = cfg.num_heads
        self.head_dim = cfg.head_dim
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)

    def forward(self, h, cos, sin, causal_mask):
        B, T, d = h.shape
        H, hd = self.num_heads, self.head_dim

        def split_heads(t):  # (B, T, d) -> (B, H, T, hd)
            return t.view(B, T, H, hd).transpose(1, 2)

        q = apply_rope(split_heads(self.q_proj(h)), cos[:T], sin[:T])
        k = apply_rope(split_heads(self.k_proj(h)), cos[:T], sin[:T])
        v = split_heads(self.v_proj(h))
        scores = q @ k.transpose(-2, -1) / math.sqrt(hd)  # (B, H, T, T)
        scores = scores + causal_mask[:T, :T]  # -inf above the diagonal
        a = torch.softmax(scores, dim=-1) @ v  # (B, H, T, hd)
        a = a.transpose(1, 2).reshape(B, T, d)  # merge heads
        return self.o_proj(a)


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, h):
        # exact (erf) GELU, not Gemma's tanh approximation
        return self.down_proj(F.gelu(self.gate_proj(h)) * self.up_proj(h))


class DecoderLayer(nn.Module):
    # Registration order fixes named_parameters() order; it follows the parameter list in MODEL.md.
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        eps = cfg.rms_norm_eps
        self.input_layernorm = RMSNorm(cfg.hidden_size, eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, eps)
        self.pre_feedforward_layernorm = RMSNorm(cfg.hidden_size, eps)
        self.mlp = MLP(cfg)
        self.post_feedforward_layernorm = RMSNorm(cfg.hidden_size, eps)

    def forward(self, x, cos, sin, causal_mask):
        # Gemma-2 "sandwich" norms: each sub-block's output is normalised again before the residual add.
        x = x + self.post_attention_layernorm(
            self.self_attn(self.input_layernorm(x), cos, sin, causal_mask))
        x = x + self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(x)))
        return x


class Decoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.num_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        cos, sin = rope_tables(cfg)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        T = cfg.max_seq_len
        mask = torch.full((T, T), float("-inf")).triu(diagonal=1)  # 0 on and below the diagonal
        self.register_buffer("causal_mask", mask, persistent=False)
        init_weights(self)

    def _embed(self, tokens):
        # sqrt(d) rounded to float32 once, as HF Gemma does with its `normalizer` tensor
        scale = torch.tensor(math.sqrt(self.cfg.hidden_size), dtype=self.embed_tokens.weight.dtype)
        return self.embed_tokens(tokens) * scale  # (B, T, d)

    def residual_streams(self, tokens, upto: int = None):
        """Residual stream x after each block, as a list; stops after block `upto` (0-based) when given."""
        if tokens.shape[1] > self.cfg.max_seq_len:
            raise ValueError("sequence longer than max_seq_len")
        x = self._embed(tokens)
        out = []
        last = self.cfg.num_layers - 1 if upto is None else upto
        for i in range(last + 1):
            x = self.layers[i](x, self.rope_cos, self.rope_sin, self.causal_mask)
            out.append(x)
        return out

    def hidden_after_layer(self, tokens, layer: int):
        """Residual stream right after block `layer` (0-based), before the final norm (MODEL.md)."""
        if not 0 <= layer < self.cfg.num_layers:
            raise ValueError(f"layer {layer} out of range")
        return self.residual_streams(tokens, upto=layer)[-1]

    def forward(self, tokens, return_hidden: bool = False):
        """tokens (B, T) int64 -> logits (B, T, V); with return_hidden also the per-block residual streams."""
        streams = self.residual_streams(tokens)
        x = streams[-1] if streams else self._embed(tokens)
        logits = self.norm(x) @ self.embed_tokens.weight.t()  # tied LM head
        return (logits, streams) if return_hidden else logits


def init_weights(model: Decoder, norm_std: float = 0.0, generator=None):
    """MODEL.md initialisation, drawn in named_parameters() order: matrices and embedding N(0, 0.02), norms 0.

    norm_std > 0 draws the norm weights from N(0, norm_std) instead; the golden fixture uses that so that a
    wrong (1 + w) convention cannot hide behind w = 0.
    """
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.02, generator=generator)
            elif norm_std > 0:
                p.normal_(0.0, norm_std, generator=generator)
            else:
                p.zero_()


def lm_loss(logits, targets):
    """Mean cross-entropy over positions whose target is not -1."""
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=IGNORE_INDEX)


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 1e-2
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    weight_decay: float = 0.1
    max_grad_norm: float = 1.0

    def to_dict(self) -> dict:
        return asdict(self)


def make_optimizer(model: nn.Module, oc: OptimConfig):
    """torch.optim.AdamW with weight decay on 2-D parameters only (embedding included, norm weights excluded).

    foreach=False selects PyTorch's single-tensor loop, the plainest form of the MODEL.md formula.
    """
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": oc.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=oc.lr, betas=(oc.beta1, oc.beta2), eps=oc.eps, foreach=False)


def train_step(model: Decoder, opt, tokens, targets, max_grad_norm: float):
    """One step: loss before the update, global-norm clip, AdamW update. Returns (loss, pre-clip grad norm)."""
    opt.zero_grad(set_to_none=True)
    loss = lm_loss(model(tokens), targets)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    opt.step()
    return loss.detach(), grad_norm.detach()


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())  # the tied embedding is counted once
