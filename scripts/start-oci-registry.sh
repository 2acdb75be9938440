#!/usr/bin/env bash
# Starts a local OCI registry for crates/orrery-registry's tests: Debian's docker-registry
# (CNCF distribution 2.8), anonymous, filesystem storage in a fresh temporary directory.
#
#   ORRERY_TEST_OCI_REGISTRY=127.0.0.1:5000   address to listen on (default 127.0.0.1:5000)
#   ORRERY_TEST_OCI_REGISTRY_OWNER_PID=PID    stop the registry (and delete its data) once
#                                             process PID has exited; without it the registry
#                                             runs until killed (its pid is printed)
#
# Installs the docker-registry package when it is missing (needs root). Returns once
# http://ADDRESS/v2/ answers, or fails with the registry's log. If something already answers
# there as an OCI registry, it is reused.
set -euo pipefail

address="${ORRERY_TEST_OCI_REGISTRY:-127.0.0.1:5000}"
owner="${ORRERY_TEST_OCI_REGISTRY_OWNER_PID:-}"

answers() {
    curl -fsS --max-time 2 -o /dev/null "http://$address/v2/" 2>/dev/null
}

if answers; then
    echo "start-oci-registry: reusing the OCI registry already answering at $address"
    exit 0
fi

if ! command -v docker-registry >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "start-oci-registry: docker-registry is not installed; run as root: apt-get install docker-registry" >&2
        exit 1
    fi
    echo "start-oci-registry: installing docker-registry" >&2
    # Several test processes may get here at once; dpkg allows one installer at a time.
    flock /tmp/orrery-oci-registry-install.lock bash -c '
        command -v docker-registry >/dev/null 2>&1 && exit 0
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null
    '
fi

dir="$(mktemp -d /tmp/orrery-oci-registry.XXXXXX)"
cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: $address
  secret: orrery-test-registry
EOF

# Detached from our stdout/stderr so that a caller reading our output is not kept waiting.
setsid docker-registry serve "$dir/config.yml" </dev/null >"$dir/registry.log" 2>&1 &
pid=$!
echo "$pid" >"$dir/registry.pid"

for _ in $(seq 1 100); do
    if answers; then
        break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "start-oci-registry: docker-registry exited; its log:" >&2
        cat "$dir/registry.log" >&2
        exit 1
    fi
    sleep 0.2
done
if ! answers; then
    echo "start-oci-registry: no answer from http://$address/v2/ after 20 s; the log:" >&2
    cat "$dir/registry.log" >&2
    kill "$pid" 2>/dev/null || true
    exit 1
fi

if [ -n "$owner" ]; then
    # A watchdog: the registry lives as long as the process that asked for it.
    setsid bash -c '
        while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
        kill "$2" 2>/dev/null
        sleep 1
        rm -rf "$3"
    ' watchdog "$owner" "$pid" "$dir" </dev/null >/dev/null 2>&1 &
fi

echo "start-oci-registry: OCI registry at $address (pid $pid, data and log in $dir)"
