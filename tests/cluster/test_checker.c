/* test_checker.c — the checkers catch what they must and pass what is
 * correct: hand-written histories with one anomaly each (a stale read, a
 * lost write, a duplicate, an aborted read, a reordering, a replica going
 * back, a wrong compare-and-set), and randomized histories of a simulated
 * linearizable register and list that must pass — and fail once one read
 * in them is corrupted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "checker.h"

static fr_op op(fr_kind k, int64_t key, int64_t value, int64_t rvalue, int64_t t0, int64_t t1,
                fr_status st)
{
    fr_op o;
    memset(&o, 0, sizeof o);
    o.kind = k;
    o.key = key;
    o.value = value;
    o.rvalue = rvalue;
    o.t_invoke = t0;
    o.t_complete = st == FR_UNKNOWN ? FR_NEVER : t1;
    o.st = st;
    return o;
}

/* Check a copy (the checker sorts what it is given). */
static fr_verdict regs(const fr_op *ops, size_t n)
{
    fr_verdict v;
    memset(&v, 0, sizeof v);
    fr_op *c = malloc(n * sizeof *c);
    memcpy(c, ops, n * sizeof *c);
    fr_check_registers(c, n, 5000, &v);
    free(c);
    return v;
}

/* Sequential and overlapping histories that have a linearization pass. */
static void test_registers_linearizable(void **state)
{
    (void)state;
    fr_op h[] = {
        op(FR_GET, 1, 0, -1, 0, 5, FR_OK),    /* nil at first */
        op(FR_SET, 1, 10, 0, 10, 20, FR_OK),
        op(FR_GET, 1, 0, 10, 15, 25, FR_OK),  /* overlaps the SET: may see it */
        op(FR_SET, 1, 11, 0, 30, 60, FR_OK),
        op(FR_GET, 1, 0, 10, 35, 40, FR_OK),  /* inside SET 11: old value fine */
        op(FR_GET, 1, 0, 11, 45, 50, FR_OK),  /* … or the new one */
        op(FR_SET, 1, 12, 0, 70, 0, FR_UNKNOWN),
        op(FR_GET, 1, 0, 11, 80, 85, FR_OK),  /* the unknown SET not yet applied */
        op(FR_GET, 1, 0, 12, 90, 95, FR_OK),  /* … now applied */
        op(FR_SET, 1, 13, 0, 100, 0, FR_FAIL),/* refused: never applies */
        op(FR_GET, 1, 0, 12, 110, 115, FR_OK),
    };
    fr_verdict v = regs(h, sizeof h / sizeof *h);
    assert_int_equal(fr_anomalies(&v), 0);
    assert_int_equal(v.keys, 1);
}

/* A read that misses a write acknowledged before it began is caught. */
static void test_register_stale_read(void **state)
{
    (void)state;
    fr_op h[] = {
        op(FR_SET, 7, 1, 0, 0, 10, FR_OK),
        op(FR_SET, 7, 2, 0, 20, 30, FR_OK),
        op(FR_GET, 7, 0, 1, 40, 50, FR_OK), /* stale: 2 was acknowledged at 30 */
    };
    fr_verdict v = regs(h, 3);
    assert_int_equal(v.nonlinear, 1);
    assert_non_null(strstr(v.first, "register 7"));
}

/* A value read back after it was overwritten — and then the old one again. */
static void test_register_flipflop(void **state)
{
    (void)state;
    fr_op h[] = {
        op(FR_SET, 3, 1, 0, 0, 10, FR_OK),
        op(FR_SET, 3, 2, 0, 0, 10, FR_OK), /* concurrent: either order */
        op(FR_GET, 3, 0, 2, 20, 25, FR_OK),
        op(FR_GET, 3, 0, 1, 30, 35, FR_OK), /* 1 after 2: no order allows both */
    };
    fr_verdict v = regs(h, 4);
    assert_int_equal(v.nonlinear, 1);
}

/* SET IFEQ: applied only from the value it names; a refusal needs another
 * value. */
static void test_register_cas(void **state)
{
    (void)state;
    fr_op ok[] = {
        op(FR_SET, 4, 1, 0, 0, 10, FR_OK),
        op(FR_CAS, 4, 2, 1, 20, 30, FR_OK),  /* 1 -> 2 applied */
        op(FR_CAS, 4, 3, 0, 40, 50, FR_OK),  /* 1 -> 3 refused (value is 2) */
        op(FR_GET, 4, 0, 2, 60, 70, FR_OK),
    };
    ok[1].expect = 1;
    ok[2].expect = 1;
    fr_verdict v = regs(ok, 4);
    assert_int_equal(fr_anomalies(&v), 0);
    fr_op bad[] = {
        op(FR_SET, 5, 1, 0, 0, 10, FR_OK),
        op(FR_CAS, 5, 2, 1, 20, 30, FR_OK), /* claims 9 -> 2 applied, but value is 1 */
    };
    bad[1].expect = 9;
    v = regs(bad, 2);
    assert_int_equal(v.nonlinear, 1);
}

