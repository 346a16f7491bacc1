#!/usr/bin/env bash
# A node whose peer port is taken exits 1 with a clear message, and its
# shutdown (after the replication layer failed half-way through its set-up)
# is clean: no sanitizer report. Usage: peer_port_taken.sh KVNODE
set -u
kvnode=$1
dir=$(mktemp -d)
trap 'kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; rm -rf "$dir"' EXIT
# Hold a port (the kernel picks it) for as long as the test runs.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
f = socket.socket(); f.bind(("127.0.0.1", 0)); free = f.getsockname()[1]; f.close()
print(s.getsockname()[1], free, flush=True)
time.sleep(120)' >"$dir/port" &
holder=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
read -r peer client <"$dir/port"
[ -n "$peer" ] || { echo "FAIL: no port held"; exit 1; }
out=$(timeout 60 "$kvnode" --port "$client" --peer-port "$peer" --dir "$dir/data" 2>&1)
rc=$?
echo "$out" | tail -5
[ "$rc" -eq 1 ] || { echo "FAIL: exit status $rc, want 1"; exit 1; }
grep -q "cannot listen on peer port 127.0.0.1:$peer" <<<"$out" || { echo "FAIL: no message"; exit 1; }
if grep -Eq "runtime error|Sanitizer" <<<"$out"; then echo "FAIL: sanitizer report"; exit 1; fi
echo PASS
