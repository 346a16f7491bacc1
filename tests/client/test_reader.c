/* test_reader.c — the RESP reader: every type, every split point, the
 * limits, and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvclient.h"

#if defined(__SANITIZE_ADDRESS__)
/* From the sanitizer runtime (sanitizer/allocator_interface.h). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* ---- Fixture ---- */

/* One valid reply of each shape, fed whole or in pieces by the tests. */
static const struct {
    const char *name;
    const char *bytes;
    size_t len; /* 0: strlen */
} corpus[] = {
    {"status", "+OK\r\n", 0},
    {"empty status", "+\r\n", 0},
    {"error", "-ERR unknown command 'x'\r\n", 0},
    {"integer", ":-1234567890123\r\n", 0},
    {"bulk", "$5\r\nhello\r\n", 0},
    {"empty bulk", "$0\r\n\r\n", 0},
    {"binary bulk", "$6\r\na\0\r\nb\n\r\n", 12},
    {"nil bulk", "$-1\r\n", 0},
    {"nil array", "*-1\r\n", 0},
    {"array", "*3\r\n:1\r\n$1\r\na\r\n+b\r\n", 0},
    {"empty array", "*0\r\n", 0},
    {"nested", "*2\r\n*2\r\n:1\r\n*1\r\n$2\r\nxy\r\n*0\r\n", 0},
    {"null", "_\r\n", 0},
    {"double", ",3.14159\r\n", 0},
    {"double inf", ",-inf\r\n", 0},
    {"bool", "#t\r\n", 0},
    {"blob error", "!21\r\nSYNTAX invalid syntax\r\n", 0},
    {"verbatim", "=15\r\ntxt:Some string\r\n", 0},
    {"big number", "(3492890328409238509324850943850943825024385\r\n", 0},
    {"map", "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", 0},
    {"set", "~3\r\n+a\r\n+b\r\n:3\r\n", 0},
    {"push", ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n", 0},
    {"attribute", "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n",
     0},
    {"nested attribute", "*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n:7\r\n", 0},
};
#define NCORPUS (sizeof corpus / sizeof corpus[0])

static size_t corpus_len(size_t i)
{
    return corpus[i].len ? corpus[i].len : strlen(corpus[i].bytes);
}

/* ---- Helpers ---- */

/* Parse exactly one reply from bytes given in one piece. */
static kv_reply *parse_one(const char *bytes, size_t n)
{
    kv_reader *r = kv_reader_new(NULL);
    assert_non_null(r);
    assert_int_equal(kv_reader_feed(r, bytes, n), 0);
    kv_reply *rep = NULL;
    assert_int_equal(kv_reader_get(r, &rep), 0);
    assert_non_null(rep);
    kv_reply *more = NULL;
    assert_int_equal(kv_reader_get(r, &more), 0);
    assert_null(more);
    kv_reader_free(r);
    return rep;
}

static kv_reply *parse_str(const char *s)
{
    return parse_one(s, strlen(s));
}

/* Feed bytes (with the given limits) and return the code of the first
 * failing feed or get, 0 if none failed. Replies are freed. */
static int parse_code(const kv_reader_limits *lim, const char *bytes, size_t n)
{
    kv_reader *r = kv_reader_new(lim);
    assert_non_null(r);
    int rc = kv_reader_feed(r, bytes, n);
    kv_reply *rep = NULL;
    while (rc == 0) {
        rc = kv_reader_get(r, &rep);
        if (rep == NULL)
            break;
        kv_reply_free(rep);
    }
    if (rc < 0) {
        /* Errors are sticky and come with a message. */
        assert_int_equal(kv_reader_get(r, &rep), rc);
        assert_null(rep);
        assert_int_equal(kv_reader_feed(r, "+OK\r\n", 5), rc);
        assert_true(strlen(kv_reader_errmsg(r)) > 0);
    }
    kv_reader_free(r);
    return rc;
}

static int reply_equal(const kv_reply *a, const kv_reply *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (a->type != b->type || a->integer != b->integer || a->len != b->len ||
        a->elements != b->elements || strcmp(a->vtype, b->vtype) != 0)
        return 0;
    if (a->type == KV_REPLY_DOUBLE && !(a->dval == b->dval || (isnan(a->dval) && isnan(b->dval))))
        return 0;
    if ((a->str == NULL) != (b->str == NULL) || (a->str && memcmp(a->str, b->str, a->len) != 0))
        return 0;
    for (size_t i = 0; i < a->elements; i++)
        if (!reply_equal(a->element[i], b->element[i]))
            return 0;
    return reply_equal(a->attr, b->attr);
}

static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return __sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#endif
}

