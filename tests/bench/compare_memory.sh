#!/usr/bin/env bash
# Memory per key, kvnode vs Debian's redis-server, in one run: for each
# value shape, N keys (16-byte names) are written through redis-cli --pipe
# into both servers (no persistence on either side), and used_memory after
# minus used_memory of the empty server is divided by N. Prints one table;
# asserts nothing.
#
# Usage: bash tests/bench/compare_memory.sh [N=100000]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-100000}
source tests/bench/lib.sh kvmemory

kp=$(free_port)
start_kvnode "$kp" "$work/kv" --appendfsync no
wait_ping "$kp"
rp=$(free_port)
start_redis "$rp" "$work/redis" --appendonly no
wait_ping "$rp"

# gen SHAPE: the commands that build N keys of that shape, in RESP.
gen() {
  python3 - "$1" "$n" <<'PY'
import sys
shape, n = sys.argv[1], int(sys.argv[2])
out = sys.stdout.buffer
def cmd(*a):
    a = [x if isinstance(x, bytes) else str(x).encode() for x in a]
    out.write(b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a))
for i in range(n):
    k = b"key:%012d" % i
    if shape == "string 32 B":
        cmd("SET", k, b"v" * 32)
    elif shape == "string int":
        cmd("SET", k, i)
    elif shape == "hash 10 fields":
        cmd("HSET", k, *sum(([b"field%d" % j, b"value%06d" % j] for j in range(10)), []))
    elif shape == "list 10 items":
        cmd("RPUSH", k, *[b"item%06d" % j for j in range(10)])
    elif shape == "set 10 ints":
        cmd("SADD", k, *range(10))
    elif shape == "set 10 strings":
        cmd("SADD", k, *[b"member%06d" % j for j in range(10)])
    elif shape == "zset 10 members":
        cmd("ZADD", k, *sum(([j, b"member%06d" % j] for j in range(10)), []))
    elif shape == "hash 200 fields":
        if i % 100 == 0:
            cmd("HSET", k, *sum(([b"field%d" % j, b"value%06d" % j] for j in range(200)), []))
    elif shape == "stream 10 entries":
        for j in range(10):
            cmd("XADD", k, "%d-1" % (j + 1), "f", b"value%06d" % j)
PY
}

shapes=("string 32 B" "string int" "hash 10 fields" "list 10 items" "set 10 ints"
        "set 10 strings" "zset 10 members" "hash 200 fields" "stream 10 entries")
printf 'Memory per key, %d keys (16-byte names), used_memory delta / keys; redis-server %s\n' \
  "$n" "$(redis-server --version | awk '{print $3}' | cut -d= -f2)"
printf '%-18s %14s %14s %8s %12s %12s\n' shape "redis B/key" "kvnode B/key" ratio \
  "redis enc" "kvnode enc"
for shape in "${shapes[@]}"; do
  keys=$n
  [ "$shape" = "hash 200 fields" ] && keys=$((n / 100))
  row=()
  for p in "$rp" "$kp"; do
    redis-cli -p "$p" flushall >/dev/null
    base=$(info "$p" memory used_memory)
    gen "$shape" | redis-cli -p "$p" --pipe >/dev/null
    used=$(info "$p" memory used_memory)
    got=$(redis-cli -p "$p" dbsize)
    [ "$got" = "$keys" ] || { echo "port $p holds $got keys, want $keys" >&2; exit 1; }
    row+=("$(((used - base) / keys))" "$(redis-cli -p "$p" object encoding key:000000000000)")
  done
  printf '%-18s %14s %14s %8.2f %12s %12s\n' "$shape" "${row[0]}" "${row[2]}" \
    "$(awk -v a="${row[2]}" -v b="${row[0]}" 'BEGIN { print a / b }')" "${row[1]}" "${row[3]}"
done
