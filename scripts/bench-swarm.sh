#!/usr/bin/env bash
# `orrery run --engine swarm` against the local Docker executor, side by side in one run, on the
# 3-node test swarm of scripts/swarm-cluster.sh (brought up here if it is not, and taken down
# again then):
#   1. per-job overhead: one job whose only step is `true`, ROUNDS runs each with
#      `--executor docker` (the host's daemon) and `--engine swarm`, alternating; medians, and
#      the swarm's overhead over local Docker;
#   2. 30 independent jobs (`sleep 2` each, `--jobs 30`) on the swarm with two nodes drained (all
#      on one node) and with all three nodes active; medians of ROUNDS runs and their ratio.
# Every test node is this same host (2 cores here), so 3 nodes add daemons, not CPUs: the
# figures show the engine's costs, not a real cluster's speed-up. Wall times; give the load.
#
#   scripts/bench-swarm.sh [BINARY]      (default target/release/orrery, else target/debug)
set -euo pipefail
bin=${1:-}
[ -z "$bin" ] || bin=$(realpath "$bin")
cd "$(dirname "$0")/.."
root=$PWD
if [ -z "$bin" ]; then
    bin=$root/target/release/orrery
    [ -x "$bin" ] || bin=$root/target/debug/orrery
fi
rounds=${ROUNDS:-5}
image=orrery-test/busybox:1
manager=unix:///run/orrery-swarm/n1.sock
D() {
    local n=$1
    shift
    DOCKER_API_VERSION=1.41 docker -H "unix:///run/orrery-swarm/n$n.sock" "$@"
}

brought_up=
if ! D 1 info --format '{{.Swarm.Nodes}}' 2>/dev/null | grep -qx 3; then
    scripts/swarm-cluster.sh up >/dev/null
    brought_up=1
fi
work=$(mktemp -d)
cleanup() {
    for n in $(D 1 node ls -q 2>/dev/null); do D 1 node update --availability active "$n" >/dev/null 2>&1 || true; done
    rm -rf "$work"
    [ -z "$brought_up" ] || scripts/swarm-cluster.sh down
}
trap cleanup EXIT

project() {
    local dir=$work/$1
    mkdir -p "$dir/.circleci"
    cat >"$dir/.circleci/config.yml"
    git -C "$dir" init -q -b main
    git -C "$dir" -c user.name=b -c user.email=b@e commit -q --allow-empty -m bench
    echo "$dir"
}

one=$(project one <<EOF
version: 2.1
jobs:
  one:
    docker: [{image: $image}]
    steps: [{run: "true"}]
workflows:
  main:
    jobs: [one]
EOF
)
{
    echo "version: 2.1"
    echo "jobs:"
    for i in $(seq 1 30); do
        printf '  j%s:\n    docker: [{image: %s}]\n    steps: [{run: sleep 2}]\n' "$i" "$image"
    done
    echo "workflows:"
    echo "  main:"
    printf '    jobs: ['
    for i in $(seq 1 30); do printf 'j%s%s' "$i" "$([ "$i" = 30 ] && echo '' || echo ', ')"; done
    echo ']'
} >"$work/thirty.yml"
thirty=$(project thirty <"$work/thirty.yml")

swarm_args=(--engine swarm --swarm-host "$manager" --store-listen 198.18.0.1:0 --reserve-scale 0.01)
# Seconds (3 decimals) one `orrery run` takes in project $1 with the rest as its flags.
timed() {
    local dir=$1
    shift
    local start end
    start=$(date +%s%N)
    (cd "$dir" && "$bin" run --color never "$@" >"$work/last.log" 2>&1) || {
        echo "bench-swarm: a run failed:" >&2
        tail -n 20 "$work/last.log" >&2
        exit 1
    }
    end=$(date +%s%N)
    echo "scale=3; ($end - $start) / 1000000000" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
# Two sets of times side by side: `side_by_side LABEL_A ARRAY_A LABEL_B ARRAY_B` prints each
# label's median and every time, aligned, and leaves the medians in $median_a and $median_b.
side_by_side() {
    local -n times_a=$2 times_b=$4
    local width=$((${#1} > ${#3} ? ${#1} + 1 : ${#3} + 1))
    median_a=$(printf '%s\n' "${times_a[@]}" | median)
    median_b=$(printf '%s\n' "${times_b[@]}" | median)
    printf "%-${width}s median %ss (%s)\n" "$1:" "$median_a" "${times_a[*]}" "$3:" "$median_b" "${times_b[*]}"
}

echo "binary: $bin; rounds: $rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)"
local_times=() swarm_times=()
for _ in $(seq 1 "$rounds"); do
    local_times+=("$(timed "$one" --executor docker)")
    swarm_times+=("$(timed "$one" "${swarm_args[@]}")")
done
side_by_side "one job, local Docker" local_times "one job, swarm" swarm_times
echo "swarm overhead per job: $(echo "$median_b - $median_a" | bc)s, ratio $(echo "scale=2; $median_b / $median_a" | bc)"

workers=$(D 1 node ls --filter role=worker -q)
one_node=() three_nodes=()
for _ in $(seq 1 "$rounds"); do
    for n in $workers; do D 1 node update --availability drain "$n" >/dev/null; done
    one_node+=("$(timed "$thirty" "${swarm_args[@]}" --jobs 30)")
    for n in $workers; do D 1 node update --availability active "$n" >/dev/null; done
    three_nodes+=("$(timed "$thirty" "${swarm_args[@]}" --jobs 30)")
done
side_by_side "30 jobs, 1 node" one_node "30 jobs, 3 nodes" three_nodes
echo "1 node / 3 nodes: $(echo "scale=2; $median_a / $median_b" | bc)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
