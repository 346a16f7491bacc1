#!/usr/bin/env bash
# Zero elections under load: a three-voter local cluster (release build,
# default election timeout and heartbeat) takes redis-benchmark SETs at full
# speed (50 clients, -P 16, 1M-key space, 64-byte values) for DURATION
# seconds while every node runs BGSAVE every BGSAVE_EVERY seconds. Prints
# the term, elections started and pre-votes of each node before and after,
# and the throughput; asserts nothing (a benchmark, not a test).
#
# Usage: bash tests/bench/soak_elections.sh [DURATION=600] [BGSAVE_EVERY=20]
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${1:-600}
every=${2:-20}
export KV_BASE_PORT=${KV_BASE_PORT:-17800}
dir=$(mktemp -d /tmp/kvsoak.XXXXXX)
ports=("$KV_BASE_PORT" $((KV_BASE_PORT + 1)) $((KV_BASE_PORT + 2)))
bench_pid=""
cleanup() {
    [ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null || true
    KVNODE=$PWD/build/rel/node/kvnode bash deploy/local-cluster.sh stop "$dir/c" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
KVNODE=$PWD/build/rel/node/kvnode bash deploy/local-cluster.sh start "$dir/c" >/dev/null
field() { redis-cli -p "$1" info replication | tr -d '\r' | sed -n "s/^$2://p"; }
primary_port() {
    local p
    for p in "${ports[@]}"; do [ "$(field "$p" role)" = master ] && echo "$p" && return; done
}
snap() {
    local p
    for p in "${ports[@]}"; do
        printf '  %-6s term %-4s elections_started %-3s prevotes_started %-3s stepdowns %s\n' "$p" \
            "$(field "$p" term)" "$(field "$p" elections_started)" "$(field "$p" prevotes_started)" \
            "$(field "$p" stepdowns)"
    done
}
echo "before ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)):"
snap
pp=$(primary_port)
cmds() { redis-cli -p "$1" info stats | tr -d '\r' | sed -n 's/^total_commands_processed://p'; }
c0=$(cmds "$pp")
timeout $((duration + 30)) redis-benchmark -p "$pp" -c 50 -P 16 -r 1000000 -d 64 -t set -n 2000000000 \
    -q >/dev/null 2>&1 &
bench_pid=$!
start=$SECONDS saves=0
while [ $((SECONDS - start)) -lt "$duration" ]; do
    sleep "$every"
    for p in "${ports[@]}"; do redis-cli -p "$p" bgsave >/dev/null 2>&1 && saves=$((saves + 1)); done
done
before_keys=$(redis-cli -p "$pp" dbsize)
c1=$(cmds "$pp")
kill -INT "$bench_pid" 2>/dev/null || true
wait "$bench_pid" 2>/dev/null || true
bench_pid=""
echo "after ${duration}s of redis-benchmark SET -c 50 -P 16 on port $pp, $saves BGSAVEs started, $before_keys keys, load $(cut -d' ' -f1-3 /proc/loadavg):"
snap
for p in "${ports[@]}"; do
    printf '  %-6s rdb_saves %s  last bgsave %s\n' "$p" "$(redis-cli -p "$p" info persistence | tr -d '\r' | sed -n 's/^rdb_saves://p')" \
        "$(redis-cli -p "$p" info persistence | tr -d '\r' | sed -n 's/^rdb_last_bgsave_status://p')"
done
echo "primary now: $(primary_port); commands processed by $pp: $(((c1 - c0) / duration))/s on average"
