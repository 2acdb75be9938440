#!/usr/bin/env bash
# The speed benchmark (issue 15), in one run: start-up in and out of a git checkout, per-file
# `config validate` over the corpus against ajv, the scaling table over generated configs
# (bench/gen-config.py: time per job for `process` and `validate`, peak RSS), and shellcheck
# cold / warm / off over the whole corpus. Every time is hyperfine's median, with its spread
# (interquartile range over the median) as the machine's noise; the load average before and
# after is printed, since the machine is shared. With BASELINE set, that build (e.g. main's
# binary) is measured in the same run, figure for figure, in a second column.
#
#   scripts/bench-speed.sh [RUNS]              RUNS per measurement (default 10)
#   ORRERY=/path/to/orrery                     measure this build (default: build release here)
#   BASELINE=/path/to/orrery                   and this one beside it
#   SIZES="1000 5000 10000" SECTIONS="startup ajv scaling shellcheck"
#   WARMUP=2 (runs before timing)  SCALING_RUNS=5 (runs per figure of the scaling table)
#
# Needs hyperfine, jq and GNU time (installed here when missing), node with
# `npm ci --prefix bench/ajv` and check-jsonschema (for the SchemaStore schema ajv uses),
# shellcheck for its section.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${1:-10}"
scaling_runs="${SCALING_RUNS:-$((runs < 5 ? runs : 5))}"
sizes="${SIZES:-1000 5000 10000}"
sections="${SECTIONS:-startup ajv scaling shellcheck}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
corpus="${ORRERY_SHARED:-$root/../shared}/corpus/configs"
for tool in hyperfine jq /usr/bin/time; do
    command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$(basename "$tool")" >/dev/null; }
done
if [ -z "${ORRERY:-}" ]; then
    cargo build --release -q -p orrery
    ORRERY="$target_dir/release/orrery"
fi
builds=("$ORRERY")
labels=("this build")
if [ -n "${BASELINE:-}" ]; then
    builds+=("$BASELINE")
    labels+=("baseline")
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The older build has no --no-shellcheck; a settings file turns the rule off for both.
printf '[rules]\nshellcheck = "off"\n' >"$work/no-shellcheck.toml"
noshell="--settings $work/no-shellcheck.toml"

# `median NAME [hyperfine options] COMMAND`: median seconds of the command; its spread
# (interquartile range / median, in %) goes to $work/NAME.spread.
median() {
    local name=$1
    shift
    hyperfine -N -i --warmup "${WARMUP:-2}" --runs "${RUNS:-$runs}" --export-json "$work/$name.json" "$@" >/dev/null 2>&1
    jq -r '.results[0].times | sort | length as $n
        | (.[($n - 1) * 3 / 4 | floor] - .[($n - 1) / 4 | floor]) / .[($n - 1) / 2 | floor] * 100
        | floor' "$work/$name.json" >"$work/$name.spread"
    jq -r '.results[0].median' "$work/$name.json"
}
spread() { cat "$work/$1.spread"; }
# "1.23 ms ±4%"
fig() { awk -v s="$1" -v p="$(spread "$2")" 'BEGIN { printf "%9.2f ms ±%-3s", s * 1000, p "%" }'; }
# Peak RSS in KiB of one run (GNU time writes it to a file: its stderr is the command's).
peak_rss() {
    /usr/bin/time -o "$work/rss" -f %M "$@" >/dev/null 2>&1 || true
    tail -n1 "$work/rss"
}
# One row: a label, then each build's figure.
row() {
    local label=$1
    shift
    printf '  %-44s' "$label"
    printf ' %s' "$@"
    echo
}

echo "builds: ${builds[*]}"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; $runs runs per figure ($scaling_runs in the scaling table), medians ±IQR/median"
printf '  %-44s' ""
printf ' %-20s' "${labels[@]}"
echo

if [[ $sections == *startup* ]]; then
    echo
    echo "== start-up: config validate of a small config (human output, shellcheck off)"
    small='version: 2.1
jobs:
  build:
    docker:
      - image: cimg/base:2024.01
    steps:
      - checkout
      - run: make
workflows:
  main:
    jobs:
      - build
'
    mkdir -p "$work/plain/.circleci" "$work/repo/.circleci"
    printf '%s' "$small" >"$work/plain/.circleci/config.yml"
    printf '%s' "$small" >"$work/repo/.circleci/config.yml"
    git -C "$work/repo" init -q -b main
    git -C "$work/repo" remote add origin git@github.com:acme/widgets.git
    git -C "$work/repo" add -A
    git -C "$work/repo" -c user.name=b -c user.email=b@example.com commit -qm init
    git -C "$work/repo" tag v1.0.0
    declare -a out=() in=() proc=() flags=()
    for i in "${!builds[@]}"; do
        b=${builds[$i]}
        out+=("$(fig "$(median "out-$i" "$b config validate $noshell $work/plain/.circleci/config.yml")" "out-$i")")
        in+=("$(fig "$(median "in-$i" "$b config validate $noshell $work/repo/.circleci/config.yml")" "in-$i")")
        proc+=("$(fig "$(median "proc-$i" "$b config process $work/repo/.circleci/config.yml")" "proc-$i")")
        flags+=("$(fig "$(median "flags-$i" "$b config process --branch main --tag v1 --revision abc $work/repo/.circleci/config.yml")" "flags-$i")")
    done
    row "validate, outside git (target <= 3 ms)" "${out[@]}"
    row "validate, in a git checkout (target <= 3 ms)" "${in[@]}"
    row "process, in a git checkout" "${proc[@]}"
    row "process, in git, --branch/--tag/--revision" "${flags[@]}"
fi

