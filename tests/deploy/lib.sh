# lib.sh — helpers shared by the deploy tests (sourced, not run).
# shellcheck shell=bash
# Every wait is bounded; processes are only ever signalled by PID.

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

note() { echo "-- $*"; }

# port_free PORT — nothing listens on PORT (any address).
port_free() {
    [ -z "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

# free_base COUNT — print a port P such that P..P+COUNT-1 and the peer ports
# P+10000.. are all free and all below the kernel's ephemeral range (where an
# outgoing connection, e.g. a replica's, could take one of them between this
# check and the bind). Random start so that concurrent tests rarely collide;
# callers retry on a bind error.
free_base() {
    local count=$1 base i ok low span
    low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    span=$(((low - 10000 - count - 10000) / 10))
    [ "$span" -ge 10 ] || fail "ephemeral ports start at $low: no room for client and peer ports below"
    for _ in $(seq 1 200); do
        base=$((10000 + (RANDOM % span) * 10))
        ok=1
        for ((i = 0; i < count; i++)); do
            if ! port_free $((base + i)) || ! port_free $((base + i + 10000)); then
                ok=0
                break
            fi
        done
        if [ "$ok" = 1 ]; then
            echo "$base"
            return 0
        fi
    done
    fail "no free port range found"
}

# eventually SECONDS CMD… — run CMD every 0.1 s until it succeeds, at most
# SECONDS long.
eventually() {
    local limit=$1 deadline
    shift
    deadline=$((SECONDS + limit))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# cli PORT CMD… — one redis-cli command, bounded.
cli() {
    local port=$1
    shift
    timeout 5 redis-cli -h 127.0.0.1 -p "$port" "$@" </dev/null
}

# alive PID — PID exists and is not a zombie.
alive() {
    [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# no_sanitizer_reports FILE… — no ASan/UBSan report in these logs.
no_sanitizer_reports() {
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        if grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$f"; then
            sed -n '/ERROR: \|runtime error:/,+25p' "$f" >&2
            fail "sanitizer report in $f"
        fi
    done
}
