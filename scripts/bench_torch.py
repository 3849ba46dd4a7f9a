"""Training-throughput baseline: the MODEL.md decoder in Python PyTorch on random token batches.

Runs `--warmup` untimed and `--steps` timed training steps (forward, mean CE, backward, global-norm clip,
AdamW with weight decay on 2-D params, exactly as scripts/golden/reference_model.py does) and prints one JSON
line with tokens/s and the median step time, for comparison with the Java/DJL implementation on the same
shapes. It measures; it asserts nothing.

Threads: torch's intra-op pool and the BLAS library's pool are separate, and on this 2-core machine giving both
2 threads oversubscribes the cores (OpenBLAS's idle threads spin while torch's run; 2-3x slower, see
shared/docs/ENGINE-NOTES.md.md). So the thread counts are put in the environment before torch is imported, and
--blas-threads defaults to cores - threads + 1: a GEMM runs on the calling thread plus the BLAS pool, so this
keeps the busy threads at the core count. OMP_WAIT_POLICY defaults to PASSIVE (see below). Measured on an idle
2-core EPYC with Debian's OpenBLAS 0.3.21, at the size above: intra-op 2 + BLAS 1 (the default) 231 ms/step,
1 + 2 222-237 ms, 1 + 1 263-273 ms, 2 + 2 over 500 ms. With one core taken by another process: 1 + 1 about
250 ms, 2 + 1 about 260-270 ms with PASSIVE but 0.8-4.8 s with libgomp's spinning default. Without OpenBLAS
(Debian's reference libblas3 only) a step takes about 3.3 s: `apt-get install -y python3-torch
libopenblas0-pthread`. The "blas" field says which BLAS was actually loaded (vendor "reference" means the slow
one; `undo bench --compare` then prints no ratio). The "other_cpu_pct" field says how busy the machine was
meanwhile; a number measured while something else ran is not a baseline.

  /usr/bin/python3 scripts/bench_torch.py --vocab 256 --hidden 128 --layers 4 --heads 4 \\
      --intermediate 512 --seq 128 --batch 16

--batches FILE trains on the batches of a safetensors file (`steps.tokens`/`steps.targets` or
`tokens`/`targets`, shape (N, B, T) or (B, T); cycled), --save-batches FILE writes the random batches used,
--init FILE starts from the weights of a safetensors file (`init.<name>` or `<name>`), so that another
implementation can be run on identical inputs.
"""

import argparse
import os
import sys


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="PyTorch training-throughput baseline for the MODEL.md decoder")
    ap.add_argument("--vocab", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=512)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=30, help="timed steps")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps before the timed ones")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="BLAS (OpenBLAS/MKL) threads; default: cores - threads + 1, at least 1 "
                         "(2 when --threads 1 on 2 cores, 1 when --threads 2)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--batches", metavar="FILE", help="safetensors file with the batches to train on")
    ap.add_argument("--save-batches", metavar="FILE", help="write the batches used to this safetensors file")
    ap.add_argument("--init", metavar="FILE", help="safetensors file with initial weights")
    ap.add_argument("--losses", action="store_true", help="include every step's loss in the JSON line")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or args.threads < 1:
        ap.error("need --steps >= 1, --warmup >= 0, --threads >= 1")
    if args.blas_threads is None:
        args.blas_threads = max(1, (os.cpu_count() or 1) - args.threads + 1)
    return args


args = parse_args()
# Must happen before torch (and with it OpenMP and the BLAS library) is loaded: they read these once.
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
os.environ["MKL_NUM_THREADS"] = str(args.blas_threads)
# libgomp's default spins at every barrier: when another process holds one of the two cores, a spinning thread
# waits for a descheduled one and a step with 2 intra-op threads took 0.8-4.8 s instead of 0.26 s (measured
# here). PASSIVE waiters sleep instead. Set OMP_WAIT_POLICY=ACTIVE yourself to measure the spinning variant.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden"))
import reference_model as rm  # noqa: E402
import safetensors_io  # noqa: E402


