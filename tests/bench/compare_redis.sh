#!/usr/bin/env bash
# Side-by-side benchmark of kvnode and Debian's redis-server on this
# machine, in one run. Prints tables; asserts nothing.
#
#   1. redis-benchmark SET/GET, 50 clients, unpipelined and -P 16, 32-byte
#      values, per durability mode:
#        nofsync   kvnode appendfsync no       / redis appendonly no
#        everysec  kvnode appendfsync everysec / redis appendonly yes, appendfsync everysec
#        always    kvnode appendfsync always   / redis appendonly yes, appendfsync always
#        everysec-slowdisk  everysec, with every fdatasync of both servers
#                  delayed by SLOW_FSYNC_US (strace fault injection): a slow disk
#      Each cell is measured RUNS times (servers interleaved) and shows the
#      median ops/s with the range [min-max] in thousands, and the median
#      p50/p99 latency in ms. A run that does not finish within
#      BENCH_TIMEOUT seconds shows "stalled" (and kvnode's WAL LSNs then).
#   2. Recovery of 1M keys (16-byte keys, 32-byte values): kvnode from the
#      WAL and from a snapshot, redis from an AOF and from an RDB — time
#      from process start until it answers PING.
#
# Usage: bash tests/bench/compare_redis.sh [requests] [keys]
# Environment:
#   RUNS=3                 measurements per cell
#   MODES="nofsync everysec always"   rows (add everysec-slowdisk)
#   TESTS="set get"        redis-benchmark tests
#   SLOW_FSYNC_US=400000   the injected fdatasync delay of everysec-slowdisk
#   KVNODE_BASELINE=path   another kvnode binary (e.g. built from an older
#                          commit) measured in the same run, in its own columns
#   BENCH_TIMEOUT=120      seconds per redis-benchmark run
#   RECOVERY=1             0 skips the recovery table
set -euo pipefail
cd "$(dirname "$0")/../.."
requests=${1:-200000}
keys=${2:-1000000}
RUNS=${RUNS:-3}
MODES=${MODES:-nofsync everysec always}
TESTS=${TESTS:-set get}
SLOW_FSYNC_US=${SLOW_FSYNC_US:-400000}
BASELINE=${KVNODE_BASELINE:-}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}

source tests/bench/lib.sh kvcompare

