"""Writes the golden-test fixture src/test/resources/golden/tiny.safetensors from the PyTorch reference.

llm.c-style: one file holds the initial weights, one batch with its logits, loss, residual streams and every
gradient, and ten AdamW steps (batches, losses, final weights) for a tiny config. The Java test loads it, runs
the same computation and compares within the tolerances in scripts/golden/README.md.

Run from anywhere:  /usr/bin/python3 scripts/golden/make_golden.py [--out PATH]
Deterministic: single-threaded float32, fixed seed, no timestamps; a rerun on the same machine gives a
byte-identical file (the BLAS library in use can change the last bits; it is recorded in the metadata).
"""

import os

if __name__ == "__main__":
    # One thread everywhere, fixed before torch is imported (OpenMP and OpenBLAS read these at load time):
    # the file then cannot depend on how work is split between threads (measured: it does not, see README).
    # (check_reference.py imports this module and sets its own thread counts to measure their effect.)
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import argparse
import hashlib
import json
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_model as rm  # noqa: E402
import safetensors_io  # noqa: E402

SEED = 1234
BATCH = 3
NUM_STEPS = 10
NORM_INIT_STD = 0.1  # instead of MODEL.md's 0, so that a wrong (1 + w) gain cannot pass the test
ZIPF_EXPONENT = 1.0  # token i (0-based) has probability proportional to 1 / (i + 1)
MASKED_ROW, MASKED_TAIL = 1, 3  # targets[1, -3:] = -1 in every batch

TINY = rm.ModelConfig(vocab_size=61, hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64,
                      max_seq_len=16, rope_theta=10000.0, rms_norm_eps=1e-6)
OPTIM = rm.OptimConfig(lr=1e-2, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, max_grad_norm=1.0)

DEFAULT_OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                            "src", "test", "resources", "golden", "tiny.safetensors"))


def random_batch(cfg: rm.ModelConfig):
    """Next-token batch from one random sequence of length T+1; a few targets set to the ignore index.

    Tokens are i.i.d. Zipf(1) over the vocabulary rather than uniform: uniform targets cannot be learnt, so the
    ten step losses would only wander around ln V, while a skewed unigram makes them fall (4.1 -> ~3.5), which
    shows at a glance that the optimiser moves the model the right way.
    """
    probs = 1.0 / torch.arange(1, cfg.vocab_size + 1, dtype=torch.float32) ** ZIPF_EXPONENT
    seq = torch.multinomial(probs, BATCH * (cfg.max_seq_len + 1), replacement=True)
    seq = seq.view(BATCH, cfg.max_seq_len + 1).to(torch.int64)
    tokens = seq[:, :-1].clone()
    targets = seq[:, 1:].clone()
    targets[MASKED_ROW, -MASKED_TAIL:] = rm.IGNORE_INDEX
    return tokens, targets