BLAS_NAMES = ("blas", "lapack", "mkl", "blis", "atlas")


def blas_report():
    """Which BLAS this process actually runs, for judging the comparison: {vendor, libraries, build}.

    Debian's torch is built against the generic libblas.so.3 (torch.__config__ says BLAS_INFO=generic) and gets
    whatever the libblas.so.3 alternative points to at run time: OpenBLAS when libopenblas0-pthread is installed,
    otherwise the unoptimised reference BLAS of libblas3, about 20x slower here. So the answer is read from the
    libraries mapped into this process after a matrix product has run (/proc/self/maps); only when no BLAS library
    is mapped (pip wheels link MKL statically) does the build configuration decide. vendor is one of "openblas",
    "mkl", "blis", "atlas", "reference" (a libblas.so.* from none of those) or "unknown".
    """
    x = torch.ones(64, 64)
    (x @ x).sum().item()  # a GEMM, so a lazily loaded BLAS is mapped by now
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 6 or not parts[-1].startswith("/"):
                    continue
                name = os.path.basename(parts[-1]).lower()
                if any(k in name for k in BLAS_NAMES):
                    libs.add(os.path.realpath(parts[-1]))
    except OSError:
        pass
    names = [os.path.basename(p).lower() for p in libs]
    m = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    build = m.group(1) if m else ""
    if any(n.startswith("libmkl") for n in names):
        vendor = "mkl"
    elif any("openblas" in n for n in names):
        vendor = "openblas"
    elif any(n.startswith("libblis") for n in names):
        vendor = "blis"
    elif any("atlas" in p.lower() for p in libs):
        vendor = "atlas"
    elif any(n.startswith("libblas.so") for n in names):
        vendor = "reference"
    elif build in ("mkl", "open", "openblas", "blis"):
        vendor = {"open": "openblas"}.get(build, build)  # linked into libtorch itself
    else:
        vendor = "unknown"
    return {"vendor": vendor, "libraries": sorted(libs), "build": build}


