/* test_tlist.c — the list value type: push/get/set/insert/remove at the
 * head, tail and middle of empty, single-element and wrapped rings,
 * binary and long elements, memory accounting, and a randomized run
 * against an array model; list_remove_equal from either end with limits;
 * the compact (packed) form: its conversion boundaries under every kind of
 * list-max-listpack-size, large elements, LSET growing and shrinking an
 * element across varint widths, reads in both directions, its footprint,
 * and randomized runs with conversions mid-run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "tlist.h"

/* ---- Fixture ---- */

typedef struct fixture {
    kv_list *l;
    size_t mem_before;
    int fill;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->fill = list_max_listpack_size;
    list_max_listpack_size = -2; /* Redis's default, what these tests assume */
    f->mem_before = kv_used_memory();
    f->l = list_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    list_free(f->l);
    list_max_listpack_size = f->fill;
    assert_int_equal(kv_used_memory(), f->mem_before);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

static void push_str(kv_list *l, int where, const char *s)
{
    list_push(l, where, s, strlen(s));
}

static void assert_elem(const kv_list *l, size_t idx, const char *want, size_t wlen)
{
    const char *p;
    size_t n;
    list_get(l, idx, &p, &n);
    assert_int_equal(n, wlen);
    assert_memory_equal(p, want, wlen);
}

#define assert_elem_str(l, idx, s) assert_elem((l), (idx), (s), strlen(s))

/* The list holds exactly these strings, in order. */
static void assert_contents(const kv_list *l, const char *const *want, size_t n)
{
    assert_int_equal(list_len(l), n);
    for (size_t i = 0; i < n; i++)
        assert_elem_str(l, i, want[i]);
}

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* The reference model: an array of owned byte strings. */
typedef struct mstr {
    char *p;
    size_t n;
} mstr;

typedef struct model {
    mstr *v;
    size_t len, cap;
} model;

static void model_insert(model *m, size_t idx, const char *p, size_t n)
{
    if (m->len == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = realloc(m->v, m->cap * sizeof *m->v);
    }
    memmove(m->v + idx + 1, m->v + idx, (m->len - idx) * sizeof *m->v);
    m->v[idx].p = malloc(n ? n : 1);
    memcpy(m->v[idx].p, p, n);
    m->v[idx].n = n;
    m->len++;
}

static void model_remove(model *m, size_t idx, size_t count)
{
    for (size_t i = idx; i < idx + count; i++)
        free(m->v[i].p);
    memmove(m->v + idx, m->v + idx + count, (m->len - idx - count) * sizeof *m->v);
    m->len -= count;
}

static void model_free(model *m)
{
    if (!m->v)
        return;
    model_remove(m, 0, m->len);
    free(m->v);
}

static void assert_matches_model(const kv_list *l, const model *m)
{
    assert_int_equal(list_len(l), m->len);
    for (size_t i = 0; i < m->len; i++)
        assert_elem(l, i, m->v[i].p, m->v[i].n);
}

/* The same, read from the tail to the head (the packed form walks
 * backwards from its cursor). */
static void assert_matches_model_reverse(const kv_list *l, const model *m)
{
    assert_int_equal(list_len(l), m->len);
    for (size_t i = m->len; i-- > 0;)
        assert_elem(l, i, m->v[i].p, m->v[i].n);
}

/* Push `count` elements of `size` bytes ("0000…", numbered) at the tail of
 * both the list and the model. */
static void push_numbered(kv_list *l, model *m, size_t count, size_t size)
{
    char b[16384];
    assert_true(size <= sizeof b && size >= 6);
    for (size_t i = 0; i < count; i++) {
        memset(b, 'x', size);
        char num[8];
        snprintf(num, sizeof num, "%06zu", m->len);
        memcpy(b, num, 6);
        list_push(l, LIST_TAIL, b, size);
        model_insert(m, m->len, b, size);
    }
}

/* A random element: usually short, sometimes empty, sometimes > 127 bytes
 * (two-byte length prefix), with arbitrary bytes including NUL. */
static size_t random_elem(char *buf, size_t cap)
{
    size_t n;
    uint64_t r = rng() % 20;
    if (r == 0)
        n = 0;
    else if (r == 1)
        n = 128 + (size_t)(rng() % 300);
    else
        n = (size_t)(rng() % 24);
    if (n > cap)
        n = cap;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)rng();
    return n;
}

