#!/usr/bin/env bash
# Benchmark of `orrery run`'s output handling (machine executor): a step printing one 32 MB line
# and a step redrawing a progress bar 200,000 times with `\r` and no newline, against the same
# step run by bash alone. Prints the median wall time of each, in seconds.
#
#   scripts/bench-output.sh [RUNS]       (default 3)
#
# BASELINE=/path/to/orrery also times that binary side by side (e.g. one built from an older
# commit: `git worktree add /tmp/base COMMIT && cd /tmp/base &&
# CARGO_TARGET_DIR=/tmp/base-target cargo build --release -p orrery`).
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-3}"
nice -n 10 cargo build --release -q -p orrery
current="$PWD/target/release/orrery"

work="$(mktemp -d /tmp/orrery-bench-output.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/.circleci"
long_line="head -c 32000000 /dev/zero | tr '\\0' a; echo"
progress="awk 'BEGIN { for (i = 0; i < 200000; i++) { printf \"\\rprogress %6d\", i; fflush() }; print \"\" }'"
cat > "$work/.circleci/config.yml" <<'YAML'
version: 2.1
jobs:
  long-line:
    machine: true
    steps:
      - run: |
          head -c 32000000 /dev/zero | tr '\0' a; echo
  progress:
    machine: true
    steps:
      - run: |
          awk 'BEGIN { for (i = 0; i < 200000; i++) { printf "\rprogress %6d", i; fflush() }; print "" }'
workflows:
  main:
    jobs: [long-line, progress]
YAML
git -C "$work" init -q -b main

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
seconds() { # command...
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}
step_of() { # job
    case "$1" in
    long-line) echo "$long_line" ;;
    progress) echo "$progress" ;;
    esac
}

printf '%-12s %-10s %10s\n' job binary median_s
for job in long-line progress; do
    script="$(step_of "$job")"
    times=$(for _ in $(seq "$runs"); do seconds bash -c "$script"; done | median)
    printf '%-12s %-10s %10.2f\n' "$job" bash "$times"
    for bin in "$current" ${BASELINE:+"$BASELINE"}; do
        name=current
        [ "$bin" = "$current" ] || name=baseline
        times=$(for _ in $(seq "$runs"); do
            seconds "$bin" run --config "$work/.circleci/config.yml" --executor machine \
                --color never --job "$job" --out "$work/runs"
        done | median)
        printf '%-12s %-10s %10.2f\n' "$job" "$name" "$times"
    done
done
