/* test_setzset_random.c — randomized differential test of the set and
 * sorted set commands: a seeded random sequence of commands (writes,
 * reads, set algebra, STOREs, ranges with random bounds, errors, wrong
 * types, encoding thresholds changed on the fly) runs on redis-server and
 * on kvnode, and every reply must be the same (replies whose order Redis
 * leaves to its hash table are compared sorted; random picks are compared
 * by shape). After each run every key's type, encoding and contents are
 * compared, then kvnode is killed with SIGKILL and restarted: its DEBUG
 * DIGEST and contents must be what they were. The seed is printed, and
 * KV_SEED=<n> replays one run. Also: huge random counts stop at the
 * client's output buffer limit. */
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
    const char *extra[] = {"--save", "", "--active-expire", "no", NULL};
    int r = h_pair_start(&pr, "setzrand", NULL, extra);
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

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int pick(int n)
{
    return (int)(rng() % (uint64_t)n);
}

/* How a reply is compared. */
enum { EXACT, SORTED, SHAPE };

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Text of a reply; SORTED sorts a top-level array (or a SCAN reply's
 * items), SHAPE keeps only type and length. */
static void canon(const kv_reply *r, int mode, char *out, size_t len)
{
    if (!r) {
        snprintf(out, len, "(no reply)");
        return;
    }
    if (mode == SHAPE) {
        snprintf(out, len, "type=%d n=%zu", r->type,
                 r->type == KV_REPLY_ARRAY || r->type == KV_REPLY_SET ? r->elements : 0);
        return;
    }
    const kv_reply *arr = r;
    size_t at = 0;
    if (mode == SORTED && r->type == KV_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == KV_REPLY_STRING && r->element[1]->type == KV_REPLY_ARRAY) {
        at = (size_t)snprintf(out, len, "cursor %s ", r->element[0]->str);
        arr = r->element[1];
    }
    if (mode == EXACT || (arr->type != KV_REPLY_ARRAY && arr->type != KV_REPLY_SET)) {
        h_reply_text(r, out, len);
        return;
    }
    char **items = calloc(arr->elements + 1, sizeof *items);
    for (size_t i = 0; i < arr->elements; i++) {
        items[i] = malloc(4096);
        h_reply_text(arr->element[i], items[i], 4096);
    }
    qsort(items, arr->elements, sizeof *items, cmp_str);
    at += (size_t)snprintf(out + at, len - at, "type=%d sorted[", arr->type);
    for (size_t i = 0; i < arr->elements; i++) {
        if (at < len)
            at += (size_t)snprintf(out + at, len - at, "%s%s", i ? ", " : "", items[i]);
        free(items[i]);
    }
    if (at < len)
        snprintf(out + at, len - at, "]");
    free(items);
}

static char ra[1 << 16], rb[1 << 16];
static int mismatches;
/* Read a "-0" score as "0" (after a restart, see run_seed). */
static int fold_neg_zero;

static void fold(char *s)
{
    for (char *p; (p = strstr(s, "\"-0\""));)
        memmove(p + 1, p + 2, strlen(p + 2) + 1);
}

/* Run argv on both servers and compare the replies. */
static void both(int mode, int argc, const char **argv)
{
    kv_reply *x = h_cmdv(rc, argc, argv, NULL);
    kv_reply *y = h_cmdv(kc, argc, argv, NULL);
    assert_non_null(x);
    assert_non_null(y);
    canon(x, mode, ra, sizeof ra);
    canon(y, mode, rb, sizeof rb);
    if (fold_neg_zero) {
        fold(ra);
        fold(rb);
    }
    if (strcmp(ra, rb) != 0) {
        char line[1024];
        size_t at = 0;
        for (int i = 0; i < argc && at < sizeof line; i++)
            at += (size_t)snprintf(line + at, sizeof line - at, "%s%s", i ? " " : "", argv[i]);
        fprintf(stderr, "mismatch: %s\n  redis:  %.1500s\n  kvnode: %.1500s\n", line, ra, rb);
        mismatches++;
    }
    kv_reply_free(x);
    kv_reply_free(y);
}

