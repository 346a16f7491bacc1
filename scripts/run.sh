#!/usr/bin/env bash
# Install what is missing, build kvnode (release), and start a three-node
# cluster on loopback in ./cluster: node1 the primary on 127.0.0.1:7379,
# node2 and node3 its replicas on 7380 and 7381 (peer ports +10000), every
# write fdatasync'd and held by at least one replica before it is
# acknowledged. Returns once the cluster is up (or failed, within a minute);
# the nodes keep running in the background until
#
#   bash deploy/local-cluster.sh stop
#
# Usage: bash scripts/run.sh   (KV_BASE_PORT, KV_MIN_REPLICAS_ACK …: see
#        bash deploy/local-cluster.sh --help)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
echo "run.sh: building kvnode and kvcli (release) in build/rel"
cmake -S . -B build/rel -DCMAKE_BUILD_TYPE=Release -DKV_TESTS=OFF -DKV_BENCH=OFF >/dev/null
cmake --build build/rel -j"$(nproc 2>/dev/null || echo 2)" --target kvnode kvcli >/dev/null
exec bash deploy/local-cluster.sh start ./cluster
