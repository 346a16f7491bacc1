#!/usr/bin/env bash
# test_cluster_formation.sh — the entrypoint's cluster formation (what the
# compose file and the Kubernetes StatefulSet rely on), run here with the
# real binaries on loopback: three nodes started the same way, in any order.
#
# Scenarios:
# - started all at once, the two non-seeds first, the three form one cluster
#   of three voters (the seed founds it, the others join) and replicate;
# - the seed, killed with SIGKILL and brought back with an empty data
#   directory (a rescheduled pod whose volume was lost) at the same address,
#   does not found a second cluster: it removes its old self and joins the
#   cluster, which has three voters again, and reads every write;
# - a node restarted with its data rejoins as itself (same node id).
#
# Environment: KVNODE, KV_TEST_KVCLI (binaries under test; ctest passes them).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/deploy/lib.sh
. "$HERE/lib.sh"

[ -x "${KVNODE:-}" ] || fail "KVNODE must name the kvnode binary under test"
[ -x "${KV_TEST_KVCLI:-}" ] || fail "KV_TEST_KVCLI must name the kvcli binary under test"
command -v redis-cli >/dev/null 2>&1 || fail "redis-cli missing (bash scripts/install-deps.sh)"
ENTRY=$ROOT/deploy/docker-entrypoint.sh

