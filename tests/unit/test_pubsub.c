/* test_pubsub.c — the Pub/Sub registry (node/server/pubsub.c): both sides
 * of a subscription stay in step, publish reaches exactly the channel's
 * subscribers and the matching patterns' (not for shard channels), the
 * three kinds are separate name spaces, binary names work, removal in any
 * order keeps the rest reachable, and an emptied registry holds no memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "pubsub.h"

/* ---- Fixture ---- */

#define NSUBS 8

typedef struct fixture {
    ps_registry r;
    ps_sub subs[NSUBS];
    size_t mem_before;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->mem_before = kv_used_memory();
    ps_registry_init(&f->r);
    for (int i = 0; i < NSUBS; i++)
        ps_sub_init(&f->subs[i], (void *)(intptr_t)i);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < NSUBS; i++)
        for (int k = 0; k < PS_KINDS; k++)
            ps_unsubscribe_all(&f->r, &f->subs[i], k, NULL, NULL);
    ps_registry_free(&f->r);
    /* Everything the registry allocated is back. */
    assert_int_equal(kv_used_memory(), f->mem_before);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

/* What one publish delivered: per subscriber, the calls and the patterns. */
typedef struct got {
    int calls[NSUBS];
    char pats[NSUBS][256];
} got;

static void on_deliver(void *arg, ps_sub *s, const char *pat, size_t plen)
{
    got *g = arg;
    int i = (int)(intptr_t)s->owner;
    g->calls[i]++;
    size_t at = strlen(g->pats[i]);
    snprintf(g->pats[i] + at, sizeof g->pats[i] - at, "[%.*s]", (int)plen, pat ? pat : "");
}

static long publish(fixture *f, int shard, const char *ch, got *g)
{
    memset(g, 0, sizeof *g);
    return ps_publish(&f->r, shard, ch, strlen(ch), on_deliver, g);
}

static int sub(fixture *f, int i, int kind, const char *name)
{
    return ps_subscribe(&f->r, &f->subs[i], kind, name, strlen(name));
}

static int unsub(fixture *f, int i, int kind, const char *name)
{
    return ps_unsubscribe(&f->r, &f->subs[i], kind, name, strlen(name));
}

typedef struct names {
    char buf[1024];
    int n;
} names;

static void collect(void *arg, const char *name, size_t len)
{
    names *ns = arg;
    size_t at = strlen(ns->buf);
    snprintf(ns->buf + at, sizeof ns->buf - at, "%s%.*s", ns->n ? "," : "", (int)len, name);
    ns->n++;
}

/* ---- Tests ---- */

/* Subscribing twice to one channel counts once, on both sides. */
static void test_subscribe_once(void **state)
{
    fixture *f = *state;
    assert_int_equal(sub(f, 0, PS_CHANNEL, "a"), 1);
    assert_int_equal(sub(f, 0, PS_CHANNEL, "a"), 0);
    assert_int_equal(sub(f, 0, PS_CHANNEL, "b"), 1);
    assert_int_equal(sub(f, 1, PS_CHANNEL, "a"), 1);
    assert_int_equal(ps_sub_count(&f->subs[0], PS_CHANNEL), 2);
    assert_int_equal(ps_sub_count(&f->subs[1], PS_CHANNEL), 1);
    assert_int_equal(ps_count(&f->r, PS_CHANNEL), 2);
    assert_int_equal(ps_numsub(&f->r, PS_CHANNEL, "a", 1), 2);
    assert_int_equal(ps_numsub(&f->r, PS_CHANNEL, "b", 1), 1);
    assert_int_equal(ps_numsub(&f->r, PS_CHANNEL, "c", 1), 0);
}

/* Unsubscribing what one does not have changes nothing; the last
 * subscriber leaving removes the channel. */
static void test_unsubscribe(void **state)
{
    fixture *f = *state;
    sub(f, 0, PS_CHANNEL, "a");
    sub(f, 1, PS_CHANNEL, "a");
    assert_int_equal(unsub(f, 0, PS_CHANNEL, "zz"), 0);
    assert_int_equal(unsub(f, 2, PS_CHANNEL, "a"), 0);
    assert_int_equal(unsub(f, 0, PS_CHANNEL, "a"), 1);
    assert_int_equal(unsub(f, 0, PS_CHANNEL, "a"), 0);
    assert_int_equal(ps_count(&f->r, PS_CHANNEL), 1);
    assert_int_equal(unsub(f, 1, PS_CHANNEL, "a"), 1);
    assert_int_equal(ps_count(&f->r, PS_CHANNEL), 0);
    assert_int_equal(ps_numsub(&f->r, PS_CHANNEL, "a", 1), 0);
}

