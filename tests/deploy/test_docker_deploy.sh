#!/usr/bin/env bash
# test_docker_deploy.sh — the Docker deployment, checked without a Docker
# engine (none runs on these machines).
#
# Scenarios:
# - docker-compose.yml is valid (docker-compose config -q), with its defaults
#   and with env.example as the env file; it publishes only node1's client
#   port, on 127.0.0.1; every kvnode option its services pass exists.
# - Dockerfile: Debian 12 base, every COPY source exists, the runtime stage
#   runs as a non-root user with a /data volume and a HEALTHCHECK.
# - docker-entrypoint.sh refuses to start without a password or a cluster
#   secret; with secrets that contain quotes and backslashes it starts the
#   real kvnode (primary and replica, on loopback here), which then demands
#   AUTH and accepts exactly that password; docker-healthcheck.sh reports the
#   primary healthy, the replica healthy once linked, and a stopped node
#   unhealthy.
#
# Environment: KVNODE, KV_TEST_KVCLI (binaries under test; ctest passes them).
# Bounded: every wait has a deadline; started nodes are stopped by PID.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/deploy/lib.sh
. "$HERE/lib.sh"

# ---- Fixture -------------------------------------------------------------------

if ! command -v docker-compose >/dev/null 2>&1; then
    echo "SKIP: docker-compose is not installed (bash scripts/install-deps.sh installs it)"
    exit 77
fi
[ -x "${KVNODE:-}" ] || fail "KVNODE must name the kvnode binary under test"
[ -x "${KV_TEST_KVCLI:-}" ] || fail "KV_TEST_KVCLI must name the kvcli binary under test"
command -v redis-cli >/dev/null 2>&1 || fail "redis-cli missing (bash scripts/install-deps.sh)"

COMPOSE=$ROOT/deploy/docker-compose.yml
DOCKERFILE=$ROOT/deploy/Dockerfile
ENTRY=$ROOT/deploy/docker-entrypoint.sh
HEALTH=$ROOT/deploy/docker-healthcheck.sh

TMP=$(mktemp -d /tmp/kvnode-docker-test.XXXXXX)
PIDS=()

