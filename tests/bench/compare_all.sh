#!/usr/bin/env bash
# The whole table of issue 14 (plus the redis-benchmark rows of issues 12
# and 13), kvnode next to Debian's redis-server, in one run. Prints tables;
# asserts nothing. Durability modes:
#   fsync always  kvnode appendfsync always / redis appendonly yes, appendfsync always
#   no fsync      kvnode appendfsync no     / redis appendonly no
#
#   1. SET, 50 clients, 32-byte values, -r 1000000: ops/s, server CPU
#      (user + system, from /proc) per request, p99.9 / max latency and the
#      requests slower than 20 ms (redis-benchmark's histogram: "> 20 ms"
#      counts those above its 20.1 ms bucket) — fsync always unpipelined,
#      no fsync unpipelined and -P 16; SET_ROUNDS rounds per row on one pair
#      of servers, redis and kvnode alternating: medians, the worst max and
#      the ratio of each round. The unpipelined no-fsync row also runs the
#      client against bench_noop_server, which does no work (blocking in
#      epoll, and spinning): the rate the client itself allows. Where
#      `perf trace` works, the fsync-always row also shows the worst
#      fdatasync of the threads that acknowledge writes (Redis's main
#      thread; kvnode's loop, where a lone node syncs while syncs are fast
#      as Redis does, and its WAL thread) and how many took over 5 ms: a
#      request cannot be answered before its fdatasync returns, so the worst
#      request can be no better than the disk's worst fdatasync.
#   2. 100 KB SETs (to 100 keys), fsync always: p50 / p99 / max.
#   3. The data directory after DISK_MB MB of 100 KB SETs to 50 keys
#      (appendfsync everysec on both, so it runs at disk speed; then a
#      bounded wait for background snapshots / AOF rewrites to settle).
#   4. Restart of RESTART_KEYS keys: kvnode WAL only vs Redis AOF (no RDB
#      preamble); kvnode snapshot + WAL vs Redis RDB (compare_redis.sh's
#      layout: the WAL holds every key, then SAVE).
#   5. Memory per key (tests/bench/compare_memory.sh with MEM_KEYS keys).
#   6. redis-benchmark's default test set (PING … MSET) and EVALSHA, XADD,
#      XREADGROUP (issue 13), fsync always and no fsync, ratio per row, and
#      each server's CPU per request over the row's group.
#   7. Deleting a big value: the event loop's time (SLOWLOG, every command
#      logged) for UNLINK and for DEL of a set, sorted set, hash and list of
#      LAZY_MEMBERS members each, no fsync.
#
# Usage: bash tests/bench/compare_all.sh          (full: ~30+ minutes)
#        QUICK=1 bash tests/bench/compare_all.sh  (a few minutes; small sizes)
# Environment (defaults full / QUICK=1):
#   SET_REQ=500000/20000     requests per SET row and round (section 1)
#   SET_ROUNDS=3/1           rounds per SET row, redis and kvnode alternating
#   BIG_REQ=20000/1000       100 KB SETs in section 2
#   DISK_MB=2048/300         MB of 100 KB SETs in section 3
#   RESTART_KEYS=1000000/100000
#   MEM_KEYS=100000/10000
#   SUITE_REQ=100000/5000    requests per redis-benchmark row (section 6)
#   LAZY_MEMBERS=2000000/200000   members per value in section 7
#   SECTIONS="set big disk restart memory suite lazy"   which sections to run
# On a busy machine the absolute figures are noisy; the ratios of one run
# are what to compare.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${QUICK:-0}" = 1 ]; then
  SET_ROUNDS=${SET_ROUNDS:-1}; SET_REQ=${SET_REQ:-20000}; BIG_REQ=${BIG_REQ:-1000}; DISK_MB=${DISK_MB:-300}
  RESTART_KEYS=${RESTART_KEYS:-100000}; MEM_KEYS=${MEM_KEYS:-10000}; SUITE_REQ=${SUITE_REQ:-5000}
  LAZY_MEMBERS=${LAZY_MEMBERS:-200000}
