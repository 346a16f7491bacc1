/* checker.c — see checker.h. */
#include "checker.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long fr_anomalies(const fr_verdict *v)
{
    return v->lost + v->duplicated + v->phantom + v->misplaced + v->stale + v->aborted +
           v->reordered + v->nonmonotonic + v->nonlinear + v->budget;
}

static void note(fr_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(fr_verdict *v, const char *fmt, ...)
{
    if (v->first[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->first, sizeof v->first, fmt, ap);
    va_end(ap);
}

static void hit(fr_verdict *v, int64_t t)
{
    if (v->on_anomaly)
        v->on_anomaly(v->arg, t);
}

/* Budgets are CPU time: a loaded machine does not fail a search. */
static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmp_key(const void *a, const void *b)
{
    const fr_op *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->t_invoke < y->t_invoke ? -1 : x->t_invoke > y->t_invoke;
}

/* ------------------------------------------------------------------------ */
/* Registers: Wing–Gong with Lowe's memoisation                              */
/* ------------------------------------------------------------------------ */

typedef struct wg_entry {
    int op;       /* index into the key's ops */
    int call;     /* 1: invocation, 0: completion */
    int64_t t;
    struct wg_entry *prev, *next, *match; /* match: call <-> return */
} wg_entry;

typedef struct wg_op {
    fr_kind kind;
    int known;            /* the outcome is known (else it may never apply) */
    int64_t value, expect, rvalue;
    int64_t t_invoke, t_complete;
} wg_op;

/* The memo: (linearized set, register value) pairs already explored. */
typedef struct memo {
    uint64_t *bits;  /* cap × words */
    int64_t *state;
    uint64_t *hash;  /* 0: empty */
    size_t cap, used, words;
} memo;

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static uint64_t memo_hash(const uint64_t *bits, size_t words, int64_t state)
{
    uint64_t h = mix64((uint64_t)state + 0x9e3779b97f4a7c15ull);
    for (size_t i = 0; i < words; i++)
        h = mix64(h ^ bits[i]) + i;
    return h ? h : 1;
}

static int memo_grow(memo *m);

/* 1 if (bits, state) was new (and is now recorded), 0 if seen, -1 out of
 * memory. */
static int memo_add(memo *m, const uint64_t *bits, int64_t state)
{
    if ((m->used + 1) * 2 > m->cap && memo_grow(m) < 0)
        return -1;
    uint64_t h = memo_hash(bits, m->words, state);
    size_t i = h & (m->cap - 1);
    for (;; i = (i + 1) & (m->cap - 1)) {
        if (!m->hash[i]) {
            m->hash[i] = h;
            m->state[i] = state;
            memcpy(m->bits + i * m->words, bits, m->words * 8);
            m->used++;
            return 1;
        }
        if (m->hash[i] == h && m->state[i] == state &&
            !memcmp(m->bits + i * m->words, bits, m->words * 8))
            return 0;
    }
}

static int memo_grow(memo *m)
{
    memo n = {0};
    n.words = m->words;
    n.cap = m->cap ? m->cap * 2 : 1024;
    n.bits = malloc(n.cap * n.words * 8);
    n.state = malloc(n.cap * sizeof *n.state);
    n.hash = calloc(n.cap, sizeof *n.hash);
    if (!n.bits || !n.state || !n.hash) {
        free(n.bits);
        free(n.state);
        free(n.hash);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->hash[i])
            memo_add(&n, m->bits + i * m->words, m->state[i]);
    free(m->bits);
    free(m->state);
    free(m->hash);
    *m = n;
    return 0;
}

static void memo_free(memo *m)
{
    free(m->bits);
    free(m->state);
    free(m->hash);
}

/* May op apply to a register holding *state? Then *state becomes the
 * value after it. */
static int step(const wg_op *o, int64_t *state)
{
    switch (o->kind) {
    case FR_GET:
        return o->rvalue == *state;
    case FR_SET:
        *state = o->value;
        return 1;
    case FR_CAS:
        if (!o->known || o->rvalue) {
            if (*state != o->expect)
                return 0;
            *state = o->value;
            return 1;
        }
        return *state != o->expect; /* known not applied */
    default:
        return 0;
    }
}

static int cmp_entry(const void *a, const void *b)
{
    const wg_entry *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    /* At equal times, invocations first: such operations overlap. */
    return y->call - x->call;
}

static void lift(wg_entry *call)
{
    call->prev->next = call->next;
    if (call->next)
        call->next->prev = call->prev;
    wg_entry *r = call->match;
    r->prev->next = r->next;
    if (r->next)
        r->next->prev = r->prev;
}

static void unlift(wg_entry *call)
{
    wg_entry *r = call->match;
    r->prev->next = r;
    if (r->next)
        r->next->prev = r;
    call->prev->next = call;
    if (call->next)
        call->next->prev = call;
}

enum { WG_OK = 0, WG_NONLINEAR = 1, WG_BUDGET = 2 };

/* Search one key's operations. On WG_NONLINEAR, *stuck is the operation
 * whose completion no linearization could pass. */
static int wg_search(const wg_op *ops, int n, int64_t deadline_ms, int *stuck)
{
    wg_entry *e = calloc((size_t)(2 * n + 1), sizeof *e);
    size_t words = ((size_t)n + 63) / 64;
    uint64_t *bits = calloc(words ? words : 1, 8);
    wg_entry **stack = malloc((size_t)(n + 1) * sizeof *stack);
    int64_t *states = malloc((size_t)(n + 1) * sizeof *states);
    memo m = {0};
    m.words = words ? words : 1;
    int rc = WG_OK;
    if (!e || !bits || !stack || !states || memo_grow(&m) < 0) {
        rc = WG_BUDGET;
        goto out;
    }
    wg_entry *sorted = e + 1;
    for (int i = 0; i < n; i++) {
        sorted[2 * i] = (wg_entry){.op = i, .call = 1, .t = ops[i].t_invoke};
        sorted[2 * i + 1] =
            (wg_entry){.op = i, .call = 0, .t = ops[i].known ? ops[i].t_complete : FR_NEVER};
    }
    qsort(sorted, (size_t)(2 * n), sizeof *sorted, cmp_entry);
    /* Link: head is e[0]. */
    wg_entry *head = &e[0];
    wg_entry *prev = head;
    wg_entry **call_of = calloc((size_t)n, sizeof *call_of);
    if (!call_of) {
        rc = WG_BUDGET;
        goto out;
    }
    for (int i = 0; i < 2 * n; i++) {
        wg_entry *x = &sorted[i];
        x->prev = prev;
        prev->next = x;
        prev = x;
        if (x->call)
            call_of[x->op] = x;
        else
            x->match = NULL;
    }
    prev->next = NULL;
    for (int i = 0; i < 2 * n; i++)
        if (!sorted[i].call) {
            call_of[sorted[i].op]->match = &sorted[i];
            sorted[i].match = call_of[sorted[i].op];
        }
    free(call_of);

    int64_t state = -1;
    int depth = 0, best = -1;
    long iter = 0;
    wg_entry *entry = head->next;
    while (head->next) {
        if ((++iter & 4095) == 0 && now_ms() > deadline_ms) {
            rc = WG_BUDGET;
            goto out;
        }
        if (entry->call) {
            int64_t s = state;
            const wg_op *o = &ops[entry->op];
            if (step(o, &s)) {
                bits[entry->op / 64] |= 1ull << (entry->op % 64);
                int fresh = memo_add(&m, bits, s);
                if (fresh < 0) {
                    rc = WG_BUDGET;
                    goto out;
                }
                if (fresh) {
                    stack[depth] = entry;
                    states[depth] = state;
                    depth++;
                    state = s;
                    lift(entry);
                    entry = head->next;
                    continue;
                }
                bits[entry->op / 64] &= ~(1ull << (entry->op % 64));
            }
            entry = entry->next;
        } else {
            /* A completion: every known operation before it must be
             * linearized. An unknown one's completion is at the end: all
             * known ones are done. */
            if (!ops[entry->op].known)
                break;
            if (depth > best) {
                best = depth;
                *stuck = entry->op;
            }
            if (depth == 0) {
                rc = WG_NONLINEAR;
                goto out;
            }
            depth--;
            wg_entry *c = stack[depth];
            state = states[depth];
            bits[c->op / 64] &= ~(1ull << (c->op % 64));
            unlift(c);
            entry = c->next;
        }
    }
out:
    free(e);
    free(bits);
    free(stack);
    free(states);
    memo_free(&m);
    return rc;
}

static const char *kind_name(fr_kind k)
{
    switch (k) {
    case FR_GET: return "GET";
    case FR_SET: return "SET";
    case FR_CAS: return "SET IFEQ";
    case FR_APPEND: return "RPUSH";
    case FR_LREAD: return "LRANGE";
    case FR_TXN: return "MULTI RPUSH LRANGE EXEC";
    case FR_SADD: return "SADD";
    case FR_SREAD: return "SMEMBERS";
    }
    return "?";
}

void fr_check_registers(fr_op *ops, size_t n, int64_t budget_ms, fr_verdict *v)
{
    qsort(ops, n, sizeof *ops, cmp_key);
    wg_op *w = malloc((n ? n : 1) * sizeof *w);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        int cnt = 0;
        for (; j < n && ops[j].key == ops[i].key; j++) {
            const fr_op *o = &ops[j];
            if (o->replica || (o->kind != FR_GET && o->kind != FR_SET && o->kind != FR_CAS))
                continue;
            /* A refused operation did nothing; an unknown read tells nothing. */
            if (o->st == FR_FAIL || (o->st == FR_UNKNOWN && o->kind == FR_GET))
                continue;
            w[cnt++] = (wg_op){o->kind, o->st == FR_OK, o->value, o->expect, o->rvalue,
                               o->t_invoke, o->st == FR_OK ? o->t_complete : FR_NEVER};
        }
        if (cnt) {
            v->keys++;
            v->ops += cnt;
            int stuck = -1;
            int rc = wg_search(w, cnt, now_ms() + budget_ms, &stuck);
            if (rc == WG_NONLINEAR) {
                v->nonlinear++;
                const wg_op *s = stuck >= 0 ? &w[stuck] : NULL;
                hit(v, s ? s->t_invoke : -1);
                note(v,
                     "register %" PRId64 " (%d operations) is not linearizable: no order "
                     "passes the completion of %s %" PRId64 " -> %" PRId64
                     " [%" PRId64 " .. %" PRId64 " us]",
                     ops[i].key, cnt, s ? kind_name(s->kind) : "?",
                     s ? (s->kind == FR_GET ? s->rvalue : s->value) : 0,
                     s ? s->rvalue : 0, s ? s->t_invoke : 0, s ? s->t_complete : 0);
            } else if (rc == WG_BUDGET) {
                v->budget++;
                hit(v, -1);
                note(v, "register %" PRId64 " (%d operations): the search ran out of its %" PRId64
                     " ms budget", ops[i].key, cnt, budget_ms);
            }
        }
        i = j;
    }
    free(w);
}

/* ------------------------------------------------------------------------ */
/* Lists and sets                                                            */
/* ------------------------------------------------------------------------ */

/* A small open-addressing map from value to its index in the final state. */
typedef struct vmap {
    int64_t *k;
    long *v;
    size_t cap;
} vmap;

static void vmap_init(vmap *m, size_t n)
{
    m->cap = 16;
    while (m->cap < n * 2 + 2)
        m->cap *= 2;
    m->k = malloc(m->cap * sizeof *m->k);
    m->v = malloc(m->cap * sizeof *m->v);
    for (size_t i = 0; i < m->cap; i++)
        m->v[i] = -1;
}

static long *vmap_slot(vmap *m, int64_t key)
{
    size_t i = mix64((uint64_t)key) & (m->cap - 1);
    while (m->v[i] >= 0 && m->k[i] != key)
        i = (i + 1) & (m->cap - 1);
    m->k[i] = key;
    return &m->v[i];
}

static long vmap_get(vmap *m, int64_t key)
{
    size_t i = mix64((uint64_t)key) & (m->cap - 1);
    while (m->v[i] >= 0) {
        if (m->k[i] == key)
            return m->v[i];
        i = (i + 1) & (m->cap - 1);
    }
    return -1;
}

static void vmap_free(vmap *m)
{
    free(m->k);
    free(m->v);
}

static const fr_final *final_of(const fr_final *fin, size_t nfin, int64_t key)
{
    for (size_t i = 0; i < nfin; i++)
        if (fin[i].key == key)
            return &fin[i];
    return NULL;
}

static int is_write(const fr_op *o)
{
    return o->kind == FR_APPEND || o->kind == FR_TXN || o->kind == FR_SADD;
}

static int is_read(const fr_op *o)
{
    return o->kind == FR_LREAD || o->kind == FR_TXN || o->kind == FR_SREAD;
}

/* Lists (ordered) and sets share this: `ordered` adds the prefix and
 * position checks. */
static void check_collections(const fr_op *ops, size_t n, const fr_final *fin, size_t nfin,
                              int ordered, fr_verdict *v)
{
    fr_op *sorted = malloc((n ? n : 1) * sizeof *sorted);
    memcpy(sorted, ops, n * sizeof *ops);
    qsort(sorted, n, sizeof *sorted, cmp_key);
    const char *what = ordered ? "list" : "set";
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && sorted[j].key == sorted[i].key)
            j++;
        int64_t key = sorted[i].key;
        const fr_final *f = final_of(fin, nfin, key);
        static const int64_t none[1];
        fr_final empty = {key, none, 0};
        if (!f)
            f = &empty;
        v->keys++;
        v->ops += (long)(j - i);
        /* The final state: each value once, each written by someone. */
        vmap pos, attempted;
        vmap_init(&pos, f->n);
        vmap_init(&attempted, j - i);
        /* A refused write (FR_FAIL) ran nothing: its value in the final
         * state is as much a phantom as a value nobody wrote. */
        for (size_t k = i; k < j; k++)
            if (is_write(&sorted[k]) && sorted[k].st != FR_FAIL)
                *vmap_slot(&attempted, sorted[k].value) = (long)k;
        for (size_t k = 0; k < f->n; k++) {
            long *p = vmap_slot(&pos, f->vals[k]);
            if (*p >= 0) {
                v->duplicated++;
                long wk = vmap_get(&attempted, f->vals[k]);
                hit(v, wk >= 0 ? sorted[wk].t_invoke : -1);
                note(v, "%s %" PRId64 ": value %" PRId64 " is there twice (positions %ld and %zu)",
                     what, key, f->vals[k], *p, k);
            } else {
                *p = (long)k;
            }
            if (vmap_get(&attempted, f->vals[k]) < 0) {
                v->phantom++;
                hit(v, -1);
                note(v, "%s %" PRId64 ": value %" PRId64 " was never written (or its write was "
                     "refused)", what, key, f->vals[k]);
            }
        }
        /* Every acknowledged write is there (where its reply said). */
        for (size_t k = i; k < j; k++) {
            const fr_op *o = &sorted[k];
            if (!is_write(o) || o->st != FR_OK)
                continue;
            long p = vmap_get(&pos, o->value);
            if (p < 0) {
                v->lost++;
                hit(v, o->t_invoke);
                note(v, "%s %" PRId64 ": acknowledged %s of %" PRId64
                     " [%" PRId64 " .. %" PRId64 " us] is lost",
                     what, key, kind_name(o->kind), o->value, o->t_invoke, o->t_complete);
            } else if (ordered && o->rvalue > 0 && p != o->rvalue - 1) {
                v->misplaced++;
                hit(v, o->t_invoke);
                note(v, "list %" PRId64 ": %" PRId64 " is at position %ld, its reply said %" PRId64,
                     key, o->value, p, o->rvalue - 1);
            }
        }
        /* Reads: within the final state (a prefix of it for lists), and
         * holding every write acknowledged before they began. */
        vmap sess;
        vmap_init(&sess, j - i);
        for (size_t k = i; k < j; k++) {
            const fr_op *r = &sorted[k];
            if (!is_read(r) || r->st != FR_OK)
                continue;
            int bad = 0;
            for (size_t m = 0; m < r->nrlist && !bad; m++) {
                long p = vmap_get(&pos, r->rlist[m]);
                if (p < 0) {
                    v->aborted++;
                    hit(v, r->t_invoke);
                    bad = 1;
                    note(v, "%s %" PRId64 ": a %s%s [%" PRId64 " us] saw %" PRId64
                         ", which the final state lacks",
                         what, key, r->replica ? "replica's " : "", kind_name(r->kind),
                         r->t_invoke, r->rlist[m]);
                } else if (ordered && p != (long)m) {
                    v->reordered++;
                    hit(v, r->t_invoke);
                    bad = 1;
                    note(v, "list %" PRId64 ": a %s [%" PRId64
                         " us] is not a prefix of the final list (item %zu is %" PRId64
                         ", finally at %ld)",
                         key, kind_name(r->kind), r->t_invoke, m, r->rlist[m], p);
                }
            }
            if (r->replica) {
                /* Replicas may lag; one session never goes back. */
                long *last = vmap_slot(&sess, (int64_t)r->session);
                if (*last >= 0 && (long)r->nrlist < *last) {
                    v->nonmonotonic++;
                    hit(v, r->t_invoke);
                    note(v, "%s %" PRId64 ": replica session %" PRIu64 " read %zu items after %ld",
                         what, key, r->session, r->nrlist, *last);
                }
                *last = (long)r->nrlist;
                continue;
            }
            if (bad)
                continue;
            vmap seen;
            vmap_init(&seen, r->nrlist);
            for (size_t m = 0; m < r->nrlist; m++)
                *vmap_slot(&seen, r->rlist[m]) = (long)m;
            for (size_t w = i; w < j; w++) {
                const fr_op *o = &sorted[w];
                if (!is_write(o) || o->st != FR_OK || o->t_complete >= r->t_invoke)
                    continue;
                if (vmap_get(&seen, o->value) < 0) {
                    v->stale++;
                    hit(v, r->t_invoke);
                    note(v, "%s %" PRId64 ": a %s [%" PRId64 " us] misses %" PRId64
                         ", acknowledged at %" PRId64 " us",
                         what, key, kind_name(r->kind), r->t_invoke, o->value, o->t_complete);
                    break;
                }
            }
            vmap_free(&seen);
        }
        vmap_free(&sess);
        vmap_free(&pos);
        vmap_free(&attempted);
        i = j;
    }
    free(sorted);
}

void fr_check_lists(const fr_op *ops, size_t n, const fr_final *fin, size_t nfin, fr_verdict *v)
{
    check_collections(ops, n, fin, nfin, 1, v);
}

void fr_check_sets(const fr_op *ops, size_t n, const fr_final *fin, size_t nfin, fr_verdict *v)
{
    check_collections(ops, n, fin, nfin, 0, v);
}
