# Shared by the compare_*.sh benchmarks: sourced from the repository root
# after the script has set its own parameters. Installs dependencies, builds
# a release kvnode, makes a scratch directory ($work) and stops every server
# it started (by PID) and removes $work on exit.
#
#   source tests/bench/lib.sh <scratch-name>

bash scripts/install-deps.sh
cmake -S . -B build/rel -DCMAKE_BUILD_TYPE=Release -DKV_TESTS=OFF >/dev/null
cmake --build build/rel -j"$(nproc)" --target kvnode >/dev/null
KVNODE=$PWD/build/rel/node/kvnode
REDIS=/usr/bin/redis-server

work=$(mktemp -d "/tmp/$1.XXXXXX")
pids=()
LAST_LOG=/dev/null
LAST_PID=
# Under the scripts' set -e, a failing command in here would end the trap
# early (wait returns 137 for a killed child): every step tolerates failure.
cleanup() {
  local p
  for p in "${pids[@]:-}"; do
    [ -n "$p" ] || continue
    kill -9 "$p" 2>/dev/null || continue
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# A client port whose peer port (+10000) is free too, both below the
# ephemeral range (32768+).
free_port() {
  local p
  while :; do
    p=$((10000 + RANDOM % 12000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null &&
       ! (exec 3<>/dev/tcp/127.0.0.1/$((p + 10000))) 2>/dev/null; then
      echo "$p"; return
    fi
  done
}

# Until the server on <port> answers PING (polled every 5 ms, so recovery
# times measured with it are precise) with PONG (or <reply>: the no-op
# server of compare_all.sh answers OK), or 120 s: then its log and failure.
wait_ping() { # port [reply]
  local deadline=$((SECONDS + 120))
  until redis-cli -p "$1" ping 2>/dev/null | grep -q "${2:-PONG}"; do
    [ $SECONDS -lt $deadline ] || {
      echo "server on $1 did not start; its log ($LAST_LOG):" >&2
      tail -5 "$LAST_LOG" >&2 || true
      return 1
    }
    sleep 0.005
  done
}

info() { # port section field
  redis-cli -p "$1" info "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f { print $2 }'
}

# Run a server, or with WRAP set (an array: a command prefix such as an
# strace fault injector), the server under it. LAST_PID is the server's own
# PID either way (the prefix execs it through a shell that reports $$).
run_server() { # log cmd...
  local log=$1; shift
  if [ "${#WRAP[@]}" -eq 0 ]; then
    "$@" >>"$log" 2>&1 &
    pids+=($!); LAST_PID=$!
    return
  fi
  local pidfile
  pidfile=$(mktemp "$work/pid.XXXXXX")
  "${WRAP[@]}" sh -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" >>"$log" 2>&1 &
  pids+=($!)
  local deadline=$((SECONDS + 10))
  until [ -s "$pidfile" ] || [ $SECONDS -ge $deadline ]; do sleep 0.01; done
  LAST_PID=$(cat "$pidfile")
  pids+=("$LAST_PID")
}
WRAP=()

# Both servers take snapshots only when asked (kvnode still does when its
# WAL grows past snapshot-wal-min-bytes), and allow DEBUG from loopback
# (POPULATE fills them). Sets LAST_PID and LAST_LOG.
start_kvnode() { # port dir args...
  local port=$1 dir=$2; shift 2
  LAST_LOG=$dir.log
  run_server "$dir.log" "$KVNODE" --port "$port" --dir "$dir" --save '' \
    --enable-debug-command local "$@"
}
start_redis() { # port dir args...
  local port=$1 dir=$2; shift 2
  mkdir -p "$dir"
  LAST_LOG=$dir.log
  run_server "$dir.log" "$REDIS" --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' \
    --enable-debug-command local "$@"
}
stop_pid() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
# SIGTERM, and SIGKILL if it has not exited within 10 s (a stalled server
# may never finish its shutdown). Works for processes that are not our
# children too (a server under a WRAP prefix).
stop_bounded() { # pid
  kill -TERM "$1" 2>/dev/null || return 0
  local deadline=$((SECONDS + 10))
  while kill -0 "$1" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