/* ---- Tests ---- */

/* A new list is empty and still accounts for its own header. */
static void test_empty(void **state)
{
    fixture *f = *state;
    assert_int_equal(list_len(f->l), 0);
    assert_true(list_mem(f->l) > 0);
    list_remove(f->l, 0, 0);
    assert_int_equal(list_len(f->l), 0);
    list_free(NULL);
}

/* Pushes at both ends keep deque order: head pushes come out reversed in
 * front of tail pushes. */
static void test_push_both_ends(void **state)
{
    fixture *f = *state;
    push_str(f->l, LIST_TAIL, "c");
    push_str(f->l, LIST_HEAD, "b");
    push_str(f->l, LIST_TAIL, "d");
    push_str(f->l, LIST_HEAD, "a");
    push_str(f->l, LIST_TAIL, "e");
    const char *want[] = {"a", "b", "c", "d", "e"};
    assert_contents(f->l, want, 5);
}

/* A single element can be read, replaced, removed from the head or tail
 * position, and a list emptied this way is reusable. */
static void test_single_element(void **state)
{
    fixture *f = *state;
    size_t base = list_mem(f->l);
    push_str(f->l, LIST_TAIL, "only");
    assert_int_equal(list_len(f->l), 1);
    assert_elem_str(f->l, 0, "only");
    assert_true(list_mem(f->l) > base);
    list_set(f->l, 0, "x", 1);
    assert_elem_str(f->l, 0, "x");
    list_remove(f->l, 0, 1);
    assert_int_equal(list_len(f->l), 0);
    assert_int_equal(list_mem(f->l), base);
    list_insert(f->l, 0, "again", 5);
    assert_elem_str(f->l, 0, "again");
    list_insert(f->l, 1, "tail", 4);
    list_insert(f->l, 0, "head", 4);
    const char *want[] = {"head", "again", "tail"};
    assert_contents(f->l, want, 3);
}

/* Insert at index 0, len and every middle position of a list whose ring
 * has wrapped around, checking the whole order each time. */
static void test_insert_positions_wrapped(void **state)
{
    fixture *f = *state;
    model m = {0};
    /* Push at the head so element 0 sits near the end of the ring. */
    for (int i = 0; i < 6; i++) {
        char b[8];
        int n = snprintf(b, sizeof b, "h%d", i);
        list_push(f->l, LIST_HEAD, b, (size_t)n);
        model_insert(&m, 0, b, (size_t)n);
    }
    for (int i = 0; i < 5; i++) {
        char b[8];
        int n = snprintf(b, sizeof b, "t%d", i);
        list_push(f->l, LIST_TAIL, b, (size_t)n);
        model_insert(&m, m.len, b, (size_t)n);
    }
    for (size_t idx = 0; idx <= m.len && idx < 40; idx++) {
        char b[8];
        int n = snprintf(b, sizeof b, "i%zu", idx);
        list_insert(f->l, idx, b, (size_t)n);
        model_insert(&m, idx, b, (size_t)n);
        assert_matches_model(f->l, &m);
    }
    list_insert(f->l, list_len(f->l), "end", 3);
    model_insert(&m, m.len, "end", 3);
    assert_matches_model(f->l, &m);
    model_free(&m);
}

/* Removing ranges at the head, the tail, the middle (both sides of the
 * midpoint), and everything, keeps the remaining order. */
