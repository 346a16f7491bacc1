/* bench_keyspace.c — memory per key and in-process speed of the keyspace.
 *
 * Prints one table:
 *  - bytes per key (kv_used_memory delta and RSS delta from
 *    /proc/self/statm) for N keys of 16-byte names and 32-byte values,
 *    without and with a TTL — each measured in a freshly forked child so
 *    freed memory of another run cannot flatter RSS;
 *  - the time to grow to N keys and the per-insert latency during growth
 *    (p50/p99/p99.9/p99.99/max), next to the same percentiles of an empty
 *    timed operation (the machine's noise floor), and what one blocking
 *    rehash of the last grow would have cost instead, and the number of
 *    slow inserts next to the number of minor page faults (on a VM the
 *    first touch of a new heap page costs microseconds: that, not rehash
 *    work, is the tail);
 *  - GET and SET (overwrite) throughput over random existing keys.
 * Usage: bench_keyspace [keys]   (default 1000000)
 * Build with -DCMAKE_BUILD_TYPE=Release for meaningful numbers. It prints
 * figures only and asserts nothing about time. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dict.h"
#include "keyspace.h"
#include "mem.h"

#define KEY_LEN 16
#define VAL_LEN 32

/* ---- Helpers ---- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long size = 0, resident = 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* Write v as exactly `width` decimal digits (zero-padded, low digits kept)
 * without snprintf, so key generation stays cheap. */
static void put_digits(char *out, size_t width, uint64_t v)
{
    for (size_t i = width; i-- > 0; v /= 10)
        out[i] = (char)('0' + v % 10);
}

/* Key i as exactly 16 bytes: "key:" + 12 digits. */
static void make_key(uint64_t i, char out[KEY_LEN])
{
    memcpy(out, "key:", 4);
    put_digits(out + 4, KEY_LEN - 4, i);
}

/* A 32-byte value derived from i: "value:" + 26 digits. */
static void make_val(uint64_t i, char out[VAL_LEN])
{
    memcpy(out, "value:", 6);
    put_digits(out + 6, VAL_LEN - 6, i * 2654435761u);
}

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

typedef struct latency {
    double p50, p99, p999, p9999, max; /* microseconds */
} latency;

static latency percentiles(uint32_t *ns, size_t n)
{
    qsort(ns, n, sizeof *ns, cmp_u32);
    latency l;
    l.p50 = ns[n / 2] / 1e3;
    l.p99 = ns[n - 1 - n / 100] / 1e3;
    l.p999 = ns[n - 1 - n / 1000] / 1e3;
    l.p9999 = ns[n - 1 - n / 10000] / 1e3;
    l.max = ns[n - 1] / 1e3;
    return l;
}

/* ---- Measurements ---- */

typedef struct fill_result {
    double seconds;
    double used_per_key, rss_per_key;
    latency lat;
    size_t slow;  /* inserts slower than 5 us */
    long faults;  /* minor page faults while growing */
} fill_result;

/* In this (fresh) process: insert keys 0..n-1, with a TTL if asked,
 * timing each insert. */
static fill_result fill(size_t n, int with_ttl)
{
    fill_result r;
    /* The latency log is allocated and touched before the baseline so it
     * is not part of the RSS delta (it is not counted by kv_used_memory). */
    uint32_t *lat = malloc(n * sizeof *lat);
    memset(lat, 0xff, n * sizeof *lat); /* not 0: malloc+memset(0) may become calloc */
    char key[KEY_LEN], val[VAL_LEN];
    size_t used0 = kv_used_memory(), rss0 = rss_bytes();
    long faults0 = minor_faults();
    ks *k = ks_new();
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        make_key(i, key);
        make_val(i, val);
        uint64_t a = now_ns();
        kobj *o = ks_set_string(k, key, KEY_LEN, val, VAL_LEN, 0);
        if (with_ttl)
            ks_set_expire(k, o, (int64_t)(4102444800000 + i));
        uint64_t d = now_ns() - a;
        lat[i] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    }
    r.seconds = (double)(now_ns() - t0) / 1e9;
    r.faults = minor_faults() - faults0;
    r.slow = 0;
    for (size_t i = 0; i < n; i++)
        r.slow += lat[i] > 5000;
    r.used_per_key = (double)(kv_used_memory() - used0) / (double)n;
    r.rss_per_key = (double)(rss_bytes() - rss0) / (double)n;
    r.lat = percentiles(lat, n);
    free(lat);
    ks_free(k);
    return r;
}

