#!/usr/bin/env bash
# local-cluster.sh — a three-node kvnode cluster on this machine's loopback:
# node1 founds it and is the first primary, node2 and node3 join it. The
# nodes elect a new primary by themselves when the primary fails.
#
# stop records which node was the primary (DIR/primary); the next start
# hands leadership back to that node if the election chose another one.
#
#   bash deploy/local-cluster.sh start  [DIR]   start it (or say it is running)
#   bash deploy/local-cluster.sh status [DIR]   role, link, LSNs, term of each node
#   bash deploy/local-cluster.sh stop   [DIR]   stop exactly the nodes it started
#
# DIR (default ./cluster) holds everything: the data directories node1..node3,
# and per node its config (nodeN.conf), log (nodeN.log) and pidfile (nodeN.pid),
# plus the generated cluster secret (cluster-secret, mode 600).
#
# Environment (all optional):
#   KV_BASE_PORT         client port of node1; node2/node3 use the next two
#                        ports; peer ports are client port + 10000 (7379).
#                        Keep them below the ephemeral range (32768 usually),
#                        where outgoing connections may take a port first.
#   KV_MIN_REPLICAS_ACK  replicas that must have a write durable before the
#                        primary acknowledges it; 0 = asynchronous (1)
#   KV_CLUSTER_SECRET    shared secret of the peer links (default: generated
#                        once into DIR/cluster-secret)
#   KV_START_TIMEOUT     seconds start waits for the cluster to be up (60)
#   KV_STOP_TIMEOUT      seconds stop waits after SIGTERM before SIGKILL (30)
#   KVNODE               kvnode binary (default build/rel/node/kvnode, built
#                        with cmake if missing)
#   KVCLI                RESP command line used for probes (default redis-cli,
#                        else kvcli next to the kvnode build)
#
# Processes are only ever signalled by PID (those start launched, or those in
# DIR's pidfiles), and only while /proc shows that PID running kvnode with
# that node's config file.
# Every wait is bounded. Exit status: 0 success; 1 failure; status exits 3
# when no node is running and 1 when only some are, or some do not answer.
set -euo pipefail

readonly NODES=(1 2 3)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
readonly HOST=127.0.0.1

