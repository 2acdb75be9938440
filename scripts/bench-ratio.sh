#!/usr/bin/env bash
# Runs the parse/compile/emit benchmark and prints, for each measured config, the median time
# of `parse`, of `compile` (parsing included) and of `compile_emit`, with the compile/parse
# ratio — the figure behind the target "a full compile costs at most 3x the parse".
#
#   scripts/bench-ratio.sh [CRITERION ARGS...]     e.g. --measurement-time 10
#
# Medians are read from criterion's estimates (target/criterion/<config>/<bench>/new/).
# Exits 1 when a ratio is above MAX_RATIO (default 3).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
max_ratio="${MAX_RATIO:-3}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

cargo bench -p orrery-compiler --bench compile -- "$@" | tee "$log"

median_ns() {
    jq -r '.median.point_estimate' "$target_dir/criterion/$1/$2/new/estimates.json"
}

echo
printf '%-48s %8s %12s %12s %12s %8s %8s\n' config bytes parse compile compile+emit c/p ce/p
over=0
while IFS=$'\t' read -r _ name bytes; do
    parse=$(median_ns "$name" parse)
    compile=$(median_ns "$name" compile)
    emit=$(median_ns "$name" compile_emit)
    awk -v n="$name" -v b="$bytes" -v p="$parse" -v c="$compile" -v e="$emit" 'BEGIN {
        printf "%-48s %8d %10.1fus %10.1fus %10.1fus %7.2fx %7.2fx\n",
            n, b, p / 1000, c / 1000, e / 1000, c / p, e / p
    }'
    if awk -v p="$parse" -v c="$compile" -v max="$max_ratio" 'BEGIN { exit !(c / p > max) }'; then
        over=1
    fi
done < <(grep '^orrery-bench-config' "$log")

if [ "$over" = 1 ]; then
    echo "compile/parse above ${max_ratio}x for at least one config" >&2
    exit 1
fi
