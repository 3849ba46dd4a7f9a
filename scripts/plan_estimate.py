#!/usr/bin/env python3
"""Estimate a reproduce plan's wall time on N executors (one stage per core) from its stage costs and a measured run.

    python3 scripts/plan_estimate.py PLAN.txt CAL_PLAN.txt CAL_RUN [N ...]
    python3 scripts/plan_estimate.py PLAN.txt --rate pretrain=44 --rate attack=57 ... [N ...]

PLAN.txt and CAL_PLAN.txt are `undo reproduce --preset P --dry-run --out DIR` outputs (nodes, their estimated cost in
forward-token equivalents, their dependencies); CAL_RUN is a finished run folder of CAL_PLAN's preset. Calibration:
for each kind of node (pretrain, unlearning sweep, distillation, attack), seconds per cost unit = the kind's measured
wall seconds in CAL_RUN (each stage's own `compute.wall_seconds`, which excludes waiting) divided by its planned
cost. Or give each kind's rate directly, in microseconds per unit (--rate KIND=US; kinds: pretrain, unlearn sweep
as unlearn, distill, attack). The plan is then list-scheduled on N slots as the Scheduler does: a node starts when its dependencies are done,
the ready node heading the costliest remaining chain first. Start-up costs (executor JVM, engine: seconds) and
scheduling latency are left out; they are small next to stages of minutes.
"""
import glob
import heapq
import json
import os
import re
import sys

NODE = re.compile(r"^(\S+)\s+cost ([0-9.e+]+)(?:\s+after (.*))?$")


def parse(path):
    nodes = []
    for line in open(path):
        m = NODE.match(line.rstrip("\n"))
        if m:
            deps = [d.strip() for d in m.group(3).split(",")] if m.group(3) else []
            nodes.append((m.group(1), float(m.group(2)), deps))
    return nodes


def kind(node_id):
    parts = node_id.split("/")
    if "attack" in parts:
        return "attack"
    if "unlearn" in parts:
        return "unlearn sweep"
    if parts[-1] in ("base", "filtered"):
        return "pretrain"
    return "distill"


def wall(run, node_id):
    d = os.path.join(run, node_id)
    if kind(node_id) == "attack":
        return json.load(open(os.path.join(d, "attack.json")))["compute"]["wall_seconds"]
    if kind(node_id) == "unlearn sweep":
        return sum(json.load(open(f))["compute"]["wall_seconds"] for f in glob.glob(os.path.join(d, "*/eval.json")))
    return json.load(open(os.path.join(d, "eval.json")))["compute"]["wall_seconds"]


def rates(cal_plan, cal_run):
    spent, cost = {}, {}
    for nid, c, _ in cal_plan:
        k = kind(nid)
        spent[k] = spent.get(k, 0) + wall(cal_run, nid)
        cost[k] = cost.get(k, 0) + c
    return {k: spent[k] / cost[k] for k in spent}, spent, cost


def schedule(plan, rate, slots):
    dur = {nid: c * rate[kind(nid)] for nid, c, _ in plan}
    deps = {nid: d for nid, _, d in plan}
    # Priority as in Plan.byPriority: the node's cost plus its costliest chain of dependents (by estimated cost).
    chain = {}
    for nid, c, _ in reversed(plan):
        rest = max((chain[m] for m, _, d in plan if nid in d and m in chain), default=0)
        chain[nid] = c + rest
    order = sorted((nid for nid, _, _ in plan), key=lambda n: -chain[n])
    done, started, running, t = set(), set(), [], 0.0
    while len(done) < len(plan):
        for nid in order:
            if len(running) >= slots:
                break
            if nid not in started and all(d in done for d in deps[nid]):
                started.add(nid)
                heapq.heappush(running, (t + dur[nid], nid))
        t, nid = heapq.heappop(running)
        done.add(nid)
    return t


def critical(plan, rate):
    finish = {}
    for nid, c, d in plan:
        finish[nid] = max((finish[x] for x in d), default=0) + c * rate[kind(nid)]
    return max(finish.values())


def hms(s):
    s = int(round(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    plan = parse(args.pop(0))
    if args[0] == "--rate":
        rate = {}
        while args and args[0] == "--rate":
            k, us = args[1].split("=")
            rate["unlearn sweep" if k == "unlearn" else k] = float(us) / 1e6
            args = args[2:]
        missing = {kind(n) for n, _, _ in plan} - set(rate)
        if missing:
            sys.exit(f"no --rate for {sorted(missing)}")
        print("rates (given): " + ", ".join(f"{k} {v * 1e6:.1f} us/unit" for k, v in sorted(rate.items())))
    else:
        cal_plan, cal_run = parse(args[0]), args[1]
        args = args[2:]
        rate, spent, cost = rates(cal_plan, cal_run)
        print("calibration (seconds per forward-token equivalent, from " + cal_run + "):")
        for k in sorted(rate):
            print(f"  {k:14s} {rate[k] * 1e6:7.2f} us/unit  ({spent[k]:8.1f} s over {cost[k]:.3g} units)")
    ns = [int(x) for x in args] or [1, 4, 16, 64]
    total = sum(c * rate[kind(n)] for n, c, _ in plan)
    cp = critical(plan, rate)
    print(f"plan: {len(plan)} nodes, {sum(c for _, c, _ in plan):.3g} units = {hms(total)} of stage time; "
          f"critical path {hms(cp)}")
    print("| executors (1 core each) | estimated wall | lower bound max(total/N, critical path) | busy |")
    print("|---|---|---|---|")
    for n in ns:
        w = schedule(plan, rate, n)
        print(f"| {n} | {hms(w)} | {hms(max(total / n, cp))} | {total / (n * w):.0%} |")


if __name__ == "__main__":
    main()
