/* test_scan.c — SCAN, KEYS and RANDOMKEY on a keyspace large enough to
 * resize, against a real kvnode: the SCAN guarantee (every key present for
 * the whole iteration is returned), filters, lazy expiry of the keys these
 * commands meet (and that those deletions are logged: the state recovered
 * after kill -9 has the same digest), and RANDOMKEY's choices.
 *
 * The differential scripts cannot check this: SCAN's cursors and order
 * differ between implementations, and they use small keyspaces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

/* ---- Fixture ---- */

static h_proc kv;
static char *tmp;
static kv_client *c;

static int group_setup(void **state)
{
    (void)state;
    tmp = h_tmpdir("scan");
    /* No active expiry: only the commands under test delete expired keys. */
    const char *extra[] = {"--save", "", "--active-expire", "no",
                           "--appendfsync", "no", NULL};
    if (h_kvnode_start(&kv, tmp, extra) != 0)
        return -1;
    c = h_connect(kv.port);
    return c ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    kv_client_free(c);
    h_stop(&kv, SIGTERM, 10000);
    h_rmrf(tmp);
    free(tmp);
    return 0;
}

/* ---- Helpers ---- */

static kv_reply *cmdf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A command from a printf format, split on spaces. */
static kv_reply *cmdf(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    return r;
}

static void ok(kv_reply *r)
{
    if (r->type == KV_REPLY_ERROR)
        fail_msg("error reply: %s", r->str);
    kv_reply_free(r);
}

static long long intreply(kv_reply *r)
{
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    long long v = r->integer;
    kv_reply_free(r);
    return v;
}

