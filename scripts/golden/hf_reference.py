"""Logits of an exported Hugging Face Gemma-2 folder, computed from its files alone (the golden check of issue #16).

Reads only what transformers would read: `config.json` (Gemma2Config's keys; an absent key takes Gemma2Config's
default, as transformers does), `model.safetensors` (Gemma2ForCausalLM's tensor names) and `tokenizer.json` (the
tokenizers library's format). Nothing of docs/MODEL.md or of the Java code is used: the forward pass below is
Gemma-2 as transformers defines it, with every feature that the config can switch on implemented (grouped-query
attention, query_pre_attn_scalar, attention and final-logit soft-capping, sliding-window layers, tanh or exact
GELU, untied head), so a key written wrongly by the exporter changes these logits. float32 throughout, RoPE tables
in float32 as transformers computes them.

    /usr/bin/python3 scripts/golden/hf_reference.py                     # the committed fixture
    /usr/bin/python3 scripts/golden/hf_reference.py --hf DIR --out FILE  # any exported folder

Writes FILE (default src/test/resources/golden/hf_logits.safetensors): `tokens` (I64, [2, T]), `logits`
(F32, [2, T, V]) and `text_ids` (I64), the ids of the metadata string `text` under tokenizer.json; then prints how
far the logits move when one config key is read differently (the test's power to catch a wrong key).

Requires only torch (Debian's python3-torch 1.13 here) and numpy; safetensors is parsed by hand (safetensors_io.py).
"""

import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_HF = os.path.join(ROOT, "src", "test", "resources", "golden", "hf")
DEFAULT_OUT = os.path.join(ROOT, "src", "test", "resources", "golden", "hf_logits.safetensors")

# Gemma2Config defaults (transformers v4.56, configuration_gemma2.py) for keys a config.json may leave out.
GEMMA2_DEFAULTS = {
    "vocab_size": 256000, "hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 26,
    "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh",
    "max_position_embeddings": 8192, "rms_norm_eps": 1e-6, "tie_word_embeddings": True, "rope_theta": 10000.0,
    "attention_bias": False, "query_pre_attn_scalar": 256, "sliding_window": 4096, "layer_types": None,
    "final_logit_softcapping": 30.0, "attn_logit_softcapping": 50.0,
}

# A text with characters inside the fixture's vocabulary and outside it (byte fallback: 2-, 3- and 4-byte UTF-8).
TEXT = "12 + 34 = 46\nwhat is 7*8? é 한 😀"


def read_config(path):
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    if raw.get("model_type") != "gemma2":
        raise SystemExit(f"{path}: model_type {raw.get('model_type')!r} is not gemma2")
    cfg = dict(GEMMA2_DEFAULTS)
    cfg.update({k: v for k, v in raw.items() if k in GEMMA2_DEFAULTS})
    if cfg["layer_types"] is None:  # Gemma-2: layers 0, 2, 4, ... slide
        cfg["layer_types"] = ["sliding_attention" if (i + 1) % 2 else "full_attention"
                              for i in range(cfg["num_hidden_layers"])]
    return cfg


def activation(name):
    if name == "gelu":
        return lambda x: F.gelu(x)
    if name in ("gelu_pytorch_tanh", "gelu_new"):
        return lambda x: F.gelu(x, approximate="tanh")
    raise SystemExit(f"hidden_activation {name!r} is not implemented here")


def rms_norm(x, w, eps):
    """Gemma2RMSNorm: computed in float32, gain (1 + w)."""
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * (1.0 + w.float())).to(x.dtype)


def rope(cfg, T):
    hd = cfg["head_dim"]
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    freqs = torch.outer(torch.arange(T).float(), inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def forward(cfg, w, tokens):
    """Gemma2ForCausalLM's logits for tokens (B, T) under config dict cfg and state dict w (HF names)."""
    B, T = tokens.shape
    d, H, KV, hd = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    act = activation(cfg["hidden_activation"])
    embed = w["model.embed_tokens.weight"]
    x = embed[tokens] * torch.tensor(d ** 0.5, dtype=embed.dtype)  # normalizer rounded to the weights' dtype
    cos, sin = rope(cfg, T)
    i = torch.arange(T)
    causal = i[None, :] <= i[:, None]  # key j visible to query i
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        visible = causal
        if cfg["layer_types"][l] == "sliding_attention" and cfg["sliding_window"] is not None:
            visible = causal & (i[:, None] - i[None, :] < cfg["sliding_window"])
        mask = torch.zeros(T, T).masked_fill(~visible, float("-inf"))
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)

        def proj(name, heads):
            y = h @ w[p + f"self_attn.{name}.weight"].t()
            if cfg["attention_bias"]:
                y = y + w[p + f"self_attn.{name}.bias"]
            return y.view(B, T, heads, hd).transpose(1, 2)

        q, k, v = proj("q_proj", H), proj("k_proj", KV), proj("v_proj", KV)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
        s = (q @ k.transpose(-2, -1)) * cfg["query_pre_attn_scalar"] ** -0.5
        if cfg["attn_logit_softcapping"] is not None:
            c = cfg["attn_logit_softcapping"]
            s = torch.tanh(s / c) * c
        a = torch.softmax(s + mask, dim=-1) @ v
        o = a.transpose(1, 2).reshape(B, T, H * hd) @ w[p + "self_attn.o_proj.weight"].t()
        if cfg["attention_bias"]:
            o = o + w[p + "self_attn.o_proj.bias"]
        x = x + rms_norm(o, w[p + "post_attention_layernorm.weight"], eps)
        h = rms_norm(x, w[p + "pre_feedforward_layernorm.weight"], eps)
        m = (act(h @ w[p + "mlp.gate_proj.weight"].t()) * (h @ w[p + "mlp.up_proj.weight"].t())) \
            @ w[p + "mlp.down_proj.weight"].t()
        x = x + rms_norm(m, w[p + "post_feedforward_layernorm.weight"], eps)
    head = embed if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    logits = rms_norm(x, w["model.norm.weight"], eps) @ head.t()
    if cfg["final_logit_softcapping"] is not None:
        c = cfg["final_logit_softcapping"]
        logits = torch.tanh(logits / c) * c
    return logits


