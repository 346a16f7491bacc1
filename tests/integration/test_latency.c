/* test_latency.c — INFO latencystats and LATENCY HISTOGRAM next to
 * redis-server 7.0.15: the same commands on both, then the same commands
 * listed, the same call counts, and figures of the same form (the
 * timings themselves differ). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ---- Fixture ---- */

typedef struct fixture {
    char *tmp;
    h_proc redis, kv;
    kv_client *rc, *kc;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->tmp = h_tmpdir("latency");
    char rdir[700], kdir[700];
    snprintf(rdir, sizeof rdir, "%s/redis", f->tmp);
    snprintf(kdir, sizeof kdir, "%s/kv", f->tmp);
    char mk[800];
    snprintf(mk, sizeof mk, "mkdir -p %s", rdir);
    if (system(mk) != 0 || h_redis_start(&f->redis, rdir, NULL) != 0 ||
        h_kvnode_start(&f->kv, kdir, NULL) != 0)
        return -1;
    f->rc = h_connect(f->redis.port);
    f->kc = h_connect(f->kv.port);
    *state = f;
    return f->rc && f->kc ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kv_client_free(f->rc);
    kv_client_free(f->kc);
    h_stop(&f->redis, SIGTERM, 10000);
    h_stop(&f->kv, SIGTERM, 10000);
    h_rmrf(f->tmp);
    free(f->tmp);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

/* Run a command on both servers, checking it succeeds. */
static void both(fixture *f, const char *line)
{
    kv_reply *a = h_cmd(f->rc, line), *b = h_cmd(f->kc, line);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_not_equal(a->type, KV_REPLY_ERROR);
    assert_int_not_equal(b->type, KV_REPLY_ERROR);
    kv_reply_free(a);
    kv_reply_free(b);
}

/* CONFIG SET latency-tracking-info-percentiles <value> on both. */
static void set_percentiles(fixture *f, const char *value)
{
    const char *argv[] = {"CONFIG", "SET", "latency-tracking-info-percentiles", value};
    size_t lens[] = {6, 3, 33, strlen(value)};
    kv_reply *a = h_cmdv(f->rc, 4, argv, lens), *b = h_cmdv(f->kc, 4, argv, lens);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->type, KV_REPLY_STATUS);
    assert_int_equal(b->type, KV_REPLY_STATUS);
    kv_reply_free(a);
    kv_reply_free(b);
}

/* INFO latencystats of one server, lines sorted, each checked against the
 * expected form; returns the command names joined by spaces. */
static void latencystats(kv_client *c, const char *form, char *names, size_t len)
{
    kv_reply *r = h_cmd(c, "INFO latencystats");
    assert_non_null(r);
    assert_true(r->type == KV_REPLY_STRING || r->type == KV_REPLY_VERB);
    regex_t re;
    assert_int_equal(regcomp(&re, form, REG_EXTENDED | REG_NOSUB), 0);
    char *text = strdup(r->str), *save = NULL, *lines[128];
    int n = 0;
    for (char *l = strtok_r(text, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
        if (l[0] == '#')
            continue;
        if (regexec(&re, l, 0, NULL, 0) != 0)
            fprintf(stderr, "unexpected line: %s\n", l);
        assert_int_equal(regexec(&re, l, 0, NULL, 0), 0);
        assert_true(n < 128);
        lines[n++] = l;
    }
    /* sort the names */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(lines[j], lines[i]) < 0) {
                char *t = lines[i];
                lines[i] = lines[j];
                lines[j] = t;
            }
    names[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t k = strcspn(lines[i], ":");
        snprintf(names + strlen(names), len - strlen(names), "%s%.*s", i ? " " : "", (int)k,
                 lines[i]);
    }
    regfree(&re);
    free(text);
    kv_reply_free(r);
}

/* One LATENCY HISTOGRAM reply (RESP2): "name:calls" per command in reply
 * order; every distribution has power-of-two keys and strictly growing
 * counts ending at the calls. */
static void histogram(kv_client *c, const char *line, char *out, size_t len)
{
    static const long long keys[] = {1,      2,      4,      8,      16,     33,    66,
                                     132,    264,    528,    1056,   2113,   4227,  8454,
                                     16908,  33816,  67633,  135266, 270532, 541065, 1082130};
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_int_equal(r->elements % 2, 0);
    out[0] = '\0';
    for (size_t i = 0; i < r->elements; i += 2) {
        const kv_reply *name = r->element[i], *m = r->element[i + 1];
        assert_int_equal(name->type, KV_REPLY_STRING);
        assert_int_equal(m->type, KV_REPLY_ARRAY);
        assert_int_equal(m->elements, 4);
        assert_string_equal(m->element[0]->str, "calls");
        assert_string_equal(m->element[2]->str, "histogram_usec");
        long long calls = m->element[1]->integer;
        const kv_reply *h = m->element[3];
        assert_true(h->elements >= 2 && h->elements % 2 == 0);
        long long last = 0, lastkey = 0;
        for (size_t j = 0; j < h->elements; j += 2) {
            long long k = h->element[j]->integer, v = h->element[j + 1]->integer;
            int known = 0;
            for (size_t q = 0; q < sizeof keys / sizeof *keys; q++)
                known |= keys[q] == k;
            assert_true(known);
            assert_true(k > lastkey && v > last);
            lastkey = k;
            last = v;
        }
        assert_int_equal(last, calls);
        snprintf(out + strlen(out), len - strlen(out), "%s%s:%lld", i ? " " : "", name->str,
                 calls);
    }
    kv_reply_free(r);
}

