/* test_tzset.c — the sorted set value type: (score, member) order with
 * ties broken by member bytes, the listpack's score encodings (small and
 * large integers, fractions, infinities, -0) read back exactly, conversion
 * to skiplist on entries and member length (one way; updates never
 * convert), ranks, iteration both ways from any rank, score and lex
 * ranges with open bounds and infinities, rank-range deletion, views into
 * the set as arguments, ZSCAN coverage, zset_dup, memory accounting, and
 * a randomized run of both encodings against a sorted-array model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "tzset.h"

/* ---- Fixture ---- */

typedef struct fixture {
    kv_zset *z;
    size_t mem_before;
    size_t max_entries, max_value;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->max_entries = zset_max_listpack_entries;
    f->max_value = zset_max_listpack_value;
    zset_max_listpack_entries = 128;
    zset_max_listpack_value = 64;
    f->mem_before = kv_used_memory();
    f->z = zset_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    zset_free(f->z);
    zset_max_listpack_entries = f->max_entries;
    zset_max_listpack_value = f->max_value;
    assert_int_equal(kv_used_memory(), f->mem_before);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int set_s(kv_zset *z, const char *m, double score)
{
    return zset_set(z, m, strlen(m), score);
}

/* "m:score m:score …" from rank `from`, forward or reverse. */
static void dump(kv_zset *z, size_t from, int rev, char *out, size_t cap)
{
    out[0] = '\0';
    if (from >= zset_len(z))
        return;
    zset_iter it;
    const char *m;
    size_t n, at = 0;
    double score;
    zset_iter_init(&it, z, from, rev);
    while (zset_iter_next(&it, &m, &n, &score))
        at += (size_t)snprintf(out + at, cap - at, "%s%.*s:%.17g", at ? " " : "", (int)n, m,
                               score);
}

static kv_zset *make_skiplist(void)
{
    size_t keep = zset_max_listpack_entries;
    zset_max_listpack_entries = 0;
    kv_zset *z = zset_new();
    set_s(z, "__tmp", 0);
    zset_del(z, "__tmp", 5);
    zset_max_listpack_entries = keep;
    assert_string_equal(zset_encoding(z), "skiplist");
    return z;
}

/* ---- Tests ---- */

/* An empty set: no members, no ranks, no ranges, listpack encoding. */
static void test_empty(void **state)
{
    fixture *f = *state;
    assert_int_equal(zset_len(f->z), 0);
    assert_string_equal(zset_encoding(f->z), "listpack");
    double s;
    assert_int_equal(zset_score(f->z, "a", 1, &s), 0);
    assert_int_equal(zset_rank(f->z, "a", 1, NULL), -1);
    assert_int_equal(zset_del(f->z, "a", 1), 0);
    zrange_score r = {-INFINITY, INFINITY, 0, 0};
    size_t a, b;
    assert_int_equal(zset_range_by_score(f->z, &r, &a, &b), 0);
}

/* Both encodings order by score, then member bytes (shorter first on a
 * common prefix), and iterate the same both ways from any rank. */
static void test_order_both_encodings(void **state)
{
    fixture *f = *state;
    kv_zset *zs[2] = {f->z, make_skiplist()};
    for (int e = 0; e < 2; e++) {
        kv_zset *z = zs[e];
        set_s(z, "b", 1);
        set_s(z, "a", 1);
        set_s(z, "ab", 1);
        set_s(z, "c", 0.5);
        set_s(z, "d", -INFINITY);
        set_s(z, "e", INFINITY);
        assert_int_equal(zset_set(z, "\xff", 1, 1), ZSET_ADDED);
        assert_int_equal(zset_set(z, "", 0, 1), ZSET_ADDED);
        char out[512];
        dump(z, 0, 0, out, sizeof out);
        assert_string_equal(out, "d:-inf c:0.5 :1 a:1 ab:1 b:1 \xff:1 e:inf");
        dump(z, 7, 1, out, sizeof out);
        assert_string_equal(out, "e:inf \xff:1 b:1 ab:1 a:1 :1 c:0.5 d:-inf");
        dump(z, 3, 0, out, sizeof out);
        assert_string_equal(out, "a:1 ab:1 b:1 \xff:1 e:inf");
        dump(z, 3, 1, out, sizeof out);
        assert_string_equal(out, "a:1 :1 c:0.5 d:-inf");
        assert_int_equal(zset_rank(z, "ab", 2, NULL), 4);
        assert_int_equal(zset_rank(z, "", 0, NULL), 2);
        assert_int_equal(zset_rank(z, "e", 1, NULL), 7);
        /* Moving a member re-sorts it; the same score is no change. */
        assert_int_equal(set_s(z, "d", 2), ZSET_UPDATED);
        assert_int_equal(set_s(z, "d", 2), ZSET_SAME);
        assert_int_equal(zset_rank(z, "d", 1, NULL), 6);
        assert_int_equal(zset_rank(z, "c", 1, NULL), 0);
    }
    assert_string_equal(zset_encoding(zs[0]), "listpack");
    zset_free(zs[1]);
}

/* Listpack scores read back bit for bit: small and large integers,
 * fractions, extremes and infinities; -0 reads back as 0 (as Redis's
 * listpack), while a skiplist keeps -0. */
static void test_score_encodings(void **state)
{
    fixture *f = *state;
    double v[] = {0,          1,         -1,        31,       -32,
                  64,         1e15,      -1e15,     9007199254740991.0, -9007199254740991.0,
                  9007199254740992.0,    1e300,     -1e-300,  0.1,      4.9e-324,
                  1.7976931348623157e308, INFINITY, -INFINITY, 123456.789, -0.5};
    size_t n = sizeof v / sizeof *v;
    for (size_t i = 0; i < n; i++) {
        char m[16];
        snprintf(m, sizeof m, "m%zu", i);
        set_s(f->z, m, v[i]);
    }
    assert_string_equal(zset_encoding(f->z), "listpack");
    for (size_t i = 0; i < n; i++) {
        char m[16];
        double s;
        snprintf(m, sizeof m, "m%zu", i);
        assert_int_equal(zset_score(f->z, m, strlen(m), &s), 1);
        assert_memory_equal(&s, &v[i], sizeof s);
    }
    double s;
    set_s(f->z, "negz", -0.0);
    assert_int_equal(zset_score(f->z, "negz", 4, &s), 1);
    assert_true(s == 0 && !signbit(s));
    kv_zset *sl = make_skiplist();
    set_s(sl, "negz", -0.0);
    assert_int_equal(zset_score(sl, "negz", 4, &s), 1);
    assert_true(s == 0 && signbit(s));
    zset_free(sl);
    char buf[ZSET_SCOREBUF];
    assert_int_equal(zset_fmt_score(buf, -0.0), 2);
    assert_string_equal(buf, "-0");
    zset_fmt_score(buf, 1.1);
    assert_string_equal(buf, "1.1000000000000001");
    zset_fmt_score(buf, -INFINITY);
    assert_string_equal(buf, "-inf");
    zset_fmt_score(buf, 1e20);
    assert_string_equal(buf, "1e+20");
    zset_fmt_score(buf, 3);
    assert_string_equal(buf, "3");
}

/* The listpack converts when a new member would pass the entry limit or
 * is longer than the value limit; updating an existing member never
 * converts; conversion keeps every member and score and is one way. */
static void test_conversions(void **state)
{
    fixture *f = *state;
    zset_max_listpack_entries = 4;
    zset_max_listpack_value = 8;
    for (int i = 0; i < 4; i++) {
        char m[8];
        snprintf(m, sizeof m, "m%d", i);
        set_s(f->z, m, i);
    }
    assert_string_equal(zset_encoding(f->z), "listpack");
    set_s(f->z, "m0", 100);
    assert_string_equal(zset_encoding(f->z), "listpack");
    set_s(f->z, "m4", 4);
    assert_string_equal(zset_encoding(f->z), "skiplist");
    char out[256];
    dump(f->z, 0, 0, out, sizeof out);
    assert_string_equal(out, "m1:1 m2:2 m3:3 m4:4 m0:100");
    zset_del(f->z, "m4", 2);
    zset_del(f->z, "m3", 2);
    assert_string_equal(zset_encoding(f->z), "skiplist");
    kv_zset *z = zset_new();
    set_s(z, "12345678", 1);
    assert_string_equal(zset_encoding(z), "listpack");
    set_s(z, "123456789", 2);
    assert_string_equal(zset_encoding(z), "skiplist");
    assert_int_equal(zset_len(z), 2);
    zset_free(z);
    zset_max_listpack_entries = 0;
    z = zset_new();
    set_s(z, "a", 1);
    assert_string_equal(zset_encoding(z), "skiplist");
    zset_free(z);
}

/* A skiplist result within both thresholds becomes a listpack with the
 * same members in order (a -0 turning 0); a bigger one stays. */
static void test_convert_if_small(void **state)
{
    (void)state;
    kv_zset *z = zset_new_skiplist();
    assert_string_equal(zset_encoding(z), "skiplist");
    set_s(z, "b", 2);
    set_s(z, "a", -0.0);
    set_s(z, "c", 1.5);
    zset_convert_if_small(z);
    assert_string_equal(zset_encoding(z), "listpack");
    char out[128];
    dump(z, 0, 0, out, sizeof out);
    assert_string_equal(out, "a:0 c:1.5 b:2");
    dump(z, 2, 1, out, sizeof out);
    assert_string_equal(out, "b:2 c:1.5 a:0");
    assert_int_equal(zset_rank(z, "b", 1, NULL), 2);
    zset_free(z);
    z = zset_new_skiplist();
    for (int i = 0; i < 129; i++) {
        char m[8];
        snprintf(m, sizeof m, "%d", i);
        set_s(z, m, i);
    }
    zset_convert_if_small(z);
    assert_string_equal(zset_encoding(z), "skiplist");
    zset_del(z, "0", 1);
    set_s(z, "this member is longer than sixty-four bytes, so it needs a skiplist", 1);
    zset_del(z, "1", 1);
    zset_convert_if_small(z);
    assert_string_equal(zset_encoding(z), "skiplist");
    zset_free(z);
}

/* Score ranges: inclusive and exclusive bounds, infinities, empty and
 * inverted ranges, on both encodings. */
static void test_score_ranges(void **state)
{
    fixture *f = *state;
    kv_zset *zs[2] = {f->z, make_skiplist()};
    for (int e = 0; e < 2; e++) {
        kv_zset *z = zs[e];
        for (int i = 1; i <= 9; i++) {
            char m[4];
            snprintf(m, sizeof m, "%c", 'a' + i);
            set_s(z, m, i);
        }
        struct {
            double min, max;
            int minex, maxex, found;
            size_t first, last;
        } cases[] = {
            {2, 4, 0, 0, 1, 1, 3},       {2, 4, 1, 0, 1, 2, 3},     {2, 4, 0, 1, 1, 1, 2},
            {2, 4, 1, 1, 1, 2, 2},       {-INFINITY, INFINITY, 0, 0, 1, 0, 8},
            {4, 2, 0, 0, 0, 0, 0},       {3, 3, 0, 0, 1, 2, 2},     {3, 3, 1, 0, 0, 0, 0},
            {9.5, 20, 0, 0, 0, 0, 0},    {-5, 0.5, 0, 0, 0, 0, 0},  {3.5, 3.7, 0, 0, 0, 0, 0},
            {9, INFINITY, 0, 0, 1, 8, 8}, {-INFINITY, 1, 0, 0, 1, 0, 0},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            zrange_score r = {cases[i].min, cases[i].max, cases[i].minex, cases[i].maxex};
            size_t a = 99, b = 99;
            int found = zset_range_by_score(z, &r, &a, &b);
            assert_int_equal(found, cases[i].found);
            if (found) {
                assert_int_equal(a, cases[i].first);
                assert_int_equal(b, cases[i].last);
            }
        }
    }
    zset_free(zs[1]);
}

static zlex_bound lb(const char *s)
{
    zlex_bound b = {ZLEX_VALUE, 0, NULL, 0};
    if (!strcmp(s, "-")) {
        b.kind = ZLEX_NEG_INF;
        b.ex = 1;
    } else if (!strcmp(s, "+")) {
        b.kind = ZLEX_POS_INF;
        b.ex = 1;
    } else {
        b.ex = s[0] == '(';
        b.p = s + 1;
        b.n = strlen(s + 1);
    }
    return b;
}

/* Lex ranges with [ ( - + bounds, on both encodings. */
static void test_lex_ranges(void **state)
{
    fixture *f = *state;
    kv_zset *zs[2] = {f->z, make_skiplist()};
    const char *ms[] = {"", "a", "aa", "ab", "b", "c", "d"};
    for (int e = 0; e < 2; e++) {
        kv_zset *z = zs[e];
        for (size_t i = 0; i < 7; i++)
            set_s(z, ms[i], 0);
        struct {
            const char *min, *max;
            int found;
            size_t first, last;
        } cases[] = {
            {"-", "+", 1, 0, 6},   {"[a", "[b", 1, 1, 4},  {"(a", "[b", 1, 2, 4},
            {"[a", "(b", 1, 1, 3}, {"(a", "(aa", 0, 0, 0}, {"+", "-", 0, 0, 0},
            {"-", "-", 0, 0, 0},   {"+", "+", 0, 0, 0},    {"[", "[", 1, 0, 0},
            {"(", "[a", 1, 1, 1},  {"[d", "+", 1, 6, 6},   {"[e", "+", 0, 0, 0},
            {"[c", "[b", 0, 0, 0}, {"[b", "[b", 1, 4, 4},  {"(b", "[b", 0, 0, 0},
            {"-", "[", 1, 0, 0},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            zrange_lex r = {lb(cases[i].min), lb(cases[i].max)};
            size_t a = 99, b = 99;
            int found = zset_range_by_lex(z, &r, &a, &b);
            assert_int_equal(found, cases[i].found);
            if (found) {
                assert_int_equal(a, cases[i].first);
                assert_int_equal(b, cases[i].last);
            }
        }
    }
    zset_free(zs[1]);
}

/* Deleting a rank range removes exactly those members, on both
 * encodings, and leaves ranks and lookups consistent. */
static void test_delete_ranks(void **state)
{
    fixture *f = *state;
    kv_zset *zs[2] = {f->z, make_skiplist()};
    for (int e = 0; e < 2; e++) {
        kv_zset *z = zs[e];
        for (int i = 0; i < 10; i++) {
            char m[4];
            snprintf(m, sizeof m, "%d", i);
            set_s(z, m, i);
        }
        zset_delete_ranks(z, 2, 4);
        zset_delete_ranks(z, 0, 0);
        zset_delete_ranks(z, 5, 5);
        char out[256];
        dump(z, 0, 0, out, sizeof out);
        assert_string_equal(out, "1:1 5:5 6:6 7:7 8:8");
        assert_int_equal(zset_rank(z, "8", 1, NULL), 4);
        double s;
        assert_int_equal(zset_score(z, "3", 1, &s), 0);
        zset_delete_ranks(z, 0, 4);
        assert_int_equal(zset_len(z), 0);
    }
    zset_free(zs[1]);
}

/* A member given as a view into the set itself (from an iterator) is
 * copied before the set moves anything. */
static void test_views_as_arguments(void **state)
{
    fixture *f = *state;
    kv_zset *zs[2] = {f->z, make_skiplist()};
    for (int e = 0; e < 2; e++) {
        kv_zset *z = zs[e];
        set_s(z, "alpha", 1);
        set_s(z, "beta", 2);
        zset_iter it;
        const char *m;
        size_t n;
        double s;
        zset_iter_init(&it, z, 0, 0);
        zset_iter_next(&it, &m, &n, &s);
        assert_int_equal(zset_set(z, m, n, 10), ZSET_UPDATED);
        char out[128];
        dump(z, 0, 0, out, sizeof out);
        assert_string_equal(out, "beta:2 alpha:10");
    }
    zset_free(zs[1]);
}

static void count_member(void *arg, const char *m, size_t n, double score)
{
    int *seen = arg;
    char b[16];
    assert_true(n > 1 && n < sizeof b && m[0] == 'm');
    memcpy(b, m + 1, n - 1);
    b[n - 1] = '\0';
    int i = atoi(b);
    assert_true(i >= 0 && i < 1000);
    assert_true(score == i * 0.5);
    seen[i]++;
}

/* ZSCAN of a skiplist set visits every member with its score across
 * several calls; a listpack set is reported whole in one call. */
static void test_scan_coverage(void **state)
{
    fixture *f = *state;
    kv_zset *z = zset_new();
    for (int i = 0; i < 1000; i++) {
        char m[16];
        snprintf(m, sizeof m, "m%d", i);
        set_s(z, m, i * 0.5);
    }
    assert_string_equal(zset_encoding(z), "skiplist");
    int seen[1000] = {0}, calls = 0;
    uint64_t cursor = 0;
    do {
        cursor = zset_scan(z, cursor, count_member, seen);
        calls++;
    } while (cursor);
    assert_true(calls > 1);
    for (int i = 0; i < 1000; i++)
        assert_true(seen[i] >= 1);
    zset_free(z);
    for (int i = 0; i < 10; i++) {
        char m[16];
        snprintf(m, sizeof m, "m%d", i);
        set_s(f->z, m, i * 0.5);
    }
    memset(seen, 0, sizeof seen);
    assert_int_equal(zset_scan(f->z, 0, count_member, seen), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(seen[i], 1);
}

/* zset_dup copies members, scores and encoding; the copy is independent. */
static void test_dup(void **state)
{
    fixture *f = *state;
    set_s(f->z, "a", 1);
    set_s(f->z, "b", 2);
    kv_zset *d = zset_dup(f->z);
    assert_string_equal(zset_encoding(d), "listpack");
    set_s(d, "c", 3);
    assert_int_equal(zset_len(f->z), 2);
    kv_zset *sl = make_skiplist();
    set_s(sl, "x", 5);
    set_s(sl, "y", 6);
    kv_zset *e = zset_dup(sl);
    assert_string_equal(zset_encoding(e), "skiplist");
    char out[64];
    dump(e, 0, 0, out, sizeof out);
    assert_string_equal(out, "x:5 y:6");
    zset_del(e, "x", 1);
    assert_int_equal(zset_len(sl), 2);
    zset_free(d);
    zset_free(e);
    zset_free(sl);
    zset_free(NULL);
}

/* zset_mem grows with members and returns to the empty figure; a small
 * member with a small integer score takes a few bytes in a listpack. */
static void test_mem_accounting(void **state)
{
    fixture *f = *state;
    size_t empty = zset_mem(f->z);
    for (int i = 0; i < 100; i++) {
        char m[8];
        snprintf(m, sizeof m, "%02d", i);
        set_s(f->z, m, i % 30);
    }
    assert_true(zset_mem(f->z) - empty <= 100 * 6 + 128);
    for (int i = 0; i < 100; i++) {
        char m[8];
        snprintf(m, sizeof m, "%02d", i);
        assert_int_equal(zset_del(f->z, m, 2), 1);
    }
    assert_int_equal(zset_mem(f->z), empty);
}

/* Model: members "0".."199" with scores, kept in a plain array. */
typedef struct model {
    int present[200];
    double score[200];
} model;

static int model_cmp_idx(const model *md, int a, int b)
{
    if (md->score[a] != md->score[b])
        return md->score[a] < md->score[b] ? -1 : 1;
    char x[8], y[8];
    snprintf(x, sizeof x, "%d", a);
    snprintf(y, sizeof y, "%d", b);
    return zset_cmp(x, strlen(x), y, strlen(y));
}

/* The model's members in order, as "m:score" text. */
static void model_dump(const model *md, char *out, size_t cap)
{
    int idx[200], n = 0;
    for (int i = 0; i < 200; i++)
        if (md->present[i])
            idx[n++] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && model_cmp_idx(md, idx[j - 1], idx[j]) > 0; j--) {
            int t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    size_t at = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s%d:%.17g", i ? " " : "", idx[i],
                               md->score[idx[i]]);
}

/* Random sets, moves, deletes and rank-range deletes on both encodings
 * agree with the model in order, ranks and reverse iteration. */
static void test_random_against_model(void **state)
{
    (void)state;
    static char want[200 * 40], got[200 * 40], rev[200 * 40];
    for (int round = 0; round < 30; round++) {
        zset_max_listpack_entries = round % 2 ? 1000 : 16;
        kv_zset *z = zset_new();
        model md;
        memset(&md, 0, sizeof md);
        for (int op = 0; op < 600; op++) {
            int i = (int)(rng() % 200);
            char m[8];
            snprintf(m, sizeof m, "%d", i);
            uint64_t r = rng() % 10;
            if (r < 6) {
                double s = (double)(int)(rng() % 20) / (rng() % 2 ? 1 : 4);
                int res = set_s(z, m, s);
                assert_int_equal(res, !md.present[i] ? ZSET_ADDED
                                      : md.score[i] == s ? ZSET_SAME
                                                         : ZSET_UPDATED);
                md.present[i] = 1;
                md.score[i] = s;
            } else if (r < 9) {
                assert_int_equal(zset_del(z, m, strlen(m)), md.present[i]);
                md.present[i] = 0;
            } else if (zset_len(z) > 2) {
                size_t len = zset_len(z), a = (size_t)(rng() % len);
                size_t b = a + (size_t)(rng() % 3);
                if (b >= len)
                    b = len - 1;
                zset_iter it;
                const char *mm;
                size_t n;
                double s;
                zset_iter_init(&it, z, a, 0);
                for (size_t k = a; k <= b; k++) {
                    assert_true(zset_iter_next(&it, &mm, &n, &s));
                    char b2[8];
                    memcpy(b2, mm, n);
                    b2[n] = '\0';
                    md.present[atoi(b2)] = 0;
                }
                zset_delete_ranks(z, a, b);
            }
        }
        model_dump(&md, want, sizeof want);
        dump(z, 0, 0, got, sizeof got);
        assert_string_equal(got, want);
        size_t len = zset_len(z);
        if (len) {
            dump(z, len - 1, 1, rev, sizeof rev);
            assert_int_equal(strlen(rev), strlen(want));
        }
        for (int i = 0; i < 200; i++) {
            char m[8];
            snprintf(m, sizeof m, "%d", i);
            long long rank = zset_rank(z, m, strlen(m), NULL);
            if (!md.present[i]) {
                assert_int_equal(rank, -1);
                continue;
            }
            long long want_rank = 0;
            for (int j = 0; j < 200; j++)
                want_rank += md.present[j] && model_cmp_idx(&md, j, i) < 0;
            assert_int_equal(rank, want_rank);
        }
        zset_free(z);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_both_encodings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_score_encodings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conversions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_convert_if_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_score_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lex_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_ranks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_views_as_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_coverage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_accounting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_against_model, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