/* A message reaches the channel's subscribers, then every matching
 * pattern's, once per (subscriber, match): a subscriber with the channel
 * and two matching patterns gets three deliveries. */
static void test_publish_channels_and_patterns(void **state)
{
    fixture *f = *state;
    sub(f, 0, PS_CHANNEL, "news.it");
    sub(f, 0, PS_PATTERN, "news.*");
    sub(f, 0, PS_PATTERN, "n*");
    sub(f, 1, PS_PATTERN, "news.[a-j]?");
    sub(f, 2, PS_PATTERN, "sport.*");
    sub(f, 3, PS_CHANNEL, "news");
    got g;
    assert_int_equal(publish(f, 0, "news.it", &g), 4);
    assert_int_equal(g.calls[0], 3);
    assert_int_equal(g.calls[1], 1);
    assert_int_equal(g.calls[2], 0);
    assert_int_equal(g.calls[3], 0);
    /* The channel delivery comes first, without a pattern. */
    assert_memory_equal(g.pats[0], "[]", 2);
    assert_non_null(strstr(g.pats[0], "[news.*]"));
    assert_non_null(strstr(g.pats[0], "[n*]"));
    assert_string_equal(g.pats[1], "[news.[a-j]?]");
    assert_int_equal(publish(f, 0, "nothing", &g), 1); /* n* */
    assert_int_equal(g.calls[0], 1);
    assert_int_equal(publish(f, 0, "x", &g), 0);
    assert_int_equal(ps_count(&f->r, PS_PATTERN), 4);
}

/* Shard channels are their own name space and never match patterns. */
static void test_shard_separate(void **state)
{
    fixture *f = *state;
    sub(f, 0, PS_SHARD, "s");
    sub(f, 1, PS_CHANNEL, "s");
    sub(f, 2, PS_PATTERN, "*");
    got g;
    assert_int_equal(publish(f, 1, "s", &g), 1);
    assert_int_equal(g.calls[0], 1);
    assert_int_equal(g.calls[1] + g.calls[2], 0);
    assert_int_equal(publish(f, 0, "s", &g), 2);
    assert_int_equal(g.calls[0], 0);
    assert_int_equal(g.calls[1], 1);
    assert_int_equal(g.calls[2], 1);
    assert_int_equal(ps_count(&f->r, PS_SHARD), 1);
    assert_int_equal(ps_count(&f->r, PS_CHANNEL), 1);
    /* A pattern subscription named like a channel is a different thing. */
    assert_int_equal(sub(f, 1, PS_PATTERN, "s"), 1);
    assert_int_equal(unsub(f, 1, PS_PATTERN, "s"), 1);
    assert_int_equal(ps_sub_count(&f->subs[1], PS_CHANNEL), 1);
}

/* Names are bytes: NULs inside and empty names are distinct names. */
static void test_binary_names(void **state)
{
    fixture *f = *state;
    assert_int_equal(ps_subscribe(&f->r, &f->subs[0], PS_CHANNEL, "a\0b", 3), 1);
    assert_int_equal(ps_subscribe(&f->r, &f->subs[0], PS_CHANNEL, "a\0c", 3), 1);
    assert_int_equal(ps_subscribe(&f->r, &f->subs[0], PS_CHANNEL, "a", 1), 1);
    assert_int_equal(ps_subscribe(&f->r, &f->subs[0], PS_CHANNEL, "", 0), 1);
    assert_int_equal(ps_subscribe(&f->r, &f->subs[1], PS_PATTERN, "a\0*", 3), 1);
    got g;
    memset(&g, 0, sizeof g);
    assert_int_equal(ps_publish(&f->r, 0, "a\0b", 3, on_deliver, &g), 2);
    assert_int_equal(g.calls[0], 1);
    assert_int_equal(g.calls[1], 1);
    memset(&g, 0, sizeof g);
    assert_int_equal(ps_publish(&f->r, 0, "", 0, on_deliver, &g), 1);
    assert_int_equal(ps_numsub(&f->r, PS_CHANNEL, "a\0b", 3), 1);
    assert_int_equal(ps_count(&f->r, PS_CHANNEL), 4);
}

