#!/usr/bin/env bash
# A 3-node Docker Swarm on this one host, for `orrery run --engine swarm` tests and benchmarks:
# three dockerd, each in its own network namespace (orr-n1..3) on bridge orrbr0 (198.18.0.1/24;
# nodes at 198.18.0.11..13), each with its own socket, data root, exec root and containerd.
# The host's own daemon (/var/run/docker.sock) is never touched.
#
#   scripts/swarm-cluster.sh up     idempotent; prints the manager's socket as its last line
#   scripts/swarm-cluster.sh down   removes everything `up` made (daemons, data, netns, bridge)
#
# This kernel has no IPVS, so: endpoint mode dnsrr only, no published ports, no ingress network
# (removed after init). Images come from the host daemon by `docker save | load` into each node
# (ORRERY_SWARM_IMAGES, default the test busybox image).
set -euo pipefail

nodes=(1 2 3)
state=/run/orrery-swarm
data=/var/lib/orrery-swarm
bridge=orrbr0
images="${ORRERY_SWARM_IMAGES:-orrery-test/busybox:1}"

sock() { echo "$state/n$1.sock"; }
D() {
    local n=$1
    shift
    DOCKER_API_VERSION=1.41 docker -H "unix://$(sock "$n")" "$@"
}
answers() { curl -fsS --max-time 2 --unix-socket "$(sock "$1")" -o /dev/null http://l/_ping 2>/dev/null; }

down() {
    for i in "${nodes[@]}"; do
        if answers "$i"; then
            D "$i" swarm leave --force >/dev/null 2>&1 || true
        fi
        local pidfile="$state/n$i.pid"
        if [ -f "$pidfile" ]; then
            local pid
            pid=$(cat "$pidfile")
            if kill -0 "$pid" 2>/dev/null; then
                kill -TERM "$pid" 2>/dev/null || true
                for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
        # The daemon's own containerd (it started one, no system containerd runs here).
        local cpid="$state/n$i/containerd/containerd.pid"
        if [ -f "$cpid" ] && kill -0 "$(cat "$cpid")" 2>/dev/null; then
            kill -TERM "$(cat "$cpid")" 2>/dev/null || true
            sleep 0.5
            kill -KILL "$(cat "$cpid")" 2>/dev/null || true
        fi
        # Anything still mounted under the node's roots (netns files of overlay sandboxes, vfs).
        for root in "$state/n$i" "$data/n$i"; do
            if [ -d "$root" ]; then
                { grep -o " $root[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
            fi
        done
        ip netns del "orr-n$i" 2>/dev/null || true
        ip link del "orr-v$i" 2>/dev/null || true
    done
    ip link del "$bridge" 2>/dev/null || true
    iptables -t nat -D POSTROUTING -s 198.18.0.0/24 ! -o "$bridge" -j MASQUERADE 2>/dev/null || true
    rm -rf "$state" "$data"
}

up() {
    if answers 1 && [ "$(D 1 info --format '{{.Swarm.Nodes}}' 2>/dev/null)" = 3 ]; then
        sock 1
        return 0
    fi
    down
    trap 'echo "swarm-cluster: bring-up failed; removing what it made" >&2; down' ERR INT TERM
    mkdir -p "$state" "$data"
    ip link add "$bridge" type bridge
    ip addr add 198.18.0.1/24 dev "$bridge"
    ip link set "$bridge" up
    for i in "${nodes[@]}"; do
        ip netns add "orr-n$i"
        ip link add "orr-v$i" type veth peer name eth0 netns "orr-n$i"
        ip link set "orr-v$i" master "$bridge" up
        ip -n "orr-n$i" addr add "198.18.0.1$i/24" dev eth0
        ip -n "orr-n$i" link set eth0 up
        ip -n "orr-n$i" link set lo up
        ip -n "orr-n$i" route add default via 198.18.0.1
        mkdir -p "$data/n$i" "$state/n$i"
        echo '{}' >"$data/n$i.json"
        # Only the network namespace is switched (not `ip netns exec`, whose private mount
        # namespace would hide the daemon's own netns mounts from its containerd).
        DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 setsid nsenter --net="/run/netns/orr-n$i" -- dockerd \
            --config-file "$data/n$i.json" --host "unix://$(sock "$i")" \
            --data-root "$data/n$i" --exec-root "$state/n$i" --pidfile "$state/n$i.pid" \
            --containerd-namespace "orr-n$i" --containerd-plugins-namespace "orr-n${i}p" \
            --storage-driver vfs --bridge none --cgroup-parent "/orrery-n$i" \
            </dev/null >"$state/n$i.log" 2>&1 &
    done
    for i in "${nodes[@]}"; do
        for _ in $(seq 1 300); do answers "$i" && break; sleep 0.2; done
        answers "$i" || { echo "swarm-cluster: node $i did not answer; its log:" >&2; tail -n 30 "$state/n$i.log" >&2; false; }
    done
    # docker_gwbridge (each task's way out to the coordinator's store) would take 172.x; keep
    # every address in 198.18.0.0/15.
    for i in "${nodes[@]}"; do
        D "$i" network create --subnet "198.18.1$i.0/24" \
            --opt com.docker.network.bridge.name=docker_gwbridge \
            --opt com.docker.network.bridge.enable_icc=false \
            --opt com.docker.network.bridge.enable_ip_masquerade=true docker_gwbridge >/dev/null
    done
    D 1 swarm init --advertise-addr 198.18.0.11 --listen-addr 198.18.0.11:2377 \
        --data-path-addr 198.18.0.11 --default-addr-pool 198.19.0.0/16 \
        --default-addr-pool-mask-length 24 --task-history-limit 1 >/dev/null
    local token
    token=$(D 1 swarm join-token -q worker)
    for i in 2 3; do
        D "$i" swarm join --token "$token" --advertise-addr "198.18.0.1$i" \
            --listen-addr "198.18.0.1$i:2377" 198.18.0.11:2377 >/dev/null
    done
    # The routing mesh needs IPVS, which this kernel lacks.
    D 1 network rm ingress >/dev/null 2>&1 <<<y || true
    for image in $images; do
        for i in "${nodes[@]}"; do docker save "$image" | D "$i" load >/dev/null; done
    done
    trap - ERR INT TERM
    sock 1
}

case "${1:-}" in
up) up ;;
down) down ;;
*)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