else
  SET_ROUNDS=${SET_ROUNDS:-3}; SET_REQ=${SET_REQ:-500000}; BIG_REQ=${BIG_REQ:-20000}; DISK_MB=${DISK_MB:-2048}
  RESTART_KEYS=${RESTART_KEYS:-1000000}; MEM_KEYS=${MEM_KEYS:-100000}; SUITE_REQ=${SUITE_REQ:-100000}
  LAZY_MEMBERS=${LAZY_MEMBERS:-2000000}
fi
SECTIONS=${SECTIONS:-set big disk restart memory suite lazy}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-600}

source tests/bench/lib.sh kvcompareall

want() { case " $SECTIONS " in *" $1 "*) return 0;; esac; return 1; }
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "" && a > 0) printf "%.2f", a / b; else print "-" }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# Start the pair of servers for a durability mode; sets RP/RPID/KP/KPID.
start_pair() { # mode tag [kvnode args...]
  local mode=$1 tag=$2; shift 2
  local rargs kargs
  case $mode in
    always) rargs=(--appendonly yes --appendfsync always); kargs=(--appendfsync always);;
    no) rargs=(--appendonly no); kargs=(--appendfsync no);;
    everysec) rargs=(--appendonly yes --appendfsync everysec); kargs=(--appendfsync everysec);;
  esac
  RP=$(free_port); start_redis "$RP" "$work/r-$tag" "${rargs[@]}"; RPID=$LAST_PID
  KP=$(free_port); start_kvnode "$KP" "$work/k-$tag" "${kargs[@]}" "$@"; KPID=$LAST_PID
  wait_ping "$RP"; wait_ping "$KP"
  # kvnode's first spare WAL segment, so both start warm.
  local deadline=$((SECONDS + 20))
  while redis-cli -p "$KP" info persistence 2>/dev/null | grep -q '^wal_spare_ready:0' &&
        [ $SECONDS -lt $deadline ]; do sleep 0.1; done
}
stop_pair() { stop_bounded "$RPID"; stop_bounded "$KPID"; rm -rf "$work/r-$1" "$work/k-$1"; }

# One redis-benchmark run against port/pid; sets B_RPS B_CPU_US B_P50 B_P99
# B_P999 B_MAX B_SLOW (requests over 20 ms), or B_RPS=stalled.
bench_full() { # port pid requests args...
  local port=$1 pid=$2 n=$3; shift 3
  local c0 c1 out
  c0=$(cpu_ticks "$pid")
  # The client's own CPU too (bash's `times` in the subshell that ran it:
  # its children's user and system time), since on 2 cores redis-benchmark
  # and the server share the machine.
  if ! out=$( (timeout "$BENCH_TIMEOUT" redis-benchmark -p "$port" -n "$n" "$@" 2>/dev/null; rc=$?
               times >"$work/times"; exit $rc) | tr '\r' '\n'); then
    B_RPS=stalled; B_CPU_US=-; B_CLI_US=-; B_P50=-; B_P99=-; B_P999=-; B_MAX=-; B_SLOW=-; return
  fi
  c1=$(cpu_ticks "$pid")
  B_CPU_US=$(awk -v a="$c0" -v b="$c1" -v n="$n" -v hz="$(getconf CLK_TCK)" \
             'BEGIN { printf "%.1f", (b - a) / hz * 1e6 / n }')
  B_CLI_US=$(awk -v n="$n" 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] }
             printf "%.1f", t * 1e6 / n }' "$work/times")
  read -r B_RPS B_P50 B_P99 B_P999 B_MAX B_SLOW < <(echo "$out" | awk -v n="$n" '
    /^Latency by percentile distribution/ { sect = 1; next }
    /^Cumulative distribution of latencies/ { sect = 2; next }
    /^Summary/ { sect = 3; next }
    sect == 1 && /%/ { p = $1 + 0; v = $3
      if (p50 == "" && p >= 50) p50 = v
      if (p99 == "" && p >= 99) p99 = v
      if (p999 == "" && p >= 99.9) p999 = v
      max = v }
    sect == 2 && /%/ { if ($3 + 0 <= 20.2) le20 = $NF + 0 }
    /throughput summary/ { rps = $3 }
    END { sub(/\)/, "", le20); printf "%s %s %s %s %s %d\n", rps, p50, p99, p999, max, n - le20 }')
}

