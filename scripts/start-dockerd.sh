#!/usr/bin/env bash
# Makes sure a Docker daemon answers on the local socket, for the Docker executor's tests and
# the benchmark. Idempotent: installs Debian's docker.io when dockerd is missing (needs root),
# starts dockerd when the socket does not answer, and waits until it does.
#
# This machine has no bridge support and no image registry, so the daemon runs with
# `--bridge=none --iptables=false` on the vfs storage driver; jobs' containers share the primary
# container's network namespace and need no bridge. The daemon keeps running afterwards, like
# the system service it stands in for (its log: /var/log/orrery-dockerd.log).
set -euo pipefail

socket="${ORRERY_DOCKER_SOCKET:-/var/run/docker.sock}"

answers() {
    curl -fsS --max-time 2 --unix-socket "$socket" -o /dev/null http://localhost/_ping 2>/dev/null
}

if answers; then
    echo "start-dockerd: a Docker daemon already answers on $socket"
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "start-dockerd: dockerd is not installed; run as root: apt-get install docker.io" >&2
        exit 1
    fi
    echo "start-dockerd: installing docker.io" >&2
    flock /tmp/orrery-dockerd-install.lock bash -c '
        command -v dockerd >/dev/null 2>&1 && exit 0
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
    '
fi

if [ "$(id -u)" != 0 ]; then
    echo "start-dockerd: no daemon answers on $socket and starting one needs root" >&2
    exit 1
fi

log=/var/log/orrery-dockerd.log
# containerd is started by dockerd itself when none runs; detached from our output so that a
# caller reading it is not kept waiting.
setsid dockerd --host "unix://$socket" --bridge=none --iptables=false --ip-masq=false \
    --storage-driver=vfs </dev/null >>"$log" 2>&1 &
pid=$!

for _ in $(seq 1 150); do
    if answers; then
        echo "start-dockerd: dockerd answers on $socket (pid $pid, log $log)"
        exit 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "start-dockerd: dockerd exited; the end of its log:" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
    sleep 0.2
done
echo "start-dockerd: no answer on $socket after 30 s; the end of its log:" >&2
tail -n 30 "$log" >&2
exit 1
