/* decide.c — the core's pure decisions (see core.h): common point of two
 * logs, catch-up mode, commit point, the up-to-date rule, quorums, and the
 * config encoding. No state, no I/O: each is unit-tested on its own
 * (tests/unit/test_rc_decide.c). */
#include "core.h"

#include <stdlib.h>
#include <string.h>

/* Where run i of history h (n runs, the log ending at last) ends. */
static uint64_t run_end(const rc_term_start *h, size_t n, size_t i, uint64_t last)
{
    return i + 1 < n ? h[i + 1].first_lsn - 1 : last;
}

/* Log Matching: one leader per term, so two logs holding entries of term t
 * agree on all of them up to the shorter of their two runs of t, and on
 * everything before. The common point is the highest such end. */
uint64_t rc_common_point(const rc_term_start *a, size_t na, uint64_t alast,
                         const rc_term_start *b, size_t nb, uint64_t blast)
{
    uint64_t common = 0;
    for (size_t j = 0; j < nb; j++) {
        uint64_t bend = run_end(b, nb, j, blast);
        for (size_t i = 0; i < na; i++) {
            if (a[i].term != b[j].term)
                continue;
            uint64_t aend = run_end(a, na, i, alast);
            uint64_t start = a[i].first_lsn > b[j].first_lsn ? a[i].first_lsn : b[j].first_lsn;
            uint64_t end = aend < bend ? aend : bend;
            /* A run that starts at a snapshot base (first_lsn = base LSN,
             * the entry itself not held) still agrees at its start. */
            if (start <= end && end > common)
                common = end;
        }
    }
    return common;
}

int rc_catchup(uint64_t common, uint64_t leader_first, uint64_t *next)
{
    *next = common + 1;
    /* The follower needs common + 1 .. ; the leader's log starts at
     * leader_first. Entries from common + 1 must still be on disk. */
    return common + 1 < leader_first ? RC_CATCHUP_SNAPSHOT : RC_CATCHUP_ENTRIES;
}

static int cmp_desc(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? 1 : a > b ? -1 : 0;
}

uint64_t rc_commit_point(const uint64_t *match, int n, int quorum, uint64_t old_commit,
                         uint64_t term, uint64_t (*term_of)(void *arg, uint64_t lsn), void *arg)
{
    if (quorum <= 0 || n < quorum)
        return old_commit;
    uint64_t sorted[RC_MAX_MEMBERS];
    if (n > RC_MAX_MEMBERS)
        n = RC_MAX_MEMBERS;
    memcpy(sorted, match, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_desc);
    uint64_t cand = sorted[quorum - 1];
    /* Only entries of the leader's own term commit by counting; earlier
     * ones commit with them (Raft §5.4.2, Figure 8). */
    if (cand <= old_commit || term_of(arg, cand) != term)
        return old_commit;
    return cand;
}

int rc_log_up_to_date(uint64_t clast_term, uint64_t clast, uint64_t last_term, uint64_t last)
{
    if (clast_term != last_term)
        return clast_term > last_term;
    return clast >= last;
}

int rc_election_quorum(int voters)
{
    return voters / 2 + 1;
}

int rc_commit_quorum(int voters)
{
    return rc_election_quorum(voters);
}

uint64_t rc_replicated_on(const uint64_t *match, int n, int k)
{
    if (k <= 0)
        return UINT64_MAX;
    if (n < k)
        return 0;
    uint64_t sorted[RC_MAX_MEMBERS];
    if (n > RC_MAX_MEMBERS)
        n = RC_MAX_MEMBERS;
    memcpy(sorted, match, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_desc);
    return sorted[k - 1];
}

/* ---- config encoding ---- */

size_t rc_config_encode(const rc_config *c, uint8_t *out, size_t cap)
{
    Kv__Member mem[RC_MAX_MEMBERS];
    Kv__Member *pm[RC_MAX_MEMBERS];
    Kv__ClusterConfig cc = KV__CLUSTER_CONFIG__INIT;
    cc.cluster_id = (char *)c->cluster_id;
    for (int i = 0; i < c->n; i++) {
        kv__member__init(&mem[i]);
        mem[i].node_id = (char *)c->m[i].id;
        mem[i].peer_addr = (char *)c->m[i].peer_addr;
        mem[i].client_addr = (char *)c->m[i].client_addr;
        mem[i].voter = c->m[i].voter;
        pm[i] = &mem[i];
    }
    cc.members = pm;
    cc.n_members = (size_t)c->n;
    size_t need = kv__cluster_config__get_packed_size(&cc);
    if (need > cap)
        return need;
    kv__cluster_config__pack(&cc, out);
    return need;
}

static int copy_str(char *dst, size_t cap, const char *src)
{
    if (!src)
        src = "";
    size_t n = strlen(src);
    if (n >= cap)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

int rc_config_decode(const uint8_t *p, size_t n, rc_config *c)
{
    Kv__ClusterConfig *cc = kv__cluster_config__unpack(NULL, n, p);
    if (!cc)
        return -1;
    int rc = 0;
    memset(c, 0, sizeof *c);
    if (cc->n_members > RC_MAX_MEMBERS || copy_str(c->cluster_id, sizeof c->cluster_id,
                                                   cc->cluster_id) < 0)
        rc = -1;
    for (size_t i = 0; !rc && i < cc->n_members; i++) {
        Kv__Member *m = cc->members[i];
        rc_member *d = &c->m[i];
        if (copy_str(d->id, sizeof d->id, m->node_id) < 0 || !d->id[0] ||
            copy_str(d->peer_addr, sizeof d->peer_addr, m->peer_addr) < 0 ||
            copy_str(d->client_addr, sizeof d->client_addr, m->client_addr) < 0)
            rc = -1;
        d->voter = m->voter;
        for (size_t j = 0; !rc && j < i; j++)
            if (!strcmp(c->m[j].id, d->id))
                rc = -1; /* a member twice */
    }
    if (!rc)
        c->n = (int)cc->n_members;
    kv__cluster_config__free_unpacked(cc, NULL);
    return rc;
}

int rc_config_find(const rc_config *c, const char *id)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->m[i].id, id))
            return i;
    return -1;
}

int rc_config_voters(const rc_config *c)
{
    int v = 0;
    for (int i = 0; i < c->n; i++)
        v += c->m[i].voter != 0;
    return v;
}