static void test_remove_ranges(void **state)
{
    fixture *f = *state;
    model m = {0};
    for (int i = 0; i < 40; i++) {
        char b[8];
        int n = snprintf(b, sizeof b, "%d", i);
        int where = i % 3 == 0 ? LIST_HEAD : LIST_TAIL;
        list_push(f->l, where, b, (size_t)n);
        model_insert(&m, where == LIST_HEAD ? 0 : m.len, b, (size_t)n);
    }
    struct {
        size_t idx, count;
    } cuts[] = {{0, 1}, {0, 3}, {34, 2}, {5, 4}, {20, 6}, {0, 0}, {10, 1}, {19, 1}};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        size_t idx = cuts[c].idx, count = cuts[c].count;
        assert_true(idx + count <= m.len);
        list_remove(f->l, idx, count);
        model_remove(&m, idx, count);
        assert_matches_model(f->l, &m);
    }
    /* Remove the last element (tail position). */
    list_remove(f->l, m.len - 1, 1);
    model_remove(&m, m.len - 1, 1);
    assert_matches_model(f->l, &m);
    list_remove(f->l, 0, m.len);
    model_remove(&m, 0, m.len);
    assert_matches_model(f->l, &m);
    model_free(&m);
}

/* list_set replaces elements at the head, tail and middle, including with
 * a view of another element and of itself. */
static void test_set_and_aliasing(void **state)
{
    fixture *f = *state;
    const char *init[] = {"zero", "one", "two", "three"};
    for (int i = 0; i < 4; i++)
        push_str(f->l, LIST_TAIL, init[i]);
    list_set(f->l, 0, "Z", 1);
    list_set(f->l, 3, "a-much-longer-value-than-before", 31);
    list_set(f->l, 1, "", 0);
    const char *p;
    size_t n;
    list_get(f->l, 3, &p, &n);
    list_set(f->l, 2, p, n); /* view of another element */
    list_get(f->l, 0, &p, &n);
    list_set(f->l, 0, p, n); /* view of itself */
    list_get(f->l, 3, &p, &n);
    list_insert(f->l, 2, p, n); /* insert a view of an element */
    list_get(f->l, 0, &p, &n);
    list_push(f->l, LIST_HEAD, p, n);
    const char *want[] = {"Z",
                          "Z",
                          "",
                          "a-much-longer-value-than-before",
                          "a-much-longer-value-than-before",
                          "a-much-longer-value-than-before"};
    assert_contents(f->l, want, 6);
}

/* Elements are binary and any length: NUL bytes, empty, exactly 127 and
 * 128 bytes (the varint boundary), and 100 KB. */
static void test_binary_and_long_elements(void **state)
{
    fixture *f = *state;
    static char big[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 31);
    char b127[127], b128[128], b16384[16384];
    memset(b127, 'x', sizeof b127);
    memset(b128, 'y', sizeof b128);
    memset(b16384, 'z', sizeof b16384);
    list_push(f->l, LIST_TAIL, "a\0b", 3);
    list_push(f->l, LIST_TAIL, "", 0);
    list_push(f->l, LIST_TAIL, b127, sizeof b127);
    list_push(f->l, LIST_TAIL, b128, sizeof b128);
    list_push(f->l, LIST_TAIL, b16384, sizeof b16384);
    list_push(f->l, LIST_HEAD, big, sizeof big);
    assert_elem(f->l, 0, big, sizeof big);
    assert_elem(f->l, 1, "a\0b", 3);
    assert_elem(f->l, 2, "", 0);
    assert_elem(f->l, 3, b127, sizeof b127);
    assert_elem(f->l, 4, b128, sizeof b128);
    assert_elem(f->l, 5, b16384, sizeof b16384);
    assert_true(list_mem(f->l) > sizeof big + sizeof b16384);
}

/* Growing to 100k elements and draining from both ends gives memory back:
 * list_mem returns to the empty value and used_memory tracks it. */
