#!/usr/bin/env bash
# Benchmark of `orrery run` with the Docker executor: a generated workflow of N independent
# trivial jobs (one `run` step each) on the local test image.
#
#   1. per-job overhead: the median job-node duration of `orrery run --jobs 1` (container
#      creation, file set-up, the step as an exec; from events.jsonl; the container's removal
#      runs in the background) and the serial wall time per job (which includes every removal)
#      against the median of `docker run --rm IMAGE sh -c STEP` of the same step, measured in
#      the same run; goal: at most 1.5x.
#   2. parallelism: the wall time of the N jobs with --jobs 1 and with --jobs CORES; goal: about
#      1/CORES of the serial time.
#
#   scripts/bench-run.sh [N]      (default 20; needs a daemon and the image, see
#                                  scripts/start-dockerd.sh and scripts/build-test-images.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

n="${1:-20}"
image="${ORRERY_TEST_IMAGE:-orrery-test/busybox:1}"
cores="$(nproc)"
step='echo "hello from $CIRCLE_JOB"; test -d /tmp'

bash scripts/start-dockerd.sh >/dev/null
bash scripts/build-test-images.sh >/dev/null
nice -n 10 cargo build --release -q -p orrery
orrery="$PWD/target/release/orrery"

work="$(mktemp -d /tmp/orrery-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/.circleci"
{
    echo "version: 2.1"
    echo "jobs:"
    for i in $(seq 1 "$n"); do
        echo "  j$i:"
        echo "    docker: [{image: $image}]"
        echo "    steps:"
        echo "      - run: '$step'"
    done
    echo "workflows:"
    echo "  bench:"
    echo "    jobs: [$(seq -s, -f 'j%g' 1 "$n")]"
} >"$work/.circleci/config.yml"
git -C "$work" init -q -b main
git -C "$work" -c user.name=b -c user.email=b@e commit -q --allow-empty -m init

# Nanoseconds.
now() { date +%s%N; }
secs() { awk -v ns="$1" 'BEGIN { printf "%.6f", ns / 1e9 }'; }

# Warm-up (page cache, the daemon's image metadata).
docker run --rm --network none "$image" sh -c "CIRCLE_JOB=warm; $step" >/dev/null
(cd "$work" && "$orrery" run --jobs 1 --job j1 --color never >/dev/null)

# 1a. docker run of the same step, N times in a row.
: >"$work/docker-run.txt"
for i in $(seq 1 "$n"); do
    t0="$(now)"
    docker run --rm --network none "$image" sh -c "CIRCLE_JOB=j$i; $step" >/dev/null
    t1="$(now)"
    secs $((t1 - t0)) >>"$work/docker-run.txt"
    echo >>"$work/docker-run.txt"
done

# 1c. The same N docker runs, CORES at a time: what the daemon itself allows in parallel here
#     (container creation on vfs is the daemon's own CPU work).
t0="$(now)"
seq 1 "$n" | xargs -P "$cores" -I{} docker run --rm --network none "$image" sh -c "CIRCLE_JOB=j{}; $step" >/dev/null
t1="$(now)"
docker_parallel="$(secs $((t1 - t0)))"
docker_serial="$(awk '{ s += $1 } END { printf "%.6f", s }' "$work/docker-run.txt")"

# 1b/2a. orrery run, one job at a time.
t0="$(now)"
(cd "$work" && "$orrery" run --jobs 1 --color never >"$work/serial.log")
t1="$(now)"
serial="$(secs $((t1 - t0)))"
serial_run="$(ls -d "$work"/.orrery/runs/* | sort | tail -n 1)"

# 2b. orrery run, CORES jobs at a time.
t0="$(now)"
(cd "$work" && "$orrery" run --jobs "$cores" --color never >"$work/parallel.log")
t1="$(now)"
parallel="$(secs $((t1 - t0)))"

python3 - "$work/docker-run.txt" "$serial_run/events.jsonl" "$serial" "$parallel" "$n" "$cores" "$docker_serial" "$docker_parallel" <<'PY'
import json, statistics, sys
docker_file, events, serial, parallel, n, cores, docker_serial, docker_parallel = sys.argv[1:]
serial, parallel, n, cores = float(serial), float(parallel), int(n), int(cores)
docker_serial, docker_parallel = float(docker_serial), float(docker_parallel)
docker = [float(l) for l in open(docker_file) if l.strip()]
nodes = [json.loads(l)["duration_ms"] / 1000 for l in open(events)
         if '"node_finished"' in l and json.loads(l)["event"] == "node_finished"]
assert len(nodes) == n, f"{len(nodes)} node events for {n} jobs"
d, o = statistics.median(docker), statistics.median(nodes)
print(f"jobs: {n} (one trivial run step each), cores: {cores}")
print(f"docker run --rm, median per job:           {d:.3f} s  (min {min(docker):.3f}, max {max(docker):.3f})")
print(f"orrery run --jobs 1, median per job node:  {o:.3f} s  (min {min(nodes):.3f}, max {max(nodes):.3f})")
print(f"per-job ratio orrery/docker run:           {o / d:.2f}x  (goal <= 1.5x)")
print(f"orrery run --jobs 1 wall time:             {serial:.2f} s  ({serial / n:.3f} s per job, {serial / n / d:.2f}x docker run;")
print(f"                                           teardown overlaps the next job, so this is the fair ratio)")
print(f"orrery run --jobs {cores} wall time:             {parallel:.2f} s")
print(f"parallel/serial:                           {parallel / serial:.2f}  (ideal 1/{cores} = {1 / cores:.2f})")
print(f"docker run, {cores} at once / one at a time:     {docker_parallel / docker_serial:.2f}  (what this daemon allows)")
PY