static void assert_str(const kv_reply *r, const char *s)
{
    assert_non_null(r->str);
    assert_int_equal(r->len, strlen(s));
    assert_memory_equal(r->str, s, r->len);
    assert_int_equal(r->str[r->len], '\0');
}

/* ---- Tests: types ---- */

/* Each RESP2 type parses into the matching reply fields. */
static void test_resp2_types(void **state)
{
    (void)state;
    kv_reply *r = parse_str("+OK\r\n");
    assert_int_equal(r->type, KV_REPLY_STATUS);
    assert_str(r, "OK");
    kv_reply_free(r);

    r = parse_str("-WRONGTYPE Operation against a key\r\n");
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_str(r, "WRONGTYPE Operation against a key");
    kv_reply_free(r);

    r = parse_str(":-9223372036854775808\r\n");
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    assert_true(r->integer == INT64_MIN);
    kv_reply_free(r);

    r = parse_str(":+42\r\n");
    assert_int_equal(r->integer, 42);
    kv_reply_free(r);

    r = parse_one("$6\r\na\0\r\nb\n\r\n", 12);
    assert_int_equal(r->type, KV_REPLY_STRING);
    assert_int_equal(r->len, 6);
    assert_memory_equal(r->str, "a\0\r\nb\n", 6);
    kv_reply_free(r);

    r = parse_str("$-1\r\n");
    assert_int_equal(r->type, KV_REPLY_NIL);
    kv_reply_free(r);

    r = parse_str("*-1\r\n");
    assert_int_equal(r->type, KV_REPLY_NIL);
    kv_reply_free(r);

    r = parse_str("*3\r\n:1\r\n$1\r\na\r\n*0\r\n");
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    assert_int_equal(r->element[0]->integer, 1);
    assert_str(r->element[1], "a");
    assert_int_equal(r->element[2]->type, KV_REPLY_ARRAY);
    assert_int_equal(r->element[2]->elements, 0);
    kv_reply_free(r);
}

/* Each RESP3 type parses into the matching reply fields. */
static void test_resp3_types(void **state)
{
    (void)state;
    kv_reply *r = parse_str("_\r\n");
    assert_int_equal(r->type, KV_REPLY_NIL);
    kv_reply_free(r);

    r = parse_str(",1.5e3\r\n");
    assert_int_equal(r->type, KV_REPLY_DOUBLE);
    assert_true(r->dval == 1500.0);
    assert_str(r, "1.5e3");
    kv_reply_free(r);

    r = parse_str(",inf\r\n");
    assert_true(isinf(r->dval) && r->dval > 0);
    kv_reply_free(r);
    r = parse_str(",-inf\r\n");
    assert_true(isinf(r->dval) && r->dval < 0);
    kv_reply_free(r);
    r = parse_str(",nan\r\n");
    assert_true(isnan(r->dval));
    kv_reply_free(r);

    r = parse_str("#t\r\n");
    assert_int_equal(r->type, KV_REPLY_BOOL);
    assert_int_equal(r->integer, 1);
    kv_reply_free(r);
    r = parse_str("#f\r\n");
    assert_int_equal(r->integer, 0);
    kv_reply_free(r);

    r = parse_str("!21\r\nSYNTAX invalid syntax\r\n");
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_str(r, "SYNTAX invalid syntax");
    kv_reply_free(r);

    r = parse_str("=15\r\ntxt:Some string\r\n");
    assert_int_equal(r->type, KV_REPLY_VERB);
    assert_string_equal(r->vtype, "txt");
    assert_str(r, "Some string");
    kv_reply_free(r);

    r = parse_str("(-3492890328409238509324850943850943825024385\r\n");
    assert_int_equal(r->type, KV_REPLY_BIGNUM);
    assert_str(r, "-3492890328409238509324850943850943825024385");
    kv_reply_free(r);

    r = parse_str("%2\r\n+first\r\n:1\r\n+second\r\n#f\r\n");
    assert_int_equal(r->type, KV_REPLY_MAP);
    assert_int_equal(r->elements, 4);
    assert_str(r->element[0], "first");
    assert_int_equal(r->element[1]->integer, 1);
    assert_str(r->element[2], "second");
    assert_int_equal(r->element[3]->type, KV_REPLY_BOOL);
    kv_reply_free(r);

    r = parse_str("~2\r\n+a\r\n_\r\n");
    assert_int_equal(r->type, KV_REPLY_SET);
    assert_int_equal(r->elements, 2);
    assert_int_equal(r->element[1]->type, KV_REPLY_NIL);
    kv_reply_free(r);

    r = parse_str(">2\r\n+invalidate\r\n*1\r\n$3\r\nkey\r\n");
    assert_int_equal(r->type, KV_REPLY_PUSH);
    assert_int_equal(r->elements, 2);
    assert_str(r->element[1]->element[0], "key");
    kv_reply_free(r);

    r = parse_str("%0\r\n");
    assert_int_equal(r->type, KV_REPLY_MAP);
    assert_int_equal(r->elements, 0);
    kv_reply_free(r);
}

