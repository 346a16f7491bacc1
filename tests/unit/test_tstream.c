/* test_tstream.c — the stream value type: appends across nodes split at
 * stream-node-max-entries, forward and reverse iteration over any range
 * skipping deleted entries, first-ID upkeep, node removal when emptied,
 * trimming as Redis's streamTrim (MAXLEN/MINID, exact, ~ removing whole
 * nodes only, LIMIT), the lag helpers, groups and consumers kept in name
 * order, PELs shared between group and consumer, stream_dup, memory given
 * back, and a randomized run against an array model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "tstream.h"

/* ---- Fixture ---- */

typedef struct fixture {
    size_t mem_before;
    size_t max_entries, max_bytes;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->max_entries = stream_node_max_entries;
    f->max_bytes = stream_node_max_bytes;
    f->mem_before = kv_used_memory();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    stream_node_max_entries = f->max_entries;
    stream_node_max_bytes = f->max_bytes;
    assert_int_equal(kv_used_memory(), f->mem_before);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

static sid mk(uint64_t ms, uint64_t seq)
{
    sid id = {ms, seq};
    return id;
}

static void add(kv_stream *s, uint64_t ms, uint64_t seq, int v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%d", v);
    const char *fv[2] = {"v", buf};
    size_t fl[2] = {1, (size_t)n};
    stream_append(s, mk(ms, seq), 1, fv, fl);
}

/* IDs in [lo, hi] in iteration order, as "ms-seq " text. */
static void ids_text(kv_stream *s, sid lo, sid hi, int rev, char *out, size_t cap)
{
    stream_iter it;
    stream_iter_init(&it, s, lo, hi, rev);
    sid id;
    size_t np;
    size_t at = 0;
    out[0] = '\0';
    while (stream_iter_next(&it, &id, &np)) {
        for (size_t i = 0; i < np; i++) {
            const char *f, *v;
            size_t fl, vl;
            stream_iter_pair(&it, &f, &fl, &v, &vl);
            assert_int_equal(fl, 1);
            assert_int_equal(f[0], 'v');
            assert_true(vl >= 1 && v[0] >= '0' && v[0] <= '9');
        }
        at += (size_t)snprintf(out + at, cap - at, "%llu-%llu ", (unsigned long long)id.ms,
                               (unsigned long long)id.seq);
    }
}

static const sid LO = {0, 0}, HI = {UINT64_MAX, UINT64_MAX};

/* ---- Tests ---- */

/* Entries come back in order both ways, ranges are inclusive, deleted
 * entries are skipped, and the first ID follows deletions. */
static void test_append_iterate_delete(void **state)
{
    (void)state;
    stream_node_max_entries = 3;
    kv_stream *s = stream_new();
    for (int i = 1; i <= 10; i++)
        add(s, (uint64_t)i, 0, i);
    assert_int_equal(stream_len(s), 10);
    assert_int_equal(stream_nodes(s), 4);
    assert_int_equal(stream_entries_added(s), 10);
    char t[512];
    ids_text(s, mk(3, 0), mk(7, 0), 0, t, sizeof t);
    assert_string_equal(t, "3-0 4-0 5-0 6-0 7-0 ");
    ids_text(s, mk(3, 1), mk(7, 0), 1, t, sizeof t);
    assert_string_equal(t, "7-0 6-0 5-0 4-0 ");
    assert_int_equal(stream_delete(s, mk(1, 0)), 1);
    assert_int_equal(stream_delete(s, mk(1, 0)), 0);
    assert_int_equal(stream_delete(s, mk(99, 0)), 0);
    assert_true(sid_cmp(stream_first_id(s), mk(2, 0)) == 0);
    assert_int_equal(stream_delete(s, mk(2, 0)), 1);
    assert_int_equal(stream_delete(s, mk(3, 0)), 1); /* the first node empties: freed */
    assert_int_equal(stream_nodes(s), 3);
    assert_true(sid_cmp(stream_first_id(s), mk(4, 0)) == 0);
    assert_int_equal(stream_delete(s, mk(5, 0)), 1);
    ids_text(s, LO, HI, 0, t, sizeof t);
    assert_string_equal(t, "4-0 6-0 7-0 8-0 9-0 10-0 ");
    ids_text(s, LO, HI, 1, t, sizeof t);
    assert_string_equal(t, "10-0 9-0 8-0 7-0 6-0 4-0 ");
    assert_true(stream_has(s, mk(4, 0)));
    assert_false(stream_has(s, mk(5, 0)));
    ids_text(s, mk(11, 0), HI, 0, t, sizeof t);
    assert_string_equal(t, "");
    ids_text(s, LO, mk(3, 9), 1, t, sizeof t);
    assert_string_equal(t, "");
    assert_true(sid_cmp(stream_last_id(s), mk(10, 0)) == 0);
    stream_free(s);
}

/* An entry with the fields of its node's first entry stores only values
 * (Redis's SAMEFIELDS); entries with other fields, more or fewer, keep
 * theirs; all read back exactly, both ways. */
static void test_same_fields(void **state)
{
    (void)state;
    stream_node_max_entries = 4;
    kv_stream *s = stream_new();
    const char *a[] = {"name", "x0", "age", "1"};
    const char *b[] = {"name", "x1", "age", "2"};
    const char *c[] = {"name", "x2", "zzz", "3"};
    const char *d[] = {"name", "x3"};
    const char *e[] = {"", "", "age", "\0"};
    size_t la[] = {4, 2, 3, 1}, ld[] = {4, 2}, le[] = {0, 0, 3, 1};
    const char *const *all[] = {a, b, c, d, b, e, a, b};
    const size_t *lens[] = {la, la, la, ld, la, le, la, la};
    size_t np[] = {2, 2, 2, 1, 2, 2, 2, 2};
    for (int i = 0; i < 8; i++)
        stream_append(s, mk((uint64_t)i + 1, 0), np[i], all[i], lens[i]);
    for (int rev = 0; rev < 2; rev++) {
        stream_iter it;
        stream_iter_init(&it, s, LO, HI, rev);
        sid id;
        size_t n;
        int k = 0;
        while (stream_iter_next(&it, &id, &n)) {
            int i = rev ? 7 - k : k;
            assert_int_equal(id.ms, (uint64_t)i + 1);
            assert_int_equal(n, np[i]);
            for (size_t j = 0; j < n; j++) {
                const char *f, *v;
                size_t fl, vl;
                stream_iter_pair(&it, &f, &fl, &v, &vl);
                assert_int_equal(fl, lens[i][2 * j]);
                assert_memory_equal(f, all[i][2 * j], fl);
                assert_int_equal(vl, lens[i][2 * j + 1]);
                assert_memory_equal(v, all[i][2 * j + 1], vl);
            }
            k++;
        }
        assert_int_equal(k, 8);
    }
    kv_stream *d2 = stream_dup(s);
    assert_int_equal(stream_len(d2), 8);
    stream_free(d2);
    stream_free(s);
}

/* MAXLEN ~ removes whole nodes only and stops at LIMIT; exact MAXLEN and
 * MINID mark entries inside a node; the first ID follows. */
static void test_trim(void **state)
{
    (void)state;
    stream_node_max_entries = 10;
    kv_stream *s = stream_new();
    for (int i = 1; i <= 100; i++)
        add(s, (uint64_t)i, 1, i);
    sid none = {0, 0};
    assert_int_equal(stream_trim(s, STRIM_MAXLEN, 55, none, 1, 30), 30);
    assert_int_equal(stream_len(s), 70);
    assert_int_equal(stream_trim(s, STRIM_MAXLEN, 55, none, 1, 30), 10);
    assert_int_equal(stream_len(s), 60);
    assert_int_equal(stream_trim(s, STRIM_MAXLEN, 55, none, 1, 0), 0);
    assert_int_equal(stream_trim(s, STRIM_MAXLEN, 55, none, 0, 0), 5);
    assert_true(sid_cmp(stream_first_id(s), mk(46, 1)) == 0);
    assert_int_equal(stream_trim(s, STRIM_MINID, 0, mk(58, 0), 1, 0), 5);
    assert_int_equal(stream_trim(s, STRIM_MINID, 0, mk(58, 0), 0, 0), 7);
    assert_true(sid_cmp(stream_first_id(s), mk(58, 1)) == 0);
    assert_int_equal(stream_len(s), 43);
    assert_int_equal(stream_trim(s, STRIM_MINID, 0, mk(71, 0), 1, 0), 13);
    assert_int_equal(stream_nodes(s), 3);
    assert_int_equal(stream_trim(s, STRIM_MAXLEN, 0, none, 0, 0), 30);
    assert_int_equal(stream_len(s), 0);
    assert_int_equal(stream_nodes(s), 0);
    assert_true(sid_cmp(stream_first_id(s), none) == 0);
    assert_true(sid_cmp(stream_last_id(s), mk(100, 1)) == 0);
    stream_free(s);
}

/* The lag helpers answer as Redis's for fresh, fragmented and emptied
 * streams. */
static void test_lag_helpers(void **state)
{
    (void)state;
    kv_stream *s = stream_new();
    assert_int_equal(stream_estimate_distance(s, mk(5, 0)), 0);
    for (int i = 1; i <= 5; i++)
        add(s, (uint64_t)i, 0, i);
    assert_int_equal(stream_estimate_distance(s, mk(5, 0)), 5);
    assert_int_equal(stream_estimate_distance(s, mk(6, 0)), -1);
    assert_int_equal(stream_estimate_distance(s, mk(1, 0)), 1);
    assert_int_equal(stream_estimate_distance(s, mk(0, 5)), 0);
    assert_int_equal(stream_estimate_distance(s, mk(3, 0)), -1);
    assert_false(stream_range_has_tombstones(s, LO, HI));
    stream_delete(s, mk(3, 0));
    stream_set_max_deleted(s, mk(3, 0));
    assert_true(stream_range_has_tombstones(s, LO, HI));
    assert_false(stream_range_has_tombstones(s, mk(4, 0), HI));
    stream_free(s);
}

/* Groups and consumers stay in name order; a nack lives in both PELs,
 * moves between consumers, and goes with its consumer; stream_dup copies
 * it all. */
static void test_groups(void **state)
{
    (void)state;
    kv_stream *s = stream_new();
    for (int i = 1; i <= 5; i++)
        add(s, (uint64_t)i, 0, i);
    assert_non_null(stream_group_create(s, "b", 1, mk(0, 0), -1));
    assert_non_null(stream_group_create(s, "a", 1, mk(0, 0), 3));
    assert_non_null(stream_group_create(s, "ab", 2, mk(0, 0), -1));
    assert_null(stream_group_create(s, "a", 1, mk(0, 0), -1));
    assert_int_equal(stream_ngroups(s), 3);
    assert_string_equal(stream_group_at(s, 0)->name, "a");
    assert_string_equal(stream_group_at(s, 1)->name, "ab");
    assert_string_equal(stream_group_at(s, 2)->name, "b");
    stream_group *g = stream_group_find(s, "ab", 2);
    stream_consumer *x = group_consumer_create(g, "x", 1, 10);
    stream_consumer *w = group_consumer_create(g, "w", 1, 20);
    assert_null(group_consumer_create(g, "x", 1, 30));
    assert_ptr_equal(g->consumers[0], w);
    for (uint64_t i = 5; i >= 1; i--)
        group_pel_add(g, i % 2 ? x : w, mk(i, 0), 100);
    assert_int_equal(pel_len(&g->pel), 5);
    assert_int_equal(pel_len(&x->pel), 3);
    assert_true(sid_cmp(pel_at(&g->pel, 0)->id, mk(1, 0)) == 0);
    assert_true(sid_cmp(pel_at(&x->pel, 2)->id, mk(5, 0)) == 0);
    group_pel_move(pel_find(&g->pel, mk(3, 0)), w);
    assert_int_equal(pel_len(&x->pel), 2);
    assert_int_equal(pel_len(&w->pel), 3);
    assert_int_equal(pel_lower_bound(&w->pel, mk(3, 0)), 1);
    kv_stream *d = stream_dup(s);
    group_pel_remove(g, pel_find(&g->pel, mk(1, 0)));
    assert_int_equal(pel_len(&g->pel), 4);
    assert_int_equal(group_consumer_delete(g, w), 3);
    assert_int_equal(pel_len(&g->pel), 1);
    assert_int_equal(g->nconsumers, 1);
    stream_group_destroy(s, stream_group_find(s, "a", 1));
    assert_int_equal(stream_ngroups(s), 2);
    stream_group *dg = stream_group_find(d, "ab", 2);
    assert_int_equal(pel_len(&dg->pel), 5);
    assert_int_equal(dg->nconsumers, 2);
    assert_int_equal(stream_group_find(d, "a", 1)->entries_read, 3);
    assert_ptr_equal(pel_find(&dg->pel, mk(3, 0))->consumer, group_consumer_find(dg, "w", 1));
    char t[256];
    ids_text(d, LO, HI, 0, t, sizeof t);
    assert_string_equal(t, "1-0 2-0 3-0 4-0 5-0 ");
    stream_free(s);
    stream_free(d);
}

/* Random appends, deletions and trims against an array of IDs with live
 * flags: length, first ID and every range both ways agree. */
static void test_random_against_model(void **state)
{
    (void)state;
    srand(12345);
    for (int round = 0; round < 20; round++) {
        stream_node_max_entries = (size_t)(1 + rand() % 12);
        kv_stream *s = stream_new();
        enum { N = 600 };
        sid ids[N];
        int live[N];
        int n = 0;
        uint64_t ms = 1;
        for (int op = 0; op < 1500; op++) {
            int k = rand() % 10;
            if (k < 6 && n < N) {
                ms += (uint64_t)(rand() % 3);
                sid id = {ms, (uint64_t)op};
                add(s, id.ms, id.seq, op);
                ids[n] = id;
                live[n++] = 1;
            } else if (k < 9 && n) {
                int j = rand() % n;
                assert_int_equal(stream_delete(s, ids[j]), live[j]);
                live[j] = 0;
            } else if (n) {
                uint64_t keep = (uint64_t)(rand() % 50);
                uint64_t len = 0;
                for (int j = 0; j < n; j++)
                    len += (uint64_t)live[j];
                int64_t want = len > keep ? (int64_t)(len - keep) : 0;
                sid none = {0, 0};
                assert_int_equal(stream_trim(s, STRIM_MAXLEN, keep, none, 0, 0), want);
                for (int j = 0; j < n && want; j++)
                    if (live[j]) {
                        live[j] = 0;
                        want--;
                    }
            }
        }
        uint64_t len = 0;
        int first = -1;
        for (int j = 0; j < n; j++) {
            len += (uint64_t)live[j];
            if (live[j] && first < 0)
                first = j;
        }
        assert_int_equal(stream_len(s), len);
        if (first >= 0)
            assert_true(sid_cmp(stream_first_id(s), ids[first]) == 0);
        for (int q = 0; q < 30 && n; q++) {
            int a = rand() % n, b = rand() % n;
            if (a > b) {
                int x = a;
                a = b;
                b = x;
            }
            int rev = rand() % 2;
            static char got[65536], want[65536];
            ids_text(s, ids[a], ids[b], rev, got, sizeof got);
            size_t at = 0;
            want[0] = '\0';
            for (int j = rev ? b : a; rev ? j >= a : j <= b; j += rev ? -1 : 1)
                if (live[j])
                    at += (size_t)snprintf(want + at, sizeof want - at, "%llu-%llu ",
                                           (unsigned long long)ids[j].ms,
                                           (unsigned long long)ids[j].seq);
            assert_string_equal(got, want);
        }
        stream_free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_iterate_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lag_helpers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_against_model, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
