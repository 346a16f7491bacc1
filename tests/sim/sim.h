/* sim.h — a deterministic simulator for the replication core.
 *
 * A whole cluster of rcore instances (3 or 5 nodes) runs in one process
 * on virtual time, each bound through the rc_io seam to a simulated world
 * instead of libuv and the engine: a network that delays, drops,
 * duplicates and reorders messages and can be partitioned; disks whose
 * fsyncs take time, stall or fail, and that lose everything not yet synced
 * when the node crashes; clocks that drift; nodes that pause (SIGSTOP) or
 * crash and restart; clients that write through whichever node leads and
 * read under its lease. Everything random comes from one seed, so a seed
 * replays exactly (sim_run returns a hash of the whole trace).
 *
 * After every event the invariants of FAILOVER.md §5 are checked:
 *   - at most one leader per term;
 *   - every node's log agrees with the committed log up to its commit
 *     (a chain hash over the entries makes that one comparison);
 *   - commit never moves back on a node (within one run of its process);
 *   - a node that becomes leader holds every committed entry;
 *   - every acknowledged write is committed at its LSN, and stays;
 *   - a node serving reads as a follower has nothing uncommitted applied;
 *   - no two nodes hold a valid lease at the same instant;
 *   - reads answered by a leader see every write acknowledged before them.
 * Then, faults stopped and everything healed, a liveness phase requires a
 * leader, all acknowledged writes committed everywhere, and new writes to
 * succeed. */
#ifndef KV_SIM_H
#define KV_SIM_H

#include <stdint.h>

typedef struct sim_options {
    uint64_t seed;
    int nodes;              /* 3 or 5 */
    uint64_t fault_ms;      /* virtual time with faults */
    uint64_t heal_ms;       /* then without, for liveness */
    int faults;             /* 0: a calm run */
    int membership;         /* remove and re-add members, change their client
                               addresses, during the run; and one more node,
                               started alone with data of its own, leaves its
                               one-node cluster to join (REPLICAOF at run
                               time), or changes its mind before it is taken */
    int mutation;           /* RC_MUT_* to break the core on purpose */
    int verbose;            /* print the core's logs and the events */
} sim_options;

typedef struct sim_result {
    int ok;                 /* every invariant held and liveness was reached */
    char failure[512];      /* the first violation */
    uint64_t trace_hash;
    uint64_t events;
    uint64_t elections, leaders, acked_writes, lost_unknown, reads_checked;
    uint64_t crashes, partitions, pauses, snapshots_installed, truncations;
    uint64_t commit;        /* final committed LSN */
    /* membership runs: the stray's rcore_leave calls, its rcore_stay calls,
     * and whether it ended in the main cluster */
    uint64_t stray_leaves, stray_stays, stray_joined;
} sim_result;

void sim_options_defaults(sim_options *o);
void sim_run(const sim_options *o, sim_result *res);

#endif
