#!/usr/bin/python3
"""driver.py -- an unchanged Redis client library fails over with kvnode.

Starts a 3-node kvnode cluster on free loopback ports (node 0 founds it,
nodes 1 and 2 join with --replicaof), starts ONE client program (the
redis-py or ioredis workload, configured with the three nodes as its
Sentinels) and, while it writes and reads, replaces the primary four ways:

  kill9     kill -9 of the primary (restarted afterwards, it rejoins)
  sigstop   the primary stopped (SIGSTOP): the client must find the new
            primary while the old one is still stopped; then (after 5 s at
            least, a few election timeouts) SIGCONT: it rejoins as a replica
  failover  FAILOVER sent to the primary (graceful handover)
  sentinel  SENTINEL FAILOVER kvnode sent to a replica (it takes over)

The client is never restarted. It prints every write's and read's outcome
timed on CLOCK_MONOTONIC (this process's clock too); the driver keeps the
books: after each fault it waits until a write started after the fault is
acknowledged, checks every read against what was written, and measures
the write unavailability. At the end the client reads every acknowledged
write back through its own primary connection, and the driver checks on
the leader directly that every acknowledged write is there with its
value, that no write refused before running is, that nothing else is
(DBSIZE), and that every node holds the same data (DEBUG DIGEST); then it
stops the nodes with SIGTERM and requires a clean exit.

Usage: driver.py --client redis-py|ioredis  (KVNODE: the kvnode binary;
for ioredis, KV_IOREDIS_MODULES: the node_modules folder made by
ioredis/install.sh). Exit 0 = passed, 1 = failed. Every wait is bounded;
only the PIDs started here are signalled; the temp dir is removed.
"""

import argparse
import ctypes
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICE = "kvnode"

# Generous bounds: a sanitized build on a loaded 2-core machine.
RESUME_LIMIT_S = 15.0   # writes must resume within this after a fault
STOP_S = 5.0            # shortest SIGSTOP: several election timeouts (1-2 s)
HEALTH_LIMIT_S = 60.0   # the cluster back to 3 streaming voters
STEADY_WRITES = 100     # acknowledged writes between scenarios


def now_ms():
    return time.monotonic() * 1000.0


def log(msg):
    print("driver: " + msg, flush=True)


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


# --------------------------------------------------------------------------
# A minimal RESP2 client for the driver's own checks: independent of the
# client library under test, and with a timeout on every operation, so a
# stopped node never hangs the driver.
# --------------------------------------------------------------------------

class RespError(Exception):
    pass


class Resp:
    def __init__(self, port, timeout=2.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n + 2:]
        return out

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise ConnectionError("bad reply type %r" % line)

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self._reply()


def one(port, *args, timeout=2.0):
    """One command on a fresh connection; None if the node does not answer."""
    try:
        c = Resp(port, timeout)
        try:
            return c.cmd(*args)
        finally:
            c.close()
    except (OSError, ConnectionError):
        return None


def info_fields(port, section="replication"):
    r = one(port, "INFO", section)
    if not isinstance(r, str):
        return {}
    out = {}
    for line in r.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    # PR_SET_PDEATHSIG = 1: the child gets SIGKILL if the driver dies
    # (a ctest timeout), so nothing outlives the test.
    _libc.prctl(1, signal.SIGKILL)


def ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError):
        return 32768


def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_ports(count):
    """count client ports whose peer ports (+10000) are free too, all below
    the ephemeral range (where an outgoing connection could take one)."""
    low = ephemeral_low()
    rng = random.Random(os.getpid() ^ int(time.time() * 1000))
    for _ in range(500):
        base = rng.randrange(10000, max(10001, low - 10000 - count))
        ports = [base + i for i in range(count)]
        if all(port_free(p) and port_free(p + 10000) for p in ports):
            return ports
    raise Failure("no free loopback ports found")


