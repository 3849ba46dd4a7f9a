#!/usr/bin/env python3
"""Where a `undo reproduce` run spent its time, from its stderr log(s).

Usage: scripts/stage_times.py LOG [LOG ...]

Reads the scheduler's "[i/n] done  <name> in H:MM:SS" lines and sums one-slot stage seconds by setting and kind
of stage (pretraining, unlearning, students, attacks). Stages that took under 2 s were finished before (skipped)
and are left out. With several logs of one run folder (a resumed or extended run), a stage that appears in more
than one is counted once, from the last log that ran it.
"""
import re
import sys
from collections import defaultdict

DONE = re.compile(r"^\[\d+/\d+\] done\s+(?P<name>.+?) in (?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d)")


def kind(name):
    if " pretrain " in f" {name} ":
        return "pretraining"
    if " unlearn " in f" {name} " and "Unlearn-and-Distill" not in name:
        return "unlearning"
    if " attack " in f" {name} ":
        return "attacks"
    return "students"


def main(logs):
    seconds = {}  # (log index, occurrence) keeps repeated names (one per seed) apart
    for path in logs:
        counts = defaultdict(int)
        per_log = {}
        with open(path, errors="replace") as f:
            for line in f:
                m = DONE.match(line.strip())
                if not m:
                    continue
                s = int(m["h"]) * 3600 + int(m["m"]) * 60 + int(m["s"])
                name = m["name"]
                counts[name] += 1
                if s >= 2:
                    per_log[(name, counts[name])] = s
        seconds.update(per_log)
    table = defaultdict(lambda: [0, 0])
    for (name, _), s in seconds.items():
        setting = name.split()[0]
        key = (setting, kind(name))
        table[key][0] += s
        table[key][1] += 1
    total = sum(v[0] for v in table.values())
    print(f"{'setting':<12} {'part':<12} {'stages':>6} {'stage s':>9} {'share':>6}")
    for (setting, part), (s, n) in sorted(table.items(), key=lambda kv: -kv[1][0]):
        print(f"{setting:<12} {part:<12} {n:>6} {s:>9} {s / total:>6.0%}")
    print(f"{'all':<12} {'':<12} {sum(v[1] for v in table.values()):>6} {total:>9}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
