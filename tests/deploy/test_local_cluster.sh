#!/usr/bin/env bash
# test_local_cluster.sh — deploy/local-cluster.sh as a user drives it.
#
# Scenario: start a three-node cluster in a temp dir on free loopback ports;
# a write on the primary (redis-cli) reads back on both replicas; ROLE and
# INFO show one primary with two linked replicas; a replica answers READONLY;
# start again is a no-op, a second cluster on the same ports is refused;
# stop ends exactly the cluster's PIDs (a decoy named "kvnode", and a stale
# pidfile pointing at it, survive), a second stop is a no-op; after a restart
# from the same data the value is still there on every node; after a manual
# failover (node1 crashes, node2 promoted with REPLICAOF NO ONE) stop + start
# keeps node2 the primary and keeps what was written on it.
#
# Environment: KVNODE (the kvnode binary under test; ctest passes the build's).
# Bounded: every wait has a deadline; the cluster is stopped on any exit.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/deploy/lib.sh
. "$HERE/lib.sh"

# ---- Fixture -------------------------------------------------------------------

command -v redis-cli >/dev/null 2>&1 || {
    echo "SKIP: redis-cli not installed (bash scripts/install-deps.sh installs redis-tools)"
    exit 77
}
[ -x "${KVNODE:-}" ] || fail "KVNODE must name the kvnode binary under test"
export KVNODE
unset KVCLI KV_CLUSTER_SECRET KV_MIN_REPLICAS_ACK # the script's defaults are under test
export KV_START_TIMEOUT=60 KV_STOP_TIMEOUT=30

TMP=$(mktemp -d /tmp/kvnode-local-cluster.XXXXXX)
DIR=$TMP/cluster
LC=(bash "$ROOT/deploy/local-cluster.sh")
DECOY=""

