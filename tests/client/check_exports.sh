#!/bin/sh
# Check that libkvclient.so exports exactly the functions its public headers
# declare with KV_EXTERN: nothing internal leaks, nothing public is missing.
# Usage: check_exports.sh path/to/libkvclient.so path/to/include
set -eu
lib=$1
inc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort >"$tmp/exported"
cat "$inc"/kvclient.h "$inc"/kvclient_uv.h | tr '\n' ' ' | sed 's/;/;\n/g' |
    grep 'KV_EXTERN' | sed -n 's/.*[ *]\(kv_[a-z0-9_]*\)(.*/\1/p' | sort >"$tmp/declared"
status=0
if comm -23 "$tmp/exported" "$tmp/declared" | grep .; then
    echo "^ exported but not declared public"; status=1
fi
if comm -13 "$tmp/exported" "$tmp/declared" | grep .; then
    echo "^ declared public but not exported"; status=1
fi
count=$(wc -l <"$tmp/declared")
if [ "$count" -lt 40 ]; then
    echo "found only $count declarations: header parsing is broken"; status=1
fi
if [ $status -eq 0 ]; then
    echo "1 passed, 0 failed: $count exported functions match the headers"
else
    echo "0 passed, 1 failed"
fi
exit $status
