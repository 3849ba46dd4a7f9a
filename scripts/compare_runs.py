#!/usr/bin/env python3
"""Compare two reproduce run folders stage by stage: metrics.jsonl byte for byte, and eval.json / attack.json /
sweep.json as JSON with wall times removed and each run's own folder path replaced by RUN.

    python3 scripts/compare_runs.py RUN_A RUN_B [--ignore KEY ...]

Exits 1 and lists the differences when any stage differs; prints the number of files compared otherwise.
"""
import json
import os
import sys


def strip(node, ignore, run):
    if isinstance(node, dict):
        # An absent key and an explicit null mean the same.
        return {k: strip(v, ignore, run) for k, v in node.items() if k not in ignore and v is not None}
    if isinstance(node, list):
        return [strip(v, ignore, run) for v in node]
    if isinstance(node, str):
        return node.replace(run, "RUN")
    return node


def main():
    args = sys.argv[1:]
    ignore = {"wall_seconds", "provenance"}
    if "--ignore" in args:
        i = args.index("--ignore")
        ignore.update(args[i + 1:])
        args = args[:i]
    a, b = (os.path.abspath(x) for x in args[:2])
    diffs, compared = [], 0
    for root, _, files in os.walk(a):
        rel = os.path.relpath(root, a)
        if "/checkpoint" in "/" + rel or rel.startswith("report"):
            continue
        for f in files:
            pa, pb = os.path.join(root, f), os.path.join(b, rel, f)
            if f == "metrics.jsonl":
                compared += 1
                if not os.path.exists(pb) or open(pa, "rb").read() != open(pb, "rb").read():
                    diffs.append(os.path.join(rel, f))
            elif f in ("eval.json", "attack.json", "sweep.json"):
                compared += 1
                if not os.path.exists(pb):
                    diffs.append(os.path.join(rel, f) + " (missing)")
                    continue
                ja = strip(json.load(open(pa)), ignore, a)
                jb = strip(json.load(open(pb)), ignore, b)
                if ja != jb:
                    keys = sorted(set(ja) | set(jb)) if isinstance(ja, dict) else []
                    bad = [k for k in keys if ja.get(k) != jb.get(k)]
                    diffs.append(os.path.join(rel, f) + " differs in " + ", ".join(bad))
    for d in diffs:
        print("DIFF", d)
    print(f"{compared} files compared, {len(diffs)} differ")
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
