#!/usr/bin/env bash
# The replication core (replication/core, library kvraft) reaches the world
# only through its rc_io table: its object files may call nothing but pure
# library functions. Any other undefined symbol (libuv, file or socket I/O,
# clocks, randomness, the engine or the WAL) fails this check.
# Usage: core_symbols.sh <path to libkvraft.a>
set -euo pipefail
lib=$1
allowed='^(mem(cpy|move|set|cmp)|str(len|cmp|ncmp|chr|rchr|toull|tol)|v?snprintf|qsort|calloc|malloc|realloc|free|abort|__stack_chk_fail|__assert_fail|crc32c|protobuf_c_.*|kv__.*|__(asan|ubsan|tsan|sanitizer|msan)_.*|__memcpy_chk|__memset_chk|__snprintf_chk|__vsnprintf_chk)$'
# Undefined in some object, and defined in none of the library's own.
own=$(nm --defined-only "$lib" | awk 'NF == 3 { print $3 }' | sort -u)
syms=$(nm -u "$lib" | awk 'NF == 2 && $1 == "U" { print $2 }' | sort -u |
       comm -23 - <(printf '%s\n' "$own"))
bad=$(printf '%s\n' "$syms" | grep -Ev "$allowed" || true)
if [ -n "$bad" ]; then
    echo "the replication core calls outside its seam:"
    printf '  %s\n' $bad
    exit 1
fi
n=$(printf '%s\n' "$syms" | grep -c . || true)
echo "replication core: $n undefined symbols, all pure library calls"
