/* test_dump_stream_cross.c — stream DUMP payloads (Redis 7.0's
 * RDB_TYPE_STREAM_LISTPACKS_2) move between redis-server 7.0.15 and kvnode
 * in both directions, for streams of many shapes: empty (never filled,
 * emptied by XDEL, made by XGROUP CREATE MKSTREAM), one entry, same and
 * changing fields, integer-looking and binary fields and values, IDs whose
 * sequence goes down between entries of a node, many nodes split by entry
 * count and by bytes, deleted entries (a node's first, a whole node),
 * exact and approximate trims, XSETID, consumer groups with consumers,
 * pending entries (claimed, acknowledged, delivered many times), a consumer
 * with nothing pending and a large stream.
 *
 * Each stream is built by the same commands (explicit IDs) on both servers.
 * Then, per stream:
 *  - without consumer groups (no clock in the value) both DUMPs are byte
 *    for byte the same and XINFO STREAM FULL answers the same;
 *  - Redis's payload restored in kvnode gives XINFO STREAM FULL as Redis
 *    has it, and DUMPs back to the very same bytes;
 *  - kvnode's payload restored in Redis gives XINFO STREAM FULL as kvnode
 *    has it;
 *  - after kill -9, kvnode recovers the restored streams (same DEBUG
 *    DIGEST). */
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
    int r = h_pair_start(&pr, "dumpstream", NULL, extra);
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

/* ---- Helpers ---- */

#define TEXT_MAX (8u << 20)

static void run(kv_client *c, int argc, const char *const *argv, const size_t *lens,
                const char *who)
{
    kv_reply *r = h_cmdv(c, argc, argv, lens);
    assert_non_null(r);
    if (r->type == KV_REPLY_ERROR)
        fprintf(stderr, "%s on %s: %s\n", argv[0], who, r->str);
    assert_int_not_equal(r->type, KV_REPLY_ERROR);
    kv_reply_free(r);
}

/* A command line on both servers; must not fail on either. */
static void both(const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    kv_client *cs[2] = {rc, kc};
    for (int i = 0; i < 2; i++) {
        kv_reply *r = h_cmd(cs[i], line);
        assert_non_null(r);
        if (r->type == KV_REPLY_ERROR)
            fprintf(stderr, "%s on %s: %s\n", line, i ? "kvnode" : "redis", r->str);
        assert_int_not_equal(r->type, KV_REPLY_ERROR);
        kv_reply_free(r);
    }
}

/* XADD key id field value (binary-safe) on both servers. */
static void xadd(const char *key, const char *id, int npairs, const char *const *fv,
                 const size_t *fvlen)
{
    const char *argv[64];
    size_t lens[64];
    argv[0] = "XADD", lens[0] = 4;
    argv[1] = key, lens[1] = strlen(key);
    argv[2] = id, lens[2] = strlen(id);
    for (int i = 0; i < 2 * npairs; i++) {
        argv[3 + i] = fv[i];
        lens[3 + i] = fvlen[i];
    }
    run(rc, 3 + 2 * npairs, argv, lens, "redis");
    run(kc, 3 + 2 * npairs, argv, lens, "kvnode");
}

static char *xinfo_full(kv_client *c, const char *key)
{
    const char *argv[5] = {"XINFO", "STREAM", key, "FULL", "COUNT"};
    const char *all[6] = {argv[0], argv[1], argv[2], argv[3], argv[4], "0"};
    kv_reply *r = h_cmdv(c, 6, all, NULL);
    assert_non_null(r);
    char *out = malloc(TEXT_MAX);
    h_reply_text(r, out, TEXT_MAX);
    kv_reply_free(r);
    /* Redis's count of rax nodes follows its tree's history; kvnode
     * reports an estimate (cmd_stream.c): leave the number out. */
    char *n = strstr(out, "radix-tree-nodes");
    if (n) {
        char *d = n + strlen("radix-tree-nodes");
        while (*d && (*d < '0' || *d > '9'))
            d++;
        char *e = d;
        while (*e >= '0' && *e <= '9')
            e++;
        memmove(d, e, strlen(e) + 1);
    }
    return out;
}

static kv_reply *dump(kv_client *c, const char *key)
{
    const char *argv[2] = {"DUMP", key};
    kv_reply *r = h_cmdv(c, 2, argv, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STRING);
    return r;
}

static void restore(kv_client *c, const char *key, const kv_reply *payload, const char *who)
{
    const char *argv[5] = {"RESTORE", key, "0", payload->str, "REPLACE"};
    size_t lens[5] = {7, strlen(key), 1, payload->len, 7};
    run(c, 5, argv, lens, who);
}

