"""Cross-checks the golden fixture and measures the tolerances a test needs.

Two independent comparisons against src/test/resources/golden/tiny.safetensors:
  1. float64: MODEL.md re-derived from scratch as functional code over the fixture's `init.*` tensors (no code
     shared with reference_model.py: einsum attention, RoPE written out per half, GELU through erf, a
     hand-written clip and AdamW). This checks the reference against the spec, and its distance to the
     float32 fixture is the rounding noise that any float32 implementation carries.
  2. float32: the fixture rebuilt by make_golden.build_fixture with the thread counts given here, to see how
     much thread count and BLAS library move the numbers.

Usage: /usr/bin/python3 scripts/golden/check_reference.py [--threads N] [--blas-threads M] [--fixture PATH]
       /usr/bin/python3 scripts/golden/check_reference.py --thread-sensitivity   (bench-size model, 1 vs 2 threads)
"""

import argparse
import os
import sys

ap = argparse.ArgumentParser(description="compare the golden fixture with float64 and re-run float32")
ap.add_argument("--fixture", default=None)
ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads for the float32 rebuild")
ap.add_argument("--blas-threads", type=int, default=1, help="OPENBLAS/OMP threads, set before torch loads")
ap.add_argument("--skip-float32", action="store_true")
ap.add_argument("--thread-sensitivity", action="store_true",
                help="instead: compare float32 logits/grads of the bench-size model across thread settings")
ap.add_argument("--dump-bench-size", metavar="PATH", help=argparse.SUPPRESS)  # worker of the option above
args = ap.parse_args()
os.environ["OMP_NUM_THREADS"] = str(max(args.threads, 1))
os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
os.environ["MKL_NUM_THREADS"] = str(args.blas_threads)

import json  # noqa: E402
import math  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden as mg  # noqa: E402
import safetensors_io  # noqa: E402


def f64_model(P, cfg, tokens, upto=None):
    """Returns (logits, [residual stream after each block]) in float64."""
    d, H, eps = cfg["hidden_size"], cfg["num_heads"], cfg["rms_norm_eps"]
    hd = d // H
    B, T = tokens.shape

    def rms(x, w):
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * (1.0 + w)

    half = hd // 2
    inv_freq = torch.tensor([cfg["rope_theta"] ** (-2.0 * j / hd) for j in range(half)], dtype=torch.float64)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]  # (T, hd/2)
    c, s = torch.cos(ang), torch.sin(ang)

    def rope(t):  # (B, H, T, hd); first half pairs with second half
        a, b = t[..., :half], t[..., half:]
        return torch.cat([a * c - b * s, b * c + a * s], dim=-1)

    allowed = torch.ones(T, T, dtype=torch.bool).tril()
    x = P["embed_tokens.weight"][tokens] * math.sqrt(d)
    streams = []
    L = cfg["num_layers"] if upto is None else upto + 1
    for i in range(L):
        w = lambda n: P[f"layers.{i}.{n}.weight"]  # noqa: E731
        h = rms(x, w("input_layernorm"))
        q, k, v = (torch.einsum("btc,oc->bto", h, w(f"self_attn.{n}")).reshape(B, T, H, hd).permute(0, 2, 1, 3)
                   for n in ("q_proj", "k_proj", "v_proj"))
        q, k = rope(q), rope(k)
        sc = torch.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(hd)
        sc = sc.masked_fill(~allowed, float("-inf"))
        p = torch.exp(sc - sc.amax(-1, keepdim=True))
        p = p / p.sum(-1, keepdim=True)
        a = torch.einsum("bhqk,bhkd->bhqd", p, v).permute(0, 2, 1, 3).reshape(B, T, d)
        x = x + rms(torch.einsum("btc,oc->bto", a, w("self_attn.o_proj")), w("post_attention_layernorm"))
        h = rms(x, w("pre_feedforward_layernorm"))
        g = torch.einsum("btc,oc->bto", h, w("mlp.gate_proj"))
        u = torch.einsum("btc,oc->bto", h, w("mlp.up_proj"))
        m = torch.einsum("btf,of->bto", 0.5 * g * (1.0 + torch.erf(g / math.sqrt(2.0))) * u, w("mlp.down_proj"))
        x = x + rms(m, w("post_feedforward_layernorm"))
        streams.append(x)
    logits = torch.einsum("btc,vc->btv", rms(x, P["norm.weight"]), P["embed_tokens.weight"])
    return logits, streams