die() {
    echo "local-cluster: $*" >&2
    exit 1
}
say() { echo "local-cluster: $*"; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

# ---- Settings ----------------------------------------------------------------

is_uint() { [[ $1 =~ ^[0-9]+$ ]] && [ "${#1}" -le 9 ]; }

BASE_PORT=${KV_BASE_PORT:-7379}
MIN_ACK=${KV_MIN_REPLICAS_ACK:-1}
START_TIMEOUT=${KV_START_TIMEOUT:-60}
STOP_TIMEOUT=${KV_STOP_TIMEOUT:-30}
if ! is_uint "$BASE_PORT" || [ "$BASE_PORT" -lt 1 ] || [ $((BASE_PORT + 10002)) -gt 65535 ]; then
    die "KV_BASE_PORT=$BASE_PORT: need 1..$((65535 - 10002)) (peer ports are +10000)"
fi
if ! is_uint "$MIN_ACK" || [ "$MIN_ACK" -gt 2 ]; then
    die "KV_MIN_REPLICAS_ACK=$MIN_ACK: need 0, 1 or 2 (the cluster has two replicas)"
fi
if ! is_uint "$START_TIMEOUT" || [ "$START_TIMEOUT" -lt 1 ]; then
    die "KV_START_TIMEOUT=$START_TIMEOUT: need seconds >= 1"
fi
if ! is_uint "$STOP_TIMEOUT" || [ "$STOP_TIMEOUT" -lt 1 ]; then
    die "KV_STOP_TIMEOUT=$STOP_TIMEOUT: need seconds >= 1"
fi

# Paths printed for the user: relative to the current directory when inside it.
show() {
    case $1 in
    "$PWD"/*) echo "${1#"$PWD"/}" ;;
    *) echo "$1" ;;
    esac
}

node_conf() { echo "$DIR/node$1.conf"; }
node_pidfile() { echo "$DIR/node$1.pid"; }
node_log() { echo "$DIR/node$1.log"; }

# The node that is (or, when stopped, was last seen as) the primary: DIR/primary
# as stop recorded it, node1 by default.
primary_node() {
    local n=""
    [ -f "$DIR/primary" ] && read -r n <"$DIR/primary" 2>/dev/null
    case $n in
    1 | 2 | 3) echo "$n" ;;
    *) echo 1 ;;
    esac
}

# The client port node $1 was configured with (from its config file), else
# the one it would get now.
node_port() {
    local conf port=""
    conf=$(node_conf "$1")
    if [ -f "$conf" ]; then
        port=$(sed -n 's/^port \([0-9]\{1,5\}\)$/\1/p' "$conf")
    fi
    echo "${port:-$((BASE_PORT + $1 - 1))}"
}

# ---- Processes -----------------------------------------------------------------

# True if PID $1 is alive (not a zombie) and runs kvnode (argv[0] named
# kvnode*) with node $2's config file as an argument.
is_our_node() {
    local pid=$1 conf args
    conf=$(node_conf "$2")
    args=$({ tr '\0' '\n' <"/proc/$pid/cmdline"; } 2>/dev/null) || return 1
    case $(basename -- "$(head -n 1 <<<"$args")") in
    kvnode*) ;;
    *) return 1 ;;
    esac
    tail -n +2 <<<"$args" | grep -qxF -- "$conf"
}

# Print the PID of node $1 if its pidfile names a live process of ours.
node_pid() {
    local pidfile pid=""
    pidfile=$(node_pidfile "$1")
    [ -f "$pidfile" ] || return 1
    read -r pid <"$pidfile" 2>/dev/null || true
    [[ $pid =~ ^[0-9]{1,9}$ ]] || return 1
    is_our_node "$pid" "$1" || return 1
    echo "$pid"
}

# Remove node $1's pidfile unless it names a live process of ours.
clear_stale_pidfile() {
    local pidfile
    pidfile=$(node_pidfile "$1")
    if [ -f "$pidfile" ] && ! node_pid "$1" >/dev/null; then
        rm -f "$pidfile"
        echo "node$1: removed stale pidfile $(show "$pidfile")"
    fi
}

# stop_pids "N:PID …": SIGTERM each node PID that is still ours, wait up to
# STOP_TIMEOUT seconds for all of them, then SIGKILL stragglers, each by PID.
stop_pids() {
    local item node pid left deadline
    for item in "$@"; do
        node=${item%%:*} pid=${item#*:}
        if is_our_node "$pid" "$node"; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    deadline=$((SECONDS + STOP_TIMEOUT))
    while :; do
        left=()
        for item in "$@"; do
            node=${item%%:*} pid=${item#*:}
            is_our_node "$pid" "$node" && left+=("$item")
        done
        [ "${#left[@]}" -eq 0 ] && return 0
        [ "$SECONDS" -ge "$deadline" ] && break
        sleep 0.1
    done
    for item in "${left[@]}"; do
        node=${item%%:*} pid=${item#*:}
        if is_our_node "$pid" "$node"; then
            echo "node$node: pid $pid still running after ${STOP_TIMEOUT}s: SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    deadline=$((SECONDS + 10))
    for item in "${left[@]}"; do
        node=${item%%:*} pid=${item#*:}
        while is_our_node "$pid" "$node"; do
            [ "$SECONDS" -ge "$deadline" ] && die "node$node: pid $pid survived SIGKILL"
            sleep 0.1
        done
    done
    return 0
}

# ---- Probes --------------------------------------------------------------------

# Set CLI to the command line used for probes; fails if there is none.
find_cli() {
    if [ -n "${KVCLI:-}" ]; then
        CLI=$KVCLI
    elif command -v redis-cli >/dev/null 2>&1; then
        CLI=redis-cli
    elif [ -x "$(kvcli_path)" ]; then
        CLI=$(kvcli_path)
    else
        return 1
    fi
}

need_cli() {
    find_cli ||
        die "neither redis-cli nor kvcli found: run 'bash scripts/install-deps.sh' (redis-tools) or set KVCLI"
}

# kvcli built next to the kvnode binary in use (build/<type>/client/kvcli).
kvcli_path() {
    local bin=${KVNODE:-$ROOT/build/rel/node/kvnode}
    echo "$(cd "$(dirname "$bin")/.." 2>/dev/null && pwd)/client/kvcli"
}

# probe PORT CMD… — run one command against a node, bounded by a timeout.
probe() {
    local port=$1
    shift
    timeout 3 "$CLI" -h "$HOST" -p "$port" "$@" 2>/dev/null </dev/null
}

# info_field TEXT NAME — the value of "NAME:value" in an INFO reply.
info_field() {
    sed -n "s/^$2:\\([^[:space:]]*\\).*/\\1/p" <<<"$1" | head -n 1
}

port_busy() {
    if command -v ss >/dev/null 2>&1; then
        [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
    else
        (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
    fi
}

# ---- Binary --------------------------------------------------------------------

find_kvnode() {
    if [ -n "${KVNODE:-}" ]; then
        [ -x "$KVNODE" ] || die "KVNODE=$KVNODE is not an executable"
        KVNODE_BIN=$(cd "$(dirname "$KVNODE")" && pwd)/$(basename "$KVNODE")
        return
    fi
    KVNODE_BIN=$ROOT/build/rel/node/kvnode
    if [ ! -x "$KVNODE_BIN" ]; then
        command -v cmake >/dev/null 2>&1 ||
            die "$(show "$KVNODE_BIN") is missing and cmake is not installed: run 'bash scripts/install-deps.sh'"
        say "building kvnode (release) in $(show "$ROOT/build/rel")"
        cmake -S "$ROOT" -B "$ROOT/build/rel" -DCMAKE_BUILD_TYPE=Release -DKV_TESTS=OFF \
            -DKV_BENCH=OFF >/dev/null
        cmake --build "$ROOT/build/rel" -j"$(nproc 2>/dev/null || echo 2)" \
            --target kvnode kvcli >/dev/null
    fi
}

# ---- Commands ------------------------------------------------------------------

cluster_secret() {
    local file=$DIR/cluster-secret
    if [ -n "${KV_CLUSTER_SECRET:-}" ]; then
        printf '%s' "$KV_CLUSTER_SECRET"
        return
    fi
    if [ ! -s "$file" ]; then
        (
            umask 077
            od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$file.tmp"
            mv -f "$file.tmp" "$file"
        )
    fi
    cat "$file"
}

# write_conf N SECRET PRIMARY — node N's config file (mode 600: it holds the
# secret); node PRIMARY is the primary, the others replicate from it.
write_conf() {
    local n=$1 secret=$2 primary=$3 port conf
    port=$((BASE_PORT + n - 1))
    conf=$(node_conf "$n")
    (
        umask 077
        {
            echo "# Written by deploy/local-cluster.sh start; rewritten on every start."
            echo "port $port"
            echo "bind $HOST"
            echo "dir \"$DIR/node$n\""
            echo "logfile \"$(node_log "$n")\""
            echo "pidfile \"$(node_pidfile "$n")\""
            echo "cluster-secret \"$secret\""
            echo "min-replicas-ack $MIN_ACK"
            if [ "$n" -ne "$primary" ]; then echo "replicaof $HOST $((BASE_PORT + primary - 1))"; fi
        } >"$conf.tmp"
        mv -f "$conf.tmp" "$conf"
    )
}

# node_ready N — prints "ok" once node N answers PING and has written its
# pidfile, then "master" or "slave" (its role) on a second line; else what it
# is waiting for. A replica counts only once its link to a primary is up.
# The cluster elects its primary by itself, so after a restart any node may
# lead: start waits for exactly one primary and every other node linked.
node_ready() {
    local n=$1 port info role
    port=$(node_port "$n")
    [ "$(probe "$port" ping)" = PONG ] || {
        echo "waiting for PING"
        return
    }
    node_pid "$n" >/dev/null || {
        echo "waiting for its pidfile"
        return
    }
    info=$(probe "$port" info replication | tr -d '\r')
    role=$(info_field "$info" role)
    case $role in
    master) printf 'ok\nmaster\n' ;;
    slave)
        if [ "$(info_field "$info" master_link_status)" = up ]; then
            printf 'ok\nslave\n'
        else
            echo "waiting for master_link_status:up"
        fi
        ;;
    *) echo "waiting for INFO replication" ;;
    esac
}