static void same_text(const char *what, const char *a, const char *b)
{
    if (strcmp(a, b) != 0)
        fprintf(stderr, "%s differs:\n  %.2000s\n  %.2000s\n", what, a, b);
    assert_string_equal(a, b);
}

static void same_bytes(const char *what, const kv_reply *a, const kv_reply *b)
{
    if (a->len != b->len || memcmp(a->str, b->str, a->len) != 0)
        fprintf(stderr, "%s: DUMP differs (%zu bytes, %zu bytes)\n", what, a->len, b->len);
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->str, b->str, a->len);
}

/* The checks of the file's header for key; clock: the stream has
 * consumer groups' times, so the two servers' own values differ. */
static void check_stream(const char *key, int clock)
{
    char k2[128];
    kv_reply *dr = dump(rc, key), *dk = dump(kc, key);
    char *ir = xinfo_full(rc, key), *ik = xinfo_full(kc, key);
    if (!clock) {
        same_bytes(key, dr, dk);
        same_text(key, ir, ik);
    }
    /* Redis's payload in kvnode: the same stream, and the same bytes back. */
    snprintf(k2, sizeof k2, "%s:from-r", key);
    restore(kc, k2, dr, "kvnode");
    char *got = xinfo_full(kc, k2);
    same_text(k2, ir, got);
    free(got);
    kv_reply *back = dump(kc, k2);
    same_bytes(k2, dr, back);
    kv_reply_free(back);
    /* kvnode's payload in Redis: the same stream. */
    snprintf(k2, sizeof k2, "%s:from-k", key);
    restore(rc, k2, dk, "redis");
    got = xinfo_full(rc, k2);
    same_text(k2, ik, got);
    free(got);
    back = dump(rc, k2);
    same_bytes(k2, dk, back);
    kv_reply_free(back);
    kv_reply_free(dr);
    kv_reply_free(dk);
    free(ir);
    free(ik);
}

/* ---- Tests ---- */

/* Empty streams: never filled, emptied by XDEL, made by MKSTREAM. */
static void test_empty(void **state)
{
    (void)state;
    both("XADD e:del 5-1 a 1");
    both("XDEL e:del 5-1");
    check_stream("e:del", 0);
    both("XADD e:trim 7-3 a 1");
    both("XADD e:trim 8-0 a 2");
    both("XTRIM e:trim MAXLEN 0");
    check_stream("e:trim", 0);
    both("XGROUP CREATE e:mk g $ MKSTREAM");
    check_stream("e:mk", 0);
    both("XGROUP CREATE e:mk2 g 0 MKSTREAM ENTRIESREAD 0");
    both("XSETID e:mk2 100-5 ENTRIESADDED 3 MAXDELETEDID 50-0");
    check_stream("e:mk2", 0);
}

/* Small streams: one entry, fields kept or changed, integer-looking and
 * binary fields and values, IDs whose seq falls within a node. */
static void test_small(void **state)
{
    (void)state;
    both("XADD s:one 1-1 f v");
    check_stream("s:one", 0);
    both("XADD s:mixed 1000-0 name alice age 30");
    both("XADD s:mixed 1000-1 name bob age 31");
    both("XADD s:mixed 1001-0 other 1 age 3");
    both("XADD s:mixed 1001-7 name carol age -12 extra 123456789012345");
    both("XADD s:mixed 1002-0 name dave age 9223372036854775807");
    both("XADD s:mixed 5000-3 1 2 3 4");
    check_stream("s:mixed", 0);
    static const char bin[] = "a\0b\r\n\xff";
    const char *fv[4] = {"k\0ey", bin, "", "empty"};
    size_t fl[4] = {4, sizeof bin - 1, 0, 5};
    xadd("s:bin", "3-3", 2, fv, fl);
    xadd("s:bin", "3-4", 2, fv, fl);
    check_stream("s:bin", 0);
    /* Sequence deltas below zero, and IDs near the top of the range. */
    both("XADD s:seq 10-100 a 1");
    both("XADD s:seq 11-0 a 2");
    both("XADD s:seq 12-18446744073709551615 a 3");
    both("XADD s:seq 18446744073709551615-5 a 4");
    check_stream("s:seq", 0);
}

/* Many nodes: split by entry count (100), by bytes (big values), and
 * after config changes; then deletions and trims of several kinds. */