static void both_line(int mode, const char *line)
{
    char buf[1024], *argv[64];
    snprintf(buf, sizeof buf, "%s", line);
    int argc = 0;
    for (char *t = strtok(buf, " "); t && argc < 64; t = strtok(NULL, " "))
        argv[argc++] = t;
    both(mode, argc, (const char **)argv);
}

/* ---- Vocabulary ---- */

static const char *set_keys[] = {"s0", "s1", "s2", "s3", "z0", "str"};
static const char *zset_keys[] = {"z0", "z1", "z2", "z3", "s0", "str"};
static char long_member[80];

static const char *member(void)
{
    static char buf[8][32];
    static int slot;
    char *b = buf[slot++ % 8];
    int r = pick(100);
    if (r < 45)
        snprintf(b, 32, "%d", pick(30) - 5);
    else if (r < 90)
        snprintf(b, 32, "%c", 'a' + pick(12));
    else if (r < 95)
        snprintf(b, 32, "m%c%c", 'a' + pick(3), 'a' + pick(3));
    else
        return long_member;
    return b;
}

static const char *score(void)
{
    static const char *fixed[] = {"0", "1", "-1", "2.5", "-0.5", "3", "inf", "-inf", "+inf",
                                  "1e3", "0.1", "7", "1.5", "-2"};
    static char buf[8][32];
    static int slot;
    if (pick(3) == 0)
        return fixed[pick((int)(sizeof fixed / sizeof *fixed))];
    char *b = buf[slot++ % 8];
    snprintf(b, 32, "%d", pick(10) - 3);
    return b;
}

static const char *bound(void)
{
    static char buf[4][40];
    static int slot;
    char *b = buf[slot++ % 4];
    snprintf(b, 40, "%s%s", pick(3) == 0 ? "(" : "", score());
    if (!strcmp(b, "(+inf"))
        snprintf(b, 40, "+inf");
    return b;
}

static const char *lexbound(void)
{
    static char buf[4][40];
    static int slot;
    int r = pick(10);
    if (r == 0)
        return "-";
    if (r == 1)
        return "+";
    char *b = buf[slot++ % 4];
    snprintf(b, 40, "%c%c", pick(2) ? '[' : '(', 'a' + pick(12));
    return b;
}

static const char *num(int lo, int hi)
{
    static char buf[8][24];
    static int slot;
    char *b = buf[slot++ % 8];
    snprintf(b, 24, "%d", lo + pick(hi - lo + 1));
    return b;
}

/* ---- One random command ---- */