# live_primary — the node that answers role:master now (empty if none).
live_primary() {
    local n
    for n in "${NODES[@]}"; do
        if [ "$(info_field "$(probe "$(node_port "$n")" info replication | tr -d '\r')" role)" = master ]; then
            echo "$n"
            return
        fi
    done
}

# prefer_primary N — the nodes elect a primary by themselves; if another node
# won, node N (the primary when the cluster stopped) is handed leadership back
# with FAILOVER TO, and start waits for every node to follow it. If it cannot
# take over in time the elected primary stays and start says so.
prefer_primary() {
    local want=$1 now n state deadline ok
    now=$(live_primary)
    [ -n "$now" ] && [ "$now" != "$want" ] || return 0
    probe "$(node_port "$now")" failover to "$HOST" "$(node_port "$want")" timeout 10000 >/dev/null || true
    deadline=$((SECONDS + 20))
    while [ "$SECONDS" -lt "$deadline" ]; do
        ok=1
        for n in "${NODES[@]}"; do
            state=$(node_ready "$n")
            if [ "$n" = "$want" ]; then
                [ "$state" = "$(printf 'ok\nmaster')" ] || ok=0
            else
                [ "$state" = "$(printf 'ok\nslave')" ] || ok=0
            fi
        done
        [ "$ok" = 1 ] && return 0
        sleep 0.2
    done
    say "note: node$want did not take leadership back from node$now in 20s; node$(live_primary) is the primary"
}

