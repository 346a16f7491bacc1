/* test_hll_cross.c — HyperLogLog values move between redis-server and
 * kvnode as plain strings: a value one server built (GET) and the other
 * stored (SET) gives the same PFCOUNT, grows to the same bytes under the
 * same PFADDs, and merges to the same bytes, sparse and dense, in both
 * directions. Also kvnode-only durability: the cached cardinality PFCOUNT
 * writes and the sparse/dense state survive kill -9, replayed under a
 * different hll-sparse-max-bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

/* ---- Fixture ---- */

static h_pair pr;
static kv_client *rc, *kc;

static int group_setup(void **state)
{
    (void)state;
    const char *extra[] = {"--save", "", "--appendfsync", "no", NULL};
    int r = h_pair_start(&pr, "hllcross", NULL, extra);
    rc = pr.rc;
    kc = pr.kc;
    return r;
}

static int group_teardown(void **state)
{
    (void)state;
    pr.rc = rc; /* the tests may have reconnected */
    pr.kc = kc;
    h_pair_stop(&pr);
    return 0;
}

static int flush(void **state)
{
    (void)state;
    kv_reply_free(h_cmd(rc, "FLUSHALL"));
    kv_reply_free(h_cmd(kc, "FLUSHALL"));
    return 0;
}

/* ---- Helpers ---- */

/* PFADD key <prefix>0 … <prefix>(n-1) on c, 500 elements per command
 * (n = 0: PFADD key, which creates an empty HLL). */
static void pfadd_n(kv_client *c, const char *key, const char *prefix, int n)
{
    static char words[502][32];
    const char *argv[502];
    if (n == 0) {
        const char *create[2] = {"PFADD", key};
        kv_reply_free(h_cmdv(c, 2, create, NULL));
    }
    for (int i = 0; i < n;) {
        int argc = 0;
        argv[argc++] = "PFADD";
        argv[argc++] = key;
        for (int k = 0; k < 500 && i < n; k++, i++) {
            snprintf(words[argc], sizeof words[argc], "%s%d", prefix, i);
            argv[argc] = words[argc];
            argc++;
        }
        kv_reply *r = h_cmdv(c, argc, argv, NULL);
        assert_non_null(r);
        assert_int_equal(r->type, KV_REPLY_INTEGER);
        kv_reply_free(r);
    }
}

/* The value at key on c (malloc'd, *len bytes), or fail. */
static char *get_value(kv_client *c, const char *key, size_t *len)
{
    const char *argv[2] = {"GET", key};
    kv_reply *r = h_cmdv(c, 2, argv, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STRING);
    char *v = malloc(r->len ? r->len : 1);
    memcpy(v, r->str, r->len);
    *len = r->len;
    kv_reply_free(r);
    return v;
}

static void set_value(kv_client *c, const char *key, const char *v, size_t len)
{
    const char *argv[3] = {"SET", key, v};
    size_t lens[3] = {3, strlen(key), len};
    kv_reply *r = h_cmdv(c, 3, argv, lens);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
}

/* Copy key's value from one server to the other under the same name. */
static void copy_value(kv_client *from, kv_client *to, const char *key)
{
    size_t len;
    char *v = get_value(from, key, &len);
    set_value(to, key, v, len);
    free(v);
}

/* Run line on both servers; the replies must be the same. */
static void same_reply(const char *line)
{
    char a[1 << 14], b[1 << 14];
    kv_reply *ra = h_cmd(rc, line), *rb = h_cmd(kc, line);
    assert_non_null(ra);
    assert_non_null(rb);
    h_reply_text(ra, a, sizeof a);
    h_reply_text(rb, b, sizeof b);
    if (strcmp(a, b) != 0)
        fprintf(stderr, "%s\n  redis:  %.300s\n  kvnode: %.300s\n", line, a, b);
    assert_string_equal(a, b);
    kv_reply_free(ra);
    kv_reply_free(rb);
}

/* The value at key is byte for byte the same on both servers. */
static void same_value(const char *key)
{
    size_t la, lb;
    char *a = get_value(rc, key, &la), *b = get_value(kc, key, &lb);
    if (la != lb || memcmp(a, b, la) != 0)
        fprintf(stderr, "%s: %zu bytes on redis, %zu on kvnode, contents %s\n", key, la, lb,
                la == lb ? "differ" : "-");
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
}

static long long integer(kv_client *c, const char *line)
{
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    long long v = r->integer;
    kv_reply_free(r);
    return v;
}

static void assert_status(kv_client *c, const char *line, const char *want)
{
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    assert_string_equal(r->str, want);
    kv_reply_free(r);
}

/* Cardinalities that give sparse values of several sizes and dense ones. */
static const int sizes[] = {0, 1, 7, 50, 300, 1000, 2500, 20000};
#define NSIZES (sizeof sizes / sizeof *sizes)

/* Build h<i> on `origin`, copy each to `other`, then check both servers
 * agree on counts, growth and merges. */