static void random_set_command(void)
{
    const char *argv[16];
    int argc = 0;
    const char *k = set_keys[pick(6)];
    switch (pick(16)) {
    case 0:
    case 1:
    case 2:
        argv[argc++] = "SADD";
        argv[argc++] = k;
        for (int n = 1 + pick(5); n > 0; n--)
            argv[argc++] = member();
        both(EXACT, argc, argv);
        return;
    case 3:
        argv[argc++] = "SREM";
        argv[argc++] = k;
        for (int n = 1 + pick(4); n > 0; n--)
            argv[argc++] = member();
        both(EXACT, argc, argv);
        return;
    case 4:
        argv[0] = pick(2) ? "SISMEMBER" : "SMISMEMBER";
        argv[1] = k;
        argv[2] = member();
        argv[3] = member();
        both(EXACT, argv[0][1] == 'M' ? 4 : 3, argv);
        return;
    case 5:
        argv[0] = pick(2) ? "SCARD" : "SMEMBERS";
        argv[1] = k;
        both(SORTED, 2, argv);
        return;
    case 6: {
        const char *ops[] = {"SINTER", "SUNION", "SDIFF"};
        argv[argc++] = ops[pick(3)];
        for (int n = 1 + pick(3); n > 0; n--)
            argv[argc++] = set_keys[pick(6)];
        both(SORTED, argc, argv);
        return;
    }
    case 7: {
        const char *ops[] = {"SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"};
        argv[argc++] = ops[pick(3)];
        argv[argc++] = set_keys[pick(4)];
        for (int n = 1 + pick(3); n > 0; n--)
            argv[argc++] = set_keys[pick(6)];
        both(EXACT, argc, argv);
        return;
    }
    case 8:
        argv[argc++] = "SINTERCARD";
        argv[argc++] = "2";
        argv[argc++] = set_keys[pick(6)];
        argv[argc++] = set_keys[pick(6)];
        if (pick(2)) {
            argv[argc++] = "LIMIT";
            argv[argc++] = num(0, 4);
        }
        both(EXACT, argc, argv);
        return;
    case 9:
        argv[0] = "SMOVE";
        argv[1] = set_keys[pick(6)];
        argv[2] = set_keys[pick(6)];
        argv[3] = member();
        both(EXACT, 4, argv);
        return;
    case 10:
        /* Only the deterministic SPOP: everything (or an error). */
        argv[0] = "SPOP";
        argv[1] = k;
        argv[2] = pick(4) ? "1000" : num(-1, 0);
        both(SORTED, 3, argv);
        return;
    case 11:
        argv[0] = "SRANDMEMBER";
        argv[1] = k;
        argv[2] = pick(2) ? num(-5, 5) : "1000";
        both(argv[2][0] == '1' && argv[2][1] == '0' ? SORTED : SHAPE, 3, argv);
        return;
    case 12:
        argv[0] = "SSCAN";
        argv[1] = k;
        argv[2] = "0";
        argv[3] = "COUNT";
        argv[4] = "1000";
        both(SORTED, 5, argv);
        return;
    case 13:
        argv[0] = "OBJECT";
        argv[1] = "ENCODING";
        argv[2] = k;
        both(EXACT, 3, argv);
        return;
    default:
        argv[0] = "SADD";
        argv[1] = k;
        argv[2] = num(-40000, 40000);
        both(EXACT, 3, argv);
        return;
    }
}