STARTED=()     # "N:PID" of the nodes this invocation launched
START_DONE=0   # set once they are all up: from then on they are left running

# EXIT trap of start: unless the cluster came up, stop what start launched.
on_start_exit() {
    local status=$?
    trap - EXIT INT TERM
    if [ "$START_DONE" -eq 0 ] && [ "${#STARTED[@]}" -gt 0 ]; then
        echo "local-cluster: start failed; stopping the nodes it launched" >&2
        # Replicas first, the primary last, as stop does.
        local item replicas=() primary=() p
        p=$(primary_node)
        for item in "${STARTED[@]}"; do
            if [ "${item%%:*}" = "$p" ]; then primary+=("$item"); else replicas+=("$item"); fi
        done
        if [ "${#replicas[@]}" -gt 0 ]; then stop_pids "${replicas[@]}" || true; fi
        if [ "${#primary[@]}" -gt 0 ]; then stop_pids "${primary[@]}" || true; fi
        local n
        for n in "${NODES[@]}"; do clear_stale_pidfile "$n" >/dev/null || true; done
    fi
    exit "$status"
}

# launch N — start node N in the background and record its PID once the
# process runs kvnode (until its exec, /proc shows the forked shell).
launch() {
    local n=$1 pid deadline
    # setsid: the node leaves this terminal's session, so closing the
    # terminal or a later Ctrl-C does not reach it. From a script (no job
    # control) setsid execs in place, so $! is the kvnode PID. fd 9 (the
    # lock) is closed so the node never holds it.
    setsid "$KVNODE_BIN" "$(node_conf "$n")" </dev/null >>"$(node_log "$n")" 2>&1 9>&- &
    pid=$!
    deadline=$((SECONDS + 5))
    until is_our_node "$pid" "$n"; do
        if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
            echo "local-cluster: node$n (pid $pid) did not start" >&2
            log_tail "$n"
            exit 1
        fi
        sleep 0.01
    done
    STARTED+=("$n:$pid")
}

log_tail() {
    local log
    log=$(node_log "$1")
    if [ -f "$log" ]; then
        echo "---- last lines of $(show "$log") ----" >&2
        tail -n 15 "$log" >&2
        echo "----" >&2
    fi
}

