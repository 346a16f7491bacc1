#!/usr/bin/env bash
# install.sh DIR — install the pinned ioredis (package.json +
# package-lock.json beside this script) into DIR/node_modules with `npm ci`,
# so the test never depends on anything installed by hand. Skips the
# install when DIR already holds exactly this lock file's packages.
# Fails (exit 1) with a clear message when node or npm is missing:
# scripts/install-deps.sh installs them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:?usage: install.sh DIR}

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "install.sh: '$tool' is not installed (bash scripts/install-deps.sh installs Node.js and npm)" >&2
        exit 1
    fi
done

mkdir -p "$dest"
if [ -f "$dest/node_modules/.package-lock.json" ] &&
   cmp -s "$here/package-lock.json" "$dest/package-lock.json" &&
   [ -f "$dest/node_modules/ioredis/package.json" ]; then
    echo "install.sh: ioredis already installed in $dest"
    exit 0
fi
cp "$here/package.json" "$here/package-lock.json" "$dest/"
cd "$dest"
# Bounded: a registry that does not answer must not hang the test suite.
if ! timeout 300 npm ci --no-audit --no-fund --loglevel=error; then
    echo "install.sh: 'npm ci' failed in $dest (is the npm registry reachable?)" >&2
    exit 1
fi
node -e 'const v = require(process.argv[1] + "/node_modules/ioredis/package.json").version;
         const want = require(process.argv[1] + "/package.json").dependencies.ioredis;
         if (v !== want) { console.error(`install.sh: ioredis ${v} installed, ${want} pinned`); process.exit(1); }
         console.log(`install.sh: ioredis ${v} installed in ${process.argv[1]}`);' "$dest"