/* Unsubscribe-all reports each name after it left (the count excludes
 * it), and leaves other subscribers' subscriptions alone. */
static int all_calls;
static size_t count_during;
static ps_sub *all_sub;

static void on_all(void *arg, const char *name, size_t len)
{
    (void)arg;
    (void)name;
    (void)len;
    all_calls++;
    count_during = ps_sub_count(all_sub, PS_CHANNEL);
}

static void test_unsubscribe_all(void **state)
{
    fixture *f = *state;
    sub(f, 0, PS_CHANNEL, "a");
    sub(f, 0, PS_CHANNEL, "b");
    sub(f, 0, PS_CHANNEL, "c");
    sub(f, 1, PS_CHANNEL, "b");
    all_calls = 0;
    all_sub = &f->subs[0];
    assert_int_equal(ps_unsubscribe_all(&f->r, &f->subs[0], PS_CHANNEL, on_all, NULL), 3);
    assert_int_equal(all_calls, 3);
    assert_int_equal(count_during, 0);
    assert_int_equal(ps_sub_count(&f->subs[0], PS_CHANNEL), 0);
    assert_int_equal(ps_count(&f->r, PS_CHANNEL), 1);
    assert_int_equal(ps_numsub(&f->r, PS_CHANNEL, "b", 1), 1);
    assert_int_equal(ps_unsubscribe_all(&f->r, &f->subs[0], PS_CHANNEL, on_all, NULL), 0);
    assert_int_equal(all_calls, 3);
}

/* PUBSUB CHANNELS: every name, or those matching a glob. */
static void test_list(void **state)
{
    fixture *f = *state;
    sub(f, 0, PS_CHANNEL, "news.it");
    sub(f, 1, PS_CHANNEL, "news.uk");
    sub(f, 1, PS_CHANNEL, "sport");
    sub(f, 2, PS_SHARD, "news.shard");
    names ns = {{0}, 0};
    ps_list(&f->r, PS_CHANNEL, NULL, 0, collect, &ns);
    assert_int_equal(ns.n, 3);
    memset(&ns, 0, sizeof ns);
    ps_list(&f->r, PS_CHANNEL, "news.*", 6, collect, &ns);
    assert_int_equal(ns.n, 2);
    assert_null(strstr(ns.buf, "sport"));
    memset(&ns, 0, sizeof ns);
    ps_list(&f->r, PS_SHARD, "*", 1, collect, &ns);
    assert_string_equal(ns.buf, "news.shard");
}

/* Many subscribers on one channel leave in a random order: after every
 * removal exactly the remaining ones are reached (the swap-with-last
 * bookkeeping keeps every index right). */
static void mark_seen(void *arg, ps_sub *s, const char *pat, size_t plen)
{
    (void)pat;
    (void)plen;
    int *seen = arg;
    seen[(intptr_t)s->owner]++;
}

static void test_remove_any_order(void **state)
{
    fixture *f = *state;
    enum { N = 200 };
    ps_sub *many = calloc(N, sizeof *many);
    int order[N], in[N], seen[N];
    for (int i = 0; i < N; i++) {
        ps_sub_init(&many[i], (void *)(intptr_t)i);
        assert_int_equal(ps_subscribe(&f->r, &many[i], PS_CHANNEL, "ch", 2), 1);
        order[i] = i;
        in[i] = 1;
    }
    srand(7);
    for (int i = N - 1; i > 0; i--) {
        int j = rand() % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int step = 0; step < N; step++) {
        assert_int_equal(ps_unsubscribe(&f->r, &many[order[step]], PS_CHANNEL, "ch", 2), 1);
        in[order[step]] = 0;
        memset(seen, 0, sizeof seen);
        long n = ps_publish(&f->r, 0, "ch", 2, mark_seen, seen);
        assert_int_equal(n, N - step - 1);
        for (int i = 0; i < N; i++)
            assert_int_equal(seen[i], in[i]);
    }
    assert_int_equal(ps_count(&f->r, PS_CHANNEL), 0);
    free(many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_subscribe_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsubscribe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_channels_and_patterns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shard_separate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsubscribe_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_any_order, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