def f64_loss(logits, targets):
    keep = targets != -1
    lse = torch.logsumexp(logits, dim=-1)
    picked = logits.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return ((lse - picked) * keep).sum() / keep.sum()


def f64_train(P0, cfg, oc, step_tokens, step_targets):
    P = {n: t.clone().requires_grad_(True) for n, t in P0.items()}
    m = {n: torch.zeros_like(t) for n, t in P0.items()}
    v = {n: torch.zeros_like(t) for n, t in P0.items()}
    b1, b2, lr, eps = oc["beta1"], oc["beta2"], oc["lr"], oc["eps"]
    losses, norms = [], []
    for t in range(1, step_tokens.shape[0] + 1):
        loss = f64_loss(f64_model(P, cfg, step_tokens[t - 1])[0], step_targets[t - 1])
        grads = torch.autograd.grad(loss, list(P.values()))
        g = dict(zip(P.keys(), grads))
        norm = math.sqrt(sum((x * x).sum().item() for x in grads))
        coef = oc["max_grad_norm"] / (norm + 1e-6)
        losses.append(loss.item())
        norms.append(norm)
        with torch.no_grad():
            for n, p in P.items():
                gn = g[n] * coef if coef < 1.0 else g[n]
                wd = oc["weight_decay"] if p.dim() >= 2 else 0.0
                p.mul_(1.0 - lr * wd)
                m[n] = b1 * m[n] + (1 - b1) * gn
                v[n] = b2 * v[n] + (1 - b2) * gn * gn
                mhat = m[n] / (1 - b1 ** t)
                vhat = v[n] / (1 - b2 ** t)
                p.sub_(lr * mhat / (torch.sqrt(vhat) + eps))
    return losses, norms, {n: p.detach() for n, p in P.items()}


def diff(a, b):
    """(max |a-b|, max |a-b| / max |b|) as floats, both in float64."""
    a, b = a.double(), b.double()
    mad = (a - b).abs().max().item()
    scale = b.abs().max().item()
    return mad, (mad / scale if scale > 0 else float("inf"))


def report(title, rows):
    print(title)
    for name, (mad, rel) in rows:
        print(f"  {name:34s} max|diff| {mad:10.3e}   relative to max|x| {rel:10.3e}")


def group_max(items):
    """Worst (abs, rel) over several (abs, rel) pairs."""
    items = list(items)
    return max(i[0] for i in items), max(i[1] for i in items)


# The bench_torch.py default shape: big enough for torch's intra-op pool and OpenBLAS to split work.
BENCH_CFG = dict(vocab_size=256, hidden_size=128, num_layers=4, num_heads=4, intermediate_size=512,
                 max_seq_len=128)


def dump_bench_size(path):
    """Worker: one float32 forward/backward of the bench-size model with this process's threads."""
    import reference_model as rm
    torch.set_num_threads(args.threads)
    model = rm.Decoder(rm.ModelConfig(**BENCH_CFG))
    torch.manual_seed(7)
    rm.init_weights(model, norm_std=0.1)
    seq = torch.randint(0, BENCH_CFG["vocab_size"], (16, BENCH_CFG["max_seq_len"] + 1))
    logits, streams = model(seq[:, :-1], return_hidden=True)
    loss = rm.lm_loss(logits, seq[:, 1:])
    loss.backward()
    out = {"logits": logits.detach(), "loss": loss.detach(), "hidden.last": streams[-1].detach()}
    out.update({"grad." + n: p.grad for n, p in model.named_parameters()})
    safetensors_io.save(path, out)


