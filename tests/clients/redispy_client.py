#!/usr/bin/python3
"""redispy_client.py -- the redis-py workload of tests/clients/driver.py.

redis-py (Debian's python3-redis 4.3.4), unchanged, configured as any
Sentinel user would: the three kvnode nodes are its Sentinels and the
service is "kvnode". One thread writes unique keys through master_for()
(SET rp:<n> v<n>, one at a time) and, every 10th write, reads an earlier
acknowledged key back from the primary; another thread reads acknowledged
keys through slave_for(). The program is never restarted: it keeps going
through every failover the driver causes, until the driver sends "finish"
on stdin; then it reads every acknowledged write back through its primary
connection and exits.

Every outcome is one JSON line on stdout, timed on CLOCK_MONOTONIC (the
driver's clock too); the driver does the bookkeeping:
  {"ev":"w","k":key,"v":value,"s":start_ms,"e":end_ms,"o":O,"m":error}
     O = A acknowledged, U unknown (the connection failed or timed out
     once the command may have been sent), R not run (never sent: no
     primary found or no connection made; or refused with -READONLY,
     -NOREPLICAS, -MASTERDOWN, -LOADING or -TRYAGAIN, which kvnode answers
     only for a write that did not run), E any other error reply
  {"ev":"rd","src":"p"|"r","k":key,"got":value|null}  a read (primary, replica)
  {"ev":"rderr","src":"p"|"r","m":error}              a read that failed
  {"ev":"verify","checked":n,"missing":[[key,expected,got],...]}
"""

import json
import random
import sys
import threading
import time

import redis
from redis.sentinel import Sentinel, MasterNotFoundError, SlaveNotFoundError

SERVICE = "kvnode"
RETRYABLE = ("READONLY", "NOREPLICAS", "MASTERDOWN", "LOADING", "TRYAGAIN")

_out_lock = threading.Lock()


def out(**obj):
    line = json.dumps(obj) + "\n"
    with _out_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def now_ms():
    return time.monotonic() * 1000.0  # CLOCK_MONOTONIC


def make_sentinel(addrs):
    # Timeouts as a production user sets them: without socket_timeout, a
    # command sent to a primary that stopped (SIGSTOP, a partition) waits
    # forever; a Sentinel that stopped must not hold up discovery either.
    return Sentinel(addrs, socket_timeout=2.0, socket_connect_timeout=1.0,
                    sentinel_kwargs={"socket_timeout": 0.5, "socket_connect_timeout": 0.5})


def outcome(exc):
    """R (provably not executed), E (another error reply) or U (unknown)."""
    if isinstance(exc, MasterNotFoundError):
        return "R"  # raised while connecting, before anything is sent
    if isinstance(exc, (redis.exceptions.ReadOnlyError, redis.exceptions.BusyLoadingError)):
        return "R"  # -READONLY, -LOADING (redis-py strips the code from the message)
    msg = str(exc)
    if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)) and (
            msg.startswith("Error ") and " connecting to " in msg
            or msg.startswith("Timeout connecting to")):
        return "R"  # the connection was never made: nothing was sent
    if isinstance(exc, redis.exceptions.ConnectionError) and "previous master is now a slave" in msg:
        return "R"  # redis-py's rewording of -READONLY on a master connection
    if isinstance(exc, redis.exceptions.ResponseError):
        return "R" if msg.split(" ", 1)[0] in RETRYABLE else "E"
    return "U"


def main():
    addrs = []
    for a in sys.argv[1].split(","):
        host, port = a.rsplit(":", 1)
        addrs.append((host, int(port)))

    master = make_sentinel(addrs).master_for(SERVICE, socket_timeout=2.0,
                                             socket_connect_timeout=1.0)
    replica = make_sentinel(addrs).slave_for(SERVICE, socket_timeout=2.0,
                                             socket_connect_timeout=1.0)
    acked = []  # (key, value): appended by the writer, sampled by the reader
    stop = threading.Event()

    def writer():
        seq = 0
        while not stop.is_set():
            seq += 1
            key, val = "rp:%d" % seq, "v%d" % seq
            t0 = now_ms()
            try:
                master.set(key, val)
            except (redis.exceptions.RedisError, OSError) as e:
                out(ev="w", k=key, v=val, s=t0, e=now_ms(), o=outcome(e),
                    m="%s: %s" % (type(e).__name__, e))
                time.sleep(0.02)
                continue
            out(ev="w", k=key, v=val, s=t0, e=now_ms(), o="A")
            acked.append((key, val))
            if seq % 10 == 0:
                k, _ = random.choice(acked)
                try:
                    got = master.get(k)
                    out(ev="rd", src="p", k=k, got=got.decode() if got is not None else None)
                except (redis.exceptions.RedisError, OSError) as e:
                    out(ev="rderr", src="p", m="%s: %s" % (type(e).__name__, e))
            time.sleep(0.001)

    def reader():
        while not stop.is_set():
            if not acked:
                time.sleep(0.05)
                continue
            k, _ = random.choice(acked)
            try:
                got = replica.get(k)
                out(ev="rd", src="r", k=k, got=got.decode() if got is not None else None)
            except (redis.exceptions.RedisError, SlaveNotFoundError, OSError) as e:
                out(ev="rderr", src="r", m="%s: %s" % (type(e).__name__, e))
                time.sleep(0.1)
            time.sleep(0.01)

    threads = [threading.Thread(target=writer, daemon=True),
               threading.Thread(target=reader, daemon=True)]
    for t in threads:
        t.start()

    for line in sys.stdin:
        if line.strip() != "finish":
            continue
        stop.set()
        for t in threads:
            t.join(timeout=30)
        # Every acknowledged write, read back through this client's own
        # primary connection: after the failovers, the newest primary.
        missing = []
        deadline = time.monotonic() + 60
        for i in range(0, len(acked), 500):
            batch = acked[i:i + 500]
            while True:
                try:
                    vals = master.mget([k for k, _ in batch])
                    break
                except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            for (k, v), got in zip(batch, vals):
                got = got.decode() if got is not None else None
                if got != v:
                    missing.append([k, v, got])
        out(ev="verify", checked=len(acked), missing=missing[:20], nmissing=len(missing))
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
