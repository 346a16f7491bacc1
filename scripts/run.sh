#!/usr/bin/env bash
# Install what is missing, build kvnode (release), and run one node on the
# defaults: clients on 127.0.0.1:7379, data in ./data, every write fsync'd
# before it is acknowledged. Ctrl-C (SIGINT) stops it cleanly.
# Usage: bash scripts/run.sh [--option value …]   (see build/rel/node/kvnode --help)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build/rel -DCMAKE_BUILD_TYPE=Release -DKV_TESTS=OFF -DKV_BENCH=OFF >/dev/null
cmake --build build/rel -j"$(nproc)" --target kvnode kvcli >/dev/null
cat <<MSG
kvnode is starting on 127.0.0.1:7379 (data in $PWD/data). Connect with:
  build/rel/client/kvcli -p 7379        (or: redis-cli -p 7379)
Stop it with Ctrl-C.
MSG
exec build/rel/node/kvnode "$@"