/* A write nobody issued read back is not linearizable. */
static void test_register_phantom_read(void **state)
{
    (void)state;
    fr_op h[] = {
        op(FR_SET, 9, 1, 0, 0, 10, FR_OK),
        op(FR_GET, 9, 0, 77, 20, 30, FR_OK),
    };
    fr_verdict v = regs(h, 2);
    assert_int_equal(v.nonlinear, 1);
}

static fr_verdict lists(fr_op *ops, size_t n, const int64_t *fin, size_t nfin)
{
    fr_verdict v;
    memset(&v, 0, sizeof v);
    fr_final f = {1, fin, nfin};
    fr_check_lists(ops, n, &f, 1, &v);
    return v;
}

static void set_read(fr_op *o, const int64_t *vals, size_t n)
{
    o->rlist = malloc((n ? n : 1) * sizeof *vals);
    memcpy(o->rlist, vals, n * sizeof *vals);
    o->nrlist = n;
}

/* Appends and reads that agree with the final list pass; each anomaly is
 * caught and named. */
static void test_lists(void **state)
{
    (void)state;
    static const int64_t r2[] = {100, 101};
    static const int64_t fin[] = {100, 101, 102};
    fr_op h[6];
    h[0] = op(FR_APPEND, 1, 100, 1, 0, 10, FR_OK);
    h[1] = op(FR_APPEND, 1, 101, 2, 20, 30, FR_OK);
    h[2] = op(FR_LREAD, 1, 0, 0, 40, 50, FR_OK);
    set_read(&h[2], r2, 2);
    h[3] = op(FR_APPEND, 1, 102, 0, 60, 0, FR_UNKNOWN); /* unknown, applied */
    h[4] = op(FR_APPEND, 1, 103, 0, 70, 80, FR_FAIL);   /* refused */
    h[5] = op(FR_APPEND, 1, 104, 0, 90, 0, FR_UNKNOWN); /* unknown, lost: fine */
    fr_verdict v = lists(h, 6, fin, 3);
    assert_int_equal(fr_anomalies(&v), 0);

    /* Lost: an acknowledged append missing from the final list. */
    static const int64_t fin_lost[] = {100, 102};
    v = lists(h, 6, fin_lost, 2);
    assert_true(v.lost >= 1);
    assert_non_null(strstr(v.first, "101"));

    /* Duplicated, and a value nobody wrote. */
    static const int64_t fin_dup[] = {100, 101, 102, 102, 555};
    v = lists(h, 6, fin_dup, 5);
    assert_int_equal(v.duplicated, 1);
    assert_int_equal(v.phantom, 1);

    /* A refused append that took effect after all. */
    static const int64_t fin_refused[] = {100, 101, 102, 103};
    v = lists(h, 6, fin_refused, 4);
    assert_int_equal(v.phantom, 1);
    assert_non_null(strstr(v.first, "103"));

    /* Misplaced: the reply said position 2, the final list has it first. */
    static const int64_t fin_swap[] = {101, 100, 102};
    v = lists(h, 6, fin_swap, 3);
    assert_true(v.misplaced >= 1);

    /* A stale read: misses 101, acknowledged before it began. */
    static const int64_t r1[] = {100};
    free(h[2].rlist);
    set_read(&h[2], r1, 1);
    v = lists(h, 6, fin, 3);
    assert_int_equal(v.stale, 1);

    /* An aborted read: saw 104, which never made it. */
    static const int64_t rab[] = {100, 101, 104};
    free(h[2].rlist);
    set_read(&h[2], rab, 3);
    v = lists(h, 6, fin, 3);
    assert_int_equal(v.aborted, 1);

    /* A reordered read. */
    static const int64_t rro[] = {101, 100};
    free(h[2].rlist);
    set_read(&h[2], rro, 2);
    v = lists(h, 6, fin, 3);
    assert_int_equal(v.reordered, 1);
    free(h[2].rlist);
}

/* Every anomaly is reported with the invocation time of its operation (a
 * fault run attributes it to the fault active then); a value nobody wrote
 * has no operation: -1. */