TMP=$(mktemp -d /tmp/kvnode-formation-test.XXXXXX)
declare -A PID
cleanup() {
    local status=$? n
    set +e
    for n in "${!PID[@]}"; do
        if alive "${PID[$n]}"; then kill -TERM "${PID[$n]}"; fi
    done
    for n in "${!PID[@]}"; do
        eventually 20 gone "${PID[$n]}" || kill -KILL "${PID[$n]}"
        wait "${PID[$n]}" 2>/dev/null
    done
    if [ "$status" -ne 0 ]; then
        for f in "$TMP"/*.log "$TMP"/*.err; do [ -f "$f" ] && { echo "---- $f"; tail -n 25 "$f"; }; done
    fi
    if [ -n "${KEEP_TMP:-}" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
gone() { ! alive "$1"; }

BIN=$TMP/bin
mkdir -p "$BIN"
ln -s "$KVNODE" "$BIN/kvnode"
ln -s "$KV_TEST_KVCLI" "$BIN/kvcli"
export PATH=$BIN:$PATH
PASSWORD=formation-pass
BASE=$(free_base 3)
PEERS="127.0.0.1:$BASE 127.0.0.1:$((BASE + 1)) 127.0.0.1:$((BASE + 2))"

# start N — node N (0..2) through the entrypoint, as every pod starts.
start() {
    local n=$1
    KVNODE_REQUIREPASS=$PASSWORD KVNODE_CLUSTER_SECRET=formation-secret \
        KVNODE_PORT=$((BASE + n)) KVNODE_RUN_DIR="$TMP/run$n" KVNODE_DATA_DIR="$TMP/data$n" \
        KVNODE_ANNOUNCE_IP=127.0.0.1 KVNODE_SEED="127.0.0.1:$BASE" KVNODE_PEERS="$PEERS" \
        KVNODE_JOIN_TIMEOUT=60 \
        sh "$ENTRY" kvnode --bind 127.0.0.1 --logfile "$TMP/node$n.log" \
        --election-timeout 500 --heartbeat-interval 50 </dev/null >>"$TMP/node$n.err" 2>&1 &
    PID[$n]=$!
}
kcli() {
    local n=$1
    shift
    cli $((BASE + n)) -a "$PASSWORD" --no-auth-warning "$@"
}
field() { kcli "$1" info replication 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"; }
voters_are() { [ "$(field "$1" voters)" = "$2" ] && [ "$(field "$1" members)" = "$2" ]; }
leader() {
    local n
    for n in 0 1 2; do
        [ "$(field "$n" raft_role 2>/dev/null)" = leader ] && { echo "$n"; return 0; }
    done
    return 1
}
has_leader() { leader >/dev/null; }
reads() { [ "$(kcli "$1" get "$2")" = "$3" ]; }
ready() { KVNODE_RUN_DIR="$TMP/run$1" timeout 20 sh "$ROOT/deploy/kvnode-probe.sh" ready >/dev/null 2>&1; }
live() { KVNODE_RUN_DIR="$TMP/run$1" timeout 20 sh "$ROOT/deploy/kvnode-probe.sh" live >/dev/null 2>&1; }
masterdown() { kcli "$1" ping 2>&1 | grep -q '^MASTERDOWN'; }

note "three nodes started at once, the seed last"
start 2
start 1
start 0
eventually 60 has_leader || fail "no leader"
for n in 0 1 2; do
    eventually 60 voters_are "$n" 3 || fail "node $n does not see three voters"
done
[ "$(field 0 cluster_id)" = "$(field 1 cluster_id)" ] &&
    [ "$(field 1 cluster_id)" = "$(field 2 cluster_id)" ] || fail "two clusters formed"
L=$(leader)
for i in $(seq 1 50); do
    [ "$(kcli "$L" set "k$i" "v$i")" = OK ] || fail "SET k$i on the leader"
done
for n in 0 1 2; do
    eventually 30 reads "$n" k50 v50 || fail "node $n does not read k50"
    eventually 30 ready "$n" || fail "node $n is not ready (kvnode-probe.sh ready)"
done

note "the seed loses its data and comes back at the same address"
old_id=$(field 0 node_id)
kill -KILL "${PID[0]}"
wait "${PID[0]}" 2>/dev/null || true
rm -rf "$TMP/data0" "$TMP/run0"
eventually 30 has_leader || fail "no leader after the seed died"
start 0
for n in 0 1 2; do
    eventually 90 voters_are "$n" 3 || fail "node $n: not three voters after the seed rejoined"
done
new_id=$(field 0 node_id)
[ -n "$new_id" ] && [ "$new_id" != "$old_id" ] || fail "the seed came back as its old self"
[ "$(field 0 cluster_id)" = "$(field 1 cluster_id)" ] || fail "the seed founded another cluster"
kcli 1 info replication | tr -d '\r' | grep -q "id=$old_id" && fail "the old seed is still a member"
grep -q "removed the old member" "$TMP/node0.err" || fail "the entrypoint did not say it removed the old member"
eventually 60 reads 0 k50 v50 || fail "the rejoined seed does not read k50"
for i in $(seq 1 50); do
    reads 0 "k$i" "v$i" || fail "the rejoined seed lacks k$i"
done

note "a node restarted with its data rejoins as itself"
id1=$(field 1 node_id)
kill -TERM "${PID[1]}"
eventually 30 gone "${PID[1]}" || fail "node 1 did not stop"
wait "${PID[1]}" 2>/dev/null || true
start 1
eventually 60 voters_are 1 3 || fail "node 1 did not rejoin"
[ "$(field 1 node_id)" = "$id1" ] || fail "node 1 came back with another id"
eventually 30 has_leader || fail "no leader at the end"

note "a follower cut off from the others with replica-serve-stale-data no: alive, not ready"
L=$(leader)
F=$(( (L + 1) % 3 )); O=$(( (L + 2) % 3 ))
[ "$(kcli "$F" config set replica-serve-stale-data no)" = OK ] || fail "CONFIG SET on node $F"
kill -STOP "${PID[$L]}" "${PID[$O]}"
cut=1; eventually 30 masterdown "$F" && cut=0
alive=1; live "$F" || alive=0
notready=1; ready "$F" && notready=0
kill -CONT "${PID[$L]}" "${PID[$O]}"
[ $cut = 0 ] || fail "node $F still answers PING with the others stopped"
[ $alive = 1 ] || fail "kvnode-probe.sh live fails on node $F (MASTERDOWN)"
[ $notready = 1 ] || fail "kvnode-probe.sh ready passes on node $F cut off"
[ "$(kcli "$F" config set replica-serve-stale-data yes)" = OK ] || fail "CONFIG SET back"
eventually 30 has_leader || fail "no leader after the others came back"

note "every node stops cleanly on SIGTERM"
for n in 0 1 2; do kill -TERM "${PID[$n]}"; done
for n in 0 1 2; do
    eventually 30 gone "${PID[$n]}" || fail "node $n did not stop"
    wait "${PID[$n]}" || fail "node $n exited with status $?"
done
no_sanitizer_reports "$TMP"/*.log "$TMP"/*.err
echo "PASS: cluster formation"
