#!/usr/bin/env bash
# Replication figures for kvnode, side by side with Debian's redis-server,
# in one run on this machine. Prints tables; asserts nothing.
#
#   1. Write throughput (redis-benchmark SET, 50 clients, -P 1 and -P 16,
#      fsync on every write): a lone kvnode, a kvnode primary with one
#      replica and min-replicas-ack 0 (asynchronous) and 1 (a write is
#      acknowledged once the replica has it durable); redis alone and with
#      one (asynchronous) replica.
#   2. Bootstrapping a new replica of a primary holding N keys (DEBUG
#      POPULATE, default 1M): seconds until the replica has everything, and
#      the p50/p99 latency of GETs on the primary meanwhile (and without).
#
# Usage: bash tests/bench/compare_repl.sh [requests] [keys]
set -euo pipefail
cd "$(dirname "$0")/../.."
requests=${1:-200000}
keys=${2:-1000000}

source tests/bench/lib.sh kvrepl

populate() { # port: DEBUG POPULATE $keys keys and check they are there
  redis-cli -p "$1" debug populate "$keys" >/dev/null
  local n; n=$(redis-cli -p "$1" dbsize)
  [ "$n" = "$keys" ] || { echo "populate on port $1 left $n keys, not $keys" >&2; exit 1; }
}

check_keys() { # port: a bootstrapped replica holds every key
  local n; n=$(redis-cli -p "$1" dbsize)
  [ "$n" -ge "$keys" ] || { echo "replica on port $1 holds $n keys, not $keys" >&2; exit 1; }
}
bench() { # port pipeline test [clients [requests]] -> "rps p50 p99"
  redis-benchmark -p "$1" -c "${4:-50}" -n "${5:-$requests}" -r 1000000 -d 32 -P "$2" -t "$3" --csv 2>/dev/null |
    awk -F'"' 'NR==2 {print $4, $10, $14}'
}
now() { date +%s.%N; }
# GETs on a primary in windows of 5000 requests until $work/synced exists;
# prints the worst window's "p50/p99" and how many windows ran.
sync_load() { # port
  local out=$work/windows
  : > "$out"
  while [ ! -e "$work/synced" ]; do bench "$1" 1 get 10 5000 >> "$out"; done
  awk '{ if ($2 > p50) p50 = $2; if ($3 > p99) p99 = $3 } END { printf "%s/%s %d\n", p50, p99, NR }' "$out"
}
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

echo "Replication: kvnode vs redis-server $("$REDIS" --version | awk '{print $3}' | cut -d= -f2), $(nproc) cores, $requests requests per run, 50 clients, fsync on every write"
echo
printf '%-44s %-3s %12s %16s\n' "setup" "-P" "SET ops/s" "p50/p99 ms"
printf '%-44s %-3s %12s %16s\n' "--------------------------------------------" "---" "------------" "----------------"
row() { # label port
  for p in 1 16; do
    read -r rps p50 p99 < <(bench "$2" "$p" set)
    printf '%-44s %-3s %12.0f %16s\n' "$1" "$p" "$rps" "$p50/$p99"
  done
}

p=$(free_port); start_kvnode "$p" "$work/k1" --appendfsync always; k1=$LAST_PID; wait_ping "$p"
row "kvnode, no replica" "$p"; stop_pid "$k1"

for ack in 0 1; do
  p=$(free_port); r=$(free_port)
  start_kvnode "$p" "$work/kp$ack" --appendfsync always --min-replicas-ack "$ack"; kp=$LAST_PID
  wait_ping "$p"
  start_kvnode "$r" "$work/kr$ack" --appendfsync always --replicaof 127.0.0.1 "$p"; kr=$LAST_PID
  wait_ping "$r"
  until [ "$(info "$p" replication connected_slaves)" = 1 ]; do sleep 0.05; done
  row "kvnode + 1 replica, min-replicas-ack $ack" "$p"
  stop_pid "$kr"; stop_pid "$kp"
done

p=$(free_port); start_redis "$p" "$work/r1" --appendonly yes --appendfsync always; r1=$LAST_PID; wait_ping "$p"
row "redis, no replica" "$p"; stop_pid "$r1"
p=$(free_port); r=$(free_port)
start_redis "$p" "$work/rp" --appendonly yes --appendfsync always; rp=$LAST_PID; wait_ping "$p"
start_redis "$r" "$work/rr" --appendonly yes --appendfsync always --replicaof 127.0.0.1 "$p"; rr=$LAST_PID
wait_ping "$r"
until [ "$(info "$r" replication master_link_status)" = up ]; do sleep 0.05; done
row "redis + 1 replica (asynchronous)" "$p"
stop_pid "$rr"; stop_pid "$rp"

echo
echo "Bootstrapping a replica of a primary with $keys keys (DEBUG POPULATE; GETs on the primary: 10 clients)"
echo "(sync: the worst of the 5000-GET windows that ran during the bootstrap; their count in parentheses)"
printf '%-34s %10s %18s %24s\n' "server" "seconds" "GET p50/p99 ms idle" "GET p50/p99 ms sync"
printf '%-34s %10s %18s %24s\n' "----------------------------------" "----------" "------------------" "------------------------"

# kvnode: the log is compacted first so the replica needs a snapshot.
p=$(free_port); r=$(free_port)
start_kvnode "$p" "$work/kb" --appendfsync always --wal-segment-size 4mb --repl-retention-bytes 0; kp=$LAST_PID; wait_ping "$p"
populate "$p"
redis-cli -p "$p" save >/dev/null; redis-cli -p "$p" set x 1 >/dev/null; redis-cli -p "$p" save >/dev/null
read -r _ i50 i99 < <(bench "$p" 1 get 10 20000)
t0=$(now)
start_kvnode "$r" "$work/kbr" --replicaof 127.0.0.1 "$p"; kr=$LAST_PID
rm -f "$work/synced"; sync_load "$p" > "$work/kget" &
bpid=$!
last=$(info "$p" replication master_repl_offset)
until [ "$(info "$r" replication slave_repl_offset 2>/dev/null)" = "$last" ] &&
      [ "$(info "$r" replication master_link_status 2>/dev/null)" = up ]; do sleep 0.02; done
kt=$(elapsed "$t0"); check_keys "$r"
touch "$work/synced"; wait "$bpid"; read -r sync windows < "$work/kget"
full=$(info "$p" stats sync_full)
printf '%-34s %10s %18s %24s\n' "kvnode (snapshot, sync_full=$full)" "$kt" "$i50/$i99" "$sync ($windows)"
stop_pid "$kr"; stop_pid "$kp"

p=$(free_port); r=$(free_port)
start_redis "$p" "$work/rb" --repl-diskless-sync-delay 0; rp=$LAST_PID; wait_ping "$p"
populate "$p"
read -r _ i50 i99 < <(bench "$p" 1 get 10 20000)
t0=$(now)
start_redis "$r" "$work/rbr" --replicaof 127.0.0.1 "$p"; rr=$LAST_PID
rm -f "$work/synced"; sync_load "$p" > "$work/rget" &
bpid=$!
until [ "$(info "$r" replication master_link_status 2>/dev/null)" = up ] &&
      [ "$(info "$r" replication master_sync_in_progress 2>/dev/null)" = 0 ]; do sleep 0.02; done
rt=$(elapsed "$t0"); check_keys "$r"
touch "$work/synced"; wait "$bpid"; read -r sync windows < "$work/rget"
printf '%-34s %10s %18s %24s\n' "redis (full sync)" "$rt" "$i50/$i99" "$sync ($windows)"
stop_pid "$rr"; stop_pid "$rp"