/* An attribute decorates the value after it, at the top level and inside
 * an aggregate, without counting as an element. */
static void test_attributes(void **state)
{
    (void)state;
    kv_reply *r = parse_str("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n"
                            "*2\r\n:2039123\r\n:9543892\r\n");
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    assert_non_null(r->attr);
    assert_int_equal(r->attr->type, KV_REPLY_ATTR);
    assert_int_equal(r->attr->elements, 2);
    assert_str(r->attr->element[0], "key-popularity");
    assert_int_equal(r->attr->element[1]->type, KV_REPLY_MAP);
    assert_null(r->element[0]->attr);
    kv_reply_free(r);

    r = parse_str("*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n:7\r\n");
    assert_int_equal(r->elements, 2);
    assert_null(r->attr);
    assert_non_null(r->element[0]->attr);
    assert_int_equal(r->element[0]->attr->element[1]->integer, 3600);
    assert_str(r->element[0], "v");
    assert_null(r->element[1]->attr);
    kv_reply_free(r);

    /* Two attributes in a row have nothing to decorate between them. */
    const char *twice = "|1\r\n+a\r\n+b\r\n|1\r\n+c\r\n+d\r\n+OK\r\n";
    assert_int_equal(parse_code(NULL, twice, strlen(twice)), KV_EPROTO);
}

/* Deeply nested aggregates up to max_depth parse into the right tree. */
static void test_nested_aggregates(void **state)
{
    (void)state;
    char buf[1024] = "";
    for (int i = 0; i < 32; i++)
        strcat(buf, "*2\r\n:1\r\n");
    strcat(buf, "$4\r\nleaf\r\n");
    kv_reply *r = parse_str(buf);
    kv_reply *cur = r;
    for (int i = 0; i < 32; i++) {
        assert_int_equal(cur->type, KV_REPLY_ARRAY);
        assert_int_equal(cur->elements, 2);
        assert_int_equal(cur->element[0]->integer, 1);
        cur = cur->element[1];
    }
    assert_str(cur, "leaf");
    kv_reply_free(r);
}

/* ---- Tests: incremental input ---- */

/* Every corpus reply split at every byte boundary parses exactly as it does
 * whole, and nothing is returned before the last byte. */
static void test_every_split_point(void **state)
{
    (void)state;
    for (size_t k = 0; k < NCORPUS; k++) {
        size_t n = corpus_len(k);
        kv_reply *whole = parse_one(corpus[k].bytes, n);
        for (size_t cut = 0; cut <= n; cut++) {
            kv_reader *r = kv_reader_new(NULL);
            kv_reply *rep = NULL;
            assert_int_equal(kv_reader_feed(r, corpus[k].bytes, cut), 0);
            assert_int_equal(kv_reader_get(r, &rep), 0);
            if (cut < n) {
                if (rep != NULL)
                    fail_msg("%s: reply after %zu of %zu bytes", corpus[k].name, cut, n);
                assert_int_equal(kv_reader_feed(r, corpus[k].bytes + cut, n - cut), 0);
                assert_int_equal(kv_reader_get(r, &rep), 0);
            }
            if (!reply_equal(whole, rep))
                fail_msg("%s: differs when split at %zu", corpus[k].name, cut);
            kv_reply_free(rep);
            kv_reader_free(r);
        }
        kv_reply_free(whole);
    }
}