static void test_nodes(void **state)
{
    (void)state;
    for (int i = 1; i <= 450; i++)
        both("XADD n:count %d-%d f%d %d g x%d", 1000 + i / 3, i % 3, i % 4 ? 0 : 1, i * 7, i);
    check_stream("n:count", 0);
    char big[700];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 1; i <= 60; i++)
        both("XADD n:bytes %d-1 field %.*s n %d", i, 100 + (i * 37) % 590, big, i);
    check_stream("n:bytes", 0);
    for (int i = 1; i <= 300; i++)
        both("XADD n:del %d-0 a %d b %d", i, i, i * i);
    both("XDEL n:del 1-0 2-0 50-0 101-0 150-0");
    for (int i = 201; i <= 300; i++)
        both("XDEL n:del %d-0", i); /* a whole node */
    check_stream("n:del", 0);
    for (int i = 1; i <= 420; i++)
        both("XADD n:trim %d-0 a %d", i, i);
    both("XTRIM n:trim MAXLEN 333");
    check_stream("n:trim", 0);
    both("XTRIM n:trim MAXLEN ~ 150");
    check_stream("n:trim", 0);
    both("XTRIM n:trim MINID 310");
    both("XADD n:trim MAXLEN = 100 1000-0 x y"); /* an explicit ID: "*" takes each server's own clock */
    check_stream("n:trim", 0);
    for (int i = 1; i <= 150; i++)
        both("XADD n:minid %d-0 a %d", i, i);
    both("XDEL n:minid 100-0");
    both("XTRIM n:minid MINID 100-0"); /* a node with nothing live left */
    check_stream("n:minid", 0);
}

/* Consumer groups: pending entries delivered, claimed, acknowledged;
 * consumers with and without pending entries; a group with an unknown
 * entries-read; names that look like integers. */
static void test_groups(void **state)
{
    (void)state;
    for (int i = 1; i <= 250; i++)
        both("XADD g:s %d-0 a %d", i, i);
    both("XGROUP CREATE g:s g1 0");
    both("XGROUP CREATE g:s 123 $");
    both("XGROUP CREATE g:s g3 100-0");
    both("XREADGROUP GROUP g1 alice COUNT 30 STREAMS g:s >");
    both("XREADGROUP GROUP g1 bob COUNT 20 STREAMS g:s >");
    both("XREADGROUP GROUP g1 bob COUNT 0 STREAMS g:s 0");
    both("XACK g:s g1 1-0 2-0 3-0 35-0");
    both("XCLAIM g:s g1 carol 0 4-0 5-0 40-0 RETRYCOUNT 7");
    both("XGROUP CREATECONSUMER g:s g1 idle");
    both("XREADGROUP GROUP g3 7 COUNT 5 STREAMS g:s >");
    both("XREADGROUP GROUP g3 x NOACK COUNT 5 STREAMS g:s >");
    both("XDEL g:s 120-0 150-0 6-0");
    check_stream("g:s", 1);
    /* A big PEL in one consumer. */
    for (int i = 1; i <= 3000; i++)
        both("XADD g:big %d-%d k %d", i, i % 5, i);
    both("XGROUP CREATE g:big grp 0");
    both("XREADGROUP GROUP grp c1 COUNT 2000 STREAMS g:big >");
    both("XREADGROUP GROUP grp c2 COUNT 600 STREAMS g:big >");
    check_stream("g:big", 1);
}

/* A large stream: 10000 entries with values of every listpack class. */
static void test_large(void **state)
{
    (void)state;
    char line[512];
    for (int i = 1; i <= 10000; i++) {
        snprintf(line, sizeof line, "XADD l:big %d-%d temp %d city c%d note %s", 1700000 + i,
                 i % 9, i * 13 - 90000, i % 37, i % 11 ? "ok" : "some-longer-note-text-here");
        kv_reply_free(h_cmd(rc, line));
        kv_reply_free(h_cmd(kc, line));
    }
    both("XDEL l:big 1700005-5 1700500-5");
    check_stream("l:big", 0);
}

/* The restored streams, groups included, survive kill -9. */
static void test_recovery(void **state)
{
    (void)state;
    char before[128], after[128];
    kv_reply *r = h_cmd(kc, "DEBUG DIGEST");
    h_reply_text(r, before, sizeof before);
    kv_reply_free(r);
    char *want = xinfo_full(kc, "g:s:from-r");
    kv_client_free(kc);
    kc = NULL;
    h_stop(&pr.kv, SIGKILL, 10000);
    assert_int_equal(h_restart(&pr.kv), 0);
    assert_true(h_wait_digest(&kc, pr.kv.port, after, sizeof after, 20000));
    assert_string_equal(before, after);
    char *have = xinfo_full(kc, "g:s:from-r");
    /* Recovery repacks nodes: compare what does not depend on them. */
    char *w = strstr(want, "last-generated-id"), *h = strstr(have, "last-generated-id");
    assert_non_null(w);
    assert_non_null(h);
    same_text("g:s:from-r after restart", w, h);
    free(want);
    free(have);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),  cmocka_unit_test(test_small),
        cmocka_unit_test(test_nodes),  cmocka_unit_test(test_groups),
        cmocka_unit_test(test_large),  cmocka_unit_test(test_recovery),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