static void random_zset_command(void)
{
    const char *argv[24];
    int argc = 0;
    const char *k = zset_keys[pick(6)];
    switch (pick(24)) {
    case 0:
    case 1:
    case 2:
    case 3: {
        static const char *flags[] = {"NX", "XX", "GT", "LT", "CH"};
        argv[argc++] = "ZADD";
        argv[argc++] = k;
        for (int n = pick(3); n > 0; n--)
            argv[argc++] = flags[pick(5)];
        int incr = pick(8) == 0;
        if (incr)
            argv[argc++] = "INCR";
        for (int n = incr ? 1 : 1 + pick(4); n > 0; n--) {
            argv[argc++] = score();
            argv[argc++] = member();
        }
        both(EXACT, argc, argv);
        return;
    }
    case 4:
        argv[0] = "ZINCRBY";
        argv[1] = k;
        argv[2] = score();
        argv[3] = member();
        both(EXACT, 4, argv);
        return;
    case 5:
        argv[argc++] = "ZREM";
        argv[argc++] = k;
        for (int n = 1 + pick(3); n > 0; n--)
            argv[argc++] = member();
        both(EXACT, argc, argv);
        return;
    case 6: {
        static const char *ops[] = {"ZSCORE", "ZRANK", "ZREVRANK", "ZMSCORE"};
        argv[0] = ops[pick(4)];
        argv[1] = k;
        argv[2] = member();
        both(EXACT, 3, argv);
        return;
    }
    case 7:
        argv[0] = "ZCARD";
        argv[1] = k;
        both(EXACT, 2, argv);
        return;
    case 8:
        argv[0] = "ZCOUNT";
        argv[1] = k;
        argv[2] = bound();
        argv[3] = bound();
        both(EXACT, 4, argv);
        return;
    case 9:
        argv[argc++] = "ZRANGE";
        argv[argc++] = k;
        argv[argc++] = num(-8, 8);
        argv[argc++] = num(-8, 8);
        if (pick(2))
            argv[argc++] = "REV";
        if (pick(2))
            argv[argc++] = "WITHSCORES";
        both(EXACT, argc, argv);
        return;
    case 10:
    case 11: {
        int rev = pick(2);
        argv[argc++] = rev ? "ZREVRANGEBYSCORE" : "ZRANGEBYSCORE";
        argv[argc++] = k;
        argv[argc++] = bound();
        argv[argc++] = bound();
        if (pick(2))
            argv[argc++] = "WITHSCORES";
        if (pick(2)) {
            argv[argc++] = "LIMIT";
            argv[argc++] = num(-1, 4);
            argv[argc++] = num(-2, 4);
        }
        both(EXACT, argc, argv);
        return;
    }
    case 12: {
        /* Lex ranges are defined on sets whose scores are all equal. */
        const char *lk = pick(2) ? "lex" : "str";
        argv[argc++] = pick(2) ? "ZRANGEBYLEX" : "ZREVRANGEBYLEX";
        argv[argc++] = lk;
        argv[argc++] = lexbound();
        argv[argc++] = lexbound();
        if (pick(2)) {
            argv[argc++] = "LIMIT";
            argv[argc++] = num(-1, 3);
            argv[argc++] = num(-1, 3);
        }
        both(EXACT, argc, argv);
        return;
    }
    case 13: {
        static const char *ops[] = {"ZLEXCOUNT", "ZREMRANGEBYLEX"};
        argv[0] = ops[pick(2)];
        argv[1] = "lex";
        argv[2] = lexbound();
        argv[3] = lexbound();
        both(EXACT, 4, argv);
        if (argv[0][1] == 'R' && pick(2)) {
            const char *refill[] = {"ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d",
                                    "0", "e", "0", "f", "0", "g", "0", "h"};
            both(EXACT, 18, refill);
        }
        return;
    }
    case 14:
        argv[0] = pick(2) ? "ZREMRANGEBYSCORE" : "ZREMRANGEBYRANK";
        argv[1] = k;
        if (argv[0][11] == 'S') {
            argv[2] = bound();
            argv[3] = bound();
        } else {
            argv[2] = num(-4, 4);
            argv[3] = num(-4, 4);
        }
        both(EXACT, 4, argv);
        return;
    case 15:
        argv[argc++] = pick(2) ? "ZPOPMIN" : "ZPOPMAX";
        argv[argc++] = k;
        if (pick(2))
            argv[argc++] = num(-1, 4);
        both(EXACT, argc, argv);
        return;
    case 16:
        argv[argc++] = "ZMPOP";
        argv[argc++] = "2";
        argv[argc++] = zset_keys[pick(6)];
        argv[argc++] = zset_keys[pick(6)];
        argv[argc++] = pick(2) ? "MIN" : "MAX";
        if (pick(2)) {
            argv[argc++] = "COUNT";
            argv[argc++] = num(0, 3);
        }
        both(EXACT, argc, argv);
        return;
    case 17:
    case 18: {
        static const char *ops[] = {"ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE",
                                    "ZDIFFSTORE", "ZINTERCARD"};
        int op = pick(7);
        argv[argc++] = ops[op];
        if (op >= 3 && op <= 5)
            argv[argc++] = zset_keys[pick(4)];
        int n = 1 + pick(3);
        argv[argc++] = num(n, n);
        for (int i = 0; i < n; i++)
            argv[argc++] = pick(5) ? zset_keys[pick(6)] : "s1";
        if (op != 2 && op != 5 && op != 6 && pick(2)) {
            argv[argc++] = "WEIGHTS";
            for (int i = 0; i < n; i++)
                argv[argc++] = pick(3) ? num(-2, 3) : score();
        }
        if (op != 2 && op != 5 && op != 6 && pick(2)) {
            static const char *agg[] = {"SUM", "MIN", "MAX"};
            argv[argc++] = "AGGREGATE";
            argv[argc++] = agg[pick(3)];
        }
        if (op < 3 && pick(2))
            argv[argc++] = "WITHSCORES";
        if (op == 6 && pick(2)) {
            argv[argc++] = "LIMIT";
            argv[argc++] = num(0, 3);
        }
        both(EXACT, argc, argv);
        return;
    }
    case 19:
        argv[argc++] = "ZRANGESTORE";
        argv[argc++] = zset_keys[pick(4)];
        argv[argc++] = zset_keys[pick(6)];
        if (pick(2)) {
            argv[argc++] = bound();
            argv[argc++] = bound();
            argv[argc++] = "BYSCORE";
        } else {
            argv[argc++] = num(-5, 5);
            argv[argc++] = num(-5, 5);
        }
        if (pick(2))
            argv[argc++] = "REV";
        both(EXACT, argc, argv);
        return;
    case 20:
        argv[0] = "ZRANDMEMBER";
        argv[1] = k;
        argv[2] = pick(2) ? num(-4, 4) : "1000";
        argv[3] = "WITHSCORES";
        both(argv[2][0] == '1' && argv[2][1] == '0' ? EXACT : SHAPE, 3 + pick(2), argv);
        return;
    case 21:
        argv[0] = "ZSCAN";
        argv[1] = k;
        argv[2] = "0";
        argv[3] = "COUNT";
        argv[4] = "1000";
        both(SORTED, 5, argv);
        return;
    case 22:
        argv[0] = "OBJECT";
        argv[1] = "ENCODING";
        argv[2] = k;
        both(EXACT, 3, argv);
        return;
    default:
        argv[0] = "ZADD";
        argv[1] = k;
        argv[2] = score();
        argv[3] = pick(4) ? member() : long_member;
        both(EXACT, 4, argv);
        return;
    }
}