if [[ $sections == *ajv* ]]; then
    echo
    echo "== per-file validate over the corpus: one orrery process per file against one ajv process for all"
    [ -d bench/ajv/node_modules ] || npm ci --prefix bench/ajv --no-audit --no-fund --silent
    schemastore="$(python3 -c 'import check_jsonschema, os; print(os.path.join(os.path.dirname(check_jsonschema.__file__), "builtin_schemas/vendor/circle-ci.json"))')"
    files=("$corpus"/*.yml)
    printf '%s\n' "${files[@]}" >"$work/files"
    ajv=$(median ajv "node bench/ajv/validate.mjs $schemastore $corpus")
    declare -a loop_figs=() ratios=()
    for i in "${!builds[@]}"; do
        # Every file in its own process, as pre-commit or an editor runs it; shellcheck off, as
        # ajv has no shell linter. hyperfine's shell runs the loop (xargs).
        loop="xargs -n1 -a $work/files ${builds[$i]} config validate --format json $noshell"
        per_file=$(hyperfine -i --warmup 1 --runs "$runs" --export-json "$work/loop-$i.json" \
            "$loop >/dev/null" >/dev/null 2>&1 && jq -r '.results[0].median' "$work/loop-$i.json")
        jq -r '.results[0].times | sort | length as $n
            | (.[($n - 1) * 3 / 4 | floor] - .[($n - 1) / 4 | floor]) / .[($n - 1) / 2 | floor] * 100
            | floor' "$work/loop-$i.json" >"$work/loop-$i.spread"
        loop_figs+=("$(fig "$per_file" "loop-$i")")
        ratios+=("$(awk -v a="$ajv" -v o="$per_file" 'BEGIN { printf "%19.1fx", a / o }')")
    done
    row "orrery, ${#files[@]} processes" "${loop_figs[@]}"
    row "ajv, one process" "$(fig "$ajv" ajv)"
    row "ajv / orrery (target >= 10x)" "${ratios[@]}"
fi

if [[ $sections == *scaling* ]]; then
    for i in "${!builds[@]}"; do
        b=${builds[$i]}
        echo
        echo "== scaling (${labels[$i]}): generated configs (bench/gen-config.py), shellcheck off"
        printf '  %7s %18s %18s %12s %12s %9s %16s\n' jobs process validate 'process/job' 'validate/job' 'val/proc' 'peak RSS p/v'
        first_n=""
        for n in $sizes; do
            config="$work/gen-$n/.circleci/config.yml"
            if [ ! -f "$config" ]; then
                mkdir -p "$work/gen-$n/.circleci"
                python3 bench/gen-config.py "$n" >"$config"
            fi
            p=$(RUNS=$scaling_runs median "process-$n-$i" "$b config process $config")
            v=$(RUNS=$scaling_runs median "validate-$n-$i" "$b config validate --format json $noshell $config")
            prss=$(peak_rss "$b" config process "$config")
            vrss=$(peak_rss "$b" config validate --format json $noshell "$config")
            awk -v n="$n" -v p="$p" -v v="$v" -v pr="$prss" -v r="$vrss" \
                -v ps="$(spread "process-$n-$i")" -v vs="$(spread "validate-$n-$i")" 'BEGIN {
                printf "  %7d %9.1f ms ±%-3s %9.1f ms ±%-3s %9.1f us %9.1f us %8.2fx %6.1f/%.1f MiB\n",
                    n, p * 1000, ps "%", v * 1000, vs "%", p / n * 1e6, v / n * 1e6, v / p, pr / 1024, r / 1024
            }'
            if [ -z "$first_n" ]; then
                first_n=$n first_process=$p first_validate=$v
            fi
            last_n=$n last_process=$p last_validate=$v
        done
        awk -v a="$first_n" -v b="$last_n" -v p1="$first_process" -v p2="$last_process" -v v1="$first_validate" -v v2="$last_validate" 'BEGIN {
            printf "  %d jobs cost %.1fx (process) and %.1fx (validate) of %d jobs (linear: %.1fx; target <= %.1fx)\n", b, p2 / p1, v2 / v1, a, b / a, b / a * 1.05
        }'
    done
    echo "  targets: process <= 60 us/job at 10,000 jobs; validate <= 1.3x process"
fi

if [[ $sections == *shellcheck* ]]; then
    echo
    if ! command -v shellcheck >/dev/null; then
        echo "== shellcheck: skipped, shellcheck is not installed"
    else
        echo "== shellcheck over the whole corpus, one invocation ($(shellcheck --version | sed -n 's/^version: //p'))"
        files=("$corpus"/*.yml)
        declare -a off_f=() cold_f=() warm_f=()
        for i in "${!builds[@]}"; do
            b=${builds[$i]}
            export XDG_CACHE_HOME="$work/cache-$i"
            off=$(median "sc-off-$i" "$b config validate --format json $noshell ${files[*]}")
            cold=$(median "sc-cold-$i" --prepare "rm -rf $work/cache-$i" "$b config validate --format json ${files[*]}")
            warm=$(median "sc-warm-$i" "$b config validate --format json ${files[*]}")
            unset XDG_CACHE_HOME
            off_f+=("$(fig "$off" "sc-off-$i")")
            cold_f+=("$(fig "$cold" "sc-cold-$i") $(awk -v o="$off" -v c="$cold" 'BEGIN { printf "%5.2fx", c / o }')")
            warm_f+=("$(fig "$warm" "sc-warm-$i") $(awk -v o="$off" -v w="$warm" 'BEGIN { printf "%5.2fx", w / o }')")
        done
        row "off" "${off_f[@]}"
        row "cold cache (target <= 3x off)" "${cold_f[@]}"
        row "warm cache (target <= 1.2x off)" "${warm_f[@]}"
    fi
fi
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
