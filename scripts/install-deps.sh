#!/usr/bin/env bash
# Install every build, test and benchmark dependency of kvnode from Debian's
# packages. Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config git
  libuv1-dev libprotobuf-c-dev protobuf-c-compiler libcmocka-dev libedit-dev
  clang libclang-rt-14-dev
  redis-server redis-tools redis-sentinel bsdutils
  iproute2 nftables procps netcat-openbsd
  docker-compose
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
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