def cpu_seconds():
    """(CPU seconds used by the whole machine, by this process) so far; None where /proc is missing.

    The difference over the timed steps tells how much other processes ran meanwhile: on a shared 2-core
    machine a concurrent build can double the step time, and the JSON line says so instead of hiding it.
    """
    import resource
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    machine = (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    r = resource.getrusage(resource.RUSAGE_SELF)
    return machine, r.ru_utime + r.ru_stime


def read_batches(path):
    t, _ = safetensors_io.load(path)
    for tk, gk in (("steps.tokens", "steps.targets"), ("tokens", "targets")):
        if tk in t and gk in t:
            tokens, targets = t[tk].long(), t[gk].long()
            break
    else:
        raise SystemExit(f"{path}: needs steps.tokens/steps.targets or tokens/targets")
    if tokens.dim() == 2:
        tokens, targets = tokens.unsqueeze(0), targets.unsqueeze(0)
    if tokens.shape != targets.shape or tokens.dim() != 3:
        raise SystemExit(f"{path}: tokens {list(tokens.shape)} / targets {list(targets.shape)} not (N, B, T)")
    return list(zip(tokens.unbind(0), targets.unbind(0)))


def random_batches(n, batch, seq, vocab, generator):
    out = []
    for _ in range(n):
        s = torch.randint(0, vocab, (batch, seq + 1), generator=generator)
        out.append((s[:, :-1].clone(), s[:, 1:].clone()))
    return out


def load_init(model, path):
    t, _ = safetensors_io.load(path)
    with torch.no_grad():
        for n, p in model.named_parameters():
            src = t.get("init." + n, t.get(n))
            if src is None:
                raise SystemExit(f"{path}: no init.{n} or {n}")
            if tuple(src.shape) != tuple(p.shape):
                raise SystemExit(f"{path}: {n} has shape {list(src.shape)}, model wants {list(p.shape)}")
            p.copy_(src)


def main():
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    n_total = args.warmup + args.steps

    if args.batches:
        batches = read_batches(args.batches)
        b, t = batches[0][0].shape
        if (b, t) != (args.batch, args.seq):
            print(f"note: batch x seq taken from {args.batches}: {b} x {t}", file=sys.stderr)
        args.batch, args.seq = b, t
        batches = [batches[i % len(batches)] for i in range(n_total)]
    else:
        batches = random_batches(n_total, args.batch, args.seq, args.vocab,
                                 torch.Generator().manual_seed(args.seed + 1))
    if args.save_batches:
        safetensors_io.save(args.save_batches,
                            {"steps.tokens": torch.stack([x for x, _ in batches]),
                             "steps.targets": torch.stack([y for _, y in batches])},
                            {"generator": "scripts/bench_torch.py",
                             "source": f"copied from {args.batches}" if args.batches
                             else f"torch.randint, torch.Generator().manual_seed({args.seed + 1})"})

    cfg = rm.ModelConfig(vocab_size=args.vocab, hidden_size=args.hidden, num_layers=args.layers,
                         num_heads=args.heads, intermediate_size=args.intermediate, max_seq_len=args.seq)
    model = rm.Decoder(cfg)
    torch.manual_seed(args.seed)
    rm.init_weights(model)
    if args.init:
        load_init(model, args.init)
    oc = rm.OptimConfig(lr=args.lr)
    opt = rm.make_optimizer(model, oc)

    times, cpu_times, losses = [], [], []
    for i, (tokens, targets) in enumerate(batches):
        if i == args.warmup:
            cpu0, wall0 = cpu_seconds(), time.perf_counter()
        t0, c0 = time.perf_counter(), time.process_time()
        loss, _ = rm.train_step(model, opt, tokens, targets, oc.max_grad_norm)
        loss_value = loss.item()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        losses.append(loss_value)
        if i >= args.warmup:
            times.append(dt)
            cpu_times.append(dc)
    cpu1, wall1 = cpu_seconds(), time.perf_counter()
    other_cpu_pct = None
    if cpu0 and cpu1:
        other = (cpu1[0] - cpu0[0]) - (cpu1[1] - cpu0[1])
        other_cpu_pct = round(max(0.0, 100.0 * other / ((wall1 - wall0) * (os.cpu_count() or 1))), 1)

    median = statistics.median(times)
    tokens_per_step = args.batch * args.seq
    print(json.dumps({
        "impl": "pytorch",
        "torch": torch.__version__,
        "blas": blas_report(),
        "tokens_per_s": round(tokens_per_step / median, 1),
        "step_ms_median": round(median * 1e3, 2),
        "step_ms_mean": round(statistics.fmean(times) * 1e3, 2),
        "step_ms_min": round(min(times) * 1e3, 2),
        # CPU time of all this process's threads per step. With 1 thread and 1 BLAS thread it is close to the
        # step time on an idle machine even when other processes compete for the cores; with more threads it
        # also counts OpenBLAS's spin-waiting.
        "step_cpu_ms_median": round(statistics.median(cpu_times) * 1e3, 2),
        "params": rm.count_params(model),
        "other_cpu_pct": other_cpu_pct,  # share of the machine used by other processes while timing
        "threads": args.threads,
        "blas_threads": args.blas_threads,
        "omp_wait_policy": os.environ["OMP_WAIT_POLICY"],
        "config": cfg.to_dict(),
        "batch": args.batch,
        "seq": args.seq,
        "steps": args.steps,
        "warmup": args.warmup,
        "loss_first": round(losses[0], 6),
        "loss_last": round(losses[-1], 6),
        **({"losses": losses} if args.losses else {}),
    }))


if __name__ == "__main__":
    main()
