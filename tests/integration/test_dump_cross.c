/* test_dump_cross.c — DUMP payloads move between redis-server 7.0.15 and
 * kvnode in both directions, for every type and encoding both have:
 * strings (int, embstr, raw, LZF-compressed, large, binary), lists (one and
 * many quicklist nodes, an element larger than a node), sets (intset of
 * each width, hashtable), hashes (listpack, hashtable by count and by value
 * size) and sorted sets (listpack, skiplist, ±inf scores).
 *
 * Each value is built by the same commands on both servers. Then:
 *  - OBJECT ENCODING is the same on both;
 *  - where Redis's bytes follow from the value alone (everything but
 *    hashtable sets and hashes, whose order is Redis's hash table's, and
 *    lists built from the head), DUMP is byte for byte the same;
 *  - Redis's payload restored in kvnode, and kvnode's restored in Redis,
 *    give the same contents and the same encoding on both servers;
 *  - after kill -9, kvnode recovers the restored keys (their TTLs too)
 *    with the same DEBUG DIGEST. */
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
#include <time.h>

#include "harness.h"

static h_proc redis, kv;
static char *tmp;
static kv_client *rc, *kc;

static int group_setup(void **state)
{
    (void)state;
    tmp = h_tmpdir("dumpcross");
    char rdir[600], kdir[600];
    snprintf(rdir, sizeof rdir, "%s/redis", tmp);
    snprintf(kdir, sizeof kdir, "%s/kv", tmp);
    mkdir(rdir, 0755);
    if (h_redis_start(&redis, rdir, NULL) != 0)
        return -1;
    const char *extra[] = {"--save", "", "--appendfsync", "no", "--active-expire", "no", NULL};
    if (h_kvnode_start(&kv, kdir, extra) != 0)
        return -1;
    rc = h_connect(redis.port);
    kc = h_connect(kv.port);
    return rc && kc ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    kv_client_free(rc);
    kv_client_free(kc);
    h_stop(&kv, SIGTERM, 10000);
    h_stop(&redis, SIGTERM, 10000);
    h_rmrf(tmp);
    free(tmp);
    return 0;
}

/* ---- Building values ---- */

/* A command of up to 2 + 2*4000 arguments, built piece by piece. */
typedef struct args {
    int argc;
    const char *argv[8200];
    size_t lens[8200];
    char *owned[8200];
    int nowned;
} args;

static args *args_new(const char *cmd, const char *key)
{
    args *a = calloc(1, sizeof *a);
    a->argv[0] = cmd;
    a->lens[0] = strlen(cmd);
    a->argv[1] = key;
    a->lens[1] = strlen(key);
    a->argc = 2;
    return a;
}

static void args_add(args *a, const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    memcpy(p, s, n);
    a->owned[a->nowned++] = p;
    a->argv[a->argc] = p;
    a->lens[a->argc++] = n;
}

static void args_addf(args *a, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    args_add(a, buf, (size_t)n);
}

/* Run a on both servers (each must not answer an error), then free it. */
static void both(args *a)
{
    kv_client *cs[2] = {rc, kc};
    for (int i = 0; i < 2; i++) {
        kv_reply *r = h_cmdv(cs[i], a->argc, a->argv, a->lens);
        assert_non_null(r);
        if (r->type == KV_REPLY_ERROR)
            fprintf(stderr, "%s on %s: %s\n", a->argv[0], i ? "kvnode" : "redis", r->str);
        assert_int_not_equal(r->type, KV_REPLY_ERROR);
        kv_reply_free(r);
    }
    for (int i = 0; i < a->nowned; i++)
        free(a->owned[i]);
    free(a);
}

static void both_line(const char *line)
{
    kv_reply_free(h_cmd(rc, line));
    kv_reply_free(h_cmd(kc, line));
}

/* ---- Reading values ---- */

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

#define TEXT_MAX (4u << 20)

/* The contents of key on c as text: TYPE, then the value (sets and hashes
 * sorted, so the order of their hash tables does not count). */