/* Change an encoding threshold on both servers now and then. */
static void random_config(void)
{
    static const char *lines[] = {
        "CONFIG SET set-max-intset-entries 512", "CONFIG SET set-max-intset-entries 4",
        "CONFIG SET zset-max-listpack-entries 128", "CONFIG SET zset-max-listpack-entries 5",
        "CONFIG SET zset-max-listpack-value 64", "CONFIG SET zset-max-listpack-value 2",
    };
    both_line(EXACT, lines[pick(6)]);
}

/* Every key's type, encoding and contents, on both servers. */
static void compare_all_keys(void)
{
    static const char *keys[] = {"s0", "s1", "s2", "s3", "z0", "z1", "z2", "z3", "lex", "str"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *argv[5] = {"TYPE", keys[i]};
        both(EXACT, 2, argv);
        argv[0] = "OBJECT";
        argv[1] = "ENCODING";
        argv[2] = keys[i];
        both(EXACT, 3, argv);
        argv[0] = "SMEMBERS";
        argv[1] = keys[i];
        both(SORTED, 2, argv);
        argv[0] = "ZRANGE";
        argv[1] = keys[i];
        argv[2] = "0";
        argv[3] = "-1";
        argv[4] = "WITHSCORES";
        both(EXACT, 5, argv);
    }
}

static void digest(kv_client *c, char *out, size_t len)
{
    kv_reply *r = h_cmd(c, "DEBUG DIGEST");
    h_reply_text(r, out, len);
    kv_reply_free(r);
}

