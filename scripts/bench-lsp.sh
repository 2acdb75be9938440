#!/usr/bin/env bash
# The language server's benchmark (crates/orrery/benches/lsp.rs): didChange -> diagnostics on
# the largest corpus config and a generated 10,000-line config, peak memory, and Red Hat's
# yaml-language-server with SchemaStore's CircleCI schema on the same files and edits.
# SchemaStore's schema comes vendored in check-jsonschema (PyPI), yaml-language-server from npm.
# ORRERY_BENCH_BASELINE=BIN adds another orrery build side by side; ORRERY_BENCH_CALLGRIND=1 adds
# the instructions per edit that callgrind counts (a figure the machine's load does not move).
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --prefix bench/lsp --no-audit --no-fund --silent
if [ -z "${ORRERY_BENCH_CIRCLECI_SCHEMA:-}" ]; then
    ORRERY_BENCH_CIRCLECI_SCHEMA=$(python3 -c 'import check_jsonschema, os; print(os.path.join(os.path.dirname(check_jsonschema.__file__), "builtin_schemas/vendor/circle-ci.json"))' 2>/dev/null || true)
    export ORRERY_BENCH_CIRCLECI_SCHEMA
fi
exec nice -n 19 cargo bench --locked -p orrery --bench lsp
