#!/usr/bin/env bash
# Word-problem accuracy of arithmetic checkpoints on training templates and on held-out templates, per operation
# (RESULTS.md §Q.9). Usage: scripts/word_problem_probe.sh MODEL_DIR...
# Env: N (problems per file, default 200), THREADS (default 2).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: scripts/word_problem_probe.sh MODEL_DIR..." >&2; exit 2; }
models=()
for m in "$@"; do models+=("$(realpath "$m")"); done
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./undo --version >/dev/null  # builds target/undo.jar on first use
N=${N:-200}
THREADS=${THREADS:-2}
sets=$(mktemp -d)
trap 'rm -rf "$sets"' EXIT
java -cp "target/undo.jar:target/lib/*" scripts/WordProblemSets.java "$sets" "$N" >/dev/null
printf '%-48s %s\n' model "train + - x / | held-out + - x /"
for m in "${models[@]}"; do
  row=""
  for split in train held; do
    for op in addition subtraction multiplication division; do
      acc=$(./undo eval --model "$m" --prompts "$sets/${split}_${op}.jsonl" --threads "$THREADS" --json 2>/dev/null \
        | tail -1 | sed -E 's/.*"acc":([0-9.eE-]+).*/\1/')
      row="$row $(printf '%.2f' "$acc")"
    done
    [ "$split" = train ] && row="$row |"
  done
  printf '%-48s%s\n' "$m" "$row"
done