class Node:
    def __init__(self, idx, tmp, binary):
        self.idx = idx
        self.dir = os.path.join(tmp, "n%d" % idx)
        self.logpath = os.path.join(tmp, "n%d.log" % idx)
        self.binary = binary
        self.port = 0
        self.proc = None
        self.stopped = False

    def start(self, port, replicaof=None):
        self.port = port
        args = [self.binary, "--port", str(port), "--dir", self.dir, "--bind", "127.0.0.1",
                "--enable-debug-command", "yes"]  # DEBUG DIGEST compares the nodes
        if replicaof:
            args += ["--replicaof", "127.0.0.1", str(replicaof)]
        logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        logf.close()
        self.stopped = False

    def restart(self):
        # A restarted member rejoins its own cluster from dir/meta.
        self.start(self.port)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def kill9(self):
        self.signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, grace_s=15.0, term=True):
        """SIGTERM (SIGCONT first if stopped; none if term is false: sent
        already), bounded wait, then SIGKILL."""
        if self.proc is None or self.proc.returncode is not None:
            return
        if self.stopped:
            self.signal(signal.SIGCONT)
            self.stopped = False
        if term:
            self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            log("node %d did not exit %.0f s after SIGTERM: SIGKILL" % (self.idx, grace_s))
            self.signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def tail(self, n=100):
        try:
            with open(self.logpath, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])


def wait_until(pred, limit_s, what, poll_s=0.05):
    deadline = time.monotonic() + limit_s
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise Failure("timed out after %.0f s waiting for %s" % (limit_s, what))
        time.sleep(poll_s)


# --------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------

