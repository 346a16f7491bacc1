// client.js -- the ioredis workload of tests/clients/driver.py.
//
// ioredis (the version pinned in package.json), unchanged, configured as
// any Sentinel user would: the three kvnode nodes are its sentinels and
// the name is "kvnode". One loop writes unique keys through the primary
// connection (SET io:<n> v<n>, one at a time) and, every 10th write, reads
// an earlier acknowledged key back from it; another reads acknowledged keys
// through a role "slave" connection. The program is never restarted: it
// keeps going through every failover the driver causes, until the driver
// sends "finish" on stdin; then it reads every acknowledged write back
// through its primary connection and exits.
//
// Every outcome is one JSON line on stdout, timed on CLOCK_MONOTONIC
// (process.hrtime, libuv's uv_hrtime: the driver's clock too), in the same
// format as redispy_client.py (see there): the driver does the bookkeeping.
"use strict";

const Redis = require("ioredis");
const readline = require("readline");

const SERVICE = "kvnode";
const RETRYABLE = ["READONLY", "NOREPLICAS", "MASTERDOWN", "LOADING", "TRYAGAIN"];

const sentinels = process.argv[2].split(",").map((a) => {
  const i = a.lastIndexOf(":");
  return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
});

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// Timeouts as a production user sets them: without socketTimeout, a
// command sent to a primary that stopped (SIGSTOP, a partition) waits until
// that node comes back; without sentinelCommandTimeout, so does a question
// to a stopped sentinel.
const options = {
  sentinels,
  name: SERVICE,
  sentinelCommandTimeout: 500,
  connectTimeout: 1000,
  socketTimeout: 2000,
};
const master = new Redis(options);
const replica = new Redis({ ...options, role: "slave" });
// ioredis reports connection trouble as "error" events and reconnects by
// itself; the outcome of each command is what counts here.
master.on("error", () => {});
replica.on("error", () => {});

// R: refused before running (kvnode answers these only for a write that
// did not run); E: another error reply; U: unknown (the connection failed
// or timed out once the command may have been sent).
function outcome(err) {
  if (err && err.name === "ReplyError") {
    return RETRYABLE.includes(String(err.message).split(" ")[0]) ? "R" : "E";
  }
  return "U";
}

const acked = []; // [key, value]
let stopping = false;

async function writer() {
  let seq = 0;
  while (!stopping) {
    seq++;
    const key = `io:${seq}`;
    const val = `v${seq}`;
    const t0 = nowMs();
    try {
      await master.set(key, val);
    } catch (err) {
      out({ ev: "w", k: key, v: val, s: t0, e: nowMs(), o: outcome(err), m: `${err.name}: ${err.message}` });
      await sleep(20);
      continue;
    }
    out({ ev: "w", k: key, v: val, s: t0, e: nowMs(), o: "A" });
    acked.push([key, val]);
    if (seq % 10 === 0) {
      const [k] = acked[Math.floor(Math.random() * acked.length)];
      try {
        out({ ev: "rd", src: "p", k, got: await master.get(k) });
      } catch (err) {
        out({ ev: "rderr", src: "p", m: `${err.name}: ${err.message}` });
      }
    }
    await sleep(1);
  }
}

async function reader() {
  while (!stopping) {
    if (acked.length === 0) {
      await sleep(50);
      continue;
    }
    const [k] = acked[Math.floor(Math.random() * acked.length)];
    try {
      out({ ev: "rd", src: "r", k, got: await replica.get(k) });
    } catch (err) {
      out({ ev: "rderr", src: "r", m: `${err.name}: ${err.message}` });
      await sleep(100);
    }
    await sleep(10);
  }
}

// Every acknowledged write, read back through this client's own primary
// connection: after the failovers, the newest primary.
async function verify() {
  const missing = [];
  let nmissing = 0;
  const deadline = nowMs() + 60000;
  for (let i = 0; i < acked.length; i += 500) {
    const batch = acked.slice(i, i + 500);
    let vals;
    for (;;) {
      try {
        vals = await master.mget(batch.map(([k]) => k));
        break;
      } catch (err) {
        if (err.name === "ReplyError" || nowMs() > deadline) throw err;
        await sleep(200);
      }
    }
    batch.forEach(([k, v], j) => {
      if (vals[j] !== v) {
        nmissing++;
        if (missing.length < 20) missing.push([k, v, vals[j]]);
      }
    });
  }
  out({ ev: "verify", checked: acked.length, missing, nmissing });
}

async function main() {
  const loops = [writer(), reader()];
  const rl = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => {
    rl.on("line", (line) => {
      if (line.trim() === "finish") resolve();
    });
    rl.on("close", resolve);
  });
  stopping = true;
  await Promise.all(loops);
  await verify();
  rl.close();
  master.disconnect();
  replica.disconnect();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`client.js: ${err.stack || err}\n`);
    process.exit(1);
  },
);