cleanup() {
    local status=$? pid
    set +e
    for pid in "${PIDS[@]}"; do
        if alive "$pid"; then kill -TERM "$pid" 2>/dev/null; fi
    done
    for pid in "${PIDS[@]}"; do
        eventually 20 gone "$pid" || kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [ "$status" -ne 0 ]; then
        for f in "$TMP"/*.log "$TMP"/*.err; do [ -f "$f" ] && { echo "---- $f"; tail -n 20 "$f"; }; done
    fi
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gone() { ! alive "$1"; }

# Options kvnode accepts (from its --help).
KV_OPTIONS=$("$KVNODE" --help | sed -n 's/^  \(--[a-z0-9-]*\) .*/\1/p')

# ---- docker-compose.yml ----------------------------------------------------------

note "docker-compose config -q (defaults, then env.example)"
# Only the file's own defaults and env.example may feed it, not this shell.
compose() {
    env -u KVNODE_PASSWORD -u KVNODE_CLUSTER_SECRET -u KVNODE_MIN_REPLICAS_ACK \
        -u KVNODE_HOST_PORT timeout 60 docker-compose -f "$COMPOSE" "$@"
}
compose config -q || fail "docker-compose config rejects deploy/docker-compose.yml"
compose --env-file "$ROOT/deploy/env.example" config -q ||
    fail "docker-compose config rejects the file with deploy/env.example"
resolved=$(compose config)

services=$(compose config --services | sort | tr '\n' ' ')
[ "$services" = "node1 node2 node3 " ] || fail "services are '$services', want node1 node2 node3"

note "only node1's client port is published, on 127.0.0.1"
published=$(grep -E '^\s+- [0-9.]*:?[0-9]+:[0-9]+(/tcp)?$' <<<"$resolved" | sed 's/^ *- //' || true)
[ "$published" = "127.0.0.1:7379:7379/tcp" ] || fail "published ports: '$published'"

note "every option the services pass is a kvnode option"
opts=$(sed -n 's/^ *- \(--[a-z0-9-]*\)$/\1/p' <<<"$resolved" | sort -u)
[ -n "$opts" ] || fail "no options found in the resolved compose file"
for o in $opts; do
    grep -qxF -- "$o" <<<"$KV_OPTIONS" || fail "docker-compose.yml passes $o, which kvnode does not know"
done
note "three voters that find each other by name"
! grep -q -- '- --replicaof' <<<"$resolved" || fail "a service pins --replicaof (the entrypoint decides)"
for n in node1 node2 node3; do
    svc=$(sed -n "/^  $n:\$/,/^  [a-z0-9]*:\$/p" <<<"$resolved")
    grep -q "KVNODE_ANNOUNCE_IP: $n\$" <<<"$svc" || fail "$n does not announce its service name"
    grep -q 'KVNODE_SEED: node1:7379$' <<<"$svc" || fail "$n has no seed node1:7379"
    grep -q 'KVNODE_PEERS: node1:7379 node2:7379 node3:7379$' <<<"$svc" || fail "$n: peers"
done

note "secrets come from the environment"
env_out=$(KVNODE_PASSWORD=pw-from-env KVNODE_CLUSTER_SECRET=cs-from-env timeout 60 \
    docker-compose -f "$COMPOSE" config)
[ "$(grep -c 'KVNODE_REQUIREPASS: pw-from-env' <<<"$env_out")" = 3 ] || fail "KVNODE_PASSWORD not used"
[ "$(grep -c 'KVNODE_CLUSTER_SECRET: cs-from-env' <<<"$env_out")" = 3 ] ||
    fail "KVNODE_CLUSTER_SECRET not used"

# ---- Dockerfile ------------------------------------------------------------------

note "Dockerfile"
grep -qE '^FROM debian:12(-slim)? AS build$' "$DOCKERFILE" || fail "builder stage is not Debian 12"
[ "$(grep -cE '^FROM ' "$DOCKERFILE")" = 2 ] || fail "want a builder and a runtime stage"
while read -r src; do
    [ -e "$ROOT/$src" ] || fail "Dockerfile copies $src, which does not exist"
done < <(sed -n '/^COPY --from/d; s/^COPY \(.*\) [^ ]*$/\1/p' "$DOCKERFILE" | tr ' ' '\n' | grep -v '^$')
runtime=$(sed -n '/^FROM debian:12[^ ]*$/,$p' "$DOCKERFILE")
grep -qE '^USER kvnode' <<<"$runtime" || fail "runtime stage does not run as kvnode"
grep -q '^VOLUME \["/data"\]' <<<"$runtime" || fail "no /data volume"
grep -q '^HEALTHCHECK ' <<<"$runtime" || fail "no HEALTHCHECK"
grep -q '^EXPOSE 7379 17379$' <<<"$runtime" || fail "client and peer ports not exposed"
grep -q 'docker-healthcheck.sh' <<<"$runtime" || fail "healthcheck script not used"
if grep -qE 'apt-get install[^&]*-dev' <<<"$runtime"; then fail "runtime stage installs -dev packages"; fi
sh -n "$ENTRY" || fail "docker-entrypoint.sh: syntax"
sh -n "$HEALTH" || fail "docker-healthcheck.sh: syntax"
sh -n "$ROOT/deploy/kvnode-probe.sh" || fail "kvnode-probe.sh: syntax"

# ---- Entrypoint and healthcheck, run here against the real binaries -------------

# The image's PATH holds kvnode and kvcli; the scripts find them there.
BIN=$TMP/bin
mkdir -p "$BIN"
ln -s "$KVNODE" "$BIN/kvnode"
ln -s "$KV_TEST_KVCLI" "$BIN/kvcli"
export PATH=$BIN:$PATH

PASSWORD='pa"ss \word'
SECRET="se\"cret\\"
BASE=$(free_base 2)

note "the entrypoint refuses to start without secrets"
for missing in KVNODE_REQUIREPASS KVNODE_CLUSTER_SECRET; do
    pw=$PASSWORD cs=$SECRET
    [ "$missing" = KVNODE_REQUIREPASS ] && pw=""
    [ "$missing" = KVNODE_CLUSTER_SECRET ] && cs=""
    # Should it start after all: loopback, a free port, and a time limit.
    if out=$(KVNODE_REQUIREPASS="$pw" KVNODE_CLUSTER_SECRET="$cs" KVNODE_PORT="$BASE" \
        KVNODE_RUN_DIR="$TMP/refused" KVNODE_DATA_DIR="$TMP/refused-data" \
        timeout 10 sh "$ENTRY" --bind 127.0.0.1 2>&1); then
        fail "started without $missing"
    fi
    grep -q "$missing" <<<"$out" || fail "refusal does not name $missing: $out"
done
[ ! -e "$TMP/refused-data" ] || fail "a refused start created the data dir"

# start_node NAME PORT ARGS… — run the entrypoint as the container would, but
# bound to loopback (the last --bind wins over the generated config).
start_node() {
    local name=$1 port=$2
    shift 2
    KVNODE_REQUIREPASS="$PASSWORD" KVNODE_CLUSTER_SECRET_FILE="$TMP/secret" \
        KVNODE_PORT="$port" KVNODE_RUN_DIR="$TMP/$name-run" KVNODE_DATA_DIR="$TMP/$name-data" \
        sh "$ENTRY" kvnode --bind 127.0.0.1 --logfile "$TMP/$name.log" "$@" \
        </dev/null >>"$TMP/$name.err" 2>&1 &
    PIDS+=("$!")
}
healthy() { KVNODE_RUN_DIR="$TMP/$1-run" timeout 20 sh "$HEALTH" >/dev/null 2>&1; }
unhealthy() { ! healthy "$1"; }
replica_has() { [ "$(cli $((BASE + 1)) -a "$PASSWORD" --no-auth-warning get "$1")" = "$2" ]; }

printf '%s' "$SECRET" >"$TMP/secret"
note "entrypoint: primary on $BASE, replica on $((BASE + 1))"
start_node primary "$BASE" --min-replicas-ack 1
primary_pid=${PIDS[-1]}
eventually 30 healthy primary || fail "primary never healthy"
[ "$(stat -c %a "$TMP/primary-run/kvnode.conf")" = 600 ] || fail "generated config is readable by others"
tr '\0' '\n' <"/proc/$primary_pid/cmdline" | grep -qF "$PASSWORD" && fail "password on the command line"
tr '\0' '\n' <"/proc/$primary_pid/cmdline" | grep -qF "$SECRET" && fail "secret on the command line"

[[ $(cli "$BASE" ping) == NOAUTH* ]] || fail "primary answers without AUTH"
[[ $(cli "$BASE" -a wrong --no-auth-warning ping 2>&1) == *WRONGPASS* ]] || fail "wrong password accepted"
[ "$(cli "$BASE" -a "$PASSWORD" --no-auth-warning ping)" = PONG ] || fail "password not accepted"

start_node replica $((BASE + 1)) --replicaof 127.0.0.1 "$BASE"
replica_pid=${PIDS[-1]}
eventually 30 healthy replica || fail "replica never healthy (link up)"
# Healthy means streaming; with --min-replicas-ack 1 the primary takes
# writes once it counts the replica as a voter it hears from, which can be
# a moment later (until then: -NOREPLICAS, nothing written).
primary_set() { [ "$(cli "$BASE" -a "$PASSWORD" --no-auth-warning set k v)" = OK ]; }
eventually 15 primary_set || fail "SET on the primary"
eventually 15 replica_has k v ||
    fail "the replica did not get the write (cluster secret with quotes and backslashes)"

note "a replica whose primary is gone is unhealthy"
kill -KILL "$primary_pid" # a crash: the replica's link drops
eventually 20 gone "$primary_pid" || fail "primary survived SIGKILL"
eventually 30 unhealthy replica || fail "replica stays healthy without its primary"
if healthy primary; then fail "a stopped node is healthy"; fi
kill -TERM "$replica_pid"
eventually 20 gone "$replica_pid" || fail "replica did not stop on SIGTERM"

no_sanitizer_reports "$TMP"/*.log "$TMP"/*.err
echo "PASS: docker deploy"