static void test_grow_and_drain_memory(void **state)
{
    fixture *f = *state;
    size_t empty_mem = list_mem(f->l), used0 = kv_used_memory();
    enum { N = 100000 };
    for (size_t i = 0; i < N; i++) {
        char b[24];
        int n = snprintf(b, sizeof b, "%zu", i);
        list_push(f->l, i % 2 ? LIST_HEAD : LIST_TAIL, b, (size_t)n);
    }
    size_t full = list_mem(f->l);
    assert_int_equal(kv_used_memory() - used0, full - empty_mem);
    assert_true(full > N * 16);
    /* Element 0 is the last head push: N-1. */
    char b[24];
    int n = snprintf(b, sizeof b, "%d", N - 1);
    assert_elem(f->l, 0, b, (size_t)n);
    while (list_len(f->l) > 10) {
        list_remove(f->l, 0, 1);
        list_remove(f->l, list_len(f->l) - 1, 1);
    }
    assert_true(list_mem(f->l) < 1024);
    assert_int_equal(kv_used_memory() - used0, list_mem(f->l) - empty_mem);
    list_remove(f->l, 0, list_len(f->l));
    assert_int_equal(list_mem(f->l), empty_mem);
    assert_int_equal(kv_used_memory(), used0);
}

/* Thousands of random pushes, pops, inserts, sets and range removes agree
 * with an array model at every step, and memory accounting stays exact. */
static void test_random_against_model(void **state)
{
    fixture *f = *state;
    model m = {0};
    char buf[512];
    size_t used0 = kv_used_memory(), empty_mem = list_mem(f->l);
    for (int step = 0; step < 100000; step++) {
        uint64_t op = rng() % 100;
        size_t n = random_elem(buf, sizeof buf);
        if (op < 25) {
            list_push(f->l, LIST_HEAD, buf, n);
            model_insert(&m, 0, buf, n);
        } else if (op < 50) {
            list_push(f->l, LIST_TAIL, buf, n);
            model_insert(&m, m.len, buf, n);
        } else if (op < 62) {
            size_t idx = (size_t)(rng() % (m.len + 1));
            list_insert(f->l, idx, buf, n);
            model_insert(&m, idx, buf, n);
        } else if (op < 72 && m.len) {
            size_t idx = (size_t)(rng() % m.len);
            list_set(f->l, idx, buf, n);
            model_remove(&m, idx, 1);
            model_insert(&m, idx, buf, n);
        } else if (op < 82 && m.len) {
            /* Pop one end. */
            size_t idx = rng() % 2 ? 0 : m.len - 1;
            list_remove(f->l, idx, 1);
            model_remove(&m, idx, 1);
        } else if (op < 97 && m.len) {
            size_t idx = (size_t)(rng() % m.len);
            size_t count = (size_t)(rng() % (m.len - idx + 1));
            if (count > 8 && rng() % 4)
                count = 8;
            list_remove(f->l, idx, count);
            model_remove(&m, idx, count);
        } else if (m.len) {
            /* Trim to a random window, like LTRIM. */
            size_t a = (size_t)(rng() % m.len);
            size_t b = a + (size_t)(rng() % (m.len - a));
            list_remove(f->l, b + 1, m.len - b - 1);
            model_remove(&m, b + 1, m.len - b - 1);
            list_remove(f->l, 0, a);
            model_remove(&m, 0, a);
        }
        assert_int_equal(list_len(f->l), m.len);
        assert_int_equal(kv_used_memory() - used0, list_mem(f->l) - empty_mem);
        if (step % 97 == 0)
            assert_matches_model(f->l, &m);
    }
    assert_matches_model(f->l, &m);
    model_free(&m);
}

/* list_remove_equal from the head honours its limit and keeps the order of
 * everything else, including empty and NUL-bearing elements. */
