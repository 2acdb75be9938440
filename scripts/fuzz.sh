#!/usr/bin/env bash
# Builds the cargo-fuzz targets and runs each for SECONDS (default 60).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     TARGET: yaml, template, compile, pack (default: all)
#
# cargo-fuzz uses nightly-only compiler flags (-Zsanitizer=address, ...); RUSTC_BOOTSTRAP=1
# lets the pinned stable toolchain accept them. Install the driver with `cargo install cargo-fuzz`.
# The growing corpus is kept in fuzz/corpus/<target>/ (git-ignored) and seeded from the
# hand-written fuzz/seeds/<target>/; crashes land in fuzz/artifacts/<target>/ (git-ignored).
# Extra libFuzzer flags can be passed in FUZZ_ARGS (e.g. FUZZ_ARGS="-max_len=16384 -jobs=2").
set -euo pipefail

seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(yaml template compile pack)
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export RUSTC_BOOTSTRAP=1

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: run \`cargo install cargo-fuzz\`" >&2
    exit 2
fi

for target in "${targets[@]}"; do
    cargo fuzz build --release "$target"
done

status=0
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
    echo "== fuzzing $target for ${seconds}s"
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    if ! cargo fuzz run --release "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        ${FUZZ_ARGS:-}; then
        echo "!! $target: libFuzzer found a problem; see fuzz/artifacts/$target/" >&2
        status=1
    fi
done
exit $status
