#!/usr/bin/env bash
# Install every build, test and benchmark dependency of kvnode from Debian's
# packages (and, for the Kubernetes manifest test, the npm package
# kubernetes-models into tests/deploy/k8s-validate). Idempotent: installs
# only what is missing. Needs root (or sudo).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

pkgs=(
  build-essential cmake pkg-config git
  libuv1-dev libprotobuf-c-dev protobuf-c-compiler libcmocka-dev libedit-dev
  liblua5.1-0-dev lua-cjson-dev lua-bitop-dev
  clang libclang-rt-14-dev
  redis-server redis-tools redis-sentinel bsdutils strace
  iproute2 nftables procps netcat-openbsd libfaketime
  docker-compose
  python3-redis
  prometheus systemd
)
# Node.js and npm for the ioredis client test (tests/clients/ioredis) and the
# offline Kubernetes validator. A machine may already have them from elsewhere
# (NodeSource's nodejs ships its own npm and conflicts with Debian's npm
# package): only when either command is missing are Debian's packages added.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  pkgs+=(nodejs npm)
fi
# kubectl renders deploy/k8s (kubectl kustomize); node runs the validator.
command -v kubectl >/dev/null 2>&1 || pkgs+=(kubernetes-client)

# The offline Kubernetes schema validator (tests/deploy/k8s-validate):
# the versions its package.json pins, from the npm registry.
install_validator() {
  local dir=$ROOT/tests/deploy/k8s-validate
  [ -f "$dir/node_modules/kubernetes-models/package.json" ] && return 0
  echo "install-deps: npm install in tests/deploy/k8s-validate" >&2
  (cd "$dir" && npm install --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null)
}

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  install_validator
  exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Do not let package scripts start services (redis-server) on this machine:
# tests start their own servers on their own ports.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  made_policy=1
fi
trap '[ "$made_policy" = 1 ] && $SUDO rm -f "$policy"' EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_validator
