#!/usr/bin/env bash
# Restart time of two kvnode builds on the same data, interleaved, next to
# redis-server loading the same keys from an RDB: compare_redis.sh's
# recovery rows, measured RUNS times each in alternation so that a busy
# machine slows both sides alike. Prints the median and range per row.
#
#   KVNODE_BASELINE=/path/to/old/kvnode bash tests/bench/restart_ab.sh [keys]
#
# The data: <keys> SETs (16-byte keys, 32-byte values) loaded with
# appendfsync no and no automatic snapshot, then SAVE: a snapshot covering
# every WAL segment, which stay (nothing to replay, as in compare_redis.sh's
# "snapshot load" row). Asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
keys=${1:-1000000}
RUNS=${RUNS:-5}
BASELINE=${KVNODE_BASELINE:-}

source tests/bench/lib.sh kvrestart

gen() { awk -v n="$keys" 'BEGIN { v = "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv";
  for (i = 0; i < n; i++) { k = sprintf("key:%012d", i);
    printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$32\r\n%s\r\n", length(k), k, v } }'; }
# Sets ELAPSED to the seconds until PING answers, and CPU to the CPU
# seconds (user + system) the server had used by then: on a machine shared
# with other work the wall time mostly measures the others, the CPU time
# what the restart itself costs.
time_start() { # cmd...
  local t0 t1
  t0=$(date +%s.%N)
  "$@"
  wait_ping "$port"
  t1=$(date +%s.%N)
  ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  CPU=$(awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' \
        "/proc/$LAST_PID/stat")
}
stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
  m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
  printf "%8.3f  [%.3f-%.3f]", m, v[1], v[NR] }'; }

port=$(free_port)
start_kvnode "$port" "$work/k" --appendfsync no --snapshot-wal-min-bytes 100gb; kpid=$LAST_PID
wait_ping "$port"; gen | redis-cli -p "$port" --pipe >/dev/null
redis-cli -p "$port" save >/dev/null
stop_pid "$kpid"
start_redis "$port" "$work/r" --appendonly no; rpid=$LAST_PID
wait_ping "$port"; gen | redis-cli -p "$port" --pipe >/dev/null
redis-cli -p "$port" save >/dev/null
stop_pid "$rpid"

declare -a t_new=() t_old=() t_redis=() c_new=() c_old=() c_redis=()
for run in $(seq "$RUNS"); do
  time_start start_kvnode "$port" "$work/k" --snapshot-wal-min-bytes 100gb; kpid=$LAST_PID
  t_new+=("$ELAPSED"); c_new+=("$CPU")
  skipped=$(info "$port" persistence recovery_segments_skipped)
  scanned=$(info "$port" persistence recovery_segments_scanned)
  stop_pid "$kpid"
  if [ -n "$BASELINE" ]; then
    KVNODE_SAVED=$KVNODE; KVNODE=$BASELINE
    time_start start_kvnode "$port" "$work/k" --snapshot-wal-min-bytes 100gb; kpid=$LAST_PID
    KVNODE=$KVNODE_SAVED
    t_old+=("$ELAPSED"); c_old+=("$CPU"); stop_pid "$kpid"
  fi
  time_start start_redis "$port" "$work/r" --appendonly no; rpid=$LAST_PID
  t_redis+=("$ELAPSED"); c_redis+=("$CPU"); stop_pid "$rpid"
done

echo "Restart with $keys keys, snapshot covering the whole WAL ($RUNS runs, interleaved;"
echo "this build: ${scanned:-?} segments scanned, ${skipped:-0} covered segments not read)"
printf '%-22s %-28s %s\n' "" "wall s to PONG, median [range]" "CPU s to PONG, median [range]"
printf '%-22s %-28s %s\n' "redis: RDB load" "$(stats "${t_redis[@]}")" "$(stats "${c_redis[@]}")"
printf '%-22s %-28s %s\n' "kvnode (this build)" "$(stats "${t_new[@]}")" "$(stats "${c_new[@]}")"
[ -n "$BASELINE" ] &&
  printf '%-22s %-28s %s\n' "kvnode (baseline)" "$(stats "${t_old[@]}")" "$(stats "${c_old[@]}")"
uptime