static void test_remove_equal_from_head(void **state)
{
    fixture *f = *state;
    const char *in[] = {"a", "b", "a", "c", "a", "b", "a"};
    for (size_t i = 0; i < 7; i++)
        push_str(f->l, LIST_TAIL, in[i]);
    assert_int_equal(list_remove_equal(f->l, "zz", 2, 0, LIST_HEAD), 0);
    assert_int_equal(list_remove_equal(f->l, "a", 1, 2, LIST_HEAD), 2);
    const char *want1[] = {"b", "c", "a", "b", "a"};
    assert_contents(f->l, want1, 5);
    assert_int_equal(list_remove_equal(f->l, "b", 1, 0, LIST_HEAD), 2);
    const char *want2[] = {"c", "a", "a"};
    assert_contents(f->l, want2, 3);
    list_push(f->l, LIST_HEAD, "", 0);
    list_push(f->l, LIST_TAIL, "\0x", 2);
    assert_int_equal(list_remove_equal(f->l, "", 0, 5, LIST_HEAD), 1);
    assert_int_equal(list_remove_equal(f->l, "\0", 1, 0, LIST_HEAD), 0);
    assert_int_equal(list_remove_equal(f->l, "\0x", 2, 0, LIST_HEAD), 1);
    assert_contents(f->l, want2, 3);
}

/* From the tail the limit takes the last matches first; removing every
 * element leaves an empty list that gives its ring back. */
static void test_remove_equal_from_tail(void **state)
{
    fixture *f = *state;
    size_t empty_mem = list_mem(f->l);
    const char *in[] = {"x", "y", "x", "y", "x", "y", "x"};
    for (size_t i = 0; i < 7; i++)
        push_str(f->l, LIST_TAIL, in[i]);
    assert_int_equal(list_remove_equal(f->l, "x", 1, 3, LIST_TAIL), 3);
    const char *want1[] = {"x", "y", "y", "y"};
    assert_contents(f->l, want1, 4);
    assert_int_equal(list_remove_equal(f->l, "y", 1, 1, LIST_TAIL), 1);
    const char *want2[] = {"x", "y", "y"};
    assert_contents(f->l, want2, 3);
    assert_int_equal(list_remove_equal(f->l, "y", 1, 100, LIST_TAIL), 2);
    assert_int_equal(list_remove_equal(f->l, "x", 1, 0, LIST_TAIL), 1);
    assert_int_equal(list_len(f->l), 0);
    assert_int_equal(list_mem(f->l), empty_mem);
    assert_int_equal(list_remove_equal(f->l, "x", 1, 0, LIST_TAIL), 0);
    assert_int_equal(list_remove_equal(f->l, "x", 1, 0, LIST_HEAD), 0);
    /* Usable again after being emptied. */
    push_str(f->l, LIST_HEAD, "z");
    const char *want3[] = {"z"};
    assert_contents(f->l, want3, 1);
}

/* On rings whose elements wrap around the end of the slot array, both
 * directions agree with a model for every limit, and memory is exact. */
static void test_remove_equal_wrapped_against_model(void **state)
{
    fixture *f = *state;
    size_t used0 = kv_used_memory(), empty_mem = list_mem(f->l);
    for (int round = 0; round < 400; round++) {
        model m = {0};
        /* Head pushes first so the ring wraps. */
        size_t n = (size_t)(rng() % 40);
        for (size_t i = 0; i < n; i++) {
            char c = (char)('a' + rng() % 3);
            if (rng() % 2) {
                list_push(f->l, LIST_HEAD, &c, 1);
                model_insert(&m, 0, &c, 1);
            } else {
                list_push(f->l, LIST_TAIL, &c, 1);
                model_insert(&m, m.len, &c, 1);
            }
        }
        char target = (char)('a' + rng() % 3);
        size_t limit = (size_t)(rng() % 6);
        int from = rng() % 2 ? LIST_HEAD : LIST_TAIL;
        size_t want = 0;
        if (from == LIST_HEAD) {
            for (size_t i = 0; i < m.len;) {
                if (m.v[i].p[0] == target && (!limit || want < limit)) {
                    model_remove(&m, i, 1);
                    want++;
                } else {
                    i++;
                }
            }
        } else {
            for (size_t i = m.len; i-- > 0;) {
                if (m.v[i].p[0] == target && (!limit || want < limit)) {
                    model_remove(&m, i, 1);
                    want++;
                }
            }
        }
        assert_int_equal(list_remove_equal(f->l, &target, 1, limit, from), want);
        assert_matches_model(f->l, &m);
        assert_int_equal(kv_used_memory() - used0, list_mem(f->l) - empty_mem);
        list_remove(f->l, 0, list_len(f->l));
        model_free(&m);
    }
}