static char *contents(kv_client *c, const char *key)
{
    char *out = malloc(TEXT_MAX);
    const char *targv[2] = {"TYPE", key};
    kv_reply *t = h_cmdv(c, 2, targv, NULL);
    assert_non_null(t);
    char type[32];
    snprintf(type, sizeof type, "%s", t->str);
    kv_reply_free(t);
    const char *argv[5] = {NULL, key, NULL, NULL, NULL};
    int argc = 2, step = 1, sorted = 0;
    if (!strcmp(type, "string")) {
        argv[0] = "GET";
    } else if (!strcmp(type, "list")) {
        argv[0] = "LRANGE", argv[2] = "0", argv[3] = "-1", argc = 4;
    } else if (!strcmp(type, "set")) {
        argv[0] = "SMEMBERS", sorted = 1;
    } else if (!strcmp(type, "hash")) {
        argv[0] = "HGETALL", sorted = 1, step = 2;
    } else if (!strcmp(type, "zset")) {
        argv[0] = "ZRANGE", argv[2] = "0", argv[3] = "-1", argv[4] = "WITHSCORES", argc = 5;
    } else {
        snprintf(out, TEXT_MAX, "%s", type);
        return out;
    }
    kv_reply *r = h_cmdv(c, argc, argv, NULL);
    assert_non_null(r);
    size_t at = (size_t)snprintf(out, TEXT_MAX, "%s ", type);
    if (!sorted) {
        h_reply_text(r, out + at, TEXT_MAX - at);
    } else {
        assert_int_equal(r->type, KV_REPLY_ARRAY);
        size_t n = r->elements / (size_t)step;
        char **items = calloc(n ? n : 1, sizeof *items);
        for (size_t i = 0; i < n; i++) {
            items[i] = malloc(4096);
            h_reply_text(r->element[i * (size_t)step], items[i], 4096);
            if (step == 2) {
                size_t l = strlen(items[i]);
                h_reply_text(r->element[i * 2 + 1], items[i] + l, 4096 - l);
            }
        }
        qsort(items, n, sizeof *items, cmp_str);
        for (size_t i = 0; i < n; i++) {
            at += (size_t)snprintf(out + at, TEXT_MAX - at, "%s,", items[i]);
            free(items[i]);
        }
        free(items);
    }
    kv_reply_free(r);
    return out;
}

static void encoding(kv_client *c, const char *key, char *out, size_t len)
{
    const char *argv[3] = {"OBJECT", "ENCODING", key};
    kv_reply *r = h_cmdv(c, 3, argv, NULL);
    h_reply_text(r, out, len);
    kv_reply_free(r);
}

/* DUMP key on c (the reply, to free). */
static kv_reply *dump(kv_client *c, const char *key)
{
    const char *argv[2] = {"DUMP", key};
    kv_reply *r = h_cmdv(c, 2, argv, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STRING);
    return r;
}

static void restore(kv_client *c, const char *key, const kv_reply *payload)
{
    const char *argv[5] = {"RESTORE", key, "0", payload->str, "REPLACE"};
    size_t lens[5] = {7, strlen(key), 1, payload->len, 7};
    kv_reply *r = h_cmdv(c, 5, argv, lens);
    assert_non_null(r);
    if (r->type != KV_REPLY_STATUS)
        fprintf(stderr, "RESTORE %s: %s\n", key, r->str);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
}

/* ---- The check ---- */

/* key holds the same value on both servers: compare as the file says.
 * same_bytes: the DUMPs must be equal too. */