cleanup() {
    local status=$?
    set +e
    if [ -d "$DIR" ]; then "${LC[@]}" stop "$DIR" >/dev/null 2>&1; fi
    if [ -n "$DECOY" ] && alive "$DECOY"; then
        kill "$DECOY" 2>/dev/null
        wait "$DECOY" 2>/dev/null
    fi
    if [ "$status" -ne 0 ]; then
        for f in "$DIR"/node*.log; do
            [ -f "$f" ] && { echo "---- $f"; tail -n 20 "$f"; }
        done
    fi
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# A process that stop must never touch, although its name is "kvnode".
bash -c 'exec -a kvnode sleep 600' &
DECOY=$!

pids() { cat "$DIR"/node1.pid "$DIR"/node2.pid "$DIR"/node3.pid; }

# ---- Tests ---------------------------------------------------------------------

# Free ports, and a retry should another process bind one of them between
# the check and the start (start then stops what it launched).
for attempt in 1 2 3; do
    BASE=$(free_base 3)
    export KV_BASE_PORT=$BASE
    P1=$BASE P2=$((BASE + 1)) P3=$((BASE + 2))
    note "start on ports $P1..$P3 in $DIR"
    if out=$("${LC[@]}" start "$DIR" 2>&1); then break; fi
    if ! grep -q "address already in use" <<<"$out" || [ "$attempt" -eq 3 ]; then
        fail "start failed: $out"
    fi
    note "a port was taken meanwhile; again on other ports"
    rm -rf "$DIR"
done
echo "$out"
grep -q -- "--cluster-seeds 127.0.0.1:$P1,127.0.0.1:$P2,127.0.0.1:$P3" <<<"$out" ||
    fail "start does not print the kvcli --cluster-seeds line"
grep -q "local-cluster.sh stop" <<<"$out" || fail "start does not print how to stop"
for n in 1 2 3; do
    pid=$(cat "$DIR/node$n.pid")
    alive "$pid" || fail "node$n pid $pid is not running"
    tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF "$DIR/node$n.conf" ||
        fail "pid $pid is not node$n"
    [ "$(stat -c %a "$DIR/node$n.conf")" = 600 ] || fail "node$n.conf is readable by others"
done
[ "$(stat -c %a "$DIR/cluster-secret")" = 600 ] || fail "cluster-secret is readable by others"
first_pids=$(pids)

note "a write on the primary reaches both replicas"
[ "$(cli "$P1" set greeting hello)" = OK ] || fail "SET on the primary"
for p in "$P2" "$P3"; do
    eventually 15 bash -c "[ \"\$(timeout 5 redis-cli -p $p get greeting)\" = hello ]" ||
        fail "replica on $p does not have the write"
done

note "ROLE and INFO replication"
[ "$(cli "$P1" role | head -n 1)" = master ] || fail "node1 is not the primary"
info=$(cli "$P1" info replication | tr -d '\r')
grep -qx 'connected_slaves:2' <<<"$info" || fail "primary has not 2 replicas: $info"
for p in "$P2" "$P3"; do
    [ "$(cli "$p" role | head -n 1)" = slave ] || fail "node on $p is not a replica"
    info=$(cli "$p" info replication | tr -d '\r')
    grep -qx 'master_link_status:up' <<<"$info" || fail "replica on $p: link not up"
    grep -qx "master_port:$P1" <<<"$info" || fail "replica on $p does not follow $P1"
done

note "a replica refuses writes"
reply=$(cli "$P2" set greeting nope)
[[ $reply == READONLY* ]] || fail "SET on a replica answered: $reply"

note "status"
status_out=$("${LC[@]}" status "$DIR") || fail "status exited $?: $status_out"
echo "$status_out"
[ "$(grep -c ' running ' <<<"$status_out")" = 3 ] || fail "status does not show 3 running nodes"
grep -q '^node1 .* primary ' <<<"$status_out" || fail "status: node1 not primary"
[ "$(grep -c ' replica  up ' <<<"$status_out")" = 2 ] || fail "status: replicas not linked"

note "start again is a no-op"
out=$("${LC[@]}" start "$DIR") || fail "second start failed: $out"
grep -q "already running" <<<"$out" || fail "second start: $out"
[ "$(pids)" = "$first_pids" ] || fail "second start changed the PIDs"

note "a second cluster on the same ports is refused"
if out=$("${LC[@]}" start "$TMP/other" 2>&1); then fail "second cluster started: $out"; fi
grep -q "already in use" <<<"$out" || fail "no port-in-use message: $out"
[ ! -e "$TMP/other/node1.pid" ] || fail "refused start left a pidfile"

note "stop ends exactly the cluster's PIDs"
out=$("${LC[@]}" stop "$DIR") || fail "stop failed: $out"
echo "$out"
grep -q SIGKILL <<<"$out" && fail "a node needed SIGKILL: $out"
for pid in $first_pids; do
    ! alive "$pid" || fail "pid $pid still running after stop"
done
for n in 1 2 3; do [ ! -e "$DIR/node$n.pid" ] || fail "node$n.pid left behind"; done
alive "$DECOY" || fail "stop signalled the decoy"

note "a stale pidfile naming another process is removed, not signalled"
echo "$DECOY" >"$DIR/node2.pid"
out=$("${LC[@]}" stop "$DIR") || fail "stop with a stale pidfile failed: $out"
grep -q "stale pidfile" <<<"$out" || fail "stale pidfile not reported: $out"
alive "$DECOY" || fail "stop signalled the process of a stale pidfile"
[ ! -e "$DIR/node2.pid" ] || fail "stale pidfile kept"
set +e
"${LC[@]}" status "$DIR" >/dev/null
rc=$?
set -e
[ "$rc" = 3 ] || fail "status of a stopped cluster exited $rc, want 3"

note "restart from the same data"
"${LC[@]}" start "$DIR" >/dev/null || fail "restart failed"
for p in "$P1" "$P2" "$P3"; do
    eventually 15 bash -c "[ \"\$(timeout 5 redis-cli -p $p get greeting)\" = hello ]" ||
        fail "node on $p lost the write across a restart"
done
[ "$(cli "$P1" set after restart)" = OK ] || fail "SET after restart"

note "manual failover survives stop and start"
node1_pid=$(cat "$DIR/node1.pid")
kill -KILL "$node1_pid" # a crash of the primary
eventually 10 bash -c "! [ -e /proc/$node1_pid ]" || fail "node1 survived SIGKILL"
[ "$(cli "$P2" replicaof no one)" = OK ] || fail "REPLICAOF NO ONE on node2"
# "OK Already connected to specified master" (Redis's) when node3 already
# follows node2.
case "$(cli "$P3" replicaof 127.0.0.1 "$P2")" in
OK | "OK Already connected to specified master") ;;
*) fail "REPLICAOF on node3" ;;
esac
# The survivors may already have elected node3; REPLICAOF NO ONE makes node2
# campaign and REPLICAOF on node3 hands leadership to node2 if node3 leads.
replica_linked() {
    local i
    i=$(cli "$P3" info replication | tr -d '\r')
    grep -qx 'master_link_status:up' <<<"$i" && grep -qx "master_port:$P2" <<<"$i" &&
        [ "$(cli "$P2" role | head -n 1)" = master ]
}
eventually 15 replica_linked || fail "node3 never linked to node2 as the primary"
[ "$(cli "$P2" set promoted yes)" = OK ] || fail "SET on the promoted node2"
second_pids=$(cat "$DIR/node2.pid" "$DIR/node3.pid")
out=$("${LC[@]}" stop "$DIR") || fail "stop after failover failed: $out"
grep -q SIGKILL <<<"$out" && fail "a node needed SIGKILL: $out"
for pid in $second_pids; do ! alive "$pid" || fail "pid $pid survived stop"; done
out=$("${LC[@]}" start "$DIR") || fail "start after failover failed: $out"
grep -q "node2 was the primary" <<<"$out" || fail "start did not keep node2 the primary: $out"
[ "$(cli "$P2" role | head -n 1)" = master ] || fail "node2 is not the primary after restart"
[ "$(cli "$P1" role | head -n 1)" = slave ] || fail "node1 is not a replica after restart"
for p in "$P1" "$P2" "$P3"; do
    eventually 15 bash -c "[ \"\$(timeout 5 redis-cli -p $p get promoted)\" = yes ]" ||
        fail "node on $p lost the write made after the failover"
done
third_pids=$(pids)
out=$("${LC[@]}" stop "$DIR") || fail "final stop failed: $out"
grep -q SIGKILL <<<"$out" && fail "a node needed SIGKILL: $out"
for pid in $third_pids; do ! alive "$pid" || fail "pid $pid survived stop"; done
alive "$DECOY" || fail "the decoy was signalled"

no_sanitizer_reports "$DIR"/node*.log
echo "PASS: local cluster"