# A few thousand writes, then (kvnode) until its spare WAL segment is ready:
# both servers start measured runs warm. Bounded: a stalled server is
# reported by the measured runs.
warm_up() {
  timeout 60 redis-benchmark -p "$1" -c 50 -n 20000 -r 1000000 -d 32 -t set -q >/dev/null 2>&1 || true
  local deadline=$((SECONDS + 20))
  while redis-cli -p "$1" info persistence 2>/dev/null | grep -q '^wal_spare_ready:0' && [ $SECONDS -lt $deadline ]; do
    sleep 0.1
  done
}
bench() { # port pipeline test -> "rps p50 p99", or "stalled"
  local out
  if out=$(timeout "$BENCH_TIMEOUT" redis-benchmark -p "$1" -c 50 -n "$requests" -r 1000000 -d 32 \
             -P "$2" -t "$3" --csv 2>/dev/null) && [ -n "$out" ]; then
    echo "$out" | awk -F'"' 'NR==2 {print $4, $10, $14}'
  else
    echo stalled
  fi
}
# "median [min-max]" of ops/s in thousands, "-" for none, "stalled" if any
# run stalled.
agg_rps() {
  case " $* " in *" stalled "*) echo stalled; return;; esac
  [ $# -gt 0 ] || { echo "-"; return; }
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.1fk [%.1f-%.1f]", m / 1000, v[1] / 1000, v[NR] / 1000 }'
}
agg_lat() { # p50s... -- p99s...  -> "p50/p99" medians
  local p50=() p99=() seen=0
  for x in "$@"; do
    if [ "$x" = "--" ]; then seen=1; elif [ $seen = 0 ]; then p50+=("$x"); else p99+=("$x"); fi
  done
  [ ${#p50[@]} -gt 0 ] || { echo "-"; return; }
  med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  echo "$(med "${p50[@]}")/$(med "${p99[@]}")"
}

servers=(redis kvnode)
[ -n "$BASELINE" ] && servers+=(baseline)
echo "kvnode vs redis-server $("$REDIS" --version | awk '{print $3}' | cut -d= -f2) on $(nproc) cores; $requests requests per run, 50 clients, 32-byte values, $RUNS runs per cell (median [min-max] kops/s; p50/p99 ms)"
[ -n "$BASELINE" ] && echo "baseline: $BASELINE"
echo
hdr=$(printf '%-20s %-4s %-3s %-22s %-22s %6s' "durability" "test" "-P" "redis kops/s" "kvnode kops/s" "ratio")
[ -n "$BASELINE" ] && hdr+=$(printf ' %-22s' "baseline kops/s")
hdr+=$(printf ' %13s %13s' "redis p50/p99" "kvnode p50/p99")
[ -n "$BASELINE" ] && hdr+=$(printf ' %15s' "baseline p50/99")
echo "$hdr"
echo "$hdr" | sed 's/[^ ]/-/g'
notes=()
for mode in $MODES; do
  rargs=(); kargs=(); WRAP=()
  case $mode in
    nofsync) rargs=(--appendonly no); kargs=(--appendfsync no); label="no fsync";;
    everysec) rargs=(--appendonly yes --appendfsync everysec); kargs=(--appendfsync everysec); label="everysec";;
    always) rargs=(--appendonly yes --appendfsync always); kargs=(--appendfsync always); label="fsync every write";;
    everysec-slowdisk)
      rargs=(--appendonly yes --appendfsync everysec); kargs=(--appendfsync everysec)
      label="everysec, slow disk"
      WRAP=(strace -f --seccomp-bpf -o /dev/null -e trace=fdatasync
            -e inject=fdatasync:delay_enter="$SLOW_FSYNC_US")
      if ! "${WRAP[@]}" true 2>/dev/null; then
        echo "($label: strace cannot trace processes here; skipped)"; continue
      fi;;
    *) echo "unknown mode $mode" >&2; exit 2;;
  esac
  declare -A port=() spid=() stalled=()
  for s in "${servers[@]}"; do
    port[$s]=$(free_port)
    case $s in
      redis) start_redis "${port[$s]}" "$work/r-$mode" "${rargs[@]}";;
      kvnode) start_kvnode "${port[$s]}" "$work/k-$mode" "${kargs[@]}";;
      baseline) KVNODE=$BASELINE start_kvnode "${port[$s]}" "$work/b-$mode" "${kargs[@]}";;
    esac
    spid[$s]=$LAST_PID
    wait_ping "${port[$s]}"
  done
  for s in "${servers[@]}"; do warm_up "${port[$s]}"; done
  for p in 1 16; do
    for t in $TESTS; do
      declare -A rps=() p50=() p99=()
      for run in $(seq "$RUNS"); do
        for s in "${servers[@]}"; do
          if [ -n "${stalled[$s]:-}" ]; then continue; fi
          read -r a b c < <(bench "${port[$s]}" "$p" "$t")
          if [ "$a" = stalled ]; then
            stalled[$s]=1
            rps[$s]+=" stalled"
            if [ "$s" != redis ]; then
              notes+=("$label, $s: no reply for ${BENCH_TIMEOUT}s during $t -P $p; INFO persistence: $(redis-cli -p "${port[$s]}" info persistence 2>/dev/null | tr -d '\r' | grep -E '^wal_(last|durable|synced)_lsn|^wal_stalled_ms' | tr '\n' ' ' || echo 'no answer')")
            else
              notes+=("$label, redis: no reply for ${BENCH_TIMEOUT}s during $t -P $p")
            fi
            continue
          fi
          rps[$s]+=" $a"; p50[$s]+=" $b"; p99[$s]+=" $c"
        done
      done
      for s in "${servers[@]}"; do
        if [ -n "${stalled[$s]:-}" ] && [ -z "${rps[$s]:-}" ]; then rps[$s]=" stalled"; fi
      done
      # shellcheck disable=SC2086
      r=$(agg_rps ${rps[redis]:-}); k=$(agg_rps ${rps[kvnode]:-})
      # shellcheck disable=SC2086
      ratio=$(printf '%s\n' ${rps[kvnode]:-} | grep -v stalled | sort -n | awk '{v[NR]=$1} END {print (NR ? v[int((NR+1)/2)] : 0)}')
      # shellcheck disable=SC2086
      rmed=$(printf '%s\n' ${rps[redis]:-} | grep -v stalled | sort -n | awk '{v[NR]=$1} END {print (NR ? v[int((NR+1)/2)] : 0)}')
      ratio=$(awk -v a="$ratio" -v b="$rmed" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
      line=$(printf '%-20s %-4s %-3s %-22s %-22s %6s' "$label" "$t" "$p" "$r" "$k" "$ratio")
      # shellcheck disable=SC2086
      [ -n "$BASELINE" ] && line+=$(printf ' %-22s' "$(agg_rps ${rps[baseline]:-})")
      # shellcheck disable=SC2086
      line+=$(printf ' %13s %13s' "$(agg_lat ${p50[redis]:-} -- ${p99[redis]:-})" "$(agg_lat ${p50[kvnode]:-} -- ${p99[kvnode]:-})")
      # shellcheck disable=SC2086
      [ -n "$BASELINE" ] && line+=$(printf ' %15s' "$(agg_lat ${p50[baseline]:-} -- ${p99[baseline]:-})")
      echo "$line"
      unset rps p50 p99
    done
  done
  for s in "${servers[@]}"; do stop_bounded "${spid[$s]}"; done
  unset port spid stalled
  WRAP=()
done
for n in "${notes[@]:-}"; do [ -n "$n" ] && echo "note: $n"; done
[ "${RECOVERY:-1}" = 0 ] && exit 0

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