cmd_start() {
    local n running=() stopped=() port secret pid deadline state waiting primary masters
    mkdir -p "$DIR"
    # Keep a cluster created inside a git checkout out of git status.
    [ -e "$DIR/.gitignore" ] || echo '*' >"$DIR/.gitignore"
    lock
    for n in "${NODES[@]}"; do
        if pid=$(node_pid "$n"); then running+=("node$n (pid $pid)"); else stopped+=("node$n"); fi
    done
    if [ "${#stopped[@]}" -eq 0 ]; then
        say "already running in $(show "$DIR"): ${running[*]}"
        need_cli
        print_connect
        return 0
    fi
    if [ "${#running[@]}" -gt 0 ]; then
        die "partly running in $(show "$DIR"): ${running[*]} up, ${stopped[*]} down." \
            "Run '$(stop_cmd)' first, then start again."
    fi
    for n in "${NODES[@]}"; do clear_stale_pidfile "$n"; done

    for n in "${NODES[@]}"; do
        port=$((BASE_PORT + n - 1))
        for p in "$port" $((port + 10000)); do
            if port_busy "$p"; then
                die "port $p (node$n $([ "$p" = "$port" ] && echo client || echo peer)) is already in use;" \
                    "stop what holds it or choose other ports with KV_BASE_PORT=<port>"
            fi
        done
    done
    find_kvnode
    need_cli
    secret=$(cluster_secret)
    [ -n "$secret" ] || die "empty cluster secret"
    primary=$(primary_node)
    [ "$primary" = 1 ] || say "node$primary was the primary when the cluster stopped: it is the primary again"

    for n in "${NODES[@]}"; do
        mkdir -p "$DIR/node$n" || die "cannot create the data directory $(show "$DIR/node$n")"
        write_conf "$n" "$secret" "$primary"
    done
    trap on_start_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    for n in "${NODES[@]}"; do launch "$n"; done

    say "started node1..node3 in $(show "$DIR"); waiting up to ${START_TIMEOUT}s for them to be up"
    deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        waiting="" masters=0
        for item in "${STARTED[@]}"; do
            n=${item%%:*} pid=${item#*:}
            if ! is_our_node "$pid" "$n"; then
                echo "local-cluster: node$n (pid $pid) exited during start" >&2
                log_tail "$n"
                exit 1
            fi
            state=$(node_ready "$n")
            case $state in
            ok*master) masters=$((masters + 1)) ;;
            ok*) ;;
            *) waiting="${waiting}node$n: $state; " ;;
            esac
        done
        if [ -z "$waiting" ] && [ "$masters" -ne 1 ]; then
            waiting="$masters nodes say they are the primary, waiting for one; "
        fi
        [ -z "$waiting" ] && break
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "local-cluster: not up after ${START_TIMEOUT}s (${waiting% })" >&2
            for n in "${NODES[@]}"; do log_tail "$n"; done
            exit 1
        fi
        sleep 0.2
    done
    prefer_primary "$primary"
    START_DONE=1
    trap - EXIT INT TERM
    # The pidfile is what stop trusts: it must name the process we launched.
    for item in "${STARTED[@]}"; do
        n=${item%%:*} pid=${item#*:}
        [ "$(node_pid "$n")" = "$pid" ] || say "note: node$n's pidfile names $(node_pid "$n"), launched $pid"
    done
    say "cluster is up"
    print_connect
}

stop_cmd() {
    local cmd
    cmd="bash $(show "$ROOT/deploy/local-cluster.sh") stop"
    [ "$DIR" = "$PWD/cluster" ] || cmd="$cmd $(show "$DIR")"
    echo "$cmd"
}

print_connect() {
    local n port role kvcli seeds="" pid primary replica=""
    primary=$(primary_node)
    kvcli=$(kvcli_path)
    [ -x "$kvcli" ] && kvcli=$(show "$kvcli") || kvcli=kvcli
    echo
    for n in "${NODES[@]}"; do
        port=$(node_port "$n")
        # The live role; if the node does not answer, the configured one.
        case $(info_field "$(probe "$port" info replication | tr -d '\r')" role) in
        master) role=primary ;;
        slave) role=replica ;;
        *) if [ "$n" -eq "$primary" ]; then role=primary; else role=replica; fi ;;
        esac
        if [ "$role" = primary ]; then primary=$n; else replica=${replica:-$port}; fi
        pid=$(node_pid "$n" || echo "?")
        printf '  node%s  %-8s %s:%s  peer port %s  pid %s  log %s\n' "$n" "$role" "$HOST" "$port" \
            $((port + 10000)) "$pid" "$(show "$(node_log "$n")")"
        seeds="$seeds${seeds:+,}$HOST:$port"
    done
    cat <<EOF

Connect:
  redis-cli -p $(node_port "$primary")                    # the primary: reads and writes
  redis-cli -p ${replica:-?}                    # a replica: reads; writes answer READONLY
  $kvcli -p $(node_port "$primary")
  $kvcli --cluster-seeds $seeds   # follows the primary
Status: bash $(show "$ROOT/deploy/local-cluster.sh") status$([ "$DIR" = "$PWD/cluster" ] || echo " $(show "$DIR")")
Stop:   $(stop_cmd)
EOF
}

# stop_group "N:PID" … — stop these nodes and remove their pidfiles.
stop_group() {
    local item
    for item in "$@"; do echo "node${item%%:*}: SIGTERM pid ${item#*:}"; done
    stop_pids "$@"
    for item in "$@"; do rm -f "$(node_pidfile "${item%%:*}")"; done
}

