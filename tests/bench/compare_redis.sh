#!/usr/bin/env bash
# Side-by-side benchmark of kvnode and Debian's redis-server on this
# machine, in one run. Prints tables; asserts nothing.
#
#   1. redis-benchmark SET/GET, 50 clients, unpipelined and -P 16, with
#      (a) no fsync (kvnode appendfsync no / redis appendonly no) and
#      (b) fsync on every write (appendfsync always on both).
#   2. Recovery of 1M keys (16-byte keys, 32-byte values): kvnode from the
#      WAL and from a snapshot, redis from an AOF and from an RDB — time
#      from process start until it answers PING.
#
# Usage: bash tests/bench/compare_redis.sh [requests] [keys]
set -euo pipefail
cd "$(dirname "$0")/../.."
requests=${1:-200000}
keys=${2:-1000000}

source tests/bench/lib.sh kvcompare

# A few thousand writes, then (kvnode) until its spare WAL segment is ready:
# both servers start measured runs warm.
warm_up() {
  redis-benchmark -p "$1" -c 50 -n 20000 -r 1000000 -d 32 -t set -q >/dev/null 2>&1
  local deadline=$((SECONDS + 20))
  while redis-cli -p "$1" info persistence | grep -q '^wal_spare_ready:0' && [ $SECONDS -lt $deadline ]; do
    sleep 0.1
  done
}
bench() { # port pipeline test -> "rps p50 p99"
  redis-benchmark -p "$1" -c 50 -n "$requests" -r 1000000 -d 32 -P "$2" -t "$3" --csv 2>/dev/null |
    awk -F'"' 'NR==2 {print $4, $10, $14}'
}

echo "kvnode vs redis-server $("$REDIS" --version | awk '{print $3}' | cut -d= -f2) on $(nproc) cores; $requests requests per run, 50 clients, 32-byte values"
echo
printf '%-22s %-4s %-3s %12s %12s %7s %16s %16s\n' "durability" "test" "-P" "redis ops/s" "kvnode ops/s" "ratio" "redis p50/p99" "kvnode p50/p99"
printf '%-22s %-4s %-3s %12s %12s %7s %16s %16s\n' "----------------------" "----" "---" "------------" "------------" "-------" "----------------" "----------------"
for mode in nofsync always; do
  rport=$(free_port); kport=$(free_port)
  if [ $mode = nofsync ]; then
    start_redis "$rport" "$work/r-$mode" --appendonly no; rpid=$LAST_PID
    start_kvnode "$kport" "$work/k-$mode" --appendfsync no; kpid=$LAST_PID
    label="no fsync"
  else
    start_redis "$rport" "$work/r-$mode" --appendonly yes --appendfsync always; rpid=$LAST_PID
    start_kvnode "$kport" "$work/k-$mode" --appendfsync always; kpid=$LAST_PID
    label="fsync every write"
  fi
  wait_ping "$rport"; wait_ping "$kport"
  warm_up "$rport"; warm_up "$kport"
  for p in 1 16; do
    for t in set get; do
      read -r r_rps r_p50 r_p99 < <(bench "$rport" "$p" "$t")
      read -r k_rps k_p50 k_p99 < <(bench "$kport" "$p" "$t")
      ratio=$(awk -v a="$k_rps" -v b="$r_rps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
      printf '%-22s %-4s %-3s %12.0f %12.0f %7s %16s %16s\n' "$label" "$t" "$p" "$r_rps" "$k_rps" "$ratio" \
        "$r_p50/$r_p99" "$k_p50/$k_p99"
    done
  done
  stop_pid "$rpid"; stop_pid "$kpid"
done

echo
echo "Recovery of $keys keys (16-byte keys, 32-byte values): seconds from start to first PONG"
gen() { awk -v n="$keys" 'BEGIN { v = "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv";
  for (i = 0; i < n; i++) { k = sprintf("key:%012d", i);
    printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$32\r\n%s\r\n", length(k), k, v } }'; }
load() { gen | redis-cli -p "$1" --pipe >/dev/null; }
time_start() { # cmd... ; sets ELAPSED to the seconds until PING answers
  local t0 t1
  t0=$(date +%s.%N)
  "$@"
  wait_ping "$port"
  t1=$(date +%s.%N)
  ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

port=$(free_port)
start_redis "$port" "$work/r-aof" --appendonly yes --appendfsync no --aof-use-rdb-preamble no; rpid=$LAST_PID
wait_ping "$port"; load "$port"
redis-cli -p "$port" bgrewriteaof >/dev/null; sleep 0.5
until [ "$(redis-cli -p "$port" info persistence | awk -F: '/aof_rewrite_in_progress/ {print $2}' | tr -d '\r')" = 0 ]; do sleep 0.2; done
stop_pid "$rpid"
time_start start_redis "$port" "$work/r-aof" --appendonly yes --aof-use-rdb-preamble no; rpid=$LAST_PID; r_aof=$ELAPSED
r_keys=$(redis-cli -p "$port" dbsize)
redis-cli -p "$port" config set appendonly no >/dev/null
redis-cli -p "$port" save >/dev/null
stop_pid "$rpid"
time_start start_redis "$port" "$work/r-aof" --appendonly no; rpid=$LAST_PID; r_rdb=$ELAPSED
stop_pid "$rpid"

port=$(free_port)
start_kvnode "$port" "$work/k-rec" --appendfsync no --snapshot-wal-min-bytes 100gb; kpid=$LAST_PID
wait_ping "$port"; load "$port"
stop_pid "$kpid"
time_start start_kvnode "$port" "$work/k-rec" --snapshot-wal-min-bytes 100gb; kpid=$LAST_PID; k_wal=$ELAPSED
k_keys=$(redis-cli -p "$port" dbsize 2>/dev/null || echo "?")
redis-cli -p "$port" save >/dev/null
stop_pid "$kpid"
time_start start_kvnode "$port" "$work/k-rec" --snapshot-wal-min-bytes 100gb; kpid=$LAST_PID; k_snap=$ELAPSED
stop_pid "$kpid"

printf '%-34s %10s %10s\n' "what" "seconds" "keys"
printf '%-34s %10s %10s\n' "----------------------------------" "----------" "----------"
printf '%-34s %10s %10s\n' "redis: AOF replay" "$r_aof" "$r_keys"
printf '%-34s %10s %10s\n' "redis: RDB load" "$r_rdb" "$r_keys"
printf '%-34s %10s %10s\n' "kvnode: WAL replay" "$k_wal" "$k_keys"
printf '%-34s %10s %10s\n' "kvnode: snapshot load" "$k_snap" "$k_keys"
