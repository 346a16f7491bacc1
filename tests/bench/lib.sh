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
# times measured with it are precise), or 120 s: then its log and failure.
wait_ping() { # port
  local deadline=$((SECONDS + 120))
  until redis-cli -p "$1" ping 2>/dev/null | grep -q PONG; do
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

# Both servers take snapshots only when asked (kvnode still does when its
# WAL grows past snapshot-wal-min-bytes). Sets LAST_PID and LAST_LOG.
start_kvnode() { # port dir args...
  local port=$1 dir=$2; shift 2
  LAST_LOG=$dir.log
  "$KVNODE" --port "$port" --dir "$dir" --save '' "$@" >>"$dir.log" 2>&1 &
  pids+=($!); LAST_PID=$!
}
start_redis() { # port dir args...
  local port=$1 dir=$2; shift 2
  mkdir -p "$dir"
  LAST_LOG=$dir.log
  "$REDIS" --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' \
    --enable-debug-command local "$@" >>"$dir.log" 2>&1 &
  pids+=($!); LAST_PID=$!
}
stop_pid() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
