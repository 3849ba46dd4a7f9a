#!/usr/bin/env python3
"""Per-seed markdown tables for RESULTS.md from a finished multi-seed run folder: one row per model, each cell
listing the seeds side by side (metrics before the attack, student steps, the adversary's worst case at two report
steps and its mean over seeds). Complements scripts/results_tables.py, which prints every model of every seed
with its intervals.
Usage: scripts/seed_tables.py RUN_DIR [STEP_A STEP_B]   (default: the attack's last two report steps)"""
import json
import sys
from pathlib import Path

run = Path(sys.argv[1])
man = json.loads((run / "manifest.json").read_text())


def attack(x):
    return json.loads((run / x["attack"] / "attack.json").read_text())


for setting, s in man["settings"].items():
    arith = setting == "arithmetic"
    seeds = sorted({x["seed"] for x in s["models"]})
    names = list(dict.fromkeys(x["name"] for x in s["models"]))
    by = {(x["name"], x["seed"]): x for x in s["models"]}
    first = attack(s["models"][0])
    steps = list(first["forget_at"].keys())
    a, b = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else (steps[-2], steps[-1])
    ss = "s" + "; s".join(str(sd) for sd in seeds)
    if arith:
        head = ["model", f"× / ÷ equations before attack ({ss})", f"+ / − equations ({ss})"]
    else:
        head = ["model", f"{s['forget_metric']} before attack ({' / '.join(map(str, seeds))})",
                f"{s['retain_metric']} ({' / '.join(map(str, seeds))})"]
    head += [f"student steps ({' / '.join(map(str, seeds))})", f"worst case at step {a} (per seed; mean)",
             f"at step {b} (mean)"]
    print(f"\n#### {setting}\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for n in names:
        xs = [by.get((n, sd)) for sd in seeds]
        if any(x is None for x in xs):
            continue
        if arith:
            c1 = "; ".join(f"{x['metrics']['multiplication_equation_acc']:.2f} / "
                           f"{x['metrics']['division_equation_acc']:.2f}" for x in xs)
            c2 = "; ".join(f"{x['metrics']['addition_equation_acc']:.2f} / "
                           f"{x['metrics']['subtraction_equation_acc']:.2f}" for x in xs)
        else:
            c1 = " / ".join(f"{x['metrics'][s['forget_metric']]:.2f}" for x in xs)
            c2 = " / ".join(f"{x['metrics'][s['retain_metric']]:.3f}" for x in xs)

        def steps_of(x):
            st = x.get("student")
            if not st:
                return "—"
            return f"{st['steps']}" + ("" if st["stopped_by_rule"] else " (**not met**)")

        c3 = " / ".join(steps_of(x) for x in xs)
        at = [attack(x)["forget_at"] for x in xs]
        wa = [f[a] for f in at]
        wb = [f[b] for f in at]
        c4 = " / ".join(f"{v:.2f}" for v in wa) + f"; {sum(wa) / len(wa):.2f}"
        c5 = f"{sum(wb) / len(wb):.2f}"
        print(f"| {n} | {c1} | {c2} | {c3} | {c4} | {c5} |")
