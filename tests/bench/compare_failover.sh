#!/usr/bin/env bash
# Failover as a client sees it: kvnode (3 voters, default election timeout
# and heartbeat) side by side with Redis 7 + 3 redis-sentinel processes, on
# Sentinel's defaults (down-after-milliseconds 30000) and with
# down-after-milliseconds 1000, in one run on this machine. Prints one table;
# asserts nothing.
#
# Scenarios, each injected into the current primary while one client writes
# unique keys without pipelining (tests/bench/bench_failover.c):
#   kill -9     the primary is killed; restarted with its own configuration
#               after the trial (kvnode rejoins; sentinel turns the old Redis
#               master into a replica)
#   SIGSTOP     the primary is stopped for longer than the election timeout
#               (down-after-milliseconds) and until writes are acknowledged
#               elsewhere, then continued
#   switchover  FAILOVER on the kvnode primary; SENTINEL FAILOVER mymaster
#
# Per trial: write unavailability (injection -> first write acknowledged by
# the new primary), acknowledged writes missing from the primary afterwards,
# writes with unknown outcome. Between trials every node is back and caught
# up (bounded polls). The trials of the three systems are interleaved, so
# they share the machine's load alike.
#
# Usage: bash tests/bench/compare_failover.sh [trials] [trials-on-sentinel-defaults]
#   (default 20 and 3: a Sentinel-defaults trial lasts over 30 s)
# Environment: KV_BENCH_KEEP=dir keeps the logs (nodes, sentinels, trials);
#   KV_FAILOVER_SYSTEMS (default "kv fast slow"), KV_FAILOVER_SCENARIOS
#   (default "kill stop switchover") run a subset; KV_FAILOVER_KVNODE_ARGS
#   adds kvnode options (e.g. "--loglevel verbose"); KV_FAILOVER_SETTLE is the
#   pause in seconds after the cluster is healthy, before a trial (default 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
trials=${1:-20}
slow_trials=${2:-3}
settle_s=${KV_FAILOVER_SETTLE:-1}
systems=" ${KV_FAILOVER_SYSTEMS:-kv fast slow} "
scenarios=${KV_FAILOVER_SCENARIOS:-kill stop switchover}
read -r -a kv_extra <<<"${KV_FAILOVER_KVNODE_ARGS:-}"
fast_down_after=1000
fast_failover_timeout=3000

