#!/usr/bin/env bash
# Runs `orrery config process` with the command's parameters (see commands/process.yml).
set -euo pipefail
args=(config process "$ORRERY_CONFIG" --format "$ORRERY_FORMAT")
if [ -n "$ORRERY_PIPELINE_PARAMETERS" ]; then
    args+=(--pipeline-parameters "$ORRERY_PIPELINE_PARAMETERS")
fi
if [ -n "$ORRERY_OUTPUT" ]; then
    mkdir -p "$(dirname "$ORRERY_OUTPUT")"
    orrery "${args[@]}" >"$ORRERY_OUTPUT"
    echo "Wrote the compiled config to $ORRERY_OUTPUT"
else
    orrery "${args[@]}"
fi