rv=$("$REDIS" --version | awk '{print $3}' | cut -d= -f2)
echo "kvnode $(git rev-parse --short HEAD 2>/dev/null || echo '?') vs redis-server $rv on $(nproc) cores, $(date -u '+%F %H:%M UTC'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sizes: SET_ROUNDS=$SET_ROUNDS SET_REQ=$SET_REQ BIG_REQ=$BIG_REQ DISK_MB=$DISK_MB RESTART_KEYS=$RESTART_KEYS MEM_KEYS=$MEM_KEYS SUITE_REQ=$SUITE_REQ LAZY_MEMBERS=$LAZY_MEMBERS"

# ---------------------------------------------------------------- 1 and 2
row_fmt='%-36s %-26s %-26s %6s\n'
if want set || want big; then
  echo
  echo "== SET, 50 clients (ops/s | server CPU us/request | p99.9/max ms | requests > 20 ms)"
  printf "$row_fmt" "figure" "redis" "kvnode" "ratio"
  printf "$row_fmt" "------" "-----" "------" "-----"
fi
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
maxof() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -1; }
sumof() { tr ' ' '\n' | awk '{ s += $1 } END { print s + 0 }'; }
# Waits (bounded) until neither server runs a background snapshot or
# rewrite, for two polls in a row.
settle() { # port field...
  local port=$1; shift
  local deadline=$((SECONDS + 120)) quiet=0 f busy
  while [ $SECONDS -lt $deadline ] && [ $quiet -lt 2 ]; do
    busy=0
    for f in "$@"; do [ "$(info "$port" persistence "$f")" = 0 ] || busy=1; done
    if [ $busy = 0 ]; then quiet=$((quiet + 1)); else quiet=0; fi
    [ $quiet -ge 2 ] || sleep 0.5 # the poll's interval
  done
  [ $quiet -ge 2 ] || { echo "note: port $port still busy ($*) after 120 s" >&2; return 1; }
}
# Before each run, the background work the rounds before left running (a
# Redis AOF rewrite, a kvnode snapshot) is waited out on both servers, so
# that neither server's run pays for the other's: on 2 cores a Redis
# rewrite child running through kvnode's round (or the reverse) is what
# made most requests over 20 ms. A server's own background work that
# starts during its run still counts against it.
quiet_pair() {
  settle "$RP" aof_rewrite_in_progress aof_rewrite_scheduled rdb_bgsave_in_progress || true
  settle "$KP" snapshot_in_progress || true
}
# SET_ROUNDS rounds on one pair of servers, alternating redis / kvnode, so a
# slow minute of the machine lands on both: the medians, the worst max, the
# requests over 20 ms of all rounds, and each round's ratio.
if want set; then
  NOOP=$work/bench_noop_server
  cc -O2 -Wall -Wextra -Werror -o "$NOOP" tests/bench/bench_noop_server.c