/* MSET prefix:from .. prefix:to-1 in batches, each key's value its index. */
static void fill(const char *prefix, int from, int to)
{
    for (int i = from; i < to;) {
        const char *argv[201];
        size_t lens[201];
        char store[100][32];
        int argc = 0;
        argv[argc] = "MSET";
        lens[argc++] = 4;
        for (int n = 0; n < 100 && i < to; n++, i++) {
            int l = snprintf(store[n], sizeof store[n], "%s:%d", prefix, i);
            argv[argc] = store[n];
            lens[argc++] = (size_t)l;
            argv[argc] = store[n] + strlen(prefix) + 1;
            lens[argc++] = (size_t)l - strlen(prefix) - 1;
        }
        ok(h_cmdv(c, argc, argv, lens));
    }
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void digest(char *out, size_t len)
{
    kv_reply *r = h_cmd(c, "DEBUG DIGEST");
    assert_non_null(r);
    h_reply_text(r, out, len);
    kv_reply_free(r);
}

/* Index of a "prefix:N" key, or -1. */
static int key_index(const kv_reply *k, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (k->len <= pl + 1 || memcmp(k->str, prefix, pl) != 0 || k->str[pl] != ':')
        return -1;
    return atoi(k->str + pl + 1);
}

typedef struct scan_seen {
    int *k;        /* times each k:N was returned */
    int n;
    int other;     /* keys returned that are not k:N */
    int calls;
} scan_seen;

/* One SCAN call; returns the next cursor. */
static unsigned long long scan_step(unsigned long long cursor, const char *opts, scan_seen *s)
{
    kv_reply *r = cmdf("SCAN %llu %s", cursor, opts);
    if (r->type != KV_REPLY_ARRAY || r->elements != 2)
        fail_msg("SCAN reply: type %d", r->type);
    unsigned long long next = strtoull(r->element[0]->str, NULL, 10);
    kv_reply *keys = r->element[1];
    for (size_t i = 0; i < keys->elements; i++) {
        int idx = key_index(keys->element[i], "k");
        if (idx >= 0 && idx < s->n)
            s->k[idx]++;
        else
            s->other++;
    }
    s->calls++;
    kv_reply_free(r);
    return next;
}

static void expect_all_seen(const scan_seen *s, int from, int to)
{
    for (int i = from; i < to; i++)
        if (s->k[i] == 0)
            fail_msg("k:%d never returned", i);
}

/* ---- Tests ---- */

/* A full iteration with small and large COUNTs returns every key, with
 * MATCH and TYPE filters applied, and skips (and deletes) expired keys. */
static void test_full_iteration(void **state)
{
    (void)state;
    enum { N = 3000, EXPIRED = 200 };
    fill("k", 0, N);
    for (int i = 0; i < EXPIRED; i++)
        ok(cmdf("SET e:%d v PX 1", i));
    sleep_ms(20);
    char d0[64], d1[64], d2[64], d3[64];
    digest(d0, sizeof d0);
    static const char *const opts[] = {"COUNT 1", "COUNT 7", "", "COUNT 1000", "COUNT 100000",
                                       "TYPE string COUNT 50", "type STRING"};
    for (size_t o = 0; o < sizeof opts / sizeof *opts; o++) {
        scan_seen s = {calloc(N, sizeof(int)), N, 0, 0};
        unsigned long long cur = 0;
        do {
            cur = scan_step(cur, opts[o], &s);
        } while (cur != 0 && s.calls < 100000);
        assert_int_equal(cur, 0);
        expect_all_seen(&s, 0, N);
        assert_int_equal(s.other, 0);
        free(s.k);
    }
    /* SCAN deleted every expired key it met: the digest (which counts
     * keys physically there) changed, and reading them deletes nothing
     * more. The deletions were logged: kill -9 recovers the same state. */
    digest(d1, sizeof d1);
    assert_string_not_equal(d0, d1);
    for (int i = 0; i < EXPIRED; i++)
        assert_int_equal(intreply(cmdf("EXISTS e:%d", i)), 0);
    digest(d2, sizeof d2);
    assert_string_equal(d1, d2);
    kv_client_free(c);
    c = NULL;
    h_stop(&kv, SIGKILL, 10000);
    assert_int_equal(h_restart(&kv), 0);
    c = h_connect(kv.port);
    assert_non_null(c);
    digest(d3, sizeof d3);
    assert_string_equal(d2, d3);
    kv_reply *r;
    scan_seen s = {calloc(N, sizeof(int)), N, 0, 0};
    unsigned long long cur = 0;
    do {
        cur = scan_step(cur, "MATCH k:1?? COUNT 20", &s);
    } while (cur != 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(s.k[i] > 0, i >= 100 && i < 200);
    free(s.k);
    memset(&s, 0, sizeof s);
    s.k = calloc(N, sizeof(int));
    s.n = N;
    cur = 0;
    do {
        cur = scan_step(cur, "TYPE hash COUNT 100", &s);
    } while (cur != 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(s.k[i], 0);
    free(s.k);
    r = h_cmd(c, "KEYS k:*");
    assert_int_equal(r->elements, N);
    kv_reply_free(r);
    r = h_cmd(c, "KEYS k:2999");
    assert_int_equal(r->elements, 1);
    kv_reply_free(r);
    for (int i = 0; i < N; i++)
        ok(cmdf("DEL k:%d", i));
}

/* Keys present for the whole iteration are all returned even while other
 * keys are added (the table grows) and deleted (it shrinks) between calls. */
static void test_iteration_across_resizes(void **state)
{
    (void)state;
    enum { KEEP = 500, CHURN = 4000 };
    fill("k", 0, KEEP);
    fill("d", 0, CHURN);
    scan_seen s = {calloc(KEEP, sizeof(int)), KEEP, 0, 0};
    unsigned long long cur = 0;
    int step = 0;
    do {
        cur = scan_step(cur, "COUNT 5", &s);
        step++;
        if (step % 3 == 0) {
            /* Grow with new keys, or shrink by deleting the churn. */
            if (step < 60) {
                fill("n", step * 100, step * 100 + 400);
            } else {
                for (int i = 0; i < 200; i++)
                    ok(cmdf("DEL d:%d", (step * 200 + i) % CHURN));
            }
        }
    } while (cur != 0 && s.calls < 100000);
    assert_int_equal(cur, 0);
    expect_all_seen(&s, 0, KEEP);
    free(s.k);
}

/* RANDOMKEY returns existing keys, more than one of them; expired keys
 * it meets are deleted and the deletions logged; a keyspace whose keys all
 * expired answers nil. */
static void test_randomkey(void **state)
{
    (void)state;
    kv_reply *r = h_cmd(c, "KEYS *");
    for (size_t i = 0; i < r->elements; i++) {
        const char *argv[2] = {"DEL", r->element[i]->str};
        size_t lens[2] = {3, r->element[i]->len};
        ok(h_cmdv(c, 2, argv, lens));
    }
    kv_reply_free(r);
    r = h_cmd(c, "RANDOMKEY");
    assert_int_equal(r->type, KV_REPLY_NIL);
    kv_reply_free(r);

    fill("k", 0, 50);
    int seen[50] = {0}, distinct = 0;
    for (int i = 0; i < 300; i++) {
        r = h_cmd(c, "RANDOMKEY");
        assert_int_equal(r->type, KV_REPLY_STRING);
        int idx = key_index(r, "k");
        assert_true(idx >= 0 && idx < 50);
        distinct += !seen[idx]++;
        kv_reply_free(r);
    }
    assert_true(distinct > 10);

    for (int i = 0; i < 50; i++)
        ok(cmdf("PEXPIRE k:%d 1", i));
    for (int i = 0; i < 100; i++)
        ok(cmdf("SET e:%d v PX 1", i));
    sleep_ms(20);
    char before[64], after[64];
    r = h_cmd(c, "RANDOMKEY");
    assert_int_equal(r->type, KV_REPLY_NIL);
    kv_reply_free(r);
    digest(before, sizeof before);
    /* Every key was expired: RANDOMKEY deleted them all on its way. */
    assert_string_equal(before, "+0000000000000000000000000000000000000000");

    ok(h_cmd(c, "SET live v"));
    ok(h_cmd(c, "SET dead v PX 1"));
    sleep_ms(5);
    for (int i = 0; i < 20; i++) {
        r = h_cmd(c, "RANDOMKEY");
        assert_int_equal(r->type, KV_REPLY_STRING);
        assert_string_equal(r->str, "live");
        kv_reply_free(r);
    }
    assert_int_equal(intreply(h_cmd(c, "EXISTS dead")), 0);
    digest(before, sizeof before);
    kv_client_free(c);
    c = NULL;
    h_stop(&kv, SIGKILL, 10000);
    assert_int_equal(h_restart(&kv), 0);
    c = h_connect(kv.port);
    assert_non_null(c);
    digest(after, sizeof after);
    assert_string_equal(before, after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_iteration),
        cmocka_unit_test(test_iteration_across_resizes),
        cmocka_unit_test(test_randomkey),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
