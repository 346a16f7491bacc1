/* checker.h — what a recorded history must satisfy.
 *
 * Registers (FR_GET / FR_SET / FR_CAS): linearizable, key by key, checked
 * by a Wing–Gong search with Lowe's memoisation (the set of operations
 * already linearized plus the register's value); operations of unknown
 * outcome may take effect at any time after their invocation, or never. A
 * key whose search exceeds its budget fails the run (no silent pass).
 *
 * Lists (FR_APPEND / FR_LREAD / FR_TXN) against the final list of each key
 * read after the cluster healed: every acknowledged append is there once,
 * at the position its reply named; nothing appears that nobody wrote or
 * appears twice; every read is a prefix of the final list (else it saw an
 * aborted write or a reordering) and holds every append acknowledged
 * before it was invoked (else it is stale). Reads from replicas: prefixes
 * of the final list, never shrinking within one session.
 *
 * Sets (FR_SADD / FR_SREAD) the same way, without order. */
#ifndef KV_FR_CHECKER_H
#define KV_FR_CHECKER_H

#include "history.h"

typedef struct fr_verdict {
    long keys, ops;
    long lost;        /* acknowledged writes missing from the final state */
    long duplicated;  /* a value present twice */
    long phantom;     /* a value nobody wrote, or whose write was refused */
    long misplaced;   /* an append not where its reply said */
    long stale;       /* a read missing a write acknowledged before it began */
    long aborted;     /* a read that saw a value the final state lacks */
    long reordered;   /* a read that is not a prefix of the final list */
    long nonmonotonic;/* a replica session that went back */
    long nonlinear;   /* register keys with no linearization */
    long budget;      /* register keys whose search ran out of budget */
    char first[768];  /* the first anomaly, explained */
    /* Optional: called once per anomaly counted above with the invocation
     * time of the operation it concerns (-1 when no operation does: a
     * value nobody wrote, a search out of budget), so a fault run can say
     * which fault was active. */
    void (*on_anomaly)(void *arg, int64_t t_invoke);
    void *arg;
} fr_verdict;

/* The final contents of one list or set key. */
typedef struct fr_final {
    int64_t key;
    const int64_t *vals;
    size_t n;
} fr_final;

/* Total anomalies in v (0: the history passes). */
long fr_anomalies(const fr_verdict *v);

/* Register operations of any keys (other kinds are ignored); budget_ms is
 * CPU time per key. ops is reordered. */
void fr_check_registers(fr_op *ops, size_t n, int64_t budget_ms, fr_verdict *v);

/* List operations of any keys against the final lists. */
void fr_check_lists(const fr_op *ops, size_t n, const fr_final *fin, size_t nfin,
                    fr_verdict *v);

/* Set operations against the final sets. */
void fr_check_sets(const fr_op *ops, size_t n, const fr_final *fin, size_t nfin, fr_verdict *v);

#endif
