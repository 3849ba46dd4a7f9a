#!/usr/bin/env python3
"""Two runs' claims side by side: each claim's verdict and its deciding number with its interval.

Usage: scripts/compare_claims.py A/report/claims.json B/report/claims.json [--labels A,B]

For the same models attacked two ways (e.g. a run and its copy re-attacked with another attack.* section under
`reproduce --force`), this shows what the attack changed in every verdict. Numbers per claim: C1 the oracle-
matching excess, C2 the Unlearn-and-Distill gain, C3 the robustness slope per unit alpha, C5 UNDO's shortfall to
filtering; C4 prints its per-step summary. The step each claim reads is shown (C2 reads the second report step,
C3 and C5 the last).
"""
import json
import sys

KEY = {"C1": "excess", "C2": "gain", "C3": "slope_robustness", "C5": "shortfall"}


def fmt(v):
    if not v:
        return "-"
    lo, hi = v["ci"]
    return f"{v['mean']:.2f} [{lo:.2f}, {hi:.2f}]"


def rows(claims):
    out = {}
    for cl in claims["claims"]:
        for setting, s in cl["numbers"].get("settings", {}).items():
            step = s.get("step", "")
            if cl["id"] == "C4":
                out[(cl["id"], setting, "")] = (s.get("verdict", cl["verdict"]), step, s.get("summary", ""))
            elif "methods" in s:
                for m, v in s["methods"].items():
                    out[(cl["id"], setting, m)] = (v.get("verdict", ""), step, fmt(v.get(KEY.get(cl["id"], ""))))
            else:
                out[(cl["id"], setting, "")] = (s.get("verdict", ""), step, fmt(s.get(KEY.get(cl["id"], ""))))
    return out


def main(argv):
    labels = ["A", "B"]
    files = []
    for a in argv:
        if a.startswith("--labels"):
            labels = a.split("=", 1)[1].split(",")
        else:
            files.append(a)
    if len(files) != 2:
        sys.exit(__doc__)
    a, b = (rows(json.load(open(f))) for f in files)
    print(f"{'claim':<5} {'setting':<11} {'method':<17} {labels[0] + ' (step)':<40} {labels[1] + ' (step)':<40}")
    for k in sorted(set(a) | set(b)):
        cells = []
        for r in (a, b):
            if k in r:
                verdict, step, num = r[k]
                cells.append(f"{verdict} @{step}: {num}" if k[0] != "C4" else f"{verdict}")
            else:
                cells.append("-")
        print(f"{k[0]:<5} {k[1]:<11} {k[2]:<17} {cells[0]:<40} {cells[1]:<40}")
        if k[0] == "C4":
            for lab, r in zip(labels, (a, b)):
                if k in r:
                    print(f"      {lab}: {r[k][2]}")


if __name__ == "__main__":
    main(sys.argv[1:])
