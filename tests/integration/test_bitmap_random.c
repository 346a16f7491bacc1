/* test_bitmap_random.c — randomized differential test of the bit commands:
 * seeded random sequences of SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD
 * BITFIELD_RO, mixed with the string commands that reshape the same values
 * (SET APPEND SETRANGE DEL) and an occasional list key for WRONGTYPE, are
 * sent to redis-server and kvnode; every reply must be identical. At the
 * end every key's value is compared, and kvnode, killed with SIGKILL and
 * restarted, must recover the same DEBUG DIGEST (every write logged a
 * deterministic effect).
 *
 * Seeds: a fixed list, plus KV_TEST_SEED from the environment if set; a
 * failure prints the seed, the step and the command. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

/* ---- Fixture ---- */

#define STEPS 2500
#define NKEYS 5

static h_pair pr;
static kv_client *rc, *kc;

static int group_setup(void **state)
{
    (void)state;
    const char *extra[] = {"--save", "", "--appendfsync", "no", NULL};
    int r = h_pair_start(&pr, "bitrand", NULL, extra);
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

static uint64_t rng;

static uint64_t next(void)
{
    /* splitmix64 */
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static long long pick(long long lo, long long hi)
{
    return lo + (long long)(next() % (uint64_t)(hi - lo + 1));
}

/* A command being built: words with their lengths (binary-safe). */
typedef struct cmdline {
    int argc;
    char words[64][48];
    size_t lens[64];
} cmdline;

static void add(cmdline *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(cmdline *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->words[c->argc], sizeof c->words[0], fmt, ap);
    va_end(ap);
    c->lens[c->argc++] = (size_t)n;
}

static void add_bytes(cmdline *c, const uint8_t *p, size_t n)
{
    memcpy(c->words[c->argc], p, n);
    c->lens[c->argc++] = n;
}

static const char *key(void)
{
    static const char *const keys[NKEYS] = {"b0", "b1", "b2", "b3", "b4"};
    if (next() % 40 == 0)
        return "lst"; /* a list: WRONGTYPE */
    return keys[next() % NKEYS];
}

/* A bit offset: mostly small, sometimes far, rarely invalid. */
static long long offset(void)
{
    switch (next() % 20) {
    case 0:
        return pick(0, 20000);
    case 1:
        return -pick(1, 3);
    default:
        return pick(0, 300);
    }
}

/* A range bound for BITCOUNT/BITPOS. */
static long long bound(void)
{
    return next() % 8 == 0 ? pick(-200, 200) : pick(-12, 12);
}

static void random_bytes(cmdline *c)
{
    uint8_t b[40];
    size_t n = (size_t)pick(0, sizeof b);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next() % 4;
        b[i] = r == 0 ? 0 : r == 1 ? 0xff : (uint8_t)next();
    }
    add_bytes(c, b, n);
}

static void bitfield_ops(cmdline *c)
{
    static const char *const ow[] = {"WRAP", "SAT", "FAIL"};
    int nops = (int)pick(1, 6);
    for (int i = 0; i < nops && c->argc < 56; i++) {
        int sign = (int)(next() % 2);
        int bits = sign ? (int)pick(1, 64) : (int)pick(1, 63);
        if (next() % 50 == 0)
            bits = sign ? 65 : 64; /* invalid type */
        char type[8];
        snprintf(type, sizeof type, "%c%d", sign ? 'i' : 'u', bits);
        char off[32];
        if (next() % 4 == 0)
            snprintf(off, sizeof off, "#%lld", pick(0, 20));
        else
            snprintf(off, sizeof off, "%lld", offset());
        long long v = next() % 3 ? pick(-300, 300) : (long long)next();
        switch (next() % 4) {
        case 0:
            add(c, "GET");
            add(c, "%s", type);
            add(c, "%s", off);
            break;
        case 1:
            add(c, "SET");
            add(c, "%s", type);
            add(c, "%s", off);
            add(c, "%lld", v);
            break;
        case 2:
            add(c, "INCRBY");
            add(c, "%s", type);
            add(c, "%s", off);
            add(c, "%lld", v);
            break;
        default:
            add(c, "OVERFLOW");
            add(c, "%s", ow[next() % 3]);
            break;
        }
    }
}

static void random_command(cmdline *c)
{
    static const char *const ops[] = {"AND", "OR", "XOR", "NOT"};
    c->argc = 0;
    switch (next() % 16) {
    case 0:
    case 1:
    case 2:
        add(c, "SETBIT");
        add(c, "%s", key());
        add(c, "%lld", offset());
        add(c, "%d", next() % 30 == 0 ? 2 : (int)(next() % 2));
        break;
    case 3:
        add(c, "GETBIT");
        add(c, "%s", key());
        add(c, "%lld", offset());
        break;
    case 4:
        add(c, "BITCOUNT");
        add(c, "%s", key());
        if (next() % 3) {
            add(c, "%lld", bound());
            add(c, "%lld", bound());
            if (next() % 2)
                add(c, next() % 2 ? "BIT" : "BYTE");
        }
        break;
    case 5:
    case 6: {
        add(c, "BITPOS");
        add(c, "%s", key());
        add(c, "%d", (int)(next() % 2));
        int n = (int)(next() % 4);
        if (n >= 1)
            add(c, "%lld", bound());
        if (n >= 2)
            add(c, "%lld", bound());
        if (n >= 3)
            add(c, next() % 2 ? "BIT" : "BYTE");
        break;
    }
    case 7:
    case 8: {
        int op = (int)(next() % 4);
        add(c, "BITOP");
        add(c, "%s", ops[op]);
        add(c, "%s", key());
        int n = op == 3 ? 1 : (int)pick(1, 4);
        for (int i = 0; i < n; i++)
            add(c, "%s", next() % 10 == 0 ? "missing" : key());
        break;
    }
    case 9:
    case 10:
    case 11:
        add(c, "BITFIELD");
        add(c, "%s", key());
        bitfield_ops(c);
        break;
    case 12:
        add(c, "BITFIELD_RO");
        add(c, "%s", key());
        bitfield_ops(c);
        break;
    case 13:
        add(c, next() % 2 ? "SET" : "APPEND");
        add(c, "%s", key());
        random_bytes(c);
        break;
    case 14:
        add(c, "SETRANGE");
        add(c, "%s", key());
        add(c, "%lld", pick(0, 60));
        random_bytes(c);
        break;
    default:
        add(c, "DEL");
        add(c, "%s", key());
        break;
    }
}

static kv_reply *send(kv_client *cl, const cmdline *c)
{
    const char *argv[64];
    for (int i = 0; i < c->argc; i++)
        argv[i] = c->words[i];
    return h_cmdv(cl, c->argc, argv, c->lens);
}

static void text_of(const cmdline *c, char *out, size_t len)
{
    size_t at = 0;
    for (int i = 0; i < c->argc && at < len; i++)
        at += (size_t)snprintf(out + at, len - at, "%s%.*s", i ? " " : "", (int)c->lens[i],
                               c->words[i]);
}

static void digest(kv_client *c, char *out, size_t len)
{
    kv_reply *r = h_cmd(c, "DEBUG DIGEST");
    assert_non_null(r);
    h_reply_text(r, out, len);
    kv_reply_free(r);
}

/* Run STEPS random commands from seed on both servers; return the number
 * of differing replies (each printed). */
static int run_seed(uint64_t seed)
{
    static char a[1 << 16], b[1 << 16], line[4096];
    rng = seed;
    kv_reply_free(h_cmd(rc, "FLUSHALL"));
    kv_reply_free(h_cmd(kc, "FLUSHALL"));
    kv_reply_free(h_cmd(rc, "RPUSH lst x"));
    kv_reply_free(h_cmd(kc, "RPUSH lst x"));
    int failures = 0;
    for (int step = 0; step < STEPS && failures < 5; step++) {
        cmdline c;
        random_command(&c);
        kv_reply *ra = send(rc, &c), *rb = send(kc, &c);
        assert_non_null(ra);
        assert_non_null(rb);
        h_reply_text(ra, a, sizeof a);
        h_reply_text(rb, b, sizeof b);
        if (strcmp(a, b) != 0) {
            text_of(&c, line, sizeof line);
            fprintf(stderr, "seed %" PRIu64 " step %d: %s\n  redis:  %.500s\n  kvnode: %.500s\n",
                    seed, step, line, a, b);
            failures++;
        }
        kv_reply_free(ra);
        kv_reply_free(rb);
    }
    /* The final values, key by key. */
    static const char *const keys[] = {"b0", "b1", "b2", "b3", "b4", "missing"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char get[32];
        snprintf(get, sizeof get, "GET %s", keys[i]);
        kv_reply *ra = h_cmd(rc, get), *rb = h_cmd(kc, get);
        assert_non_null(ra);
        assert_non_null(rb);
        h_reply_text(ra, a, sizeof a);
        h_reply_text(rb, b, sizeof b);
        if (strcmp(a, b) != 0) {
            fprintf(stderr, "seed %" PRIu64 ": %s differs at the end\n", seed, keys[i]);
            failures++;
        }
        kv_reply_free(ra);
        kv_reply_free(rb);
    }
    return failures;
}

/* ---- Tests ---- */

/* Random bit-command sequences from fixed seeds (and KV_TEST_SEED) get
 * the same replies and leave the same values as on redis-server, and a
 * kvnode killed with SIGKILL recovers the same state from its WAL. */
static void test_random_sequences(void **state)
{
    (void)state;
    uint64_t seeds[8] = {1, 2, 3, 0xB17B17, 20251205};
    int nseeds = 5;
    const char *env = getenv("KV_TEST_SEED");
    if (env && *env)
        seeds[nseeds++] = strtoull(env, NULL, 0);
    for (int i = 0; i < nseeds; i++) {
        assert_int_equal(run_seed(seeds[i]), 0);
        char before[128], after[128];
        digest(kc, before, sizeof before);
        kv_client_free(kc);
        kc = NULL;
        h_stop(&pr.kv, SIGKILL, 10000);
        assert_int_equal(h_restart(&pr.kv), 0);
        kc = h_connect(pr.kv.port);
        assert_non_null(kc);
        digest(kc, after, sizeof after);
        assert_string_equal(before, after);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_sequences),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
