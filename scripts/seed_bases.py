#!/usr/bin/env python3
"""Per-operation equation accuracy of arithmetic base models over their pretraining evaluations (issue 14.5):
the final values with Wilson intervals, and the first evaluated step at which every operation reached 0.9.
Usage: scripts/seed_bases.py STAGE_DIR [STAGE_DIR ...]"""
import json
import sys
from pathlib import Path

OPS = ["addition", "subtraction", "multiplication", "division"]
print("| seed | " + " | ".join(f"{o} eq (final)" for o in OPS) + " | word (+/−/×/÷) | all ≥ 0.9 from step |")
print("|" + "---|" * (len(OPS) + 3))
for d in map(Path, sys.argv[1:]):
    evals = [json.loads(l) for l in (d / "metrics.jsonl").read_text().splitlines() if '"eval"' in l]
    final = json.loads((d / "eval.json").read_text())["metrics"]
    first = next((e["step"] for e in evals if all(e[f"{o}_equation_acc"] >= 0.9 for o in OPS)), None)
    seed = json.loads((d / "config.json").read_text()).get("spec", {}).get("seed", d.name)
    cells = [f"{final[f'{o}_equation_acc']:.2f} [{final[f'{o}_equation_acc_lo']:.2f}, {final[f'{o}_equation_acc_hi']:.2f}]"
             for o in OPS]
    word = "/".join(f"{final[f'{o}_word_problem_acc']:.2f}" for o in OPS)
    print(f"| {seed} | " + " | ".join(cells) + f" | {word} | {first if first is not None else 'never'} |")