class Cluster:
    def __init__(self, tmp, binary):
        self.nodes = [Node(i, tmp, binary) for i in range(3)]

    def ports(self):
        return [n.port for n in self.nodes]

    def start(self):
        for attempt in range(5):
            ports = free_ports(3)
            self.nodes[0].start(ports[0])
            if self._wait_ping(self.nodes[0]):
                break
            self.nodes[0].stop(2)
            shutil.rmtree(self.nodes[0].dir, ignore_errors=True)
        else:
            raise Failure("node 0 did not start:\n" + self.nodes[0].tail())
        for i in (1, 2):
            for attempt in range(5):
                port = ports[i] if attempt == 0 else free_ports(1)[0]
                self.nodes[i].start(port, replicaof=self.nodes[0].port)
                if self._wait_ping(self.nodes[i]):
                    break
                self.nodes[i].stop(2)
                shutil.rmtree(self.nodes[i].dir, ignore_errors=True)
            else:
                raise Failure("node %d did not start:\n%s" % (i, self.nodes[i].tail()))
        self.wait_healthy()

    def _wait_ping(self, node, limit_s=30.0):
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if not node.alive():
                return False  # a port taken between the check and the bind
            if one(node.port, "PING") == "PONG":
                return True
            time.sleep(0.05)
        return False

    def leader(self):
        """The node that leads (INFO: raft_role leader), or None."""
        for n in self.nodes:
            if n.alive() and not n.stopped:
                if info_fields(n.port).get("raft_role") == "leader":
                    return n
        return None

    def healthy(self):
        """One leader, three voters all streaming, and every node names the
        leader through the Sentinel API."""
        if any(not n.alive() or n.stopped for n in self.nodes):
            return None
        lead = self.leader()
        if lead is None:
            return None
        f = info_fields(lead.port)
        if f.get("voters") != "3" or f.get("members") != "3":
            return None
        streaming = sum(1 for k, v in f.items()
                        if k.startswith("member") and "state=stream" in v)
        if streaming != 2:
            return None
        for n in self.nodes:
            r = one(n.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
            if r != ["127.0.0.1", str(lead.port)]:
                return None
        return lead

    def wait_healthy(self):
        return wait_until(self.healthy, HEALTH_LIMIT_S, "3 streaming voters and one leader")

    def dump(self):
        for n in self.nodes:
            sys.stderr.write("---- node %d (port %d) log tail ----\n%s\n" % (n.idx, n.port, n.tail()))

    def stop(self):
        """SIGTERM to every node (the leader hands over first), bounded;
        the exit statuses."""
        for n in self.nodes:
            if n.stopped:
                n.signal(signal.SIGCONT)
                n.stopped = False
        for n in self.nodes:
            n.signal(signal.SIGTERM)
        for n in self.nodes:
            n.stop(term=False)
        return [n.proc.returncode if n.proc else None for n in self.nodes]

    def sanitizer_reports(self):
        bad = []
        for n in self.nodes:
            try:
                with open(n.logpath, "rb") as f:
                    text = f.read().decode(errors="replace")
            except OSError:
                continue
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                if marker in text:
                    i = text.index(marker)
                    bad.append("node %d: %s" % (n.idx, text[i:i + 3000]))
                    break
        return bad


# --------------------------------------------------------------------------
# The client program and its bookkeeping
# --------------------------------------------------------------------------

class ClientProc:
    """The workload program. It prints one JSON line per write or read
    outcome (see redispy_client.py); a thread here keeps the books: the
    ledger of every write, acknowledgement times, reads checked against
    the ledger, and when writes resumed after each fault."""

    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=None, env=env, preexec_fn=_die_with_parent,
                                     text=True, bufsize=1)
        self.cv = threading.Condition()
        self.writes = []        # (start_ms, end_ms, outcome, key, value, message)
        self.acked = {}         # key -> value
        self.ack_ends = []      # end_ms of each acknowledged write, in order
        self.faults = []        # {name, t, switch, resume}: see fault()
        self.reads = {"p": 0, "r": 0}
        self.hits = {"p": 0, "r": 0}
        self.read_errors = {"p": 0, "r": 0}
        self.wrong = []         # reads that returned something not written
        self.verify = None
        self.exited = False
        self.bad_lines = 0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                sys.stderr.write("client (not JSON): %s\n" % line)
                with self.cv:
                    self.bad_lines += 1
                continue
            with self.cv:
                self._event(ev)
                self.cv.notify_all()
        with self.cv:
            self.exited = True
            self.cv.notify_all()

    def _event(self, ev):
        kind = ev.get("ev")
        if kind == "w":
            self.writes.append((ev["s"], ev["e"], ev["o"], ev["k"], ev["v"], ev.get("m", "")))
            if ev["o"] == "A":
                self.acked[ev["k"]] = ev["v"]
                self.ack_ends.append(ev["e"])
                for f in self.faults:
                    if f["resume"] is None and f["switch"] is not None and ev["s"] >= f["switch"]:
                        f["resume"] = ev["e"]
        elif kind == "rd":
            src, k, got = ev["src"], ev["k"], ev["got"]
            self.reads[src] += 1
            want = self.acked.get(k)
            if got is not None:
                self.hits[src] += 1
            # The primary must return every acknowledged write; a replica
            # may lag (nothing yet) but never return something else.
            if want is None or got != want and (src == "p" or got is not None):
                self.wrong.append((src, k, want, got))
        elif kind == "rderr":
            self.read_errors[ev["src"]] += 1
        elif kind == "verify":
            self.verify = ev
        else:
            sys.stderr.write("client: unknown event %r\n" % (ev,))
            self.bad_lines += 1

    def wait(self, pred, limit_s, what):
        deadline = time.monotonic() + limit_s
        with self.cv:
            while True:
                v = pred()
                if v:
                    return v
                if self.exited:
                    raise Failure("the client program exited (status %s) while the driver waited "
                                  "for %s" % (self.proc.wait(), what))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure("timed out after %.0f s waiting for %s" % (limit_s, what))
                self.cv.wait(min(left, 0.5))

    def nacked(self):
        with self.cv:
            return len(self.acked)

    def wait_acked(self, n, limit_s, what):
        self.wait(lambda: len(self.acked) >= n, limit_s, what)

    def fault(self, name, t, switch=None):
        """A fault at t. Writes have resumed once a write started at or
        after `switch` is acknowledged: the fault itself when the old
        primary can acknowledge nothing after it (killed, stopped); for a
        handover, the moment the new primary was seen leading (until then
        the old one may still acknowledge writes; after it, it cannot)."""
        with self.cv:
            self.faults.append({"name": name, "t": t, "switch": None, "resume": None})
        if switch is not None:
            self.switched(name, switch)

    def switched(self, name, t):
        with self.cv:
            f = next(f for f in self.faults if f["name"] == name)
            f["switch"] = t
            ends = [w[1] for w in self.writes if w[2] == "A" and w[0] >= t]
            if ends:
                f["resume"] = min(ends)

    def wait_resumed(self, name, limit_s):
        """ms from the fault to the acknowledgement of the first write that
        started after the switch (see fault())."""
        def resumed():
            f = next(f for f in self.faults if f["name"] == name)
            return f["resume"] is not None and f["resume"] - f["t"]
        return self.wait(resumed, limit_s, "writes to resume after %s" % name)

    def finish(self):
        check(self.proc.poll() is None, "the client program exited (status %s)" % self.proc.poll())
        self.proc.stdin.write("finish\n")
        self.proc.stdin.flush()
        self.wait(lambda: self.verify is not None, 120, "the client's final check")
        self.proc.stdin.close()
        return self.proc.wait(timeout=30)

    def figures(self):
        """Per fault: write unavailability (the longest time without an
        acknowledged write between the last one before the fault and the
        time writes resumed, see fault()), time to resume, and the outcomes
        of the writes that ended before the next fault."""
        rows = {}
        with self.cv:
            for i, f in enumerate(self.faults):
                name, t, resume_end = f["name"], f["t"], f["resume"]
                t_next = self.faults[i + 1]["t"] if i + 1 < len(self.faults) else float("inf")
                before = [e for e in self.ack_ends if e < t]
                window = ([before[-1]] if before else []) + \
                    [e for e in self.ack_ends if t <= e <= resume_end]
                gaps = [b - a for a, b in zip(window, window[1:])]
                ended = [w for w in self.writes if t <= w[1] < t_next]
                rows[name] = {
                    "unavail_ms": max(gaps) if gaps else resume_end - t,
                    "resume_ms": resume_end - t,
                    "acked": sum(1 for w in ended if w[2] == "A"),
                    "unknown": sum(1 for w in ended if w[2] == "U"),
                    "refused": sum(1 for w in ended if w[2] == "R"),
                    "errors": sum(1 for w in ended if w[2] == "E"),
                }
        return rows

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