/* The whole corpus fed one byte at a time, as a pipeline, comes out as the
 * same replies in the same order. */
static void test_byte_by_byte_pipeline(void **state)
{
    (void)state;
    kv_reader *r = kv_reader_new(NULL);
    size_t got = 0;
    for (size_t k = 0; k < NCORPUS; k++) {
        size_t n = corpus_len(k);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(kv_reader_feed(r, corpus[k].bytes + i, 1), 0);
            kv_reply *rep;
            assert_int_equal(kv_reader_get(r, &rep), 0);
            if (rep) {
                kv_reply *want = parse_one(corpus[got].bytes, corpus_len(got));
                if (!reply_equal(want, rep))
                    fail_msg("reply %zu (%s) differs", got, corpus[got].name);
                kv_reply_free(want);
                kv_reply_free(rep);
                got++;
            }
        }
    }
    assert_int_equal(got, NCORPUS);
    kv_reader_free(r);
}

/* Many replies in one chunk come out one per get, in order. */
static void test_many_replies_in_one_feed(void **state)
{
    (void)state;
    kv_reader *r = kv_reader_new(NULL);
    char buf[64];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(buf, sizeof buf, ":%d\r\n", i);
        assert_int_equal(kv_reader_feed(r, buf, (size_t)n), 0);
    }
    for (int i = 0; i < 1000; i++) {
        kv_reply *rep;
        assert_int_equal(kv_reader_get(r, &rep), 0);
        assert_non_null(rep);
        assert_int_equal(rep->integer, i);
        kv_reply_free(rep);
    }
    kv_reply *rep;
    assert_int_equal(kv_reader_get(r, &rep), 0);
    assert_null(rep);
    kv_reader_free(r);
}

/* A 1 MiB bulk string fed in 1000-byte chunks streams through a 4 KiB
 * buffer limit: payload bytes leave the input buffer as they arrive. */
static void test_large_bulk_streams_through_small_buffer(void **state)
{
    (void)state;
    kv_reader_limits lim;
    kv_reader_limits_init(&lim);
    lim.max_buffer = 4096;
    kv_reader *r = kv_reader_new(&lim);
    size_t n = 1 << 20;
    char *payload = malloc(n);
    for (size_t i = 0; i < n; i++)
        payload[i] = (char)(i * 7);
    char hdr[32];
    int hl = snprintf(hdr, sizeof hdr, "$%zu\r\n", n);
    assert_int_equal(kv_reader_feed(r, hdr, (size_t)hl), 0);
    kv_reply *rep = NULL;
    for (size_t off = 0; off < n; off += 1000) {
        size_t c = n - off < 1000 ? n - off : 1000;
        assert_int_equal(kv_reader_feed(r, payload + off, c), 0);
        assert_int_equal(kv_reader_get(r, &rep), 0);
        assert_null(rep);
    }
    assert_int_equal(kv_reader_feed(r, "\r\n", 2), 0);
    assert_int_equal(kv_reader_get(r, &rep), 0);
    assert_non_null(rep);
    assert_int_equal(rep->len, n);
    assert_memory_equal(rep->str, payload, n);
    kv_reply_free(rep);
    free(payload);
    kv_reader_free(r);
}

/* ---- Tests: limits ---- */

/* A string longer than max_bulk is refused, as a bulk header or as a
 * simple-string line, before its bytes are buffered. */
static void test_limit_bulk(void **state)
{
    (void)state;
    kv_reader_limits lim = {.max_bulk = 10};
    assert_int_equal(parse_code(&lim, "$10\r\n0123456789\r\n", 17), 0);
    assert_int_equal(parse_code(&lim, "$11\r\n", 5), KV_ETOOBIG);
    assert_int_equal(parse_code(&lim, "=11\r\n", 5), KV_ETOOBIG);
    assert_int_equal(parse_code(&lim, "!11\r\n", 5), KV_ETOOBIG);
    assert_int_equal(parse_code(&lim, "+0123456789\r\n", 13), 0);
    assert_int_equal(parse_code(&lim, "+0123456789ABCDEF", 17), KV_ETOOBIG);
    assert_int_equal(parse_code(&lim, "-0123456789A\r\n", 14), KV_ETOOBIG);
}