/* ---- Compact form ---- */

/* A list of ten 10-byte items (the benchmark's shape) is one buffer of
 * 12-byte entries: header and buffer only, far below Redis's 7.0 footprint
 * for the same value. */
static void test_compact_footprint(void **state)
{
    fixture *f = *state;
    size_t empty = list_mem(f->l);
    assert_true(empty <= 24);
    model m = {0};
    push_numbered(f->l, &m, 10, 10);
    assert_true(list_compact(f->l));
    /* 120 bytes of entries, allocator rounding only. */
    assert_true(list_mem(f->l) - empty <= 120 + 16);
    assert_matches_model(f->l, &m);
    assert_matches_model_reverse(f->l, &m);
    model_free(&m);
}

/* With the default -2 (8 KB) the list converts on the push that would take
 * it past 8192 bytes, not before; it converts back once removals bring it
 * within 4096 bytes, not before; the contents survive both ways. */
static void test_compact_boundary_default(void **state)
{
    fixture *f = *state;
    size_t used0 = kv_used_memory(), empty = list_mem(f->l);
    model m = {0};
    push_numbered(f->l, &m, 682, 10); /* 682 * 12 = 8184 bytes */
    assert_true(list_compact(f->l));
    assert_matches_model_reverse(f->l, &m);
    push_numbered(f->l, &m, 1, 10); /* 8196 */
    assert_false(list_compact(f->l));
    assert_matches_model(f->l, &m);
    assert_int_equal(kv_used_memory() - used0, list_mem(f->l) - empty);
    /* Down to 342 elements (4104 bytes): still a ring. */
    while (m.len > 342) {
        list_remove(f->l, 0, 1);
        model_remove(&m, 0, 1);
    }
    assert_false(list_compact(f->l));
    list_remove(f->l, m.len - 1, 1); /* 341 * 12 = 4092 */
    model_remove(&m, m.len - 1, 1);
    assert_true(list_compact(f->l));
    assert_matches_model(f->l, &m);
    assert_matches_model_reverse(f->l, &m);
    assert_int_equal(kv_used_memory() - used0, list_mem(f->l) - empty);
    model_free(&m);
}

/* Every kind of list-max-listpack-size: -1 (4 KB), -5 and below (64 KB),
 * a positive count (within the 8 KB safety limit), and 0 (one element). */
