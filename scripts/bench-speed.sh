#!/usr/bin/env bash
# The speed benchmark (issue 15), in one run: start-up in and out of a git checkout, per-file
# `config validate` over the corpus against ajv, the scaling table over generated configs
# (bench/gen-config.py: time per job for `process` and `validate`, peak RSS), and shellcheck
# cold / warm / off over the whole corpus. Every time is hyperfine's median; the load average
# before and after is printed, since the machine is shared.
#
#   scripts/bench-speed.sh [RUNS]              RUNS per measurement (default 10)
#   ORRERY=/path/to/orrery scripts/bench-speed.sh   measure another build (e.g. main's)
#   SIZES="1000 5000 10000" SECTIONS="startup ajv scaling shellcheck" WARMUP=2 (runs before timing)
#
# Needs hyperfine and jq (installed here when missing), node with `npm ci --prefix bench/ajv`
# and check-jsonschema (for the SchemaStore schema ajv uses), shellcheck for its section.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${1:-10}"
sizes="${SIZES:-1000 5000 10000}"
sections="${SECTIONS:-startup ajv scaling shellcheck}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
corpus="${ORRERY_SHARED:-$root/../shared}/corpus/configs"
for tool in hyperfine jq; do
    command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
done
if [ -z "${ORRERY:-}" ]; then
    cargo build --release -q -p orrery
    ORRERY="$target_dir/release/orrery"
fi
orrery="$ORRERY"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The older build has no --no-shellcheck; a settings file turns the rule off for both.
printf '[rules]\nshellcheck = "off"\n' >"$work/no-shellcheck.toml"

# Median seconds of one command (hyperfine, -N: no shell in between).
median() {
    local name=$1
    shift
    hyperfine -N -i --warmup "${WARMUP:-2}" --runs "$runs" --export-json "$work/$name.json" "$@" >/dev/null 2>&1
    jq -r '.results[0].median' "$work/$name.json"
}
ms() { awk -v s="$1" 'BEGIN { printf "%.2f ms", s * 1000 }'; }

echo "orrery: $orrery"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; $runs runs per figure, medians"

if [[ $sections == *startup* ]]; then
    echo
    echo "== start-up: config validate of a small config (human output)"
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
    out=$(median out-of-git "$orrery config validate --settings $work/no-shellcheck.toml $work/plain/.circleci/config.yml")
    in=$(median in-git "$orrery config validate --settings $work/no-shellcheck.toml $work/repo/.circleci/config.yml")
    proc=$(median process-in-git "$orrery config process $work/repo/.circleci/config.yml")
    flags=$(median process-flags "$orrery config process --branch main --tag v1 --revision abc $work/repo/.circleci/config.yml")
    echo "  validate, outside git:                 $(ms "$out")"
    echo "  validate, in a git checkout:           $(ms "$in")"
    echo "  process, in a git checkout:            $(ms "$proc")"
    echo "  process, in git, --branch/--tag/--revision: $(ms "$flags")"
fi

if [[ $sections == *ajv* ]]; then
    echo
    echo "== per-file validate over the corpus: one orrery process per file against one ajv process for all"
    [ -d bench/ajv/node_modules ] || npm ci --prefix bench/ajv --no-audit --no-fund --silent
    schemastore="$(python3 -c 'import check_jsonschema, os; print(os.path.join(os.path.dirname(check_jsonschema.__file__), "builtin_schemas/vendor/circle-ci.json"))')"
    files=("$corpus"/*.yml)
    printf '%s\n' "${files[@]}" >"$work/files"
    # Every file in its own process, as pre-commit or an editor runs it; shellcheck off, as
    # ajv has no shell linter.
    loop="xargs -n1 -a $work/files $orrery config validate --format json --settings $work/no-shellcheck.toml"
    per_file=$(hyperfine -i --warmup 1 --runs "$runs" --export-json "$work/loop.json" \
        "$loop >/dev/null" >/dev/null 2>&1 && jq -r '.results[0].median' "$work/loop.json")
    ajv=$(median ajv "node bench/ajv/validate.mjs $schemastore $corpus")
    echo "  orrery, ${#files[@]} processes:  $(ms "$per_file")"
    echo "  ajv, one process:     $(ms "$ajv")"
    awk -v a="$ajv" -v o="$per_file" 'BEGIN { printf "  ajv / orrery: %.1fx\n", a / o }'
fi

if [[ $sections == *scaling* ]]; then
    echo
    echo "== scaling: generated configs (bench/gen-config.py), shellcheck off"
    printf '  %7s %14s %14s %12s %12s %10s %12s\n' jobs process validate 'process/job' 'validate/job' 'val/proc' 'peak RSS'
    first_process=""
    first_validate=""
    first_n=""
    for n in $sizes; do
        dir="$work/gen-$n"
        mkdir -p "$dir/.circleci"
        python3 bench/gen-config.py "$n" >"$dir/.circleci/config.yml"
        config="$dir/.circleci/config.yml"
        p=$(median "process-$n" "$orrery config process $config")
        v=$(median "validate-$n" "$orrery config validate --format json --settings $work/no-shellcheck.toml $config")
        rss=$( { /usr/bin/time -f %M "$orrery" config validate --format json --settings "$work/no-shellcheck.toml" "$config" >/dev/null 2>/dev/null; } 2>&1 | tail -n1)
        prss=$( { /usr/bin/time -f %M "$orrery" config process "$config" >/dev/null 2>/dev/null; } 2>&1 | tail -n1)
        awk -v n="$n" -v p="$p" -v v="$v" -v r="$rss" -v pr="$prss" 'BEGIN {
            printf "  %7d %11.1f ms %11.1f ms %9.1f us %9.1f us %9.2fx %5.0f/%.0f MiB\n",
                n, p * 1000, v * 1000, p / n * 1e6, v / n * 1e6, v / p, pr / 1024, r / 1024
        }'
        if [ -z "$first_n" ]; then
            first_n=$n first_process=$p first_validate=$v
        fi
        last_n=$n last_process=$p last_validate=$v
    done
    awk -v a="$first_n" -v b="$last_n" -v p1="$first_process" -v p2="$last_process" -v v1="$first_validate" -v v2="$last_validate" 'BEGIN {
        printf "  %d jobs cost %.1fx (process) and %.1fx (validate) of %d jobs (linear: %.1fx)\n", b, p2 / p1, v2 / v1, a, b / a
    }'
    echo "  (peak RSS: process/validate)"
fi

if [[ $sections == *shellcheck* ]] && command -v shellcheck >/dev/null; then
    echo
    echo "== shellcheck over the whole corpus, one invocation ($(shellcheck --version | sed -n 's/^version: //p'))"
    files=("$corpus"/*.yml)
    export XDG_CACHE_HOME="$work/cache"
    off=$(median sc-off "$orrery config validate --format json --settings $work/no-shellcheck.toml ${files[*]}")
    cold=$(median sc-cold --prepare "rm -rf $work/cache" "$orrery config validate --format json ${files[*]}")
    warm=$(median sc-warm "$orrery config validate --format json ${files[*]}")
    unset XDG_CACHE_HOME
    echo "  off:  $(ms "$off")"
    awk -v o="$off" -v c="$cold" -v w="$warm" 'BEGIN {
        printf "  cold: %.2f ms (%.2fx off)\n  warm: %.2f ms (%.2fx off)\n", c * 1000, c / o, w * 1000, w / o
    }'
fi
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
