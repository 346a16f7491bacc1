/* test_hash_random.c — the hash commands whose replies are random or in
 * hash-table order, so the differential test can compare only their
 * shape: HSCAN must visit every field of a hashtable-encoded hash (with
 * COUNT, MATCH, and fields changing between calls), HRANDFIELD must give
 * distinct existing fields for a positive count and exactly |count| picks
 * for a negative one, in RESP2 and RESP3 shapes, and a huge negative count
 * must stop at the client's output buffer limit instead of growing without
 * bound. Runs against a real kvnode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ---- Fixture ---- */

#define BIG 1000  /* fields of "big" (hashtable encoding) */
#define SMALL 100 /* fields of "small" (listpack encoding) */

static h_proc kv;
static char *tmp;
static kv_client *c;

static void fill(const char *key, int n);

static int group_setup(void **state)
{
    (void)state;
    tmp = h_tmpdir("hashrand");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/kv", tmp);
    const char *extra[] = {"--client-output-buffer-limit", "normal 1mb 0 0", NULL};
    if (h_kvnode_start(&kv, dir, extra) != 0)
        return -1;
    c = h_connect(kv.port);
    if (!c)
        return -1;
    fill("big", BIG);
    fill("small", SMALL);
    return 0;
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

/* HSET key f<i> v<i> for i in [0, n), 100 fields per command. */
static void fill(const char *key, int n)
{
    static char words[202][16];
    const char *argv[202];
    for (int i = 0; i < n;) {
        int argc = 0;
        argv[argc++] = "HSET";
        argv[argc++] = key;
        for (int k = 0; k < 100 && i < n; k++, i++) {
            snprintf(words[argc], sizeof words[argc], "f%d", i);
            argv[argc] = words[argc];
            argc++;
            snprintf(words[argc], sizeof words[argc], "v%d", i);
            argv[argc] = words[argc];
            argc++;
        }
        kv_reply *r = h_cmdv(c, argc, argv, NULL);
        assert_non_null(r);
        assert_int_equal(r->type, KV_REPLY_INTEGER);
        kv_reply_free(r);
    }
}

/* The index i of a field "f<i>" below n, asserting the name's form. */
static int field_index(const kv_reply *f, int n)
{
    assert_int_equal(f->type, KV_REPLY_STRING);
    assert_true(f->len >= 2 && f->str[0] == 'f');
    int i = atoi(f->str + 1);
    assert_true(i >= 0 && i < n);
    return i;
}

/* Assert v is "v<i>". */
static void assert_value_of(const kv_reply *v, int i)
{
    char want[16];
    snprintf(want, sizeof want, "v%d", i);
    assert_int_equal(v->type, KV_REPLY_STRING);
    assert_string_equal(v->str, want);
}

static void assert_hlen(const char *key, long long n)
{
    char line[64];
    snprintf(line, sizeof line, "HLEN %s", key);
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    assert_int_equal(r->integer, n);
    kv_reply_free(r);
}

/* Scan key to the end with the given options ("" or "COUNT 7 MATCH f1*"),
 * counting each field seen in seen[0..n). Between calls, mutate(call)
 * may change the hash. Returns the number of HSCAN calls. */
static int scan_all(const char *key, const char *opts, int n, int *seen, void (*mutate)(int))
{
    char cursor[32] = "0";
    int calls = 0;
    do {
        char line[256];
        snprintf(line, sizeof line, "HSCAN %s %s %s", key, cursor, opts);
        kv_reply *r = h_cmd(c, line);
        assert_non_null(r);
        assert_int_equal(r->type, KV_REPLY_ARRAY);
        assert_int_equal(r->elements, 2);
        assert_int_equal(r->element[0]->type, KV_REPLY_STRING);
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        const kv_reply *items = r->element[1];
        assert_int_equal(items->elements % 2, 0);
        for (size_t j = 0; j < items->elements; j += 2) {
            const kv_reply *f = items->element[j];
            if (f->str[0] == 'f') {
                int i = field_index(f, n);
                assert_value_of(items->element[j + 1], i);
                seen[i]++;
            }
        }
        kv_reply_free(r);
        if (mutate)
            mutate(calls);
        assert_true(++calls < 100000);
    } while (strcmp(cursor, "0") != 0);
    return calls;
}

/* Check a positive-count HRANDFIELD reply of `want` distinct fields of a
 * hash of n fields, in the shape of the protocol in use. */
static void assert_distinct_pick(const kv_reply *r, int n, size_t want, int withvalues,
                                 int resp3)
{
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    size_t per = withvalues && !resp3 ? 2 : 1;
    assert_int_equal(r->elements, want * per);
    char *seen = calloc((size_t)n, 1);
    for (size_t j = 0; j < r->elements; j += per) {
        const kv_reply *f = r->element[j], *v = NULL;
        if (withvalues && !resp3) {
            v = r->element[j + 1];
        } else if (withvalues) {
            assert_int_equal(r->element[j]->type, KV_REPLY_ARRAY);
            assert_int_equal(r->element[j]->elements, 2);
            f = r->element[j]->element[0];
            v = r->element[j]->element[1];
        }
        int i = field_index(f, n);
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        if (withvalues)
            assert_value_of(v, i);
    }
    free(seen);
}

/* ---- Tests ---- */

/* Scanning a hashtable hash to cursor 0 visits every field with its value,
 * whatever COUNT; a COUNT above the size returns everything in one call,
 * as Redis does. */
static void test_hscan_visits_every_field(void **state)
{
    (void)state;
    assert_hlen("big", BIG);
    const char *opts[] = {"", "COUNT 1", "COUNT 7", "COUNT 100", "COUNT 5000"};
    for (size_t k = 0; k < sizeof opts / sizeof *opts; k++) {
        int seen[BIG] = {0};
        int calls = scan_all("big", opts[k], BIG, seen, NULL);
        for (int i = 0; i < BIG; i++)
            assert_true(seen[i] >= 1);
        if (!strcmp(opts[k], "COUNT 5000"))
            assert_int_equal(calls, 1);
        else
            assert_true(calls > 1);
    }
}

/* MATCH filters by field name only: exactly the 111 fields f1, f10…f19,
 * f100…f199 come back, each with its value. */
static void test_hscan_match(void **state)
{
    (void)state;
    int seen[BIG] = {0};
    scan_all("big", "MATCH f1* COUNT 20", BIG, seen, NULL);
    int total = 0;
    for (int i = 0; i < BIG; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        int want = name[1] == '1';
        assert_int_equal(seen[i] > 0, want);
        total += seen[i] > 0;
    }
    assert_int_equal(total, 111);
}

/* While fields come and go between calls, every field present for the
 * whole scan is still returned (SCAN's guarantee). */
static int added;
static void churn(int call)
{
    char line[128];
    snprintf(line, sizeof line, "HSET big x%d 1 y%d 2", call, call);
    kv_reply_free(h_cmd(c, line));
    added += 2;
    if (call % 2 == 0) {
        snprintf(line, sizeof line, "HDEL big x%d", call / 2);
        kv_reply_free(h_cmd(c, line));
    }
}

static void test_hscan_with_changes(void **state)
{
    (void)state;
    int seen[BIG] = {0};
    added = 0;
    scan_all("big", "COUNT 10", BIG, seen, churn);
    for (int i = 0; i < BIG; i++)
        assert_true(seen[i] >= 1);
    assert_true(added > 0);
    /* Put "big" back to its BIG f-fields. */
    kv_reply *r = h_cmd(c, "HSCAN big 0 MATCH [xy]* COUNT 100000");
    assert_non_null(r);
    const kv_reply *items = r->element[1];
    const char *argv[2 + 4096];
    int argc = 0;
    argv[argc++] = "HDEL";
    argv[argc++] = "big";
    for (size_t j = 0; j < items->elements && argc < 2 + 4096; j += 2)
        argv[argc++] = items->element[j]->str;
    kv_reply *d = h_cmdv(c, argc, argv, NULL);
    assert_non_null(d);
    kv_reply_free(d);
    kv_reply_free(r);
    assert_hlen("big", BIG);
}

/* A positive count gives min(count, size) distinct existing fields, with
 * their values when asked, on both encodings, for every sampling path
 * (count 1, few of many, most of the hash, all of it). */
static void test_hrandfield_positive_count_is_distinct(void **state)
{
    (void)state;
    const char *keys[] = {"big", "small"};
    int sizes[] = {BIG, SMALL};
    long counts[] = {1, 2, 30, 33, 34, 99, 100, 333, 334, 999, 1000, 1500};
    for (int resp3 = 0; resp3 <= 1; resp3++) {
        kv_reply_free(h_cmd(c, resp3 ? "HELLO 3" : "HELLO 2"));
        for (int k = 0; k < 2; k++) {
            for (size_t j = 0; j < sizeof counts / sizeof *counts; j++) {
                for (int wv = 0; wv <= 1; wv++) {
                    char line[128];
                    snprintf(line, sizeof line, "HRANDFIELD %s %ld%s", keys[k], counts[j],
                             wv ? " WITHVALUES" : "");
                    kv_reply *r = h_cmd(c, line);
                    size_t want = (size_t)(counts[j] < sizes[k] ? counts[j] : sizes[k]);
                    assert_distinct_pick(r, sizes[k], want, wv, resp3);
                    kv_reply_free(r);
                }
            }
        }
    }
    kv_reply_free(h_cmd(c, "HELLO 2"));
}

/* A negative count gives exactly |count| picks that may repeat; over 3000
 * picks from three fields each field shows up. Without a count the single
 * field is a bulk string. */
static void test_hrandfield_negative_count(void **state)
{
    (void)state;
    kv_reply_free(h_cmd(c, "HSET three f0 v0 f1 v1 f2 v2"));
    kv_reply *r = h_cmd(c, "HRANDFIELD three -3000 WITHVALUES");
    assert_non_null(r);
    assert_int_equal(r->elements, 6000);
    int hits[3] = {0};
    for (size_t j = 0; j < r->elements; j += 2) {
        int i = field_index(r->element[j], 3);
        assert_value_of(r->element[j + 1], i);
        hits[i]++;
    }
    for (int i = 0; i < 3; i++)
        assert_true(hits[i] > 0);
    kv_reply_free(r);
    r = h_cmd(c, "HRANDFIELD big -5");
    assert_non_null(r);
    assert_int_equal(r->elements, 5);
    for (size_t j = 0; j < 5; j++)
        field_index(r->element[j], BIG);
    kv_reply_free(r);
    r = h_cmd(c, "HRANDFIELD big");
    assert_non_null(r);
    field_index(r, BIG);
    kv_reply_free(r);
}

/* HRANDFIELD with a huge negative count stops once the reply passes the
 * client's output buffer limit (1mb here) and that client is closed; the
 * node goes on serving others. */
static void test_hrandfield_huge_count_hits_output_limit(void **state)
{
    (void)state;
    kv_client *victim = h_connect(kv.port);
    assert_non_null(victim);
    long long t0 = h_now_ms();
    kv_reply *r = h_cmd(victim, "HRANDFIELD big -9223372036854775807");
    assert_null(r);
    assert_true(h_now_ms() - t0 < 10000);
    kv_client_free(victim);
    r = h_cmd(c, "PING");
    assert_non_null(r);
    assert_string_equal(r->str, "PONG");
    kv_reply_free(r);
    r = h_cmd(c, "HLEN big");
    assert_non_null(r);
    assert_int_equal(r->integer, BIG);
    kv_reply_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hscan_visits_every_field),
        cmocka_unit_test(test_hscan_match),
        cmocka_unit_test(test_hscan_with_changes),
        cmocka_unit_test(test_hrandfield_positive_count_is_distinct),
        cmocka_unit_test(test_hrandfield_negative_count),
        cmocka_unit_test(test_hrandfield_huge_count_hits_output_limit),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
