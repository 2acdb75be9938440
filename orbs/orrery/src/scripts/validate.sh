#!/usr/bin/env bash
# Runs `orrery config validate` with the command's parameters (see commands/validate.yml).
set -euo pipefail
read -r -a files <<<"$ORRERY_FILES"
args=(config validate --format "$ORRERY_FORMAT")
if [ "$ORRERY_STRICT" = true ]; then
    args+=(--strict)
fi
status=0
if [ -n "$ORRERY_OUTPUT" ]; then
    mkdir -p "$(dirname "$ORRERY_OUTPUT")"
    orrery "${args[@]}" "${files[@]}" >"$ORRERY_OUTPUT" || status=$?
    echo "Wrote the $ORRERY_FORMAT report to $ORRERY_OUTPUT"
else
    orrery "${args[@]}" "${files[@]}" || status=$?
fi
# 2: orrery itself could not run (bad flags, unreadable file): always a failure.
if [ -n "$ORRERY_STATUS_FILE" ] && [ "$status" != 2 ]; then
    mkdir -p "$(dirname "$ORRERY_STATUS_FILE")"
    echo "$status" >"$ORRERY_STATUS_FILE"
    exit 0
fi
exit "$status"