/* Run fill() in a forked child and bring the result back through a pipe. */
static int fill_in_child(size_t n, int with_ttl, fill_result *out)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fd[0]);
        fill_result r = fill(n, with_ttl);
        ssize_t w = write(fd[1], &r, sizeof r);
        _exit(w == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fd[1]);
    ssize_t got = read(fd[0], out, sizeof *out);
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return got == (ssize_t)sizeof *out && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The same number of timed empty operations: what the clock and the
 * scheduler alone contribute. */
static latency noise_floor(size_t n)
{
    uint32_t *lat = malloc(n * sizeof *lat);
    for (size_t i = 0; i < n; i++) {
        uint64_t a = now_ns();
        uint64_t d = now_ns() - a;
        lat[i] = (uint32_t)d;
    }
    latency l = percentiles(lat, n);
    free(lat);
    return l;
}

/* A minimal dict node, to time one non-incremental rehash. */
typedef struct bnode {
    dict_node node;
    char key[KEY_LEN];
} bnode;

static void bnode_key(const dict_node *n, const void **key, size_t *len)
{
    *key = ((const bnode *)n)->key;
    *len = KEY_LEN;
}

static const dict_type bnode_type = {.key_of = bnode_key};

static void free_bnode(dict_node *n, void *arg)
{
    (void)arg;
    kv_free(n);
}

/* Milliseconds one blocking rehash takes at the largest grow below n keys
 * (what every op would wait for without incremental rehashing), and the
 * number of entries it moves. */
static double blocking_rehash_ms(size_t n, size_t *moved)
{
    dict d;
    dict_init(&d, &bnode_type);
    double ms = 0;
    *moved = 0;
    for (size_t i = 0; i < n; i++) {
        bnode *b = kv_malloc(sizeof *b);
        make_key(i, b->key);
        int was = dict_is_rehashing(&d);
        dict_add(&d, &b->node);
        if (!was && dict_is_rehashing(&d) && d.size[0] * 2 > n / 2) {
            *moved = d.used[0];
            uint64_t t0 = now_ns();
            while (dict_rehash(&d, 1 << 30))
                ;
            ms = (double)(now_ns() - t0) / 1e6;
        }
    }
    dict_clear(&d, free_bnode, NULL);
    return ms;
}

typedef struct throughput {
    double get, set, set_net;
    size_t found;
} throughput;

static throughput random_ops(size_t n)
{
    throughput t = {0};
    char key[KEY_LEN], val[VAL_LEN];
    ks *k = ks_new();
    for (size_t i = 0; i < n; i++) {
        make_key(i, key);
        make_val(i, val);
        ks_set_string(k, key, KEY_LEN, val, VAL_LEN, 0);
    }
    unsigned sum = 0;
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        make_key(rng() % n, key);
        kobj *o = ks_find(k, key, KEY_LEN);
        if (o) {
            size_t vl;
            const char *v = kobj_str(o, &vl);
            sum += (unsigned char)v[vl - 1];
            t.found++;
        }
    }
    t.get = (double)n / ((double)(now_ns() - t0) / 1e9);
    t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        uint64_t id = rng() % n;
        make_key(id, key);
        make_val(id + 1, val);
        ks_set_string(k, key, KEY_LEN, val, VAL_LEN, 0);
    }
    double set_s = (double)(now_ns() - t0) / 1e9;
    /* Key and value generation alone, to show the keyspace's own cost. */
    t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        uint64_t id = rng() % n;
        make_key(id, key);
        make_val(id + 1, val);
        __asm__ volatile("" : : "r"(key), "r"(val) : "memory");
    }
    double gen_s = (double)(now_ns() - t0) / 1e9;
    t.set = (double)n / set_s;
    t.set_net = (double)n / (set_s - gen_s > 0 ? set_s - gen_s : set_s);
    ks_free(k);
    if (sum == 0xFFFFFFFFu)
        printf(" "); /* keep the reads observable */
    return t;
}

