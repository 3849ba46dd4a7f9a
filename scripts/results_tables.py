#!/usr/bin/env python3
"""Markdown tables for RESULTS.md from a finished run folder: models (metrics with intervals, student rule,
ledger), attacks (worst case at the report steps with intervals) and claims (verdict and reasons per setting).
Usage: scripts/results_tables.py RUN_DIR"""
import json
import sys
from pathlib import Path

run = Path(sys.argv[1])
man = json.loads((run / "manifest.json").read_text())
claims = json.loads((run / "report" / "claims.json").read_text())


def iv(m, k, nd=2):
    if k not in m or m[k] is None:
        return "n/a"
    lo, hi = m.get(k + "_lo"), m.get(k + "_hi")
    if lo is None:
        return f"{m[k]:.{nd}f}"
    return f"{m[k]:.{nd}f} [{lo:.{nd}f}, {hi:.{nd}f}]"


for setting, s in man["settings"].items():
    print(f"\n#### {setting}: models\n")
    arith = setting == "arithmetic"
    if arith:
        ops = ["addition", "subtraction", "multiplication", "division"]
        head = ["model"] + [f"{o[:3]} eq" for o in ops] + ["word (+/−/×/÷)", "English CE", "student", "paper ledger"]
    else:
        head = ["model", s.get("retain_metric", "retain"), s.get("forget_metric", "forget"), "student", "paper ledger"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    multi = len({x.get("seed") for x in s["models"]}) > 1

    def label(x):
        return f"{x['name']} (seed {x['seed']})" if multi else x["name"]

    for x in s["models"]:
        m = x["metrics"]
        st = x.get("student")
        stud = "—" if not st else (f"{'met' if st['stopped_by_rule'] else '**not met**'} at {st['steps']}/{st['max_steps']}, gap {st['gap']:.3f}")
        led = x.get("ledger") or {}
        pf = f"{led.get('paper_fraction', 0):.2f}" if x["kind"] not in ("base", "filtered") else "1.00"
        if arith:
            row = [label(x)] + [iv(m, f"{o}_equation_acc") for o in ops]
            row += ["/".join(f"{m.get(o + '_word_problem_acc', float('nan')):.2f}" for o in ops)]
            row += [f"{m['eng_ce']:.3f}", stud, pf]
        else:
            row = [label(x), iv(m, s["retain_metric"], 3), iv(m, s["forget_metric"], 3), stud, pf]
        print("| " + " | ".join(row) + " |")
    print(f"\n#### {setting}: adversary's worst case ({s['forget_metric']}) at the report steps\n")
    steps = None
    rows = []
    for x in s["models"]:
        a = json.loads((run / x["attack"] / "attack.json").read_text())
        steps = list(a["forget_at"].keys())
        rows.append([label(x)] + [f"{a['forget_at'][k]:.3f} [{a['forget_at_lo'][k]:.3f}, {a['forget_at_hi'][k]:.3f}]" for k in steps])
        items = a.get("eval_items") or f"{a.get('eval_windows')} held-out windows"
    print("| model | " + " | ".join(f"step {k}" for k in steps) + " |")
    print("|" + "---|" * (len(steps) + 1))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(f"\n(attack evaluation items per point: {items})")

print("\n#### claims\n")
for c in claims["claims"]:
    print(f"- **{c['id']} — {c['verdict']}**")
    for setting, part in c["numbers"].get("settings", {}).items():
        v = part.get("verdict")
        reasons = part.get("reasons", [])
        summ = part.get("summary", "")
        if "methods" in part and not summ:
            summ = "; ".join(f"{k}: {mm.get('verdict')} ({'; '.join(mm.get('reasons', []))})" for k, mm in part["methods"].items())
        print(f"  - {setting}: {v} — {summ} {('— ' + '; '.join(reasons)) if reasons else ''}")