static void test_compact_boundary_configured(void **state)
{
    (void)state; /* lists of its own; the fixture restores the setting */
    struct {
        int fill;
        size_t size, fits; /* elements of `size` bytes that still fit */
    } cases[] = {
        {-1, 10, 341},     /* 4096 / 12 */
        {-5, 100, 642},    /* 65536 / 102 */
        {-9, 100, 642},    /* clamped to -5 */
        {5, 10, 5},        /* count */
        {1000, 100, 80},   /* 8192 / 102: the safety limit wins */
        {0, 10, 1},        /* one element per node, as Redis */
        {1, 10, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        list_max_listpack_size = cases[c].fill;
        kv_list *l = list_new();
        model m = {0};
        push_numbered(l, &m, cases[c].fits, cases[c].size);
        assert_true(list_compact(l));
        push_numbered(l, &m, 1, cases[c].size);
        assert_false(list_compact(l));
        assert_matches_model(l, &m);
        /* Within half the limit again: compact. */
        size_t half = cases[c].fits / 2;
        list_remove(l, half, m.len - half);
        model_remove(&m, half, m.len - half);
        assert_int_equal(list_compact(l), 1);
        assert_matches_model_reverse(l, &m);
        list_free(l);
        model_free(&m);
    }
}

/* An element larger than the limit makes a ring at once (as Redis gives it
 * a node of its own); removing it makes the rest compact again. */
static void test_compact_large_elements(void **state)
{
    fixture *f = *state;
    static char big[10000];
    memset(big, 'B', sizeof big);
    push_str(f->l, LIST_TAIL, "a");
    list_push(f->l, LIST_TAIL, big, 8189); /* 1 + 2 + 8189 + 2 + 2 = 8196 */
    assert_false(list_compact(f->l));
    list_remove(f->l, 1, 1);
    assert_true(list_compact(f->l));
    list_push(f->l, LIST_TAIL, big, 8186); /* 3 + 8190 = 8193 */
    assert_false(list_compact(f->l));
    list_remove(f->l, 1, 1);
    list_push(f->l, LIST_TAIL, big, 8185); /* exactly 8192 with "a" */
    assert_true(list_compact(f->l));
    assert_elem(f->l, 1, big, 8185);
    assert_elem_str(f->l, 0, "a");
    list_remove(f->l, 0, 2);
    list_push(f->l, LIST_HEAD, big, sizeof big);
    assert_false(list_compact(f->l));
    assert_elem(f->l, 0, big, sizeof big);
    list_remove(f->l, 0, 1);
    assert_true(list_compact(f->l));
    assert_int_equal(list_len(f->l), 0);
}

/* LSET grows and shrinks elements in the middle of a packed list across
 * the varint boundaries (127/128 bytes of element, 126/127 of entry
 * header + bytes for the back length); neighbours and both walking
 * directions stay right; growing past the limit converts. */
static void test_compact_set_grow_shrink(void **state)
{
    fixture *f = *state;
    model m = {0};
    push_numbered(f->l, &m, 20, 8);
    static const size_t sizes[] = {0, 1, 125, 126, 127, 128, 129, 300, 16383, 16384, 3, 127, 0};
    static char b[16384];
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t idx = (k * 7) % m.len;
        memset(b, (int)('a' + k), sizes[k]);
        list_set(f->l, idx, b, sizes[k]);
        model_remove(&m, idx, 1);
        model_insert(&m, idx, b, sizes[k]);
        assert_int_equal(list_compact(f->l), sizes[k] < 8000);
        assert_matches_model(f->l, &m);
        assert_matches_model_reverse(f->l, &m);
        if (!list_compact(f->l)) {
            /* Shrink it back and drop the big one so the list packs again. */
            list_remove(f->l, idx, 1);
            model_remove(&m, idx, 1);
            push_numbered(f->l, &m, 1, 8);
            assert_true(list_compact(f->l));
        }
    }
    model_free(&m);
}

/* Inserting and removing in the middle of a packed list, with the cursor
 * left anywhere by reads in between, matches the model. */
static void test_compact_middle_edits(void **state)
{
    fixture *f = *state;
    model m = {0};
    push_numbered(f->l, &m, 30, 9);
    for (int step = 0; step < 2000; step++) {
        /* Park the cursor somewhere. */
        if (m.len) {
            size_t at = (size_t)(rng() % m.len);
            assert_elem(f->l, at, m.v[at].p, m.v[at].n);
        }
        char b[150]; /* 41 entries of at most 154 bytes stay below 8 KB */
        size_t n = random_elem(b, sizeof b);
        size_t idx = (size_t)(rng() % (m.len + 1));
        if (rng() % 2 || m.len == 0) {
            list_insert(f->l, idx, b, n);
            model_insert(&m, idx, b, n);
        } else {
            if (idx == m.len)
                idx--;
            size_t count = 1 + (size_t)(rng() % 3);
            if (count > m.len - idx)
                count = m.len - idx;
            list_remove(f->l, idx, count);
            model_remove(&m, idx, count);
        }
        if (m.len > 40) {
            list_remove(f->l, 0, m.len - 30);
            model_remove(&m, 0, m.len - 30);
        }
        assert_true(list_compact(f->l));
        if (step % 11 == 0)
            assert_matches_model_reverse(f->l, &m);
    }
    assert_matches_model(f->l, &m);
    model_free(&m);
}

/* Randomized pushes, pops, inserts, sets, range and equal removals under
 * small limits, so the list changes form many times mid-run: contents,
 * reads in both directions and memory accounting agree with the model. */