fi
# perf trace of one server's fdatasync/fsync calls of at least 1 ms, during
# one run: trace_start pid, then trace_stop "tid …" sets T_MAX (ms, of the
# calls those threads made) and T_SLOW (those over 5 ms); "-" without perf.
# The threads that sync the log writes wait for: Redis's main thread;
# kvnode's loop (a lone node syncs there while syncs are fast, as Redis)
# and its WAL thread, not the pool threads that fill spare segments.
sync_tids() { # pid
  local t tids=$1
  for t in /proc/"$1"/task/*; do
    [ "$(cat "$t/comm" 2>/dev/null)" = kvnode-wal ] && tids="$tids ${t##*/}"
  done
  echo "$tids"
}
PERF_TRACE=0
if want set && perf trace -e fdatasync -o /dev/null -- true >/dev/null 2>&1; then PERF_TRACE=1; fi
trace_start() { # pid
  TRACE_PID=
  [ "$PERF_TRACE" = 1 ] || return 0
  rm -f "$work/trace"
  perf trace -e fdatasync,fsync --duration 1 -p "$1" -o "$work/trace" >/dev/null 2>&1 &
  TRACE_PID=$!; pids+=($TRACE_PID)
  # Attached once perf holds an event per thread of the server (bounded
  # poll; without it the column is "-").
  local deadline=$((SECONDS + 10)) want have=0
  want=$(ls /proc/"$1"/task | wc -l)
  while [ $SECONDS -lt $deadline ]; do
    have=$(ls -l /proc/"$TRACE_PID"/fd 2>/dev/null | grep -c 'perf_event' || true)
    [ "$have" -ge "$want" ] && break
    sleep 0.05
  done
  if [ "$have" -lt "$want" ]; then
    echo "note: perf trace did not attach to pid $1 within 10 s" >&2
    kill "$TRACE_PID" 2>/dev/null; wait "$TRACE_PID" 2>/dev/null; TRACE_PID=
  fi
}
trace_stop() { # "tid ..."
  T_MAX=-; T_SLOW=-
  [ -n "$TRACE_PID" ] || return 0
  kill -INT "$TRACE_PID" 2>/dev/null; wait "$TRACE_PID" 2>/dev/null
  read -r T_MAX T_SLOW < <(sed -nE 's/^ *[0-9.]+ \( *([0-9.]+) ms\): [^/]*\/([0-9]+) .*/\2 \1/p' "$work/trace" |
    awk -v tids=" $1 " 'index(tids, " " $1 " ") { if ($2 > m) m = $2; if ($2 > 5) n++ }
                        END { printf "%.1f %d\n", m, n }')
}
# With a fourth argument "ceiling", each round also runs the client against
# bench_noop_server, blocking and spinning (see that file): what the client
# allows a server that does no work at all.
set_row() { # label mode pipeline [ceiling]
  start_pair "$2" set
  local i r_cli="" k_cli="" r_rps="" r_cpu="" r_999="" r_max="" r_slow="" k_rps="" k_cpu="" k_999="" k_max="" k_slow="" rr=""
  local np="" sp="" n_rps="" s_rps="" r_tmax="" r_tslow="" k_tmax="" k_tslow=""
  if [ "${4:-}" = ceiling ]; then
    np=$(free_port); "$NOOP" "$np" & pids+=($!); NPID=$!
    sp=$(free_port)
  fi
  for i in $(seq "$SET_ROUNDS"); do
    if [ -n "$np" ]; then
      wait_ping "$np" OK
      bench_full "$np" "$NPID" "$SET_REQ" -c 50 -r 1000000 -d 32 -t set -P "$3"
      n_rps="$n_rps $B_RPS"
      # The spinning one runs only for its own round: it burns a core.
      "$NOOP" "$sp" --spin & pids+=($!); SPID=$!
      wait_ping "$sp" OK
      bench_full "$sp" "$SPID" "$SET_REQ" -c 50 -r 1000000 -d 32 -t set -P "$3"
      s_rps="$s_rps $B_RPS"
      stop_bounded "$SPID"
    fi
    quiet_pair
    [ "$2" = always ] && trace_start "$RPID"
    bench_full "$RP" "$RPID" "$SET_REQ" -c 50 -r 1000000 -d 32 -t set -P "$3"
    [ "$2" = always ] && { trace_stop "$RPID"; r_tmax="$r_tmax $T_MAX"; r_tslow="$r_tslow $T_SLOW"; }
    r_rps="$r_rps $B_RPS"; r_cpu="$r_cpu $B_CPU_US"; r_cli="$r_cli $B_CLI_US"; r_999="$r_999 $B_P999"; r_max="$r_max $B_MAX"; r_slow="$r_slow $B_SLOW"
    local one=$B_RPS
    quiet_pair
    [ "$2" = always ] && trace_start "$KPID"
    bench_full "$KP" "$KPID" "$SET_REQ" -c 50 -r 1000000 -d 32 -t set -P "$3"
    [ "$2" = always ] && { trace_stop "$(sync_tids "$KPID")"; k_tmax="$k_tmax $T_MAX"; k_tslow="$k_tslow $T_SLOW"; }
    k_rps="$k_rps $B_RPS"; k_cpu="$k_cpu $B_CPU_US"; k_cli="$k_cli $B_CLI_US"; k_999="$k_999 $B_P999"; k_max="$k_max $B_MAX"; k_slow="$k_slow $B_SLOW"
    rr="$rr $(ratio "$B_RPS" "$one")"
  done
  local r_med k_med r_cpu_med k_cpu_med
  r_med=$(echo "$r_rps" | median); k_med=$(echo "$k_rps" | median)
  r_cpu_med=$(echo "$r_cpu" | median); k_cpu_med=$(echo "$k_cpu" | median)
  printf "$row_fmt" "$1 ops/s" "$r_med" "$k_med" "$(echo "$rr" | median)"
  printf "$row_fmt" "  ratio in each round" "" "" "${rr# }"
  printf "$row_fmt" "  server CPU us/request" "$r_cpu_med" "$k_cpu_med" "$(ratio "$k_cpu_med" "$r_cpu_med")"
  # The client alone bounds the rate at 1e6 / its CPU per request (its
  # one core): when both servers are near it, neither can go faster.
  local r_cli_med k_cli_med
  r_cli_med=$(echo "$r_cli" | median); k_cli_med=$(echo "$k_cli" | median)
  printf "$row_fmt" "  client CPU us/req (bound ops/s)" \
    "$r_cli_med ($(awk -v c="$r_cli_med" 'BEGIN { if (c > 0) printf "%.0f", 1e6 / c; else print "-" }'))" \
    "$k_cli_med ($(awk -v c="$k_cli_med" 'BEGIN { if (c > 0) printf "%.0f", 1e6 / c; else print "-" }'))" ""
  printf "$row_fmt" "  p99.9 (median)/max (worst) ms" "$(echo "$r_999" | median)/$(echo "$r_max" | maxof)" \
    "$(echo "$k_999" | median)/$(echo "$k_max" | maxof)" ""
  printf "$row_fmt" "  requests > 20 ms (all rounds)" "$(echo "$r_slow" | sumof)" "$(echo "$k_slow" | sumof)" ""
  if [ "$2" = always ] && [ "$PERF_TRACE" = 1 ]; then
    printf "$row_fmt" "  max per round ms" "${r_max# }" "${k_max# }" ""
    printf "$row_fmt" "  worst fdatasync per round ms" "${r_tmax# }" "${k_tmax# }" ""
    printf "$row_fmt" "  fdatasyncs > 5 ms (all rounds)" "$(echo "$r_tslow" | sumof)" "$(echo "$k_tslow" | sumof)" ""
  fi
  if [ -n "$np" ]; then
    local n_med s_med
    n_med=$(echo "$n_rps" | median); s_med=$(echo "$s_rps" | median)
    printf "$row_fmt" "  no-op server, blocking ops/s" "" "$n_med" "$(ratio "$n_med" "$r_med")"
    printf "$row_fmt" "  no-op server, spinning ops/s" "" "$s_med" "$(ratio "$s_med" "$r_med")"
    stop_bounded "$NPID"
  fi
  stop_pair set
}
if want set; then
  set_row "SET fsync always, unpipelined" always 1
  set_row "SET no fsync, unpipelined" no 1 ceiling
  set_row "SET no fsync, -P 16" no 16
fi
if want big; then
  start_pair always big
  bench_full "$RP" "$RPID" "$BIG_REQ" -c 50 -r 100 -d 102400 -t set
  r="$B_P50/$B_P99/$B_MAX"; r_rps=$B_RPS
  bench_full "$KP" "$KPID" "$BIG_REQ" -c 50 -r 100 -d 102400 -t set
  printf "$row_fmt" "100 KB SET fsync always ops/s" "$r_rps" "$B_RPS" "$(ratio "$B_RPS" "$r_rps")"
  printf "$row_fmt" "  p50/p99/max ms" "$r" "$B_P50/$B_P99/$B_MAX" ""
  stop_pair big
fi

# ---------------------------------------------------------------- 3
if want disk; then
  echo
  echo "== Data directory after $DISK_MB MB of 100 KB SETs to 50 keys (appendfsync everysec; du --apparent-size)"
  start_pair everysec disk
  n=$((DISK_MB * 1048576 / 102400))
  for p in "$RP" "$KP"; do
    timeout "$BENCH_TIMEOUT" redis-benchmark -p "$p" -n "$n" -c 10 -r 50 -d 102400 -t set -q >/dev/null 2>&1 || true
  done
  settle "$RP" aof_rewrite_in_progress rdb_bgsave_in_progress || true
  settle "$KP" snapshot_in_progress || true
  live=$(( $(redis-cli -p "$KP" dbsize) * 102400 ))
  r_du=$(du -sb --apparent-size "$work/r-disk" | cut -f1)
  k_du=$(du -sb --apparent-size "$work/k-disk" | cut -f1)
  printf "$row_fmt" "figure" "redis" "kvnode" "ratio"
  printf "$row_fmt" "------" "-----" "------" "-----"
  printf "$row_fmt" "data directory" "$(mib "$r_du")" "$(mib "$k_du")" "$(ratio "$k_du" "$r_du")"
  printf "$row_fmt" "  (live data: values)" "$(mib "$live")" "$(mib "$live")" ""
  echo "kvnode's directory:"; ls -l "$work/k-disk" | awk 'NR > 1 { printf "  %12d %s\n", $5, $9 }'
  stop_pair disk
fi

# ---------------------------------------------------------------- 4
if want restart; then
  echo
  echo "== Restart with $RESTART_KEYS keys (16-byte keys, 32-byte values): seconds from start to first PONG"
  gen() { awk -v n="$RESTART_KEYS" 'BEGIN { v = "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv";
    for (i = 0; i < n; i++) { k = sprintf("key:%012d", i);
      printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$32\r\n%s\r\n", length(k), k, v } }'; }
  time_start() { # port cmd... ; sets ELAPSED
    local port=$1 t0 t1; shift
    t0=$(date +%s.%N); "$@"; wait_ping "$port"; t1=$(date +%s.%N)
    ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  }
  p=$(free_port)
  start_redis "$p" "$work/r-rec" --appendonly yes --appendfsync no --aof-use-rdb-preamble no; pid=$LAST_PID
  wait_ping "$p"; gen | redis-cli -p "$p" --pipe >/dev/null
  redis-cli -p "$p" bgrewriteaof >/dev/null
  deadline=$((SECONDS + 120))
  until [ "$(info "$p" persistence aof_rewrite_in_progress)" = 0 ] &&
        [ "$(info "$p" persistence aof_rewrite_scheduled)" = 0 ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
  stop_pid "$pid"
  time_start "$p" start_redis "$p" "$work/r-rec" --appendonly yes --aof-use-rdb-preamble no; pid=$LAST_PID; r_aof=$ELAPSED
  redis-cli -p "$p" config set appendonly no >/dev/null; redis-cli -p "$p" save >/dev/null
  stop_pid "$pid"
  time_start "$p" start_redis "$p" "$work/r-rec" --appendonly no; pid=$LAST_PID; r_rdb=$ELAPSED
  stop_pid "$pid"
  start_kvnode "$p" "$work/k-rec" --appendfsync no --snapshot-wal-min-bytes 100gb; pid=$LAST_PID
  wait_ping "$p"; gen | redis-cli -p "$p" --pipe >/dev/null
  stop_pid "$pid"
  time_start "$p" start_kvnode "$p" "$work/k-rec" --snapshot-wal-min-bytes 100gb; pid=$LAST_PID; k_wal=$ELAPSED
  k_keys=$(redis-cli -p "$p" dbsize)
  redis-cli -p "$p" save >/dev/null
  stop_pid "$pid"
  time_start "$p" start_kvnode "$p" "$work/k-rec" --snapshot-wal-min-bytes 100gb; pid=$LAST_PID; k_snap=$ELAPSED
  stop_pid "$pid"
  printf "$row_fmt" "figure" "redis" "kvnode" "ratio"
  printf "$row_fmt" "------" "-----" "------" "-----"
  printf "$row_fmt" "restart: WAL only vs AOF (s)" "$r_aof" "$k_wal" "$(ratio "$k_wal" "$r_aof")"
  printf "$row_fmt" "restart: snapshot+WAL vs RDB (s)" "$r_rdb" "$k_snap" "$(ratio "$k_snap" "$r_rdb")"
  echo "(kvnode loaded $k_keys keys)"
  rm -rf "$work/r-rec" "$work/k-rec"
fi

# ---------------------------------------------------------------- 5
if want memory; then
  echo
  echo "== Memory per key ($MEM_KEYS keys per shape)"
  bash tests/bench/compare_memory.sh "$MEM_KEYS"
fi

# ---------------------------------------------------------------- 6
if want suite; then
  # Each group of tests runs on redis-server and then on kvnode before the
  # next group starts, so that a slow minute of the disk or the machine
  # falls on both sides of a row rather than on one server's whole column.
  groups=(ping_inline ping_mbulk set get incr lpush rpush lpop rpop sadd hset spop zadd zpopmin
          lrange_100,lrange_300,lrange_500,lrange_600 mset)
  bench_csv() { # port args... -> "name rps" lines
    local port=$1; shift
    timeout "$BENCH_TIMEOUT" redis-benchmark -p "$port" -c 50 -n "$SUITE_REQ" -r 100000 --csv "$@" 2>/dev/null |
      awk -F'","' 'NR > 1 { n = $1; r = $2; gsub(/"/, "", n); gsub(/"/, "", r); printf "%s\t%s\n", n, r }' || true
  }
  one() { # label port args...: the first row, relabelled
    local label=$1 port=$2; shift 2
    bench_csv "$port" "$@" | awk -F'\t' -v l="$label" 'NR == 1 { printf "%s\t%s\n", l, $2 }'
  }
  # One group on one server: its rows into $work/rows, and the server's
  # CPU (user + system) per request over the group into G_CPU — a figure
  # the client does not bound, unlike ops/s on 2 shared cores.
  group() { # pid fn args...
    local pid=$1; shift
    local c0 c1 n
    c0=$(cpu_ticks "$pid")
    "$@" >"$work/rows"
    c1=$(cpu_ticks "$pid")
    n=$(wc -l <"$work/rows")
    G_CPU=$(awk -v a="$c0" -v b="$c1" -v n="$n" -v r="$SUITE_REQ" -v hz="$(getconf CLK_TCK)" \
            'BEGIN { if (n > 0) printf "%.1f", (b - a) / hz * 1e6 / (n * r); else print "-" }')
  }
  for mode in always no; do
    start_pair "$mode" suite
    declare -A R=() K=() RC=() KC=()
    order=()
    for g in "${groups[@]}"; do
      group "$RPID" bench_csv "$RP" -t "$g"
      while IFS=$'\t' read -r name rps; do R[$name]=$rps; RC[$name]=$G_CPU; order+=("$name"); done <"$work/rows"
      group "$KPID" bench_csv "$KP" -t "$g"
      while IFS=$'\t' read -r name rps; do K[$name]=$rps; KC[$name]=$G_CPU; done <"$work/rows"
    done
    for port in "$RP" "$KP"; do
      redis-cli -p "$port" xgroup create bench:s g '$' mkstream >/dev/null
    done
    rsha=$(redis-cli -p "$RP" script load "redis.call('SET', KEYS[1], ARGV[1]) return 1")
    ksha=$(redis-cli -p "$KP" script load "redis.call('SET', KEYS[1], ARGV[1]) return 1")
    extra() { # label: redis then kvnode
      local label=$1; shift
      local args=("$@") rargs=() kargs=()
      for a in "${args[@]}"; do
        case $a in SHA) rargs+=("$rsha"); kargs+=("$ksha");; *) rargs+=("$a"); kargs+=("$a");; esac
      done
      group "$RPID" one "$label" "$RP" "${rargs[@]}"
      while IFS=$'\t' read -r name rps; do R[$name]=$rps; RC[$name]=$G_CPU; order+=("$name"); done <"$work/rows"
      group "$KPID" one "$label" "$KP" "${kargs[@]}"
      while IFS=$'\t' read -r name rps; do K[$name]=$rps; KC[$name]=$G_CPU; done <"$work/rows"
    }
    extra "EVALSHA (SET)" evalsha SHA 1 key:__rand_int__ v
    extra "XADD" xadd bench:s '*' f v
    extra "XREADGROUP >" xreadgroup group g c count 1 streams bench:s '>'
    echo
    echo "== redis-benchmark default tests + scripting/streams, 50 clients, $SUITE_REQ requests, fsync $mode (ops/s; each row redis then kvnode)"
    echo "   (server CPU us/request: over the row's group, e.g. the four LRANGE rows and their LPUSH fill)"
    suite_fmt='%-36s %-12s %-12s %6s   %s\n'
    printf "$suite_fmt" "test" "redis" "kvnode" "ratio" "server CPU us/req redis / kvnode"
    printf "$suite_fmt" "----" "-----" "------" "-----" "--------------------------------"
    for name in "${order[@]}"; do
      printf "$suite_fmt" "$name" "${R[$name]}" "${K[$name]:--}" "$(ratio "${K[$name]:-0}" "${R[$name]}")" \
        "${RC[$name]:--} / ${KC[$name]:--}"
    done
    unset R K RC KC
    stop_pair suite
  done
fi

# ---------------------------------------------------------------- 7
# The loop's time for one deletion, as SLOWLOG records it (microseconds).
delete_us() { # port command key
  redis-cli -p "$1" slowlog reset >/dev/null
  redis-cli -p "$1" "$2" "$3" >/dev/null
  redis-cli -p "$1" slowlog get 1 | sed -n 3p
}
if want lazy; then
  start_pair no lazy --snapshot-wal-min-bytes 0 --snapshot-wal-growth-pct 0
  fill='local t, n = ARGV[1], tonumber(ARGV[2])
    for i = 1, n do
      if t == "set" then redis.call("sadd", KEYS[1], i)
      elseif t == "zset" then redis.call("zadd", KEYS[1], i, i)
      elseif t == "hash" then redis.call("hset", KEYS[1], i, i)
      else redis.call("rpush", KEYS[1], i) end
    end
    return n'
  echo
  # kvnode's automatic snapshots are off, as Redis's are (save ""): one
  # running would be handed the value first, which measures the snapshot.
  echo "== Deleting a value of $LAZY_MEMBERS members, no fsync, no snapshots: the loop's time (us, SLOWLOG)"
  printf '%-8s %12s %12s %12s %12s\n' "type" "redis UNLINK" "kvnode UNLINK" "redis DEL" "kvnode DEL"
  for p in "$RP" "$KP"; do redis-cli -p "$p" config set slowlog-log-slower-than 0 >/dev/null; done
  for t in set zset hash list; do
    row=()
    for cmd in unlink del; do
      for p in "$RP" "$KP"; do
        redis-cli -p "$p" eval "$fill" 1 "lz:$t" "$t" "$LAZY_MEMBERS" >/dev/null
        row+=("$(delete_us "$p" "$cmd" "lz:$t")")
      done
    done
    printf '%-8s %12s %12s %12s %12s\n' "$t" "${row[0]}" "${row[1]}" "${row[2]}" "${row[3]}"
  done
  stop_pair lazy
fi
echo
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