static void check_direction(kv_client *origin, kv_client *other)
{
    char key[16], line[256];
    for (size_t i = 0; i < NSIZES; i++) {
        snprintf(key, sizeof key, "h%zu", i);
        char prefix[16];
        snprintf(prefix, sizeof prefix, "e%zu-", i);
        pfadd_n(origin, key, prefix, sizes[i]);
        copy_value(origin, other, key);
        same_value(key);
        snprintf(line, sizeof line, "PFDEBUG ENCODING %s", key);
        same_reply(line);
        snprintf(line, sizeof line, "PFCOUNT %s", key);
        same_reply(line);
        same_value(key); /* the cached cardinality, written the same way */
    }
    /* Union counts, without and with the cache. */
    same_reply("PFCOUNT h0 h1 h2 h3 h4 h5 h6 h7");
    same_reply("PFCOUNT h3 h5");
    same_reply("PFCOUNT h6 h7 nosuch");
    /* The same additions on both sides give the same bytes. */
    for (size_t i = 0; i < NSIZES; i++) {
        snprintf(key, sizeof key, "h%zu", i);
        pfadd_n(rc, key, "more-", 200);
        pfadd_n(kc, key, "more-", 200);
        same_value(key);
        snprintf(line, sizeof line, "PFCOUNT %s", key);
        same_reply(line);
    }
    /* Merges: sparse into sparse, sparse with dense, into new and old keys. */
    same_reply("PFMERGE m1 h1 h2 h3");
    same_value("m1");
    same_reply("PFMERGE m2 h3 h7");
    same_value("m2");
    same_reply("PFMERGE h2 h4 h5");
    same_value("h2");
    same_reply("PFMERGE h7 h0 h1 h2 h3 h4 h5 h6");
    same_value("h7");
    same_reply("PFCOUNT m1 m2 h2 h7");
    same_reply("PFDEBUG TODENSE h1");
    same_value("h1");
}

/* ---- Tests ---- */

/* Values built by redis-server and stored in kvnode read, grow and merge
 * exactly as in redis-server. */
static void test_redis_values_in_kvnode(void **state)
{
    (void)state;
    check_direction(rc, kc);
}

/* Values built by kvnode and stored in redis-server: the same. */
static void test_kvnode_values_in_redis(void **state)
{
    (void)state;
    check_direction(kc, rc);
}

/* A merge over values of both origins at once gives the same bytes on
 * both servers. */
static void test_mixed_origins_merge(void **state)
{
    (void)state;
    pfadd_n(rc, "a", "x", 120);
    pfadd_n(kc, "b", "y", 5000);
    pfadd_n(rc, "c", "z", 1500);
    copy_value(rc, kc, "a");
    copy_value(kc, rc, "b");
    copy_value(rc, kc, "c");
    same_reply("PFMERGE all a b c");
    same_value("all");
    same_reply("PFMERGE sp a c");
    same_value("sp");
    same_reply("PFDEBUG ENCODING sp");
    same_reply("PFCOUNT all sp a b c");
    same_reply("PFCOUNT all");
}

/* kvnode killed with SIGKILL recovers its HLLs byte for byte: the cached
 * cardinality PFCOUNT stored, and which values are sparse, even when the
 * restarted node has a much lower hll-sparse-max-bytes (replay does not
 * convert by size; the logged conversions do it). New writes then follow
 * the new limit. */
static void test_recovery_under_another_sparse_limit(void **state)
{
    (void)state;
    pfadd_n(kc, "sp", "s", 100);    /* sparse, a few hundred bytes */
    pfadd_n(kc, "de", "d", 3000);   /* converted to dense on the way */
    assert_status(kc, "CONFIG SET hll-sparse-max-bytes 100", "OK");
    pfadd_n(kc, "lim", "l", 60);    /* converted at 100 bytes */
    assert_status(kc, "CONFIG SET hll-sparse-max-bytes 3000", "OK");
    long long card = integer(kc, "PFCOUNT sp");
    assert_true(card > 90 && card < 110);
    size_t lsp, lde, llim;
    char *sp = get_value(kc, "sp", &lsp), *de = get_value(kc, "de", &lde),
         *lim = get_value(kc, "lim", &llim);
    assert_true((unsigned char)sp[15] < 0x80); /* the cache is valid */
    assert_true(lsp > 200);
    assert_int_equal(llim, 12304);
    kv_client_free(kc);
    kc = NULL;
    h_stop(&pr.kv, SIGKILL, 10000);
    /* Restart with a limit below the sparse value's size. */
    /* The current arguments live in kv's own buffer: copy them first. */
    static char saved[8192];
    const char *argv[64];
    int n = 0;
    size_t used = 0;
    for (int i = 0; i < pr.kv.argc && n < 60; i++) {
        size_t l = strlen(pr.kv.argv[i]) + 1;
        assert_true(used + l <= sizeof saved);
        argv[n++] = memcpy(saved + used, pr.kv.argv[i], l);
        used += l;
    }
    argv[n++] = "--hll-sparse-max-bytes";
    argv[n++] = "30";
    argv[n] = NULL;
    h_set_args(&pr.kv, argv);
    assert_int_equal(h_restart(&pr.kv), 0);
    kc = h_connect(pr.kv.port);
    assert_non_null(kc);
    size_t l2;
    char *v = get_value(kc, "sp", &l2);
    assert_int_equal(l2, lsp);
    assert_memory_equal(v, sp, lsp);
    free(v);
    v = get_value(kc, "de", &l2);
    assert_int_equal(l2, lde);
    assert_memory_equal(v, de, lde);
    free(v);
    v = get_value(kc, "lim", &l2);
    assert_int_equal(l2, llim);
    assert_memory_equal(v, lim, llim);
    free(v);
    assert_int_equal(integer(kc, "PFCOUNT sp"), card);
    /* The next growth of "sp" follows the new limit. */
    pfadd_n(kc, "sp", "more", 5);
    assert_status(kc, "PFDEBUG ENCODING sp", "dense");
    free(sp);
    free(de);
    free(lim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_redis_values_in_kvnode, flush),
        cmocka_unit_test_setup(test_kvnode_values_in_redis, flush),
        cmocka_unit_test_setup(test_mixed_origins_merge, flush),
        cmocka_unit_test_setup(test_recovery_under_another_sparse_limit, flush),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
