/* cluster.h — a cluster of real kvnode processes on loopback for the
 * integration tests: node i keeps its data in <tmp>/n<i>; helpers query
 * nodes by index, find the leader and wait for membership. Every wait is
 * bounded; a failed one prints the nodes' logs. */
#ifndef KV_TEST_CLUSTER_H
#define KV_TEST_CLUSTER_H

#include "harness.h"

#define HC_MAX 5

extern char *hc_tmp;
extern h_proc hc_node[HC_MAX];
extern int hc_up[HC_MAX];
extern int hc_n; /* nodes started so far */

/* cmocka setup/teardown: a fresh directory named after tag; teardown
 * kills every node it started (by PID) and removes the directory. */
void hc_setup(const char *tag);
void hc_teardown(void);

/* Start node i with extra arguments, joining the cluster of node `of`
 * when of >= 0 (--replicaof 127.0.0.1 <its port>). */
void hc_start(int i, int of, const char *const *extra);
/* Three nodes: 0 founds the cluster, 1 and 2 join; waits for 3 voters. */
void hc_start_cluster(const char *const *extra);

/* The last lines of the nodes' logs, to explain a failure. */
void hc_dump_log(int i);
void hc_dump_logs(void);

/* One command on a fresh connection to node i (NULL if it does not
 * answer). */
kv_reply *hc_cmd(int i, const char *line);
/* A numeric field of INFO <section> on node i (-1: absent or no answer). */
long long hc_info(int i, const char *section, const char *field);
/* The node whose ROLE says master, or -1. */
int hc_leader(void);
/* Predicate for h_wait_until: a leader other than *(int *)arg. */
int hc_other_leader(void *arg);
/* Predicate: node `node` sees `voters` voters and no other members. */
typedef struct hc_voters_want {
    int node, voters;
} hc_voters_want;
int hc_has_voters(void *arg);

/* DEBUG DIGEST of node i, as text ("+<hex>" when it answers one). */
void hc_digest(int i, char out[64]);
/* Wait (bounded by ms; a timeout dumps the logs and fails the test) until
 * node i holds and has applied everything leader l has, and l has
 * committed it. */
void hc_wait_caught_up(int i, int l, int ms);
/* Wait (bounded) until nodes a and b answer the same DEBUG DIGEST: with
 * writes stopped, a node that has just changed role or lost its link may
 * answer an error such as -MASTERDOWN for a moment. Fails the test on
 * timeout. */
void hc_assert_same_digest(int a, int b, int ms);

#endif