def client_argv(name, ports):
    sentinels = ",".join("127.0.0.1:%d" % p for p in ports)
    if name == "redis-py":
        return [sys.executable, os.path.join(HERE, "redispy_client.py"), sentinels], dict(os.environ)
    if name == "ioredis":
        modules = os.environ.get("KV_IOREDIS_MODULES", "")
        check(modules and os.path.isfile(os.path.join(modules, "ioredis", "package.json")),
              "ioredis is not installed: run tests/clients/ioredis/install.sh DIR and set "
              "KV_IOREDIS_MODULES=DIR/node_modules (ctest does both)")
        node = shutil.which("node")
        check(node is not None, "node (Node.js) is not installed: scripts/install-deps.sh installs it")
        env = dict(os.environ, NODE_PATH=modules)
        return [node, os.path.join(HERE, "ioredis", "client.js"), sentinels], env
    raise Failure("unknown client %r" % name)


# --------------------------------------------------------------------------
# Scenarios: each starts from a whole cluster and a client that writes.
# --------------------------------------------------------------------------

def steady(client, cluster, label):
    """The cluster is whole and the client has acknowledged STEADY_WRITES
    more writes."""
    lead = cluster.wait_healthy()
    n = client.nacked()
    client.wait_acked(n + STEADY_WRITES, 60, "%d more acknowledged writes (%s)" % (STEADY_WRITES, label))
    log("%s: leader node %d (port %d), %d writes acknowledged so far"
        % (label, lead.idx, lead.port, client.nacked()))
    return lead


def resumed(client, name, t, limit_s=RESUME_LIMIT_S + 5):
    ms = client.wait_resumed(name, limit_s)
    log("%s: writes resumed %.0f ms after the fault" % (name, ms))


def handed_over(client, cluster, name, old, t):
    """Wait for a leader other than old; from then on only it can
    acknowledge writes."""
    def other():
        for n in cluster.nodes:
            if n is not old and info_fields(n.port).get("raft_role") == "leader":
                return n
        return None
    new = wait_until(other, RESUME_LIMIT_S, "a leader other than node %d after %s" % (old.idx, name),
                     poll_s=0.01)
    client.switched(name, now_ms())
    log("%s: node %d leads %.0f ms after the request" % (name, new.idx, now_ms() - t))
    return new


def scenario_kill9(client, cluster):
    old = steady(client, cluster, "before kill9")
    t = now_ms()
    old.kill9()
    client.fault("kill9", t, switch=t)
    log("kill9: SIGKILL node %d (the primary)" % old.idx)
    resumed(client, "kill9", t)
    new = wait_until(cluster.leader, RESUME_LIMIT_S, "a new leader")
    check(new is not old, "the killed node leads again")
    old.restart()
    check(cluster._wait_ping(old), "node %d did not restart:\n%s" % (old.idx, old.tail()))
    lead = cluster.wait_healthy()
    log("kill9: node %d restarted and rejoined; node %d leads" % (old.idx, lead.idx))


