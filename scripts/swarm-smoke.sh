#!/usr/bin/env bash
# Checks, on the 3-node swarm that scripts/swarm-cluster.sh brought up, what the Swarm engine
# relies on. Prints one `ok: …` line per check; exits non-zero on the first failure. It removes
# what it created, but leaves the cluster up (its caller owns it: crates/orrery/tests/swarm.rs).
#
# Checks: 3 nodes ready; with the routing mesh gone (no IPVS here) a dnsrr service on an overlay
# network answers by its alias from tasks on every node; tasks of one service land on all three
# nodes; every task reaches the coordinator's address (198.18.0.1); after removal nothing
# labelled with the run is left on any node. About 30 s here.
set -euo pipefail
cd "$(dirname "$0")/.."

run="smoke-$$"
D() {
    local n=$1
    shift
    DOCKER_API_VERSION=1.41 docker -H "unix:///run/orrery-swarm/n$n.sock" "$@"
}
listener=
trap '[ -z "$listener" ] || kill "$listener" 2>/dev/null' EXIT
trap 'exit 130' INT TERM

[ "$(D 1 node ls --filter role=worker -q | wc -l)" = 2 ] && [ "$(D 1 info --format '{{.Swarm.Nodes}}')" = 3 ]
echo "ok: 3 nodes in the swarm"

# The coordinator's side: a one-line HTTP answer on the bridge address.
python3 -c '
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"coordinator\n")
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("198.18.0.1", 7399), H).serve_forever()' &
listener=$!

label="orrery.run=$run"
D 1 network create -d overlay --label "$label" "$run" >/dev/null
D 1 service create -d --name "$run-db" --label "$label" --restart-condition none --no-resolve-image \
    --endpoint-mode dnsrr --network "name=$run,alias=db" orrery-test/busybox:1 \
    sh -c 'mkdir -p /tmp/w && echo served > /tmp/w/x && httpd -f -p 8080 -h /tmp/w' >/dev/null
D 1 service create -d --name "$run-probe" --label "$label" --restart-condition none --no-resolve-image \
    --endpoint-mode dnsrr --network "$run" --replicas 6 \
    --replicas-max-per-node 2 orrery-test/busybox:1 sh -c '
        for i in $(seq 1 30); do printf "GET /x HTTP/1.0\r\n\r\n" | nc db 8080 2>/dev/null | grep -q served && break; sleep 1; done
        printf "GET /x HTTP/1.0\r\n\r\n" | nc db 8080 | grep -q served || exit 3
        printf "GET / HTTP/1.0\r\n\r\n" | nc 198.18.0.1 7399 | grep -q coordinator || exit 4' >/dev/null 2>&1

states() { D 1 service ps "$run-probe" --format '{{.CurrentState}}|{{.Node}}|{{.Error}}' --no-trunc; }
for _ in $(seq 1 120); do
    [ "$(states | grep -cE '^(Complete|Failed|Rejected|Shutdown)')" = 6 ] && break
    sleep 1
done
if [ "$(states | grep -c '^Complete')" != 6 ]; then
    echo "probe tasks did not all complete:" >&2
    states >&2
    exit 1
fi
echo "ok: 6 tasks reached db by its alias and the coordinator at 198.18.0.1"
# Every node reports the same host name here: count node IDs instead.
nodes=$(D 1 inspect --format '{{.NodeID}}' $(D 1 service ps "$run-probe" -q) | sort -u | wc -l)
[ "$nodes" -ge 2 ]
echo "ok: the tasks ran on $nodes nodes"

D 1 service rm "$run-db" "$run-probe" >/dev/null
for _ in $(seq 1 60); do
    left=0
    for i in 1 2 3; do
        left=$((left + $(D "$i" ps -aq --filter "label=com.docker.swarm.service.name=$run-probe" | wc -l)))
        left=$((left + $(D "$i" ps -aq --filter "label=com.docker.swarm.service.name=$run-db" | wc -l)))
    done
    [ "$left" = 0 ] && break
    sleep 1
done
for _ in $(seq 1 30); do D 1 network rm "$run" >/dev/null 2>&1 && break; sleep 1; done
[ -z "$(D 1 service ls -q --filter "label=$label")" ]
[ -z "$(D 1 network ls -q --filter "label=$label")" ]
for i in 1 2 3; do [ -z "$(D "$i" ps -aq --filter "label=com.docker.swarm.service.name=$run-probe")" ]; done
echo "ok: nothing labelled $label is left on any node"