typedef struct seen_times {
    int n;
    int64_t t[8];
} seen_times;

static void record_time(void *arg, int64_t t)
{
    seen_times *s = arg;
    if (s->n < 8)
        s->t[s->n] = t;
    s->n++;
}

static void test_anomaly_times(void **state)
{
    (void)state;
    static const int64_t r1[] = {100};
    fr_op h[3];
    h[0] = op(FR_APPEND, 1, 100, 1, 0, 10, FR_OK);
    h[1] = op(FR_APPEND, 1, 101, 2, 20, 30, FR_OK);
    h[2] = op(FR_LREAD, 1, 0, 0, 40, 50, FR_OK); /* stale: misses 101 */
    set_read(&h[2], r1, 1);
    static const int64_t fin[] = {100, 555}; /* 101 lost, 555 nobody wrote */
    seen_times st = {0};
    fr_verdict v;
    memset(&v, 0, sizeof v);
    v.on_anomaly = record_time;
    v.arg = &st;
    fr_final f = {1, fin, 2};
    fr_check_lists(h, 3, &f, 1, &v);
    assert_int_equal(v.lost, 1);
    assert_int_equal(v.phantom, 1);
    assert_int_equal(v.stale, 1);
    assert_int_equal(st.n, fr_anomalies(&v));
    int lost = 0, phantom = 0, stale = 0;
    for (int i = 0; i < st.n && i < 8; i++) {
        phantom += st.t[i] == -1;
        lost += st.t[i] == 20;
        stale += st.t[i] == 40;
    }
    assert_int_equal(lost, 1);
    assert_int_equal(phantom, 1);
    assert_int_equal(stale, 1);
    free(h[2].rlist);

    /* A register that is not linearizable: the stuck operation's time. */
    fr_op g[] = {
        op(FR_SET, 7, 1, 0, 0, 10, FR_OK),
        op(FR_SET, 7, 2, 0, 20, 30, FR_OK),
        op(FR_GET, 7, 0, 1, 40, 50, FR_OK),
    };
    seen_times sr = {0};
    memset(&v, 0, sizeof v);
    v.on_anomaly = record_time;
    v.arg = &sr;
    fr_check_registers(g, 3, 5000, &v);
    assert_int_equal(v.nonlinear, 1);
    assert_int_equal(sr.n, 1);
    assert_true(sr.t[0] >= 0 && sr.t[0] <= 40);
}

/* Replica sessions may lag but never go back. */
static void test_replica_sessions(void **state)
{
    (void)state;
    static const int64_t fin[] = {1, 2, 3};
    static const int64_t a[] = {1, 2}, b[] = {1};
    fr_op h[5];
    h[0] = op(FR_APPEND, 1, 1, 1, 0, 1, FR_OK);
    h[1] = op(FR_APPEND, 1, 2, 2, 2, 3, FR_OK);
    h[2] = op(FR_APPEND, 1, 3, 3, 4, 5, FR_OK);
    h[3] = op(FR_LREAD, 1, 0, 0, 10, 11, FR_OK);
    h[3].replica = 1;
    h[3].session = 5;
    set_read(&h[3], a, 2);
    h[4] = op(FR_LREAD, 1, 0, 0, 20, 21, FR_OK);
    h[4].replica = 1;
    h[4].session = 6; /* another session: lagging more is fine */
    set_read(&h[4], b, 1);
    fr_verdict v = lists(h, 5, fin, 3);
    assert_int_equal(fr_anomalies(&v), 0);
    h[4].session = 5; /* the same session went back */
    v = lists(h, 5, fin, 3);
    assert_int_equal(v.nonmonotonic, 1);
    free(h[3].rlist);
    free(h[4].rlist);
}

/* Sets: lost, phantom and stale are caught. */
static void test_sets(void **state)
{
    (void)state;
    static const int64_t fin[] = {5, 6};
    static const int64_t r[] = {5};
    fr_op h[3];
    h[0] = op(FR_SADD, 2, 5, 0, 0, 10, FR_OK);
    h[1] = op(FR_SADD, 2, 6, 0, 5, 15, FR_OK);
    h[2] = op(FR_SREAD, 2, 0, 0, 12, 20, FR_OK); /* overlaps SADD 6: may miss it */
    set_read(&h[2], r, 1);
    fr_verdict v;
    memset(&v, 0, sizeof v);
    fr_final f = {2, fin, 2};
    fr_check_sets(h, 3, &f, 1, &v);
    assert_int_equal(fr_anomalies(&v), 0);
    h[2].t_invoke = 16; /* now SADD 6 completed before the read began */
    memset(&v, 0, sizeof v);
    fr_check_sets(h, 3, &f, 1, &v);
    assert_int_equal(v.stale, 1);
    static const int64_t fin_lost[] = {5};
    memset(&v, 0, sizeof v);
    f.vals = fin_lost;
    f.n = 1;
    fr_check_sets(h, 3, &f, 1, &v);
    assert_int_equal(v.lost, 1);
    free(h[2].rlist);
}

