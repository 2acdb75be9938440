#!/usr/bin/env bash
# Schema-only validation of the whole corpus: orrery-schema vs ajv with SchemaStore's CircleCI
# schema. Prints, side by side:
#   * in-process medians: orrery (criterion `corpus/parse_check`) vs ajv (median pass of
#     `bench/ajv/validate.mjs --repeat N`, parse + validate of every file);
#   * whole invocations (hyperfine, when installed): `check_files FILE...` (the orrery-schema
#     example binary) vs `node bench/ajv/validate.mjs` over the same files.
#
#   bench/schema-vs-ajv.sh [CRITERION ARGS...]
#
# Needs jq, node with `npm ci --prefix bench/ajv`, and check-jsonschema (it vendors the schema).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
corpus="$root/../shared/corpus/configs"
schemastore="$(python3 -c 'import check_jsonschema, os; print(os.path.join(os.path.dirname(check_jsonschema.__file__), "builtin_schemas/vendor/circle-ci.json"))')"

cargo bench -p orrery-schema --bench corpus -- "$@" >/dev/null
median_ms() {
    jq -r '.median.point_estimate / 1e6' "$target_dir/criterion/corpus/$1/new/estimates.json"
}
parse=$(median_ms parse)
check=$(median_ms parse_check)
ajv=$(node bench/ajv/validate.mjs "$schemastore" "$corpus" --repeat 15 2>/dev/null)
ajv_pass=$(jq -r .median_pass_ms <<<"$ajv")
printf '\nin process, whole corpus (%s files), medians:\n' "$(jq -r .files <<<"$ajv")"
printf '  orrery parse            %9.2f ms\n' "$parse"
printf '  orrery parse + check    %9.2f ms\n' "$check"
printf '  ajv parse + validate    %9.2f ms\n' "$ajv_pass"
printf '  ratio ajv / orrery      %9.1fx\n' "$(jq -n "$ajv_pass / $check")"

if command -v hyperfine >/dev/null; then
    cargo build --release -q -p orrery-schema --example check_files
    files=("$corpus"/*.yml)
    echo
    hyperfine --warmup 2 --runs "${RUNS:-10}" -N -i \
        --export-json "$target_dir/schema-vs-ajv.json" \
        -n orrery "$target_dir/release/examples/check_files ${files[*]}" \
        -n ajv "node bench/ajv/validate.mjs $schemastore $corpus" >/dev/null
    jq -r '.results[] | "  \(.command)  median \(.median * 1000 | floor) ms  (mean \(.mean * 1000 | floor) ms ± \(.stddev * 1000 | floor))"' \
        "$target_dir/schema-vs-ajv.json"
    jq -r '"  ratio ajv / orrery  \((.results[1].median / .results[0].median) * 10 | floor / 10)x"' \
        "$target_dir/schema-vs-ajv.json"
fi