cmd_stop() {
    local n pid replicas=() primaries=() role masters=()
    if [ ! -d "$DIR" ]; then
        say "no cluster in $(show "$DIR"): nothing to stop"
        return 0
    fi
    lock
    for n in "${NODES[@]}"; do clear_stale_pidfile "$n"; done
    # Without a command line (or an answer) a node's role is the configured one.
    CLI=""
    find_cli || true
    # Replicas first: they then cannot see the primary vanish (and try to
    # take over) while they are being stopped, and the primary stops last.
    for n in "${NODES[@]}"; do
        pid=$(node_pid "$n") || {
            echo "node$n: not running"
            continue
        }
        role=""
        [ -n "$CLI" ] && role=$(info_field "$(probe "$(node_port "$n")" info replication | tr -d '\r')" role)
        if [ "$role" = master ]; then masters+=("$n"); fi
        if [ -z "$role" ] && [ "$n" -ne "$(primary_node)" ]; then role=slave; fi
        if [ "$role" = slave ]; then replicas+=("$n:$pid"); else primaries+=("$n:$pid"); fi
    done
    # Remember the primary, so that start brings the cluster back around it.
    if [ "${#masters[@]}" -eq 1 ]; then
        echo "${masters[0]}" >"$DIR/primary.tmp" && mv -f "$DIR/primary.tmp" "$DIR/primary"
    elif [ "${#masters[@]}" -gt 1 ]; then
        echo "local-cluster: warning: several nodes say they are the primary (${masters[*]/#/node});" \
            "start will make node$(primary_node) the primary" >&2
    fi
    if [ "${#replicas[@]}" -eq 0 ] && [ "${#primaries[@]}" -eq 0 ]; then
        say "no node running in $(show "$DIR")"
        return 0
    fi
    if [ "${#replicas[@]}" -gt 0 ]; then stop_group "${replicas[@]}"; fi
    if [ "${#primaries[@]}" -gt 0 ]; then stop_group "${primaries[@]}"; fi
    say "stopped; data kept in $(show "$DIR") (remove that directory to start afresh)"
}

cmd_status() {
    local n port pid info role link up=0 down=0 bad=0
    if [ ! -d "$DIR" ]; then
        say "no cluster in $(show "$DIR")"
        return 3
    fi
    need_cli
    printf '%-6s %-6s %-8s %-8s %-8s %-5s %-9s %-10s %-11s %-12s %-5s %s\n' NODE PORT PID STATE \
        ROLE LINK LAST_LSN LAST_TERM COMMIT_LSN APPLIED_LSN TERM REPLICAS
    for n in "${NODES[@]}"; do
        port=$(node_port "$n")
        if ! pid=$(node_pid "$n"); then
            printf '%-6s %-6s %-8s %s\n' "node$n" "$port" - stopped
            down=$((down + 1))
            continue
        fi
        info=$(probe "$port" info replication | tr -d '\r') || info=""
        if [ -z "$info" ]; then
            printf '%-6s %-6s %-8s %s\n' "node$n" "$port" "$pid" no-reply
            bad=$((bad + 1))
            continue
        fi
        role=$(info_field "$info" role)
        case $role in
        master) role=primary link=- ;;
        slave) role=replica link=$(info_field "$info" master_link_status) ;;
        *) link='?' ;;
        esac
        printf '%-6s %-6s %-8s %-8s %-8s %-5s %-9s %-10s %-11s %-12s %-5s %s\n' "node$n" "$port" \
            "$pid" running "$role" "$link" "$(info_field "$info" master_repl_offset)" \
            "$(info_field "$info" last_term)" "$(info_field "$info" commit_lsn)" \
            "$(info_field "$info" applied_lsn)" "$(info_field "$info" term)" \
            "$(info_field "$info" connected_slaves)"
        up=$((up + 1))
        [ "$role" = replica ] && [ "$link" != up ] && bad=$((bad + 1))
    done
    [ "$up" -eq 0 ] && [ "$bad" -eq 0 ] && return 3
    [ "$down" -eq 0 ] && [ "$bad" -eq 0 ] && return 0
    return 1
}

# One start/stop at a time per cluster directory (bounded wait).
lock() {
    # (fd 9 is closed in the nodes start launches, so they never hold it.)
    exec 9>"$DIR/.lock"
    flock -w 60 9 || die "another local-cluster.sh is busy with $(show "$DIR") (waited 60s)"
}

# ---- Main ----------------------------------------------------------------------

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    usage >&2
    exit 1
fi
case $1 in
-h | --help | help)
    usage
    exit 0
    ;;
esac
DIR=${2:-./cluster}
[ -n "$DIR" ] || die "empty directory name"
case $DIR in
/*) ;;
*) DIR=$PWD/${DIR#./} ;;
esac
DIR=${DIR%/}
case $DIR in
*[\"\'\\]* | *$'\n'*) die "directory name must not contain quotes, backslashes or newlines: $DIR" ;;
esac
readonly DIR

case $1 in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
    usage >&2
    exit 1
    ;;
esac
