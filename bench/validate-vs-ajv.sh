#!/usr/bin/env bash
# The issue's benchmark: `orrery config validate` over the whole corpus (compile, schema and
# every lint rule, end to end, one invocation) against the schema-only check with ajv and
# SchemaStore's CircleCI schema (`node bench/ajv/validate.mjs`, one invocation), in the same
# hyperfine run. Prints both medians and the ratio; the goal is at least 10x.
#
#   bench/validate-vs-ajv.sh [RUNS]
#
# shellcheck (L1501) is an external linter that ajv does not run either: the main comparison
# turns it off with a settings file, and a second line shows orrery with it on.
# Needs node with `npm ci --prefix bench/ajv`, check-jsonschema (it vendors the schema), jq
# and hyperfine (installed here when missing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${1:-15}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
corpus="$root/../shared/corpus/configs"
schemastore="$(python3 -c 'import check_jsonschema, os; print(os.path.join(os.path.dirname(check_jsonschema.__file__), "builtin_schemas/vendor/circle-ci.json"))')"
if ! command -v hyperfine >/dev/null; then
    apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null
fi
[ -d bench/ajv/node_modules ] || npm ci --prefix bench/ajv --no-audit --no-fund --silent

cargo build --release -q -p orrery
orrery="$target_dir/release/orrery"
files=("$corpus"/*.yml)
settings="$(mktemp --suffix .toml)"
trap 'rm -f "$settings"' EXIT
printf '[rules]\nshellcheck = "off"\n' >"$settings"

# -i: configs that use orbs the corpus lacks do not compile, so orrery exits 1 on the corpus.
hyperfine --warmup 2 --runs "$runs" -N -i --export-json "$target_dir/validate-vs-ajv.json" \
    -n "orrery config validate (no shellcheck)" \
    "$orrery config validate --format json --settings $settings ${files[*]}" \
    -n "ajv schema only" \
    "node bench/ajv/validate.mjs $schemastore $corpus" \
    -n "orrery config validate (with shellcheck)" \
    "$orrery config validate --format json ${files[*]}" >/dev/null

echo "whole corpus (${#files[@]} configs), one invocation each, $runs runs:"
jq -r '.results[] | "  \(.command | .[0:42] | . + (" " * (42 - length)))  median \(.median * 1000 | . * 10 | floor / 10) ms"' \
    "$target_dir/validate-vs-ajv.json"
jq -r '"  ratio ajv / orrery (no shellcheck): \((.results[1].median / .results[0].median) * 10 | floor / 10)x"' \
    "$target_dir/validate-vs-ajv.json"
