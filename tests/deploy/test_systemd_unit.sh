#!/usr/bin/env bash
# test_systemd_unit.sh — deploy/kvnode.service, checked without running
# systemd (no service manager runs on these machines).
#
# Scenarios:
# - systemd-analyze verify accepts the unit (with ExecStart pointing at the
#   binary under test: verify insists that the program exists) and prints
#   nothing;
# - systemd-analyze security --offline rates its exposure at most 2.0;
# - Restart=on-failure, LimitNOFILE, KillMode=mixed, and a TimeoutStopSec
#   well above the leader's hand-over (shutdown-timeout, 10 s);
# - Type=notify: the exact ExecStart command line (config file, --dir,
#   --logfile "", --supervised systemd), run with a NOTIFY_SOCKET this test
#   listens on as systemd would, starts the real kvnode, which says READY=1
#   and serves, and on SIGTERM says STOPPING=1 and stops within
#   TimeoutStopSec;
# - deploy/kvnode.sysusers declares the unit's user.
#
# Environment: KVNODE (the binary under test; ctest passes it).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/deploy/lib.sh
. "$HERE/lib.sh"

UNIT=$ROOT/deploy/kvnode.service
[ -x "${KVNODE:-}" ] || fail "KVNODE must name the kvnode binary under test"
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: systemd-analyze is not installed (bash scripts/install-deps.sh installs it)"
    exit 77
fi

TMP=$(mktemp -d /tmp/kvnode-systemd-test.XXXXXX)
PID=
LISTENER=
cleanup() {
    local status=$?
    set +e
    if [ -n "$PID" ] && alive "$PID"; then
        kill -KILL "$PID"
        wait "$PID" 2>/dev/null
    fi
    if [ -n "$LISTENER" ] && alive "$LISTENER"; then
        kill -KILL "$LISTENER"
        wait "$LISTENER" 2>/dev/null
    fi
    [ "$status" -ne 0 ] && [ -f "$TMP/node.log" ] && tail -n 20 "$TMP/node.log"
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT

gone() { ! alive "$1"; }
key() { sed -n "s/^$1=//p" "$UNIT" | tail -n 1; }

note "systemd-analyze verify"
exec_start=$(key ExecStart)
bin=${exec_start%% *}
[ "$bin" = /usr/local/bin/kvnode ] || fail "ExecStart runs $bin, not /usr/local/bin/kvnode"
sed "s|^ExecStart=/usr/local/bin/kvnode |ExecStart=$KVNODE |" "$UNIT" >"$TMP/kvnode.service"
out=$(cd "$TMP" && systemd-analyze verify ./kvnode.service 2>&1) || fail "verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify printed: $out"

note "systemd-analyze security --offline"
sec=$(cd "$TMP" && systemd-analyze security --offline=true ./kvnode.service 2>&1 | tail -n 1)
score=$(echo "$sec" | sed -n 's/.*exposure level for kvnode.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "no exposure score in: $sec"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure $score is above 2.0"

note "restart, limits, stop timeout"
[ "$(key Restart)" = on-failure ] || fail "Restart is not on-failure"
[ "$(key KillMode)" = mixed ] || fail "KillMode is not mixed"
nofile=$(key LimitNOFILE)
[ "${nofile:-0}" -ge 16384 ] || fail "LimitNOFILE ${nofile:-unset} is below 16384"
stop=$(key TimeoutStopSec)
[ "${stop:-0}" -ge 20 ] || fail "TimeoutStopSec ${stop:-unset} leaves too little after the 10 s hand-over"
[ "$(key Type)" = notify ] || fail "Type is not notify"
[ "$(key User)" = kvnode ] || fail "User is not kvnode"
grep -q '^u kvnode ' "$ROOT/deploy/kvnode.sysusers" || fail "kvnode.sysusers does not declare kvnode"

note "the ExecStart command line starts kvnode"
# ExecStart's words after the binary, with the unit's paths moved here.
args=${exec_start#* }
[ "$args" = '/etc/kvnode/kvnode.conf --dir /var/lib/kvnode --logfile "" --supervised systemd' ] ||
    fail "unexpected ExecStart arguments: $args"
# systemd's side of Type=notify: a datagram socket named by NOTIFY_SOCKET,
# each message appended to a file (the listener ends on STOPPING=1, or
# after 60 s).
python3 - "$TMP/notify" "$TMP/notified" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        try:
            m = s.recv(4096).decode()
        except socket.timeout:
            break
        out.write(m)
        if "STOPPING=1" in m:
            break
PY
LISTENER=$!
listening() { [ -S "$TMP/notify" ]; }
eventually 10 listening || fail "the NOTIFY_SOCKET listener did not start"
port=$(free_base 1)
cp "$ROOT/deploy/kvnode.conf" "$TMP/kvnode.conf"
NOTIFY_SOCKET=$TMP/notify "$KVNODE" "$TMP/kvnode.conf" --dir "$TMP/data" --logfile "" \
    --supervised systemd --port "$port" >"$TMP/node.log" 2>&1 &
PID=$!
ready() { grep -qx 'READY=1' "$TMP/notified" 2>/dev/null; }
eventually 30 ready || fail "kvnode did not notify READY=1"
pong() { [ "$(cli "$port" ping 2>/dev/null)" = PONG ]; }
eventually 30 pong || fail "kvnode did not answer PING"
cli "$port" info server | grep -q '^process_supervised:systemd' || fail "INFO does not say systemd"
[ "$(cli "$port" set k v)" = OK ] || fail "SET failed"
kill -TERM "$PID"
eventually "$stop" gone "$PID" || fail "kvnode did not stop within TimeoutStopSec"
wait "$PID" || fail "kvnode exited with status $? after SIGTERM"
PID=
grep -q 'ready to exit' "$TMP/node.log" || fail "no clean shutdown in the log"
wait "$LISTENER" || fail "the NOTIFY_SOCKET listener failed"
LISTENER=
grep -qx 'STOPPING=1' "$TMP/notified" || fail "kvnode did not notify STOPPING=1"
grep -q '^STATUS=kvnode is loading' "$TMP/notified" || fail "no loading status: $(cat "$TMP/notified")"
echo "PASS: systemd unit"