source tests/bench/lib.sh kvfailover
cmake --build build/rel -j"$(nproc)" --target bench_failover >/dev/null
BENCH=$PWD/build/rel/tests/bench/bench_failover
SENTINEL=/usr/bin/redis-sentinel
mkdir -p "$work/trials"
results=$work/results
notes=$work/notes
: > "$results"
: > "$notes"
keep_logs() {
  if [ -n "${KV_BENCH_KEEP:-}" ]; then
    mkdir -p "$KV_BENCH_KEEP"
    cp -r "$work"/*.log "$work/trials" "$results" "$notes" "$KV_BENCH_KEEP"/ 2>/dev/null || true
    echo "logs kept in $KV_BENCH_KEEP" >&2
  fi
}
trap 'keep_logs; cleanup' EXIT

# ---- helpers ----

used_ports=()
# A free port (and peer port) distinct from every port handed out so far,
# including their peer ports (+10000).
new_port() {
  local p q ok
  while :; do
    p=$(free_port); ok=1
    for q in "${used_ports[@]:-}"; do
      [ -z "$q" ] && continue
      if [ "$p" = "$q" ] || [ "$p" = $((q + 10000)) ] || [ $((p + 10000)) = "$q" ]; then ok=0; fi
    done
    [ $ok = 1 ] && { used_ports+=("$p"); echo "$p"; return; }
  done
}
# Servers are disowned when started: the shell reaps them without printing
# "Killed" job notices. A killed server is waited for (kill -0 fails once
# it has been reaped) and then dropped from the list cleanup kills.
gone() { ! kill -0 "$1" 2>/dev/null; }
forget_pid() { # pid: no longer ours to kill (it exited and was reaped)
  local keep=() p
  for p in "${pids[@]:-}"; do [ -n "$p" ] && [ "$p" != "$1" ] && keep+=("$p"); done
  pids=("${keep[@]:-}")
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
field() { # "key=value ..." key
  tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'
}
# Poll <check> every 200 ms until it succeeds or <seconds> pass.
wait_for() { # seconds check args...
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# ---- kvnode: 3 voters ----

kv_ports=(); kv_pids=(); kv_args=()
kv_start_node() { # index
  local i=$1 extra=("${kv_extra[@]}")
  if [ "$i" -gt 0 ]; then extra+=(--replicaof 127.0.0.1 "${kv_ports[0]}"); fi
  start_kvnode "${kv_ports[$i]}" "$work/kv$i" "${extra[@]}"
  kv_pids[$i]=$LAST_PID
  disown "$LAST_PID"
}
# The leader sees both others as voters streaming at its last LSN.
kv_healthy() {
  local i leader="" n=0 out last
  for i in 0 1 2; do
    out=$(redis-cli -p "${kv_ports[$i]}" info replication 2>/dev/null | tr -d '\r') || return 1
    grep -q '^raft_role:leader' <<<"$out" && { leader=$i; n=$((n + 1)); }
  done
  [ $n = 1 ] || return 1
  out=$(redis-cli -p "${kv_ports[$leader]}" info replication | tr -d '\r')
  last=$(awk -F: '$1 == "master_repl_offset" { print $2 }' <<<"$out")
  grep -q '^voters:3$' <<<"$out" || return 1
  [ "$(grep -c "role=voter,state=stream,match=$last," <<<"$out")" = 2 ] || return 1
  for i in 0 1 2; do
    [ "$i" = "$leader" ] && continue
    redis-cli -p "${kv_ports[$i]}" info replication | tr -d '\r' |
      grep -q "^applied_lsn:$last$" || return 1
  done
}
kv_setup() {
  local i
  for i in 0 1 2; do kv_ports[$i]=$(new_port); done
  kv_start_node 0; wait_ping "${kv_ports[0]}"
  kv_start_node 1; kv_start_node 2
  wait_ping "${kv_ports[1]}"; wait_ping "${kv_ports[2]}"
  wait_for 60 kv_healthy || { echo "kvnode cluster did not form" >&2; exit 1; }
}
kv_restart() { # index
  kv_start_node "$1"
}

# ---- Redis + 3 sentinels ----

# Per configuration c (slow, fast): ports, pids and files in r_<c>_*.
declare -A r_port r_pid s_port s_pid
redis_conf() { # c i master-port
  local f=$work/r_$1_$2.conf
  {
    echo "port ${r_port[$1,$2]}"
    echo "bind 127.0.0.1"
    echo "dir $work/r_$1_$2"
    echo "logfile $work/r_$1_$2.log"
    echo 'save ""'
    echo "appendonly yes"
    echo "appendfsync always"
    if [ "$2" -gt 0 ]; then echo "replicaof 127.0.0.1 $3"; fi
  } > "$f"
  mkdir -p "$work/r_$1_$2"
}
redis_start_node() { # c i: with its config file (sentinel may have rewritten it)
  "$REDIS" "$work/r_$1_$2.conf" >/dev/null 2>&1 &
  pids+=($!); r_pid[$1,$2]=$!
  disown $!
}
sentinel_start() { # c i down-after failover-timeout ("" : defaults)
  local f=$work/s_$1_$2.conf
  mkdir -p "$work/s_$1_$2"
  {
    echo "port ${s_port[$1,$2]}"
    echo "bind 127.0.0.1"
    echo "dir $work/s_$1_$2"
    echo "logfile $work/s_$1_$2.log"
    echo "sentinel monitor mymaster 127.0.0.1 ${r_port[$1,0]} 2"
    if [ -n "$3" ]; then echo "sentinel down-after-milliseconds mymaster $3"; fi
    if [ -n "$4" ]; then echo "sentinel failover-timeout mymaster $4"; fi
  } > "$f"
  "$SENTINEL" "$f" >/dev/null 2>&1 &
  pids+=($!); s_pid[$1,$2]=$!
  disown $!
}
# Every sentinel names the same master, sees 2 other sentinels and 2
# replicas that report themselves replicas of it with their link up; the
# master streams to both, caught up.
redis_healthy() { # c
  local c=$1 i m="" a out
  for i in 0 1 2; do
    a=$(redis-cli -p "${s_port[$c,$i]}" sentinel get-master-addr-by-name mymaster 2>/dev/null | tail -1)
    [ -n "$a" ] || return 1
    [ -z "$m" ] && m=$a
    [ "$a" = "$m" ] || return 1
    out=$(redis-cli -p "${s_port[$c,$i]}" sentinel master mymaster | paste - -)
    grep -qP '^flags\tmaster$' <<<"$out" || return 1
    grep -qP '^num-other-sentinels\t2$' <<<"$out" || return 1
    out=$(redis-cli -p "${s_port[$c,$i]}" sentinel replicas mymaster | paste - - |
      awk -F'\t' -v m="$m" '
        $1 == "name" { n++ }
        $1 == "flags" && $2 == "slave" { ok[n]++ }
        $1 == "role-reported" && $2 == "slave" { ok[n]++ }
        $1 == "master-link-status" && $2 == "ok" { ok[n]++ }
        $1 == "master-port" && $2 == m { ok[n]++ }
        END { for (k = 1; k <= n; k++) good += ok[k] == 4; print n + 0, good + 0 }')
    [ "$out" = "2 2" ] || return 1
  done
  out=$(redis-cli -p "$m" info replication 2>/dev/null | tr -d '\r') || return 1
  a=$(awk -F: '$1 == "master_repl_offset" { print $2 }' <<<"$out")
  grep -q '^role:master$' <<<"$out" || return 1
  [ "$(grep -c "^slave[0-9]*:.*state=online,offset=$a," <<<"$out")" = 2 ]
}
redis_setup() { # c down-after failover-timeout
  local c=$1 i
  for i in 0 1 2; do r_port[$c,$i]=$(new_port); s_port[$c,$i]=$(new_port); done
  for i in 0 1 2; do redis_conf "$c" "$i" "${r_port[$c,0]}"; redis_start_node "$c" "$i"; done
  for i in 0 1 2; do LAST_LOG=$work/r_${c}_$i.log; wait_ping "${r_port[$c,$i]}"; done
  for i in 0 1 2; do sentinel_start "$c" "$i" "$2" "$3"; done
  wait_for 120 redis_healthy "$c" || { echo "redis + sentinels ($c) did not come up" >&2; exit 1; }
}

# ---- one trial ----

# Systems: kv, fast, slow. Prints a progress line on stderr and appends
# "system scenario RESULT ..." to $results.
declare -A series_broken
trial() { # system scenario index
  local sys=$1 sc=$2 t=$3 i nodes="" plist="" args=() log out rc failed port pid
  if [ -n "${series_broken[$sys,$sc]:-}" ]; then return 0; fi
  if [ "$sys" = kv ]; then
    wait_for 120 kv_healthy || { series_broken[$sys,$sc]="kvnode cluster not back within 120 s before trial $t"; return 0; }
    for i in 0 1 2; do
      nodes+="${nodes:+,}127.0.0.1:${kv_ports[$i]}"; plist+="${plist:+,}${kv_pids[$i]}"
    done
    args=(--system kvnode --stop-min-ms 3000)
  else
    wait_for 180 redis_healthy "$sys" || { series_broken[$sys,$sc]="redis ($sys) not back within 180 s before trial $t"; return 0; }
    local sents=""
    for i in 0 1 2; do
      nodes+="${nodes:+,}127.0.0.1:${r_port[$sys,$i]}"; plist+="${plist:+,}${r_pid[$sys,$i]}"
      sents+="${sents:+,}127.0.0.1:${s_port[$sys,$i]}"
    done
    args=(--system redis --sentinels "$sents")
    if [ "$sys" = fast ]; then args+=(--stop-min-ms 3000); else args+=(--stop-min-ms 32000); fi
  fi
  sleep "$settle_s"
  log=$work/trials/$sys-$sc-$t.log
  rc=0
  out=$("$BENCH" "${args[@]}" --nodes "$nodes" --pids "$plist" --scenario "$sc" \
        --prefix "fo:$sys:$sc:$t" 2>"$log") || rc=$?
  for p in ${plist//,/ }; do kill -CONT "$p" 2>/dev/null || true; done
  out=$(grep '^RESULT' <<<"$out" || true)
  if [ $rc != 0 ] || [ -z "$out" ]; then
    echo "$sys $sc trial $t did not run: $(tail -1 "$log")" >&2
    echo "$sys $sc trial $t did not run: $(tail -1 "$log")" >> "$notes"
    return 0
  fi
  echo "$sys $sc $out" >> "$results"
  failed=$(field "$out" failed); port=${failed##*:}
  if [ "$sc" = kill ]; then
    for i in 0 1 2; do
      if [ "$sys" = kv ] && [ "${kv_ports[$i]}" = "$port" ]; then
        pid=${kv_pids[$i]}; { wait_for 10 gone "$pid" || echo "pid $pid did not exit" >&2; }; forget_pid "$pid"
        kv_restart "$i"
      elif [ "$sys" != kv ] && [ "${r_port[$sys,$i]}" = "$port" ]; then
        pid=${r_pid[$sys,$i]}; { wait_for 10 gone "$pid" || echo "pid $pid did not exit" >&2; }; forget_pid "$pid"
        redis_start_node "$sys" "$i"
      fi
    done
  fi
  printf '%-5s %-10s %2d/%-2d unavailable %8s ms  lost %s  unknown %s  acked %s\n' "$sys" "$sc" "$t" \
    "$([ "$sys" = slow ] && echo "$slow_trials" || echo "$trials")" "$(field "$out" unavail_ms)" \
    "$(field "$out" lost)" "$(field "$out" unknown)" "$(field "$out" acked)" >&2
}

# ---- run ----

echo "setting up: kvnode, redis + sentinels (down-after 30000), redis + sentinels (down-after $fast_down_after)" >&2
on() { [[ $systems == *" $1 "* ]]; }
if on kv; then kv_setup; fi
if on slow && [ "$slow_trials" -gt 0 ]; then redis_setup slow "" ""; fi
if on fast; then redis_setup fast "$fast_down_after" "$fast_failover_timeout"; fi

for sc in $scenarios; do
  for t in $(seq 1 "$trials"); do
    if on kv; then trial kv "$sc" "$t"; fi
    if on fast; then trial fast "$sc" "$t"; fi
    if on slow && [ "$t" -le "$slow_trials" ]; then trial slow "$sc" "$t"; fi
  done
done

# ---- the table ----

label() {
  case $1 in
    kv) echo "kvnode, 3 voters (election 1000 ms)";;
    fast) echo "Redis + 3 Sentinels, down-after $fast_down_after";;
    slow) echo "Redis + 3 Sentinels, defaults";;
  esac
}
scname() { case $1 in kill) echo "kill -9";; stop) echo "SIGSTOP";; switchover) echo "switchover";; esac; }

echo
echo "Failover seen by one unpipelined writer: kvnode vs redis-server $("$REDIS" --version | awk '{print $3}' | cut -d= -f2) + redis-sentinel, $(nproc) cores, loopback"
echo "(unavailable: injection -> first write acknowledged by the new primary; lost: acknowledged"
echo " writes missing from the primary after the trial; unknown: writes sent whose reply never came;"
echo " stale: writes begun after the injection and acknowledged by a node that was not the primary at the end)"
echo
printf '%-38s %-10s %6s %8s %8s %14s %8s %8s %8s\n' "system" "scenario" "trials" "p50 s" "worst s" "lost (trials)" "acked" "unknown" "stale"
printf '%-38s %-10s %6s %8s %8s %14s %8s %8s %8s\n' "--------------------------------------" "----------" "------" "--------" "--------" "--------------" "--------" "--------" "--------"
for sc in $scenarios; do
  for sys in kv fast slow; do
    { grep "^$sys $sc " "$results" || true; } | awk -v label="$(label "$sys")" -v scn="$(scname "$sc")" '
      function val(k,   i, kv) {
        for (i = 4; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return kv[2] }
        return ""
      }
      {
        u = val("unavail_ms") + 0
        if (u < 0 || val("timed_out") == 1) { missing++ } else { un[++n] = u }
        l = val("lost") + 0; if (l > 0) { lost += l; lt++ } else if (l < 0) unverified++
        acked += val("acked"); unknown += val("unknown"); stale += val("stale"); trials++
      }
      END {
        if (trials == 0) exit
        # insertion sort: a few dozen values
        for (i = 2; i <= n; i++) { v = un[i]; for (j = i - 1; j >= 1 && un[j] > v; j--) un[j + 1] = un[j]; un[j + 1] = v }
        p50 = n ? (n % 2 ? un[(n + 1) / 2] : (un[n / 2] + un[n / 2 + 1]) / 2) : -1
        worst = missing ? "none" : sprintf("%.2f", un[n] / 1000)
        printf "%-38s %-10s %6d %8s %8s %14s %8d %8d %8d\n", label, scn, trials,
          p50 < 0 ? "-" : sprintf("%.2f", p50 / 1000), worst,
          sprintf("%d (%d)", lost, lt) (unverified ? "?" : ""), acked, unknown, stale
      }'
  done
done
echo
echo "lost (trials): acknowledged writes missing in all trials (trials that lost any); \"none\": a trial with no"
echo "write acknowledged by a new primary within its bound. Writer: kv_cluster (kvnode) / SENTINEL"
echo "GET-MASTER-ADDR-BY-NAME + ROLE check (Redis), connect timeout 250 ms, I/O timeout 1000 ms, retry pauses"
echo "50-250 ms, 10 s per write. Redis: appendonly yes, appendfsync always, sentinel quorum 2;"
echo "down-after $fast_down_after runs with failover-timeout $fast_failover_timeout. Sentinel defaults: $slow_trials trials per scenario"
echo "(down-after 30000 ms). SIGSTOP lasts at least 3 s (32 s on Sentinel defaults) and until writes are"
echo "acknowledged elsewhere."
if [ -s "$notes" ]; then echo; cat "$notes"; fi
for k in "${!series_broken[@]}"; do echo "series $k stopped: ${series_broken[$k]}"; done