/* An aggregate announcing more than max_elements is refused; a map of n
 * pairs counts 2n. */
static void test_limit_elements(void **state)
{
    (void)state;
    kv_reader_limits lim = {.max_elements = 4};
    assert_int_equal(parse_code(&lim, "*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n", 20), 0);
    assert_int_equal(parse_code(&lim, "*5\r\n", 4), KV_ETOOBIG);
    assert_int_equal(parse_code(&lim, "~5\r\n", 4), KV_ETOOBIG);
    assert_int_equal(parse_code(&lim, ">5\r\n", 4), KV_ETOOBIG);
    assert_int_equal(parse_code(&lim, "%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n", 20), 0);
    assert_int_equal(parse_code(&lim, "%3\r\n", 4), KV_ETOOBIG);
    assert_int_equal(parse_code(&lim, "|3\r\n", 4), KV_ETOOBIG);
}

/* Nesting deeper than max_depth is refused, empty aggregates included. */
static void test_limit_depth(void **state)
{
    (void)state;
    kv_reader_limits lim = {.max_depth = 2};
    assert_int_equal(parse_code(&lim, "*1\r\n*1\r\n:1\r\n", 12), 0);
    assert_int_equal(parse_code(&lim, "*1\r\n*1\r\n*1\r\n:1\r\n", 16), KV_ETOOBIG);
    assert_int_equal(parse_code(&lim, "*1\r\n*1\r\n*0\r\n", 12), KV_ETOOBIG);
    assert_int_equal(parse_code(&lim, "*1\r\n%1\r\n|1\r\n", 12), KV_ETOOBIG);
}

/* Unconsumed input beyond max_buffer is refused at feed time. */
static void test_limit_buffer(void **state)
{
    (void)state;
    kv_reader_limits lim = {.max_buffer = 16};
    kv_reader *r = kv_reader_new(&lim);
    assert_int_equal(kv_reader_feed(r, "+0123456789", 11), 0);
    assert_int_equal(kv_reader_feed(r, "ABCDEF", 6), KV_ETOOBIG);
    kv_reply *rep;
    assert_int_equal(kv_reader_get(r, &rep), KV_ETOOBIG);
    assert_null(rep);
    kv_reader_free(r);

    /* Consuming makes room again. */
    r = kv_reader_new(&lim);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(kv_reader_feed(r, "+0123456789\r\n", 13), 0);
        assert_int_equal(kv_reader_get(r, &rep), 0);
        assert_non_null(rep);
        kv_reply_free(rep);
    }
    kv_reader_free(r);
}

/* Announced sizes cost nothing until the data arrives: *1000000000 is
 * refused by the default limit, and with the limits lifted neither it nor
 * $1000000000 allocates more than what was received. */
static void test_huge_counts_do_not_allocate(void **state)
{
    (void)state;
    assert_int_equal(parse_code(NULL, "*1000000000\r\n", 13), KV_ETOOBIG);
    assert_int_equal(parse_code(NULL, "%600000000000\r\n", 15), KV_ETOOBIG);
    assert_int_equal(parse_code(NULL, "$100000000000\r\n", 15), KV_ETOOBIG);
    assert_int_equal(parse_code(NULL, "*99999999999999999999999\r\n", 26), KV_EPROTO);

    kv_reader_limits lim = {.max_bulk = SIZE_MAX / 4, .max_elements = SIZE_MAX / 4};
    size_t before = heap_in_use();
    kv_reader *r = kv_reader_new(&lim);
    kv_reply *rep;
    assert_int_equal(kv_reader_feed(r, "*1000000000\r\n:1\r\n:2\r\n", 21), 0);
    assert_int_equal(kv_reader_get(r, &rep), 0);
    assert_null(rep);
    assert_true(heap_in_use() - before < 64 * 1024);
    kv_reader_free(r);

    before = heap_in_use();
    r = kv_reader_new(&lim);
    assert_int_equal(kv_reader_feed(r, "$1000000000\r\nabc", 16), 0);
    assert_int_equal(kv_reader_get(r, &rep), 0);
    assert_null(rep);
    assert_true(heap_in_use() - before < 64 * 1024);
    kv_reader_free(r);
}

/* ---- Tests: malformed input ---- */

/* Every kind of malformed input is a protocol error, never a crash, and
 * the error is sticky. */