static void check_key(const char *key, int same_bytes)
{
    char er[64], ek[64];
    encoding(rc, key, er, sizeof er);
    encoding(kc, key, ek, sizeof ek);
    if (strcmp(er, ek) != 0)
        fprintf(stderr, "%s: encoding %s on redis, %s on kvnode\n", key, er, ek);
    assert_string_equal(er, ek);

    char *want = contents(rc, key);
    char *have = contents(kc, key);
    assert_string_equal(want, have);
    free(have);

    kv_reply *dr = dump(rc, key), *dk = dump(kc, key);
    if (same_bytes) {
        if (dr->len != dk->len || memcmp(dr->str, dk->str, dr->len) != 0)
            fprintf(stderr, "%s: DUMP differs (%zu bytes from redis, %zu from kvnode)\n", key,
                    dr->len, dk->len);
        assert_int_equal(dr->len, dk->len);
        assert_memory_equal(dr->str, dk->str, dr->len);
    }
    /* Each server's payload into both servers, under "<key>:from-r" and
     * "<key>:from-k". */
    const kv_reply *payloads[2] = {dr, dk};
    const char *suffix[2] = {":from-r", ":from-k"};
    for (int p = 0; p < 2; p++) {
        char k2[128];
        snprintf(k2, sizeof k2, "%s%s", key, suffix[p]);
        restore(rc, k2, payloads[p]);
        restore(kc, k2, payloads[p]);
        char *a = contents(rc, k2), *b = contents(kc, k2);
        /* Same value as the original (TYPE + contents, minus the name). */
        if (strcmp(a, want) != 0 || strcmp(b, want) != 0)
            fprintf(stderr, "%s: restored contents differ (redis %s, kvnode %s)\n", k2,
                    strcmp(a, want) ? "differs" : "same", strcmp(b, want) ? "differs" : "same");
        assert_string_equal(a, want);
        assert_string_equal(b, want);
        free(a);
        free(b);
        encoding(rc, k2, er, sizeof er);
        encoding(kc, k2, ek, sizeof ek);
        if (strcmp(er, ek) != 0)
            fprintf(stderr, "%s: restored encoding %s on redis, %s on kvnode\n", k2, er, ek);
        assert_string_equal(er, ek);
    }
    kv_reply_free(dr);
    kv_reply_free(dk);
    free(want);
}

static void fill(char *p, size_t n, unsigned seed, int random_bytes)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = random_bytes ? (char)(seed >> 16) : (char)('a' + (i / 7 + (seed >> 28)) % 3);
    }
}

/* ---- Tests ---- */