def scenario_sigstop(client, cluster):
    old = steady(client, cluster, "before sigstop")
    t = now_ms()
    old.signal(signal.SIGSTOP)
    old.stopped = True
    client.fault("sigstop", t, switch=t)
    log("sigstop: SIGSTOP node %d (the primary)" % old.idx)
    # The others elect a leader, and the client must find it, while the old
    # primary is still stopped (as it would stay cut off by a partition):
    # it cannot close the client's connection to tell it anything.
    new = wait_until(cluster.leader, RESUME_LIMIT_S, "a leader among the others")
    log("sigstop: node %d leads after %.0f ms" % (new.idx, now_ms() - t))
    resumed(client, "sigstop", t, RESUME_LIMIT_S)
    left = t / 1000.0 + STOP_S - time.monotonic()
    if left > 0:
        time.sleep(left)  # stopped for at least STOP_S: several election timeouts
    old.signal(signal.SIGCONT)
    old.stopped = False
    log("sigstop: SIGCONT node %d after %.1f s" % (old.idx, (now_ms() - t) / 1000.0))
    # The old primary rejoins as a replica of the new one.
    lead = cluster.wait_healthy()
    check(lead is not old, "the stopped node took its leadership back")


def scenario_failover(client, cluster):
    old = steady(client, cluster, "before failover")
    t = now_ms()
    r = one(old.port, "FAILOVER", timeout=5)
    check(r == "OK", "FAILOVER on the primary answered %r" % (r,))
    client.fault("failover", t)
    log("failover: FAILOVER on node %d (the primary) answered OK" % old.idx)
    handed_over(client, cluster, "failover", old, t)
    resumed(client, "failover", t)
    cluster.wait_healthy()


def scenario_sentinel(client, cluster):
    old = steady(client, cluster, "before sentinel")
    target = next(n for n in cluster.nodes if n is not old)
    t = now_ms()
    r = one(target.port, "SENTINEL", "FAILOVER", SERVICE, timeout=5)
    check(r == "OK", "SENTINEL FAILOVER %s on a replica answered %r" % (SERVICE, r))
    client.fault("sentinel", t)
    log("sentinel: SENTINEL FAILOVER %s on node %d (a replica) answered OK" % (SERVICE, target.idx))
    new = handed_over(client, cluster, "sentinel", old, t)
    check(new is target, "node %d leads, not node %d which asked to" % (new.idx, target.idx))
    resumed(client, "sentinel", t)
    cluster.wait_healthy()


SCENARIOS = [("kill9", scenario_kill9), ("sigstop", scenario_sigstop),
             ("failover", scenario_failover), ("sentinel", scenario_sentinel)]


# --------------------------------------------------------------------------
# Final checks
# --------------------------------------------------------------------------

def verify_on_leader(cluster, client):
    """On the leader directly: every acknowledged write with its value; a
    write of unknown outcome absent or with its value; a write refused
    before running absent; nothing else."""
    acked = dict(client.acked)
    unknown = {w[3]: w[4] for w in client.writes if w[2] == "U"}
    refused = {w[3]: w[4] for w in client.writes if w[2] in ("R", "E")}
    lead = cluster.wait_healthy()
    c = Resp(lead.port, timeout=10)
    try:
        def mget(keys):
            out = []
            for i in range(0, len(keys), 500):
                vals = c.cmd("MGET", *keys[i:i + 500])
                check(isinstance(vals, list), "MGET on the leader answered %r" % (vals,))
                out += vals
            return out

        keys = list(acked)
        bad = [(k, acked[k], v) for k, v in zip(keys, mget(keys)) if v != acked[k]]
        check(not bad, "%d acknowledged writes are missing or wrong on the leader, e.g. %r"
              % (len(bad), bad[:5]))
        keys = list(unknown)
        vals = mget(keys)
        bad = [(k, unknown[k], v) for k, v in zip(keys, vals) if v is not None and v != unknown[k]]
        check(not bad, "writes of unknown outcome hold other values: %r" % bad[:5])
        present = sum(1 for v in vals if v is not None)
        keys = list(refused)
        bad = [(k, v) for k, v in zip(keys, mget(keys)) if v is not None]
        check(not bad, "%d writes refused before running (-READONLY ...) were applied, e.g. %r"
              % (len(bad), bad[:5]))
        dbsize = c.cmd("DBSIZE")
        check(dbsize == len(acked) + present,
              "the leader holds %r keys, but %d writes were acknowledged and %d of unknown "
              "outcome applied" % (dbsize, len(acked), present))
    finally:
        c.close()
    return lead, len(unknown), present


def digests_agree(cluster):
    lead = cluster.leader()
    if lead is None:
        return False
    commit = info_fields(lead.port).get("commit_lsn")
    for n in cluster.nodes:
        if info_fields(n.port).get("applied_lsn") != commit:
            return False
    d = [one(n.port, "DEBUG", "DIGEST") for n in cluster.nodes]
    return all(isinstance(x, str) and x == d[0] for x in d)