static void test_malformed_input(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "?\r\n",                 /* bad type byte */
        "\r\n",                  /* no type byte */
        "OK\r\n",                /* inline text is not a reply */
        "$abc\r\n",              /* bad length */
        "$\r\n",                 /* empty length */
        "$-2\r\n",               /* negative length other than -1 */
        "*-5\r\n",
        "%-1\r\n",               /* null is RESP2's *-1 and $-1 only */
        "=-1\r\n",
        "$3\r\nabcXY",           /* bulk not followed by CRLF */
        "$1\r\nab\r\n",
        ":12a\r\n",              /* bad integer */
        ":\r\n",
        ":-\r\n",
        ":9223372036854775808\r\n", /* overflow */
        ",abc\r\n",              /* bad double */
        ",1.5x\r\n",
        ",\r\n",
        "#x\r\n",                /* bad boolean */
        "#tt\r\n",
        "_x\r\n",                /* null with payload */
        "(12a\r\n",              /* bad big number */
        "=3\r\nabc\r\n",         /* verbatim shorter than "fmt:" */
        "=5\r\ntxtab\r\n",       /* verbatim without ':' */
        "*2\r\n:1\r\n?\r\n",     /* bad byte inside an aggregate */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse_code(NULL, bad[i], strlen(bad[i]));
        if (rc != KV_EPROTO)
            fail_msg("input %zu (%s): got %d, want KV_EPROTO", i, bad[i], rc);
    }
    /* A number line that never ends is refused after a few bytes. */
    char longline[200];
    memset(longline, '9', sizeof longline);
    longline[0] = ':';
    assert_int_equal(parse_code(NULL, longline, sizeof longline), KV_EPROTO);
}

/* An error in the middle of a half-built tree frees the tree (ASan checks
 * for leaks) and keeps failing afterwards. */
static void test_error_mid_tree_frees_everything(void **state)
{
    (void)state;
    const char *in = "*3\r\n%1\r\n|1\r\n+a\r\n+b\r\n$5\r\nhel";
    kv_reader *r = kv_reader_new(NULL);
    kv_reply *rep;
    assert_int_equal(kv_reader_feed(r, in, strlen(in)), 0);
    assert_int_equal(kv_reader_get(r, &rep), 0);
    assert_null(rep);
    assert_int_equal(kv_reader_feed(r, "loX\r\n", 5), 0);
    assert_int_equal(kv_reader_get(r, &rep), KV_EPROTO);
    assert_non_null(strstr(kv_reader_errmsg(r), "CRLF"));
    assert_int_equal(kv_reader_get(r, &rep), KV_EPROTO);
    kv_reader_free(r);
    kv_reader_free(NULL);
    kv_reply_free(NULL);
}

/* Random bytes never crash the reader (ASan/UBSan watch). */
static void test_random_garbage(void **state)
{
    (void)state;
    srand(12345);
    const char alphabet[] = "+-:$*%~>|_,#!=(\r\n0123456789-abct";
    for (int round = 0; round < 2000; round++) {
        char buf[64];
        size_t n = (size_t)(rand() % (int)sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = alphabet[rand() % (int)(sizeof alphabet - 1)];
        kv_reader_limits lim = {.max_depth = 4, .max_elements = 8, .max_bulk = 16};
        int rc = parse_code(&lim, buf, n);
        assert_true(rc == 0 || rc == KV_EPROTO || rc == KV_ETOOBIG);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp2_types),
        cmocka_unit_test(test_resp3_types),
        cmocka_unit_test(test_attributes),
        cmocka_unit_test(test_nested_aggregates),
        cmocka_unit_test(test_every_split_point),
        cmocka_unit_test(test_byte_by_byte_pipeline),
        cmocka_unit_test(test_many_replies_in_one_feed),
        cmocka_unit_test(test_large_bulk_streams_through_small_buffer),
        cmocka_unit_test(test_limit_bulk),
        cmocka_unit_test(test_limit_elements),
        cmocka_unit_test(test_limit_depth),
        cmocka_unit_test(test_limit_buffer),
        cmocka_unit_test(test_huge_counts_do_not_allocate),
        cmocka_unit_test(test_malformed_input),
        cmocka_unit_test(test_error_mid_tree_frees_everything),
        cmocka_unit_test(test_random_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
