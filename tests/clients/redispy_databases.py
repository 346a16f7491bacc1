#!/usr/bin/python3
"""redispy_databases.py -- redis-py (unchanged) with numbered databases.

Starts one kvnode (KVNODE) and one redis-server (/usr/bin/redis-server) on
free loopback ports, runs the same redis-py session against each --
clients made with db=3, db=0, db=4, db=16 (the pool's SELECT on connect),
a MULTI/EXEC pipeline, MOVE, SWAPDB, COPY ... DB, CLIENT INFO's db, INFO
keyspace, RESP3 when this redis-py has it -- and requires the same
results. Then kvnode is killed with SIGKILL and restarted: every database
must come back (same DEBUG DIGEST, same INFO keyspace). Exit 0 = passed.
Every wait is bounded; only the PIDs started here are signalled.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import redis


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(argv, port, logpath):
    logf = open(logpath, "ab")
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %d (log %s)" % (argv[0], proc.returncode, logpath))
        try:
            if redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).ping():
                return proc
        except redis.exceptions.BusyLoadingError:
            pass
        except redis.exceptions.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("%s did not answer within 60 s" % argv[0])


def stop(proc, sig):
    if proc.poll() is None:
        proc.send_signal(sig)
        proc.wait(timeout=30)


def session(port):
    """The redis-py session; returns what it saw."""
    def client(db, **kw):
        return redis.Redis(host="127.0.0.1", port=port, db=db, socket_timeout=10, **kw)

    r0, r3, r4 = client(0), client(3), client(4)
    r0.flushall()
    out = []
    r3.set("k", "three")
    r3.expire("k", 1000)
    r0.set("k", "zero")
    p = r3.pipeline(transaction=True)
    p.set("a", 1)
    p.incr("a")
    p.execute()
    out += [r0.get("k"), r3.get("k"), r3.dbsize(), r0.dbsize(), r3.get("a")]
    out += [r3.client_info()["db"], r0.client_info()["db"]]
    out += [r3.move("k", 4), r3.move("a", 0), r4.ttl("k") > 900, r3.dbsize(), r4.dbsize()]
    out += [r3.swapdb(3, 4), r3.get("k"), r4.exists("k")]
    out += [r3.copy("k", "k2", destination_db=5), client(5).get("k2"), client(5).ttl("k2") > 900]
    out += [r3.copy("k", "k", destination_db=0), r3.copy("k", "k", destination_db=0, replace=True)]
    out += [r0.get("k"), sorted(r0.info("keyspace").keys())]
    for bad in (16, -1):
        try:
            client(bad).ping()
            out.append("db %d accepted" % bad)
        except redis.exceptions.ResponseError as e:
            out.append(str(e))
    if "protocol" in redis.Redis.__init__.__code__.co_varnames:
        out.append(client(3, protocol=3).get("k"))
    r4.flushdb()
    out += [r4.dbsize(), r3.dbsize(), sorted(r0.info("keyspace").keys())]
    return out


def keyspace(port):
    info = redis.Redis(host="127.0.0.1", port=port).info("keyspace")
    return {db: (v["keys"], v["expires"]) for db, v in info.items()}


def main():
    kvnode = os.environ.get("KVNODE")
    if not kvnode:
        print("KVNODE is not set")
        return 1
    tmp = tempfile.mkdtemp(prefix="kv-redispy-dbs-")
    procs = []
    try:
        rport, kport = free_port(), free_port()
        os.mkdir(os.path.join(tmp, "redis"))
        rargv = ["/usr/bin/redis-server", "--port", str(rport), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", os.path.join(tmp, "redis")]
        kargv = [kvnode, "--port", str(kport), "--peer-port", str(free_port()),
                 "--dir", os.path.join(tmp, "kv"), "--save", "",
                 "--enable-debug-command", "yes"]  # DEBUG DIGEST
        rproc = start(rargv, rport, os.path.join(tmp, "redis.log"))
        procs.append(rproc)
        kproc = start(kargv, kport, os.path.join(tmp, "kv.log"))
        procs.append(kproc)
        want, got = session(rport), session(kport)
        print("redis-server:", want)
        print("kvnode:      ", got)
        if want != got:
            print("FAILED: kvnode's results differ from redis-server's")
            return 1
        digest = redis.Redis(host="127.0.0.1", port=kport).execute_command("DEBUG", "DIGEST")
        ks = keyspace(kport)
        if ks != keyspace(rport):
            print("FAILED: INFO keyspace", ks, "vs", keyspace(rport))
            return 1
        stop(kproc, signal.SIGKILL)
        procs.remove(kproc)
        kproc = start(kargv, kport, os.path.join(tmp, "kv.log"))
        procs.append(kproc)
        after = redis.Redis(host="127.0.0.1", port=kport).execute_command("DEBUG", "DIGEST")
        if after != digest or keyspace(kport) != ks:
            print("FAILED: after kill -9:", after, keyspace(kport), "before:", digest, ks)
            return 1
        print("passed: same results as redis-server; every database back after kill -9")
        return 0
    except Exception as e:  # a failed start or a client error is a failure
        print("FAILED:", repr(e))
        for name in ("kv.log", "redis.log"):
            path = os.path.join(tmp, name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    sys.stdout.write(f.read()[-3000:].decode(errors="replace"))
        return 1
    finally:
        for p in procs:
            try:
                stop(p, signal.SIGTERM)
            except subprocess.TimeoutExpired:
                stop(p, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