def encode(tokenizer_json, text):
    """The tokenizers library's BPE with no merges and byte fallback, on text with no normalizer/pre-tokenizer."""
    model = tokenizer_json["model"]
    for k in ("normalizer", "pre_tokenizer", "post_processor"):
        if tokenizer_json.get(k) is not None:
            raise SystemExit(f"tokenizer.json: {k} is set; this encoder implements none")
    if model["type"] != "BPE" or model["merges"] or not model.get("byte_fallback"):
        raise SystemExit("tokenizer.json: not a BPE vocabulary without merges with byte_fallback")
    vocab = model["vocab"]
    ids = []
    for ch in text:
        if ch in vocab:
            ids.append(vocab[ch])
        else:
            ids.extend(vocab["<0x%02X>" % b] for b in ch.encode("utf-8"))
    return ids


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hf", default=DEFAULT_HF)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)

    cfg = read_config(os.path.join(args.hf, "config.json"))
    weights, meta = safetensors_io.load(os.path.join(args.hf, "model.safetensors"))
    if meta.get("format") != "pt":
        raise SystemExit("model.safetensors: metadata format is not 'pt' (transformers would refuse it)")
    with open(os.path.join(args.hf, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    V, T = cfg["vocab_size"], cfg["max_position_embeddings"]
    if len(tok["model"]["vocab"]) != V:
        raise SystemExit(f"tokenizer.json has {len(tok['model']['vocab'])} tokens, config.json vocab_size {V}")

    text_ids = encode(tok, TEXT)
    row0 = (text_ids + text_ids)[:T]
    g = torch.Generator().manual_seed(16)
    row1 = torch.randint(0, V, (T,), generator=g).tolist()
    tokens = torch.tensor([row0, row1], dtype=torch.int64)
    with torch.no_grad():
        logits = forward(cfg, weights, tokens)

    safetensors_io.save(args.out, {
        "tokens": tokens, "logits": logits.contiguous(), "text_ids": torch.tensor(text_ids, dtype=torch.int64),
    }, {
        "format": "undo hf golden v1 (scripts/golden/hf_reference.py)",
        "text": TEXT,
        "source": os.path.relpath(os.path.abspath(args.hf), ROOT),
        "config_read": json.dumps({k: cfg[k] for k in sorted(cfg)}, separators=(",", ":")),
        "torch_version": torch.__version__,
    })
    print(f"wrote {args.out}: tokens {list(tokens.shape)}, logits {list(logits.shape)} "
          f"(max |logit| {logits.abs().max().item():.3f})")
    print(f"text {TEXT!r} -> {len(text_ids)} ids {text_ids}")

    # How far one misread key would move the logits: each must be far above the Java test's tolerance (2e-5).
    print("sensitivity (max |logits - logits with one key changed|):")
    variants = {
        "hidden_activation=gelu_pytorch_tanh": {"hidden_activation": "gelu_pytorch_tanh"},
        "query_pre_attn_scalar=256 (class default)": {"query_pre_attn_scalar": 256},
        "final_logit_softcapping=30.0": {"final_logit_softcapping": 30.0},
        "attn_logit_softcapping=50.0": {"attn_logit_softcapping": 50.0},
        "layer_types=default, sliding_window=4": {"layer_types": [
            "sliding_attention" if (i + 1) % 2 else "full_attention" for i in range(cfg["num_hidden_layers"])],
            "sliding_window": 4},
        "rms_norm_eps=1e-5": {"rms_norm_eps": 1e-5},
        "rope_theta=1e6": {"rope_theta": 1e6},
    }
    with torch.no_grad():
        for name, change in variants.items():
            other = forward({**cfg, **change}, weights, tokens)
            print(f"  {name:45s} {(other - logits).abs().max().item():.3e}")


if __name__ == "__main__":
    main()
