#!/bin/sh
# docker-healthcheck.sh — the container's HEALTHCHECK: healthy when kvnode
# answers PING and, if it is a replica, its link to the primary is up.
# Port and password come from the config docker-entrypoint.sh generated.
# Bounded: every probe has a timeout.
set -eu

conf=${KVNODE_RUN_DIR:-/run/kvnode}/kvnode.conf
[ -r "$conf" ] || {
    echo "no $conf yet"
    exit 1
}
port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$conf")
# The password as the entrypoint quoted it: undo \" and \\.
KVCLI_AUTH=$(sed -n 's/^requirepass "\(.*\)"$/\1/p' "$conf" | sed 's/\\\(.\)/\1/g')
export KVCLI_AUTH

probe() {
    timeout 5 kvcli -h 127.0.0.1 -p "${port:-7379}" -t 3 "$@" </dev/null 2>&1
}

reply=$(probe ping) || true
if [ "$reply" != PONG ]; then
    echo "PING: ${reply:-no reply}"
    exit 1
fi
info=$(probe info replication | tr -d '\r') || true
case $info in
*role:slave*)
    case $info in
    *master_link_status:up*) ;;
    *)
        echo "replica: link to the primary is not up"
        exit 1
        ;;
    esac
    ;;
esac
echo PONG