/* One seeded run: commands, then the state compared, then a kill -9. */
static void run_seed(uint64_t seed, int commands)
{
    printf("seed %llu, %d commands\n", (unsigned long long)seed, commands);
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    mismatches = 0;
    memset(long_member, 'L', sizeof long_member - 1);
    kv_reply_free(h_cmd(rc, "FLUSHALL"));
    kv_reply_free(h_cmd(kc, "FLUSHALL"));
    both_line(EXACT, "CONFIG SET set-max-intset-entries 512");
    both_line(EXACT, "CONFIG SET zset-max-listpack-entries 128");
    both_line(EXACT, "CONFIG SET zset-max-listpack-value 64");
    both_line(EXACT, "SET str hello");
    both_line(EXACT, "ZADD lex 0 a 0 b 0 c 0 d 0 e 0 f 0 g 0 h");
    for (int i = 0; i < commands; i++) {
        int r = pick(100);
        if (r < 2)
            random_config();
        else if (r < 45)
            random_set_command();
        else
            random_zset_command();
    }
    compare_all_keys();
    assert_int_equal(mismatches, 0);

    /* Replay from the WAL must rebuild the same data. */
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
    /* The thresholds are not in the WAL: give kvnode Redis's again before
     * comparing contents (the encodings may differ after a restart). */
    kv_reply_free(h_cmd(kc, "CONFIG SET set-max-intset-entries 512"));
    kv_reply_free(h_cmd(kc, "CONFIG SET zset-max-listpack-entries 128"));
    kv_reply_free(h_cmd(kc, "CONFIG SET zset-max-listpack-value 64"));
    kv_reply_free(h_cmd(rc, "CONFIG SET set-max-intset-entries 512"));
    kv_reply_free(h_cmd(rc, "CONFIG SET zset-max-listpack-entries 128"));
    kv_reply_free(h_cmd(rc, "CONFIG SET zset-max-listpack-value 64"));
    static const char *keys[] = {"s0", "s1", "s2", "s3", "z0", "z1", "z2", "z3", "lex", "str"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *argv[5] = {"SMEMBERS", keys[i]};
        both(SORTED, 2, argv);
        argv[0] = "ZRANGE";
        argv[2] = "0";
        argv[3] = "-1";
        argv[4] = "WITHSCORES";
        /* A -0 score kept by a skiplist may come back as 0 after a
         * restart rebuilt the set as a listpack (keyspace.c's digest
         * note), as it would after Redis reloads its AOF. */
        fold_neg_zero = 1;
        both(EXACT, 5, argv);
        fold_neg_zero = 0;
    }
    assert_int_equal(mismatches, 0);
}

/* ---- Tests ---- */

/* Seeded random command sequences give the same replies on redis-server
 * and kvnode, and kvnode recovers the same data after kill -9. */
static void test_random_sequences(void **state)
{
    (void)state;
    const char *env = getenv("KV_SEED");
    if (env) {
        run_seed(strtoull(env, NULL, 10), 5000);
        return;
    }
    for (uint64_t seed = 1; seed <= 8; seed++)
        run_seed(seed, 4000);
}

/* SRANDMEMBER and ZRANDMEMBER with a huge negative count stop once the
 * reply passes the client's output buffer limit (1mb here) and that
 * client is closed, in bounded time; the node goes on serving others. */
static void test_huge_random_counts_hit_output_limit(void **state)
{
    (void)state;
    const char *limit[4] = {"CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"};
    kv_reply *ok = h_cmdv(kc, 4, limit, NULL);
    assert_non_null(ok);
    assert_int_equal(ok->type, KV_REPLY_STATUS);
    kv_reply_free(ok);
    kv_reply_free(h_cmd(kc, "SADD hugeset a b c"));
    kv_reply_free(h_cmd(kc, "ZADD hugezset 1 a 2 b"));
    const char *lines[] = {"SRANDMEMBER hugeset -9223372036854775807",
                           "ZRANDMEMBER hugezset -9223372036854775807",
                           "ZRANDMEMBER hugezset -4611686018427387903 WITHSCORES"};
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        kv_client *victim = h_connect(pr.kv.port);
        assert_non_null(victim);
        long long t0 = h_now_ms();
        kv_reply *r = h_cmd(victim, lines[i]);
        long long took = h_now_ms() - t0;
        if (r || took >= 20000) {
            char text[256];
            h_reply_text(r, text, sizeof text);
            fprintf(stderr, "%s: reply %.200s after %lld ms\n", lines[i], text, took);
        }
        assert_null(r);
        assert_true(took < 20000);
        kv_client_free(victim);
        kv_reply *p = h_cmd(kc, "PING");
        assert_non_null(p);
        kv_reply_free(p);
    }
    kv_reply *r = h_cmd(kc, "SCARD hugeset");
    assert_non_null(r);
    assert_int_equal(r->integer, 3);
    kv_reply_free(r);
    limit[3] = "normal 1gb 0 0";
    kv_reply_free(h_cmdv(kc, 4, limit, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_sequences),
        cmocka_unit_test(test_huge_random_counts_hit_output_limit),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
