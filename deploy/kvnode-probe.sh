#!/bin/sh
# kvnode-probe.sh ready|live — health probes for containers (Kubernetes
# readiness and liveness, Docker's HEALTHCHECK). Port and password come from
# the config docker-entrypoint.sh generated. Bounded: every probe has a
# timeout. Exit 0 = passes.
#
#   live   the process answers: PONG, or -LOADING while it loads its data
#          (restarting a node that is loading would only start it over), or
#          -MASTERDOWN (a follower cut off from its leader with
#          replica-serve-stale-data no refuses PING, as Redis 7.0 does:
#          restarting it would not bring the leader back).
#   ready  the node serves: the leader, taking writes (serving_writes:1), or
#          a follower that serves committed reads (serving_reads:1) with its
#          link to the leader up.
set -eu

mode=${1:-ready}
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
case $mode in
live)
    case $reply in
    PONG | LOADING* | MISCONF* | MASTERDOWN*) echo "$reply"; exit 0 ;; # alive, maybe not ready
    *) echo "PING: ${reply:-no reply}"; exit 1 ;;
    esac
    ;;
ready) ;;
*)
    echo "usage: kvnode-probe.sh ready|live" >&2
    exit 2
    ;;
esac

if [ "$reply" != PONG ]; then
    echo "PING: ${reply:-no reply}"
    exit 1
fi
info=$(probe info replication | tr -d '\r') || true
field() { printf '%s\n' "$info" | sed -n "s/^$1://p"; }
case $(field role) in
master)
    [ "$(field serving_writes)" = 1 ] || {
        echo "leader, not taking writes yet"
        exit 1
    }
    ;;
slave)
    [ "$(field master_link_status)" = up ] || {
        echo "follower: link to the leader is not up"
        exit 1
    }
    [ "$(field serving_reads)" = 1 ] || {
        echo "follower: not serving committed reads yet"
        exit 1
    }
    ;;
*)
    echo "no role in INFO replication: ${info:-no reply}"
    exit 1
    ;;
esac
echo ready