def thread_sensitivity():
    import subprocess
    import tempfile
    settings = [(1, 1), (2, 1), (1, 2), (2, 2)]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for th, bl in settings:
            out = os.path.join(tmp, f"{th}_{bl}.safetensors")
            subprocess.run([sys.executable, os.path.abspath(__file__), "--threads", str(th), "--blas-threads",
                            str(bl), "--dump-bench-size", out], check=True)
            results[(th, bl)] = safetensors_io.load(out)[0]
    base = results[(1, 1)]
    print(f"bench-size model {BENCH_CFG}, batch 16, float32, blas {mg.blas_library()}; vs 1 intra-op + 1 BLAS:")
    for key in settings[1:]:
        r = results[key]
        same = sum(torch.equal(r[k], base[k]) for k in base)
        g = group_max(diff(r[k], base[k]) for k in base if k.startswith("grad."))
        print(f"  intra-op {key[0]}, BLAS {key[1]}: {same}/{len(base)} tensors bit-identical; "
              f"logits {diff(r['logits'], base['logits'])[0]:.2e}, loss {diff(r['loss'], base['loss'])[0]:.2e}, "
              f"last hidden {diff(r['hidden.last'], base['hidden.last'])[0]:.2e}, grads {g[0]:.2e} "
              f"(max|diff|; rel {g[1]:.1e})")


def main():
    if args.dump_bench_size:
        return dump_bench_size(args.dump_bench_size)
    if args.thread_sensitivity:
        return thread_sensitivity()
    path = args.fixture or mg.DEFAULT_OUT
    fx, meta = safetensors_io.load(path)
    cfg = json.loads(meta["config"])
    oc = json.loads(meta["optimizer"])
    names = [k[len("init."):] for k in fx if k.startswith("init.")]
    print(f"fixture {path}\n  made with torch {meta['torch_version']}, blas {meta['blas']}")
    print(f"this run: torch {torch.__version__}, blas {mg.blas_library()}, intra-op {args.threads}, "
          f"blas/omp threads {args.blas_threads}")

    # 1. float64 from scratch
    P = {n: fx["init." + n].double().requires_grad_(True) for n in names}
    logits, streams = f64_model(P, cfg, fx["tokens"])
    loss = f64_loss(logits, fx["targets"])
    grads = dict(zip(names, torch.autograd.grad(loss, [P[n] for n in names])))
    losses, norms, final = f64_train({n: fx["init." + n].double() for n in names}, cfg, oc,
                                     fx["steps.tokens"], fx["steps.targets"])
    rows = [("logits", diff(fx["logits"], logits)), ("loss", diff(fx["loss"], loss.detach()))]
    rows += [(f"hidden.{i}", diff(fx[f"hidden.{i}"], s.detach())) for i, s in enumerate(streams)]
    rows += [("grad.* (worst tensor)", group_max(diff(fx["grad." + n], grads[n]) for n in names))]
    rows += [("steps.loss", diff(fx["steps.loss"], torch.tensor(losses))),
             ("steps.grad_norm", diff(fx["steps.grad_norm"], torch.tensor(norms))),
             ("final.* (worst tensor)", group_max(diff(fx["final." + n], final[n]) for n in names))]
    rows += [("final_logits", diff(fx["final_logits"], f64_model(final, cfg, fx["tokens"])[0]))]
    d_final = [(n, diff(fx["final." + n], final[n])[0]) for n in names]
    report("float32 fixture vs float64 re-derivation of MODEL.md:", rows)
    worst = max(d_final, key=lambda t: t[1])
    print(f"  (worst final tensor: {worst[0]}; |final - init| is up to "
          f"{max((fx['final.' + n] - fx['init.' + n]).abs().max().item() for n in names):.3f})")
    print("  float64 step losses: " + " ".join(f"{x:.6f}" for x in losses))

    # Hidden state from an early-stopped forward equals the full forward's (MODEL.md "hidden after layer").
    for i in range(cfg["num_layers"]):
        _, s = f64_model(P, cfg, fx["tokens"], upto=i)
        assert torch.equal(s[-1], streams[i])

    if args.skip_float32:
        return
    # 2. float32 rebuild with this run's threads and BLAS
    t32, _ = mg.build_fixture(threads=args.threads)
    identical = [k for k in fx if torch.equal(fx[k], t32[k])]
    print(f"float32 rebuild vs fixture: {len(identical)}/{len(fx)} tensors bit-identical")
    rows = [(k, diff(t32[k], fx[k])) for k in ("logits", "loss", "hidden.0", "hidden.1", "steps.loss",
                                                "steps.grad_norm", "final_logits")]
    rows += [("grad.* (worst tensor)", group_max(diff(t32["grad." + n], fx["grad." + n]) for n in names)),
             ("final.* (worst tensor)", group_max(diff(t32["final." + n], fx["final." + n]) for n in names))]
    report("float32 rebuild vs fixture:", rows)


if __name__ == "__main__":
    main()