def report(name, client, rows, lead, nunknown, present):
    print("\n%s, unchanged, through kvnode failovers (3 nodes on loopback):" % name)
    print("  %-9s %11s %10s %8s %8s %8s %7s" % ("scenario", "unavail_ms", "resume_ms", "acked",
                                                "unknown", "refused", "errors"))
    for sname, _ in SCENARIOS:
        r = rows[sname]
        print("  %-9s %11.0f %10.0f %8d %8d %8d %7d" % (sname, r["unavail_ms"], r["resume_ms"],
                                                      r["acked"], r["unknown"], r["refused"],
                                                      r["errors"]))
    print("  writes: %d acknowledged (every one read back on the leader, node %d), %d of unknown "
          "outcome (%d of them applied), %d refused before running"
          % (len(client.acked), lead.idx, nunknown, present,
             sum(1 for w in client.writes if w[2] == "R")))
    print("  reads: %d on the primary (%d errors), %d on replicas (%d found the key, %d errors), "
          "%d wrong" % (client.reads["p"], client.read_errors["p"], client.reads["r"],
                        client.hits["r"], client.read_errors["r"], len(client.wrong)))
    print("  (unavail_ms: the longest time without an acknowledged write around the fault; "
          "resume_ms: from the fault to the acknowledgement of the first write started after it "
          "(kill9, sigstop) or after the new primary was seen leading (failover, sentinel))",
          flush=True)


def run(name, binary, tmp):
    cluster = Cluster(tmp, binary)
    client = None
    try:
        cluster.start()
        log("cluster up on ports %s" % cluster.ports())
        argv, env = client_argv(name, cluster.ports())
        client = ClientProc(argv, env)
        client.wait_acked(STEADY_WRITES, 60, "the client's first writes")
        log("%s: writing through the Sentinel API" % name)
        pid = client.proc.pid
        for sname, fn in SCENARIOS:
            fn(client, cluster)
            check(client.proc.poll() is None and client.proc.pid == pid,
                  "the client program did not survive the %s scenario" % sname)
        steady(client, cluster, "after the scenarios")
        rc = client.finish()
        check(rc == 0, "the client program exited with status %d" % rc)

        lead, nunknown, present = verify_on_leader(cluster, client)
        wait_until(lambda: digests_agree(cluster), 60, "every node to hold the same data (DEBUG DIGEST)")
        rows = client.figures()
        report(name, client, rows, lead, nunknown, present)

        # Generous bounds: the figures are printed above, never timed tightly.
        for sname, _ in SCENARIOS:
            check(rows[sname]["resume_ms"] < RESUME_LIMIT_S * 1000,
                  "%s: writes resumed only after %.0f ms" % (sname, rows[sname]["resume_ms"]))
        v = client.verify
        check(v["checked"] == len(client.acked), "the client checked %d writes, %d were acknowledged"
              % (v["checked"], len(client.acked)))
        check(v["nmissing"] == 0, "the client read back %d acknowledged writes wrong or missing, "
              "e.g. %r" % (v["nmissing"], v["missing"][:5]))
        check(not client.wrong, "%d reads returned what was not written, e.g. %r"
              % (len(client.wrong), client.wrong[:5]))
        errors = [w for w in client.writes if w[2] == "E"]
        check(not errors, "%d writes got an unexpected error reply, e.g. %r" % (len(errors), errors[:3]))
        check(client.bad_lines == 0, "the client printed %d unreadable lines" % client.bad_lines)
        check(client.hits["r"] > 0, "no read through the replica connection found a key")
    except Failure:
        cluster.dump()
        raise
    finally:
        if client is not None:
            client.stop()
        statuses = cluster.stop()
    bad = cluster.sanitizer_reports()
    check(not bad, "sanitizer report:\n" + "\n".join(bad))
    check(statuses == [0, 0, 0], "the nodes exited with %s after SIGTERM (0 expected)" % statuses)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", required=True, choices=["redis-py", "ioredis"])
    args = ap.parse_args()
    binary = os.environ.get("KVNODE", "")
    if not binary or not os.access(binary, os.X_OK):
        print("driver: KVNODE must name the kvnode binary", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="kvclients-%s-" % args.client)
    try:
        run(args.client, binary, tmp)
    except Failure as e:
        print("FAIL: %s" % e, file=sys.stderr, flush=True)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS: %s failed over with kvnode in every scenario" % args.client, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