/* ---- Tests ---- */

/* After the same commands, INFO latencystats lists the same commands with
 * p50/p99/p99.9 in microseconds with three decimals, and after a change
 * of latency-tracking-info-percentiles the new ones. */
static void test_info_latencystats(void **state)
{
    fixture *f = *state;
    both(f, "CONFIG RESETSTAT");
    for (int i = 0; i < 5; i++)
        both(f, "SET k v");
    both(f, "GET k");
    both(f, "CONFIG GET maxclients");
    both(f, "HSET h a 1");
    char a[2048], b[2048];
    const char *form = "^latency_percentiles_usec_[a-z|]+:p50=[0-9]+\\.[0-9]{3},"
                       "p99=[0-9]+\\.[0-9]{3},p99\\.9=[0-9]+\\.[0-9]{3}$";
    latencystats(f->rc, form, a, sizeof a);
    latencystats(f->kc, form, b, sizeof b);
    assert_string_equal(a, "latency_percentiles_usec_config|get latency_percentiles_usec_config|"
                           "resetstat latency_percentiles_usec_get latency_percentiles_usec_hset "
                           "latency_percentiles_usec_set");
    assert_string_equal(a, b);
    set_percentiles(f, "0 50.5");
    const char *form2 =
        "^latency_percentiles_usec_[a-z|]+:p0=[0-9]+\\.[0-9]{3},p50\\.5=[0-9]+\\.[0-9]{3}$";
    latencystats(f->rc, form2, a, sizeof a);
    latencystats(f->kc, form2, b, sizeof b);
    assert_string_equal(a, b);
    set_percentiles(f, "50 99 99.9");
}

/* LATENCY HISTOGRAM for named commands (a container names its
 * subcommands) answers the same commands with the same call counts on
 * both, each a distribution of Redis's form; latency-tracking no stops the
 * counting; CONFIG RESETSTAT forgets it all. */
static void test_histogram(void **state)
{
    fixture *f = *state;
    both(f, "CONFIG RESETSTAT");
    for (int i = 0; i < 7; i++)
        both(f, "SET k v");
    both(f, "GET k");
    both(f, "GET k");
    both(f, "CONFIG GET maxclients");
    char a[2048], b[2048];
    histogram(f->rc, "LATENCY HISTOGRAM set get nosuch", a, sizeof a);
    histogram(f->kc, "LATENCY HISTOGRAM set get nosuch", b, sizeof b);
    assert_string_equal(a, "set:7 get:2");
    assert_string_equal(a, b);
    histogram(f->rc, "LATENCY HISTOGRAM config|get", a, sizeof a);
    histogram(f->kc, "LATENCY HISTOGRAM config|get", b, sizeof b);
    assert_string_equal(a, "config|get:1");
    assert_string_equal(a, b);

    both(f, "CONFIG SET latency-tracking no");
    both(f, "SET k v");
    both(f, "CONFIG SET latency-tracking yes");
    histogram(f->rc, "LATENCY HISTOGRAM set", a, sizeof a);
    histogram(f->kc, "LATENCY HISTOGRAM set", b, sizeof b);
    assert_string_equal(a, "set:7");
    assert_string_equal(a, b);

    both(f, "CONFIG RESETSTAT");
    histogram(f->rc, "LATENCY HISTOGRAM set get", a, sizeof a);
    histogram(f->kc, "LATENCY HISTOGRAM set get", b, sizeof b);
    assert_string_equal(a, "");
    assert_string_equal(b, "");
}

/* With no command named, every command with calls is listed (in table
 * order here, hash order in Redis: compared as sets). */
static void test_histogram_all(void **state)
{
    fixture *f = *state;
    both(f, "CONFIG RESETSTAT");
    both(f, "SET k v");
    both(f, "LPUSH l a");
    char a[4096], b[4096];
    histogram(f->kc, "LATENCY HISTOGRAM", b, sizeof b);
    histogram(f->rc, "LATENCY HISTOGRAM", a, sizeof a);
    /* The same words in any order. */
    char *wa[32], *wb[32], *s1 = NULL, *s2 = NULL;
    int na = 0, nb = 0;
    for (char *w = strtok_r(a, " ", &s1); w && na < 32; w = strtok_r(NULL, " ", &s1))
        wa[na++] = w;
    for (char *w = strtok_r(b, " ", &s2); w && nb < 32; w = strtok_r(NULL, " ", &s2))
        wb[nb++] = w;
    assert_int_equal(na, 3); /* config|resetstat, set, lpush */
    assert_int_equal(na, nb);
    for (int i = 0; i < na; i++) {
        int found = 0;
        for (int j = 0; j < nb; j++)
            found |= !strcmp(wa[i], wb[j]);
        assert_true(found);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_info_latencystats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram_all, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