static void test_compact_random_conversions(void **state)
{
    fixture *f = *state;
    static const int fills[] = {-1, -2, 4, 0, 16};
    size_t used0 = kv_used_memory(), empty = list_mem(f->l);
    char buf[512];
    for (size_t c = 0; c < sizeof fills / sizeof fills[0]; c++) {
        list_max_listpack_size = fills[c];
        model m = {0};
        int flips = 0, was = list_compact(f->l);
        for (int step = 0; step < 20000; step++) {
            /* Phases of 1000 steps that grow the list (to ~12 KB) and then
             * drain it, so it crosses the limits both ways. */
            int grow = (step / 1000) % 2 == 0 && m.len < 600;
            uint64_t r = rng() % 100;
            int op = grow ? (r < 50 ? 0 : r < 70 ? 1 : r < 85 ? 2 : r < 97 ? 3 : 4)
                          : (r < 10 ? 0 : r < 15 ? 1 : r < 25 ? 2 : r < 90 ? 3 : 4);
            size_t n = random_elem(buf, sizeof buf);
            if (op == 0) {
                int where = rng() % 2 ? LIST_HEAD : LIST_TAIL;
                list_push(f->l, where, buf, n);
                model_insert(&m, where == LIST_HEAD ? 0 : m.len, buf, n);
            } else if (op == 1) {
                size_t idx = (size_t)(rng() % (m.len + 1));
                list_insert(f->l, idx, buf, n);
                model_insert(&m, idx, buf, n);
            } else if (op == 2 && m.len) {
                size_t idx = (size_t)(rng() % m.len);
                list_set(f->l, idx, buf, n);
                model_remove(&m, idx, 1);
                model_insert(&m, idx, buf, n);
            } else if (op == 3 && m.len) {
                size_t idx = (size_t)(rng() % m.len);
                size_t count = 1 + (size_t)(rng() % 3);
                if (count > m.len - idx)
                    count = m.len - idx;
                list_remove(f->l, idx, count);
                model_remove(&m, idx, count);
            } else if (m.len) {
                /* Remove equal to an existing element, from either end. */
                size_t at = (size_t)(rng() % m.len);
                char target[512];
                size_t tn = m.v[at].n;
                memcpy(target, m.v[at].p, tn);
                size_t limit = (size_t)(rng() % 3);
                int from = rng() % 2 ? LIST_HEAD : LIST_TAIL;
                size_t want = 0;
                if (from == LIST_HEAD) {
                    for (size_t i = 0; i < m.len;) {
                        if (m.v[i].n == tn && !memcmp(m.v[i].p, target, tn) &&
                            (!limit || want < limit)) {
                            model_remove(&m, i, 1);
                            want++;
                        } else {
                            i++;
                        }
                    }
                } else {
                    for (size_t i = m.len; i-- > 0;) {
                        if (m.v[i].n == tn && !memcmp(m.v[i].p, target, tn) &&
                            (!limit || want < limit)) {
                            model_remove(&m, i, 1);
                            want++;
                        }
                    }
                }
                assert_int_equal(list_remove_equal(f->l, target, tn, limit, from), want);
            }
            assert_int_equal(list_len(f->l), m.len);
            assert_int_equal(kv_used_memory() - used0, list_mem(f->l) - empty);
            if (list_compact(f->l) != was) {
                flips++;
                was = list_compact(f->l);
                assert_matches_model_reverse(f->l, &m);
            }
            if (step % 61 == 0)
                assert_matches_model(f->l, &m);
        }
        assert_matches_model(f->l, &m);
        assert_true(flips >= 4);
        list_remove(f->l, 0, list_len(f->l));
        model_free(&m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_push_both_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_element, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insert_positions_wrapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_and_aliasing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_and_long_elements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grow_and_drain_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_against_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_equal_from_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_equal_from_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_equal_wrapped_against_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_footprint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_boundary_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_boundary_configured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_large_elements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_set_grow_shrink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_middle_edits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_random_conversions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