/* A simulated linearizable register with clients whose operations overlap
 * at random: the checker finds an order; corrupting one read breaks it. */
static void test_random_register_histories(void **state)
{
    (void)state;
    unsigned seed = 12345;
    for (int round = 0; round < 40; round++) {
        enum { N = 300, C = 5 };
        fr_op h[N];
        int64_t value = -1, next_value = 1;
        int64_t t = 0;
        for (int i = 0; i < N; i++) {
            /* Each operation takes effect at its own instant `at`, with
             * invoke and completion around it. */
            t += 1 + rand_r(&seed) % 5;
            int64_t at = t;
            int64_t before = at - rand_r(&seed) % 20, after = at + rand_r(&seed) % 20;
            int kind = rand_r(&seed) % 3;
            fr_status st = rand_r(&seed) % 40 == 0 ? FR_UNKNOWN : FR_OK;
            if (kind == 0) {
                h[i] = op(FR_GET, 1, 0, value, before, after, FR_OK);
            } else if (kind == 1) {
                h[i] = op(FR_SET, 1, next_value, 0, before, after, st);
                /* An unknown write may also never have applied. */
                if (st == FR_OK || rand_r(&seed) % 2)
                    value = next_value;
                next_value++;
            } else {
                int64_t expect = rand_r(&seed) % 2 ? value : value + 1000;
                int applied = expect == value && (st == FR_OK || rand_r(&seed) % 2);
                h[i] = op(FR_CAS, 1, next_value, applied, before, after, st);
                h[i].expect = expect;
                if (applied)
                    value = next_value;
                next_value++;
            }
            h[i].client = i % C;
        }
        fr_verdict v = regs(h, N);
        if (fr_anomalies(&v))
            fail_msg("round %d: a linearizable history failed: %s", round, v.first);
        /* Make the history sequential (same order of effects), then let
         * the last read return the first value a known write set, although
         * a later known write replaced it: no order explains that. */
        for (int i = 0; i < N; i++) {
            h[i].t_invoke = (int64_t)i * 10;
            if (h[i].st == FR_OK)
                h[i].t_complete = (int64_t)i * 10 + 5;
        }
        int first = -1, replaced = -1, last_get = -1;
        for (int i = 0; i < N; i++) {
            int known_write = h[i].st == FR_OK &&
                              (h[i].kind == FR_SET || (h[i].kind == FR_CAS && h[i].rvalue));
            if (known_write && first < 0)
                first = i;
            else if (known_write && replaced < 0)
                replaced = i;
            if (h[i].kind == FR_GET && replaced >= 0)
                last_get = i;
        }
        if (last_get < 0)
            continue;
        v = regs(h, N);
        if (fr_anomalies(&v))
            fail_msg("round %d: the sequential history failed: %s", round, v.first);
        h[last_get].rvalue = h[first].value;
        v = regs(h, N);
        if (v.nonlinear != 1)
            fail_msg("round %d: a read of an overwritten value was not caught", round);
    }
}

/* A search that cannot finish within its budget fails the key. */
static void test_budget_exhausted_fails(void **state)
{
    (void)state;
    enum { N = 60 };
    fr_op h[N];
    /* Many overlapping writes and reads that name a value none of them
     * wrote: the search must try every order before it gives up. */
    for (int i = 0; i < N; i++)
        h[i] = op(i % 2 ? FR_GET : FR_SET, 1, i + 1, i % 2 ? 1000 : 0, 0, 100, FR_OK);
    fr_verdict v;
    memset(&v, 0, sizeof v);
    fr_check_registers(h, N, 1, &v);
    assert_int_equal(v.nonlinear + v.budget, 1);
    assert_true(fr_anomalies(&v) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registers_linearizable),
        cmocka_unit_test(test_register_stale_read),
        cmocka_unit_test(test_register_flipflop),
        cmocka_unit_test(test_register_cas),
        cmocka_unit_test(test_register_phantom_read),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_replica_sessions),
        cmocka_unit_test(test_sets),
        cmocka_unit_test(test_anomaly_times),
        cmocka_unit_test(test_random_register_histories),
        cmocka_unit_test(test_budget_exhausted_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