/* ---- Report ---- */

static void row(const char *name, const char *fmt, double v)
{
    printf("%-56s ", name);
    printf(fmt, v);
    printf("\n");
}

static void lat_rows(const char *what, latency l)
{
    char name[96];
    snprintf(name, sizeof name, "%s p50 / p99 (us)", what);
    printf("%-56s %8.2f / %.2f\n", name, l.p50, l.p99);
    snprintf(name, sizeof name, "%s p99.9 / p99.99 / max (us)", what);
    printf("%-56s %8.2f / %.2f / %.1f\n", name, l.p999, l.p9999, l.max);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
    if (n < 1000) {
        fprintf(stderr, "usage: bench_keyspace [keys >= 1000]\n");
        return 2;
    }
    uint8_t seed[16];
    for (int i = 0; i < 16; i++)
        seed[i] = (uint8_t)rng();
    dict_set_seed(seed);

    fill_result plain, ttl;
    if (fill_in_child(n, 0, &plain) != 0 || fill_in_child(n, 1, &ttl) != 0) {
        fprintf(stderr, "bench_keyspace: measuring child failed\n");
        return 1;
    }
    latency noise = noise_floor(n);
    size_t moved;
    double block_ms = blocking_rehash_ms(n, &moved);
    throughput t = random_ops(n);

    printf("kvnode keyspace: %zu keys, %d-byte keys, %d-byte values\n\n", n, KEY_LEN, VAL_LEN);
    printf("%-56s %s\n", "measure", "value");
    printf("%-56s %s\n", "--------------------------------------------------------",
           "--------------------");
    row("bytes/key, used_memory (kv_used_memory delta)", "%8.1f", plain.used_per_key);
    row("bytes/key, RSS (/proc/self/statm delta)", "%8.1f", plain.rss_per_key);
    row("bytes/key with a TTL, used_memory", "%8.1f", ttl.used_per_key);
    row("bytes/key with a TTL, RSS", "%8.1f", ttl.rss_per_key);
    printf("%-56s %s\n", "  (Redis 7, same keys, no TTL: about 136 B/key)", "");
    row("time to grow to N keys (s)", "%8.3f", plain.seconds);
    row("SET of new keys while growing (ops/s)", "%8.0f", (double)n / plain.seconds);
    lat_rows("SET latency while growing,", plain.lat);
    row("  inserts slower than 5 us", "%8.0f", (double)plain.slow);
    row("  minor page faults while growing (new heap pages)", "%8.0f", (double)plain.faults);
    lat_rows("SET+EXPIRE latency while growing,", ttl.lat);
    lat_rows("empty timed op (noise floor),", noise);
    char name[96];
    snprintf(name, sizeof name, "one blocking rehash of %zu entries instead (ms)", moved);
    row(name, "%8.1f", block_ms);
    row("GET random existing key (ops/s)", "%8.0f", t.get);
    row("SET overwrite random existing key (ops/s)", "%8.0f", t.set);
    row("  same, key/value generation excluded (ops/s)", "%8.0f", t.set_net);
    if (t.found != n)
        printf("\nGET found only %zu of %zu keys!\n", t.found, n);
    return t.found == n ? 0 : 1;
}