static void test_strings(void **state)
{
    (void)state;
    static const char *const small[][2] = {
        {"s:int", "12345"},          {"s:neg", "-7"},           {"s:int32max", "2147483647"},
        {"s:int32min", "-2147483648"}, {"s:int64", "1234567890123"}, {"s:zero", "0"},
        {"s:lead0", "0123"},         {"s:plus", "+5"},          {"s:embstr", "hello"},
        {"s:empty", ""},             {"s:float", "3.14"},
    };
    for (size_t i = 0; i < sizeof small / sizeof *small; i++) {
        args *a = args_new("SET", small[i][0]);
        args_add(a, small[i][1], strlen(small[i][1]));
        both(a);
        check_key(small[i][0], 1);
    }
    /* Raw strings: compressible (LZF) of several sizes, incompressible,
     * binary with NULs, large. */
    static const struct {
        const char *key;
        size_t len;
        int random;
    } raw[] = {
        {"s:lzf21", 21, 0},   {"s:lzf100", 100, 0}, {"s:lzf9000", 9000, 0},
        {"s:rnd45", 45, 1},   {"s:rnd300", 300, 1}, {"s:big", 3u << 20, 0},
        {"s:bigrnd", 300000, 1},
    };
    for (size_t i = 0; i < sizeof raw / sizeof *raw; i++) {
        char *v = malloc(raw[i].len);
        fill(v, raw[i].len, (unsigned)i, raw[i].random);
        args *a = args_new("SET", raw[i].key);
        args_add(a, v, raw[i].len);
        free(v);
        both(a);
        check_key(raw[i].key, 1);
    }
    both_line("SET s:rep aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    check_key("s:rep", 1);
    both_line("SET s:counter 10");
    both_line("INCRBY s:counter 5");
    check_key("s:counter", 1);
    both_line("SET s:app abc");
    both_line("APPEND s:app defghijklmnopqrstuvwxyzabcdefghijklmnop");
    check_key("s:app", 1);
}

static void test_lists(void **state)
{
    (void)state;
    both_line("RPUSH l:small a b 1 -2 3000000000 12345678901234567890 x");
    check_key("l:small", 1);
    /* One RPUSH of 3000 integers, and of 3000 strings: several nodes. */
    args *a = args_new("RPUSH", "l:ints");
    for (int i = 0; i < 3000; i++)
        args_addf(a, "%d", i * 37 - 5000);
    both(a);
    check_key("l:ints", 1);
    a = args_new("RPUSH", "l:strs");
    for (int i = 0; i < 3000; i++)
        args_addf(a, "value-%d-%s", i, i % 3 ? "abc" : "abcdefghijklmnopqrstuvwxyz0123456789abcdefghij");
    both(a);
    check_key("l:strs", 1);
    /* Elements larger than a node, and of every listpack length class. */
    char *big = malloc(20000);
    fill(big, 20000, 3, 0);
    a = args_new("RPUSH", "l:big");
    args_add(a, "a", 1);
    args_add(a, big, 10000);
    args_add(a, big, 63);
    args_add(a, big, 64);
    args_add(a, big, 4095);
    args_add(a, big, 4096);
    args_add(a, big, 20000);
    args_add(a, "b", 1);
    both(a);
    free(big);
    check_key("l:big", 1);
    /* Built from the head: Redis's nodes follow that history, so only the
     * contents are compared. */
    a = args_new("LPUSH", "l:head");
    for (int i = 0; i < 2500; i++)
        args_addf(a, "e%d", i);
    both(a);
    check_key("l:head", 0);
}

static void test_sets(void **state)
{
    (void)state;
    both_line("SADD i:16 1 2 -3 100 32767 -32768");
    check_key("i:16", 1);
    both_line("SADD i:32 1 2 -3 100000 -2147483648");
    check_key("i:32", 1);
    both_line("SADD i:64 1 2 -3 100000 5000000000 -9223372036854775808 9223372036854775807");
    check_key("i:64", 1);
    args *a = args_new("SADD", "i:512");
    for (int i = 0; i < 512; i++)
        args_addf(a, "%d", i * 7 - 1000);
    both(a);
    check_key("i:512", 1);
    a = args_new("SADD", "h:513");
    for (int i = 0; i < 513; i++)
        args_addf(a, "%d", i);
    both(a);
    check_key("h:513", 0);
    both_line("SADD h:str a b c 1 2");
    check_key("h:str", 0);
    a = args_new("SADD", "h:many");
    for (int i = 0; i < 2000; i++)
        args_addf(a, "member:%d", i);
    both(a);
    check_key("h:many", 0);
}

static void test_hashes(void **state)
{
    (void)state;
    both_line("HSET hs:lp f v n 1 neg -5 big 12345678901234 e x");
    check_key("hs:lp", 1);
    args *a = args_new("HSET", "hs:lp512");
    for (int i = 0; i < 512; i++) {
        args_addf(a, "f%d", i);
        args_addf(a, "%d", i * 3);
    }
    both(a);
    check_key("hs:lp512", 1);
    a = args_new("HSET", "hs:ht513");
    for (int i = 0; i < 513; i++) {
        args_addf(a, "f%d", i);
        args_addf(a, "v%d", i);
    }
    both(a);
    check_key("hs:ht513", 0);
    a = args_new("HSET", "hs:htval");
    args_add(a, "f", 1);
    args_add(a, "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv", 65);
    both(a);
    check_key("hs:htval", 0);
    both_line("HSET hs:64 f vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv");
    check_key("hs:64", 1);
}

static void test_zsets(void **state)
{
    (void)state;
    both_line("ZADD z:lp 1 a 2.5 b -inf c inf d 0 e 1e300 f -0.000001 g 3 123456789012");
    check_key("z:lp", 1);
    args *a = args_new("ZADD", "z:lp128");
    for (int i = 0; i < 128; i++) {
        args_addf(a, "%.17g", i * 0.1);
        args_addf(a, "m%d", i);
    }
    both(a);
    check_key("z:lp128", 1);
    a = args_new("ZADD", "z:sl");
    for (int i = 0; i < 300; i++) {
        args_addf(a, "%.17g", (i % 50) * 1.5 - 20);
        args_addf(a, "member-%d", i);
    }
    args_add(a, "-inf", 4);
    args_add(a, "low", 3);
    args_add(a, "inf", 3);
    args_add(a, "high", 4);
    both(a);
    check_key("z:sl", 1);
    both_line("ZADD z:long 1 mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm 2 x");
    check_key("z:long", 1);
}

/* Payloads redis-server writes under other settings: compressed quicklist
 * nodes (list-compress-depth), small nodes (list-max-listpack-size 5),
 * big ones (-5), small sets/hashes/zsets in their large encodings, and
 * rdbcompression no. kvnode loads each to the same contents, converted
 * to the encoding Redis's defaults give (Redis restoring the same payload
 * under its defaults agrees). */
static void redis_config(const char *name, const char *value)
{
    const char *argv[4] = {"CONFIG", "SET", name, value};
    kv_reply *r = h_cmdv(rc, 4, argv, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
}

/* key's payload from Redis (taken under the odd setting, restored after
 * it is reset) gives the same contents and encoding on both servers. */
static void check_redis_payload(const char *key, const char *name, const char *reset)
{
    char *want = contents(rc, key);
    kv_reply *d = dump(rc, key);
    redis_config(name, reset);
    char k2[64], er[64], ek[64];
    snprintf(k2, sizeof k2, "%s:restored", key);
    restore(kc, k2, d);
    restore(rc, k2, d);
    char *have = contents(kc, k2);
    assert_string_equal(want, have);
    encoding(rc, k2, er, sizeof er);
    encoding(kc, k2, ek, sizeof ek);
    if (strcmp(er, ek) != 0)
        fprintf(stderr, "%s: restored encoding %s on redis, %s on kvnode\n", k2, er, ek);
    assert_string_equal(er, ek);
    kv_reply_free(d);
    free(want);
    free(have);
}

static void test_redis_settings(void **state)
{
    (void)state;
    static const struct {
        const char *key, *name, *value, *reset, *build;
    } cases[] = {
        {"c:compressed", "list-compress-depth", "1", "0", "RPUSH"},
        {"c:fill5", "list-max-listpack-size", "5", "-2", "RPUSH"},
        {"c:fill-5", "list-max-listpack-size", "-5", "-2", "RPUSH"},
        {"c:nolzf", "rdbcompression", "no", "yes", "RPUSH"},
        {"c:setht", "set-max-intset-entries", "2", "512", "SADD"},
        {"c:hashht", "hash-max-listpack-entries", "1", "512", "HSET"},
        {"c:zsetsl", "zset-max-listpack-entries", "1", "128", "ZADD"},
        {"c:strnolzf", "rdbcompression", "no", "yes", "SET"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        redis_config(cases[i].name, cases[i].value);
        args *a = args_new(cases[i].build, cases[i].key);
        if (!strcmp(cases[i].build, "SET")) {
            args_add(a, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64);
        } else {
            int n = !strcmp(cases[i].build, "RPUSH") ? 3000 : 20;
            for (int j = 0; j < n; j++) {
                if (!strcmp(cases[i].build, "ZADD"))
                    args_addf(a, "%d", j % 7);
                args_addf(a, j % 2 ? "item %d aaaaaaaaaaaaaaaaaaaaaaaa" : "%d", j);
                if (!strcmp(cases[i].build, "HSET"))
                    args_addf(a, "v%d", j);
            }
        }
        kv_reply *r = h_cmdv(rc, a->argc, a->argv, a->lens);
        assert_non_null(r);
        assert_int_not_equal(r->type, KV_REPLY_ERROR);
        kv_reply_free(r);
        for (int j = 0; j < a->nowned; j++)
            free(a->owned[j]);
        free(a);
        check_redis_payload(cases[i].key, cases[i].name, cases[i].reset);
    }
}

/* Everything restored above, and restores with TTLs, come back after
 * kill -9 exactly as they were. */
static void test_recovery(void **state)
{
    (void)state;
    kv_reply *p = dump(rc, "z:sl");
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long at = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 + 3600 * 1000;
    char ttl[32];
    snprintf(ttl, sizeof ttl, "%lld", at);
    const char *argv[6] = {"RESTORE", "ttl:abs", ttl, p->str, "ABSTTL", "REPLACE"};
    size_t lens[6] = {7, 7, strlen(ttl), p->len, 6, 7};
    kv_reply *r = h_cmdv(kc, 6, argv, lens);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    argv[1] = "ttl:rel";
    argv[2] = "500000";
    lens[2] = 6;
    r = h_cmdv(kc, 4, argv, lens);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    kv_reply_free(p);

    char before[128], after[128], t1[64], t2[64], t3[64], t4[64];
    r = h_cmd(kc, "DEBUG DIGEST");
    h_reply_text(r, before, sizeof before);
    kv_reply_free(r);
    r = h_cmd(kc, "PEXPIRETIME ttl:abs");
    h_reply_text(r, t1, sizeof t1);
    assert_int_equal(r->integer, at);
    kv_reply_free(r);
    r = h_cmd(kc, "PEXPIRETIME ttl:rel");
    h_reply_text(r, t2, sizeof t2);
    assert_true(r->integer > at - 3600 * 1000);
    kv_reply_free(r);

    kv_client_free(kc);
    kc = NULL;
    h_stop(&kv, SIGKILL, 10000);
    assert_int_equal(h_restart(&kv), 0);
    /* A restarted node may close its first connections once it is elected
     * leader of its one-node cluster: poll (bounded) until it answers. */
    assert_true(h_wait_digest(&kc, kv.port, after, sizeof after, 20000));
    assert_string_equal(before, after);
    r = h_cmd(kc, "PEXPIRETIME ttl:abs");
    h_reply_text(r, t3, sizeof t3);
    kv_reply_free(r);
    r = h_cmd(kc, "PEXPIRETIME ttl:rel");
    h_reply_text(r, t4, sizeof t4);
    kv_reply_free(r);
    assert_string_equal(t1, t3);
    assert_string_equal(t2, t4);
    char *a = contents(kc, "ttl:abs");
    char *b = contents(rc, "z:sl");
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* RESTORE's IDLETIME and FREQ, on both servers: IDLETIME backdates the
 * key's LRU stamp (OBJECT IDLETIME reads it back, within the clock's
 * second), FREQ sets the LFU counter under an LFU policy, and each is a
 * no-op under the other kind of policy (OBJECT FREQ of a new key: 5). */
static long long object_int(kv_client *c, const char *sub, const char *key)
{
    const char *argv[3] = {"OBJECT", sub, key};
    kv_reply *r = h_cmdv(c, 3, argv, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    long long v = r->integer;
    kv_reply_free(r);
    return v;
}

static void restore_opt(kv_client *c, const char *key, const kv_reply *payload, const char *opt,
                        const char *val)
{
    const char *argv[7] = {"RESTORE", key, "0", payload->str, "REPLACE", opt, val};
    size_t lens[7] = {7, strlen(key), 1, payload->len, 7, strlen(opt), strlen(val)};
    kv_reply *r = h_cmdv(c, 7, argv, lens);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
}

static void test_restore_idletime_freq(void **state)
{
    (void)state;
    both_line("SET stamp:src hello");
    kv_reply *p = dump(rc, "stamp:src");
    kv_client *cs[2] = {rc, kc};
    for (int i = 0; i < 2; i++) {
        kv_client *c = cs[i];
        restore_opt(c, "stamp:idle", p, "IDLETIME", "1000");
        long long idle = object_int(c, "IDLETIME", "stamp:idle");
        assert_true(idle >= 1000 && idle <= 1002);
        kv_reply_free(h_cmd(c, "CONFIG SET maxmemory-policy allkeys-lfu"));
        restore_opt(c, "stamp:freq", p, "FREQ", "100");
        assert_int_equal(object_int(c, "FREQ", "stamp:freq"), 100);
        restore_opt(c, "stamp:idle2", p, "IDLETIME", "1000");
        assert_int_equal(object_int(c, "FREQ", "stamp:idle2"), 5);
        kv_reply_free(h_cmd(c, "CONFIG SET maxmemory-policy noeviction"));
        restore_opt(c, "stamp:freq2", p, "FREQ", "100");
        assert_true(object_int(c, "IDLETIME", "stamp:freq2") <= 2);
        kv_reply_free(h_cmd(c, "DEL stamp:idle stamp:freq stamp:idle2 stamp:freq2"));
    }
    kv_reply_free(p);
    both_line("DEL stamp:src");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings), cmocka_unit_test(test_lists),
        cmocka_unit_test(test_sets),    cmocka_unit_test(test_hashes),
        cmocka_unit_test(test_zsets),   cmocka_unit_test(test_redis_settings),
        cmocka_unit_test(test_restore_idletime_freq),
        cmocka_unit_test(test_recovery),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