def blas_library() -> str:
    """The BLAS shared object this process really loaded (Debian switches it through alternatives)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f
                     if "/" in line and "blas" in os.path.basename(line.split()[-1]).lower()}
        return ",".join(sorted(os.path.realpath(p) for p in paths)) or "unknown"
    except OSError:
        return "unknown"


def build_fixture(threads: int = 1):
    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float32)
    cfg = TINY
    model = rm.Decoder(cfg)
    # Reseed after construction so the draws below do not depend on what the module constructors consumed.
    torch.manual_seed(SEED)
    rm.init_weights(model, norm_std=NORM_INIT_STD)
    init = {n: p.detach().clone() for n, p in model.named_parameters()}
    tokens, targets = random_batch(cfg)
    step_batches = [random_batch(cfg) for _ in range(NUM_STEPS)]

    # One forward/backward at the initial weights; gradients stored unclipped.
    model.zero_grad(set_to_none=True)
    logits, streams = model(tokens, return_hidden=True)
    loss = rm.lm_loss(logits, targets)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    for i in range(cfg.num_layers):  # the early-stopped path must agree with the full forward
        assert torch.equal(model.hidden_after_layer(tokens, i), streams[i])

    # Ten training steps from the same initial weights.
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(init[n])
    opt = rm.make_optimizer(model, OPTIM)
    step_losses, step_norms = [], []
    for tok, tgt in step_batches:
        l, gn = rm.train_step(model, opt, tok, tgt, OPTIM.max_grad_norm)
        step_losses.append(l)
        step_norms.append(gn)
    final = {n: p.detach().clone() for n, p in model.named_parameters()}
    # The trained weights are five times larger than the initial ones, so their activations reach the range
    # where approximations (tanh GELU, say) that hide at init become visible.
    with torch.no_grad():
        final_logits = model(tokens)

    tensors = {}
    for n, t in init.items():
        tensors["init." + n] = t
    tensors["tokens"] = tokens
    tensors["targets"] = targets
    tensors["logits"] = logits.detach()
    tensors["loss"] = loss.detach().reshape(())
    for i, s in enumerate(streams):
        tensors[f"hidden.{i}"] = s.detach()
    for n, g in grads.items():
        tensors["grad." + n] = g
    tensors["steps.tokens"] = torch.stack([b[0] for b in step_batches])
    tensors["steps.targets"] = torch.stack([b[1] for b in step_batches])
    tensors["steps.loss"] = torch.stack(step_losses).reshape(NUM_STEPS)
    tensors["steps.grad_norm"] = torch.stack(step_norms).reshape(NUM_STEPS)
    for n, t in final.items():
        tensors["final." + n] = t
    tensors["final_logits"] = final_logits

    optim_meta = dict(OPTIM.to_dict())
    optim_meta.update({
        "algorithm": "AdamW, PyTorch formula (torch.optim.AdamW, foreach=False)",
        "weight_decay_applies_to": "2-D parameters (embedding included); 1-D norm weights get 0",
        "clipping": "torch.nn.utils.clip_grad_norm_: global L2 norm, coef = max_norm / (norm + 1e-6), "
                    "applied when < 1, before the optimiser step",
        "loss_per_step": "computed before that step's update",
    })
    metadata = {
        "format": "undo golden fixture v1 (see scripts/golden/README.md)",
        "generator": "scripts/golden/make_golden.py",
        "config": json.dumps(cfg.to_dict(), separators=(",", ":")),
        "optimizer": json.dumps(optim_meta, separators=(",", ":")),
        "seed": str(SEED),
        "init": f"torch.manual_seed({SEED}) then, in parameter order, matrices and embedding N(0, 0.02), "
                f"norm weights N(0, {NORM_INIT_STD}) (not MODEL.md's 0: exercises the 1 + w gain); "
                "then tokens/targets, then the steps.* batches, all from the same generator",
        "norm_init_std": str(NORM_INIT_STD),
        "batch": f"tokens = s[:, :-1], targets = s[:, 1:] of a (B, T+1) sequence s of i.i.d. tokens, "
                 f"P(i) proportional to 1/(i+1)^{ZIPF_EXPONENT} (torch.multinomial); "
                 f"targets[{MASKED_ROW}, -{MASKED_TAIL}:] = -1 in every batch (ignored by the loss)",
        "grads": "unclipped gradients of `loss` at the init weights",
        "hidden": "hidden.<l> = residual stream after block l (0-based), before the final norm",
        "final_logits": "final_logits = logits of `tokens` at the final.* weights",
        "steps": str(NUM_STEPS),
        "dtype": "float32",
        "threads": f"{threads} torch intra-op; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
                   f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}",
        "torch_version": torch.__version__,
        "blas": blas_library(),
    }
    return tensors, metadata


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()

    tensors, metadata = build_fixture()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    safetensors_io.save(args.out, tensors, metadata)

    # Read back what was written: the file, not the in-memory tensors, is what the Java test sees.
    back, meta_back = safetensors_io.load(args.out)
    assert list(back) == list(tensors) and meta_back == metadata
    for n, t in tensors.items():
        assert back[n].dtype == t.dtype and torch.equal(back[n], t), n

    with open(args.out, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, {len(tensors)} tensors)")
    print(f"sha256 {digest}")
    print(f"torch {metadata['torch_version']}, blas {metadata['blas']}")
    print(f"config {metadata['config']}")
    for n, t in tensors.items():
        print(f"  {n:58s} {str(t.dtype).replace('torch.', ''):8s} {list(t.shape)}")
    print(f"loss at init     {tensors['loss'].item():.8f}  (ln V = {torch.log(torch.tensor(61.0)).item():.8f})")
    print("step losses      " + " ".join(f"{v:.6f}" for v in tensors["steps.loss"].tolist()))
    print("step grad norms  " + " ".join(f"{v:.6f}" for v in tensors["steps.grad_norm"].tolist()))


if __name__ == "__main__":
    main()
