/* evict.c — the memory limit: access stamps and eviction (see cmd.h).
 *
 * Access stamps. Every key has 24 bits of access metadata in its header
 * (kobj_lru), used as Redis 7.0 uses robj->lru:
 *   LRU policies (and every non-LFU one): the LRU clock, unix seconds
 *     modulo 2^24, set when the key is created or looked up;
 *   LFU policies: 16 bits of decay time (unix minutes modulo 2^16) and an
 *     8-bit logarithmic access counter; a new key starts at 5, a lookup
 *     first decays the counter by one per lfu-decay-time minutes elapsed,
 *     then increments it with probability 1/((counter-5)*lfu-log-factor+1).
 * Lookups for TYPE, EXISTS, TTL, OBJECT … do not touch (db.c), and while
 * a snapshot child runs nothing is touched (its pages stay shared), as
 * Redis does with a child process.
 *
 * Eviction (Redis's performEvictions). Before each command, when maxmemory
 * is set and used memory (less what does not count: the WAL's entry
 * buffer and the replication send queues) is over it, keys go until it is
 * not: for the LRU, LFU and TTL policies, maxmemory-samples keys (or keys
 * with a TTL, for volatile-*) are sampled into a pool of the 16 best
 * candidates kept across calls, and the best existing one is deleted; for
 * the random policies a random key (with a TTL, for volatile-random).
 * Work is bounded by maxmemory-eviction-tenacity (0..500 us at 0..10,
 * growing by 15% per step up to unlimited at 100); past it the server
 * calls again from its loop until memory is under the limit or nothing is
 * left to evict.
 *
 * Durability: a primary logs what it evicts as "DEL key" commands, at most
 * EVICT_ENTRY_KEYS per WAL entry, committed by this function before the
 * command runs, so restarts and replicas delete the same keys in the same
 * place of the history. A replica never evicts on its own: its log is its
 * primary's, and deleting keys the log does not delete would make it
 * differ from the primary (replica-ignore-maxmemory is accepted for Redis
 * tools; kvnode's replicas always ignore maxmemory). When the WAL cannot
 * take the deletions (full disk, failed WAL) nothing is evicted. */
#include "cmd.h"

#include "lazyfree.h"
#include "mem.h"

#include <limits.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LFU_INIT_VAL 5
#define POOL_SIZE 16
#define POOL_CACHED 255
#define EVICT_ENTRY_KEYS 1024
#define MAX_SAMPLES 64

/* ------------------------------------------------------------------------ */
/* Access stamps                                                             */
/* ------------------------------------------------------------------------ */

static uint32_t lru_clock(int64_t now_ms)
{
    return (uint32_t)(((uint64_t)now_ms / 1000) & KS_LRU_MAX);
}

static unsigned long lfu_minutes(int64_t now_ms)
{
    return (unsigned long)(((uint64_t)now_ms / 1000 / 60) & 65535);
}

/* Milliseconds since the stamp, the clock wrapping at most once. */
static unsigned long long idle_ms(const kobj *o, int64_t now_ms)
{
    unsigned long long clock = lru_clock(now_ms), lru = kobj_lru(o);
    if (clock >= lru)
        return (clock - lru) * 1000;
    return (clock + (KS_LRU_MAX - lru)) * 1000;
}

long long evict_idle_seconds(const kobj *o, int64_t now_ms)
{
    return (long long)(idle_ms(o, now_ms) / 1000);
}

static unsigned long lfu_elapsed(unsigned long ldt, int64_t now_ms)
{
    unsigned long now = lfu_minutes(now_ms);
    return now >= ldt ? now - ldt : 65535 - ldt + now;
}

unsigned evict_lfu_count(const cmd_env *env, const kobj *o, int64_t now_ms)
{
    uint32_t v = kobj_lru(o);
    unsigned long ldt = v >> 8, counter = v & 255;
    unsigned long periods =
        env->lfu_decay_time > 0 ? lfu_elapsed(ldt, now_ms) / (unsigned long)env->lfu_decay_time : 0;
    if (periods)
        counter = periods > counter ? 0 : counter - periods;
    return (unsigned)counter;
}

static unsigned lfu_log_incr(const cmd_env *env, unsigned counter)
{
    if (counter == 255)
        return 255;
    double r = (double)(cmd_random() >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
    double base = (double)counter - LFU_INIT_VAL;
    if (base < 0)
        base = 0;
    double p = 1.0 / (base * env->lfu_log_factor + 1);
    return r < p ? counter + 1 : counter;
}

void evict_touch(cmd_env *env, kobj *o, int64_t now_ms)
{
    if (env->stamps_frozen)
        return;
    if (env->maxmemory_policy & EVICT_FLAG_LFU) {
        unsigned counter = lfu_log_incr(env, evict_lfu_count(env, o, now_ms));
        kobj_set_lru(o, (uint32_t)(lfu_minutes(now_ms) << 8) | counter);
    } else {
        kobj_set_lru(o, lru_clock(now_ms));
    }
}

int evict_set_access(cmd_env *env, kobj *o, long long idle_s, long long freq, int64_t now_ms)
{
    if (env->maxmemory_policy & EVICT_FLAG_LFU) {
        if (freq < 0)
            return 0;
        kobj_set_lru(o, (uint32_t)(lfu_minutes(now_ms) << 8) | (uint32_t)(freq & 255));
        return 1;
    }
    if (idle_s < 0)
        return 0;
    /* An idle time longer than the clock wraps, as Redis's
     * objectSetLRUOrLFU: the stamp is the clock minus it, modulo. */
    long long abs = (long long)lru_clock(now_ms) - (idle_s % ((long long)KS_LRU_MAX + 1));
    if (abs < 0)
        abs += KS_LRU_MAX;
    kobj_set_lru(o, (uint32_t)abs);
    return 1;
}

void evict_clock(cmd_env *env, int64_t now_ms)
{
    if (env->maxmemory_policy & EVICT_FLAG_LFU)
        ks_set_new_lru((uint32_t)(lfu_minutes(now_ms) << 8) | LFU_INIT_VAL);
    else
        ks_set_new_lru(lru_clock(now_ms));
}

/* ------------------------------------------------------------------------ */
/* Memory accounting                                                         */
/* ------------------------------------------------------------------------ */

size_t evict_used_memory(const cmd_env *env)
{
    size_t used = kv_used_memory();
    size_t skip = env->mem_not_counted ? env->mem_not_counted(env->mem_not_counted_arg) : 0;
    return used > skip ? used - skip : 0;
}

/* Redis's getMaxmemoryState: 1 and *tofree when over the limit. */
static int over_limit(const cmd_env *env, size_t *tofree)
{
    if (!env->maxmemory)
        return 0;
    size_t reported = kv_used_memory();
    if (reported <= env->maxmemory)
        return 0;
    size_t used = evict_used_memory(env);
    if (used <= env->maxmemory)
        return 0;
    *tofree = used - (size_t)env->maxmemory;
    return 1;
}

/* Redis's evictionTimeLimitUs. */
static unsigned long long time_limit_us(const cmd_env *env)
{
    int t = env->eviction_tenacity;
    if (t <= 10)
        return 50ull * (unsigned long long)(t < 0 ? 0 : t);
    if (t < 100)
        return (unsigned long long)(500.0 * pow(1.15, t - 10.0));
    return ULLONG_MAX;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/* The eviction pool                                                         */
/* ------------------------------------------------------------------------ */

/* Candidates in ascending order of `idle` (a score: higher is a better
 * candidate), the best on the right; key NULL marks an empty slot. Keys
 * are copies (in `cached` up to POOL_CACHED bytes) that may name keys
 * deleted since ("ghosts"): a pick checks the key still exists. */
typedef struct pool_entry {
    unsigned long long idle;
    char *key;
    size_t klen;
    int db;
    char cached[POOL_CACHED];
} pool_entry;

static pool_entry pool[POOL_SIZE];

static void entry_clear(pool_entry *e)
{
    if (e->key && e->key != e->cached)
        kv_free(e->key);
    e->key = NULL;
    e->idle = 0;
}

/* Move entry contents (not the cached buffers) from src to dst. */
static void entry_move(pool_entry *dst, pool_entry *src)
{
    dst->idle = src->idle;
    dst->klen = src->klen;
    dst->db = src->db;
    if (src->key == src->cached) {
        memcpy(dst->cached, src->cached, src->klen);
        dst->key = dst->cached;
    } else {
        dst->key = src->key;
    }
    src->key = NULL;
}

static unsigned long long score_of(const cmd_env *env, const kobj *o, int64_t now_ms)
{
    if (env->maxmemory_policy & EVICT_FLAG_LRU)
        return idle_ms(o, now_ms);
    if (env->maxmemory_policy & EVICT_FLAG_LFU)
        return 255 - evict_lfu_count(env, o, now_ms);
    /* volatile-ttl: the sooner the expiry the better */
    return ULLONG_MAX - (unsigned long long)kobj_expire(o);
}

/* Redis's evictionPoolPopulate: sample keys of one database and insert
 * those better than the worst candidate (or any, while there is room). */
static void pool_populate(cmd_env *env, int db, ks *k, int64_t now_ms)
{
    kobj *samples[MAX_SAMPLES];
    size_t want = (size_t)(env->maxmemory_samples < 1 ? 1 : env->maxmemory_samples);
    if (want > MAX_SAMPLES)
        want = MAX_SAMPLES;
    int expiring = !(env->maxmemory_policy & EVICT_FLAG_ALLKEYS);
    size_t n = ks_sample(k, expiring, samples, want, cmd_random());
    for (size_t j = 0; j < n; j++) {
        unsigned long long idle = score_of(env, samples[j], now_ms);
        int i = 0;
        while (i < POOL_SIZE && pool[i].key && pool[i].idle < idle)
            i++;
        if (i == 0 && pool[POOL_SIZE - 1].key)
            continue; /* worse than everything in a full pool */
        if (i < POOL_SIZE && !pool[i].key) {
            /* an empty slot */
        } else if (!pool[POOL_SIZE - 1].key) {
            /* room on the right: shift i.. one to the right */
            for (int m = POOL_SIZE - 1; m > i; m--)
                if (pool[m - 1].key)
                    entry_move(&pool[m], &pool[m - 1]);
        } else {
            /* full: drop the worst (leftmost), shift 1..i-1 left */
            i--;
            entry_clear(&pool[0]);
            for (int m = 0; m < i; m++)
                entry_move(&pool[m], &pool[m + 1]);
        }
        size_t klen;
        const char *key = kobj_key(samples[j], &klen);
        pool_entry *e = &pool[i];
        e->key = klen <= POOL_CACHED ? e->cached : kv_malloc(klen);
        memcpy(e->key, key, klen);
        e->klen = klen;
        e->idle = idle;
        e->db = db;
    }
}

/* The best existing candidate of the pool (refilled until one is found),
 * or NULL when no database has a key the policy may evict. */
static kobj *pool_pick(cmd_env *env, ks *const *dbs, int ndbs, int64_t now_ms, int *dbout)
{
    int expiring = !(env->maxmemory_policy & EVICT_FLAG_ALLKEYS);
    for (;;) {
        size_t total = 0;
        for (int d = 0; d < ndbs; d++) {
            size_t keys = expiring ? ks_expires(dbs[d]) : ks_size(dbs[d]);
            if (keys) {
                pool_populate(env, d, dbs[d], now_ms);
                total += keys;
            }
        }
        if (!total)
            return NULL;
        for (int i = POOL_SIZE - 1; i >= 0; i--) {
            if (!pool[i].key)
                continue;
            int d = pool[i].db;
            kobj *o = d < ndbs ? ks_find(dbs[d], pool[i].key, pool[i].klen) : NULL;
            entry_clear(&pool[i]);
            if (o && (!expiring || kobj_expire(o) >= 0)) {
                *dbout = d;
                return o;
            }
        }
    }
}

/* A random key (with a TTL for volatile-random), visiting the databases
 * in turn as Redis's next_db. */
static kobj *random_pick(cmd_env *env, ks *const *dbs, int ndbs, int *dbout)
{
    static unsigned next_db;
    int expiring = !(env->maxmemory_policy & EVICT_FLAG_ALLKEYS);
    for (int i = 0; i < ndbs; i++) {
        int d = (int)(++next_db % (unsigned)ndbs);
        ks *k = dbs[d];
        kobj *o = expiring ? ks_random_expiring(k, cmd_random()) : ks_random(k, cmd_random());
        if (o) {
            *dbout = d;
            return o;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Eviction                                                                  */
/* ------------------------------------------------------------------------ */

/* Delete o from database db (logged into the entry being built),
 * returning the bytes its deletion freed. */
static long long evict_one(cmd_env *env, int db, ks *k, kobj *o)
{
    size_t klen;
    const char *key = kobj_key(o, &klen);
    char stack[256];
    char *copy = klen <= sizeof stack ? stack : kv_malloc(klen);
    memcpy(copy, key, klen);
    db_log_delete(env, db, copy, klen, env->lazy_eviction);
    long long before = (long long)kv_used_memory();
    ks_delete_lazy(k, copy, klen, env->lazy_eviction);
    long long freed = before - (long long)kv_used_memory();
    env->evicted_keys++;
    if (env->key_touched)
        env->key_touched(env->key_touched_arg, db, copy, klen, 0);
    env_notify(env, db, NOTIFY_EVICTED, "evicted", copy, klen);
    if (copy != stack)
        kv_free(copy);
    return freed;
}

/* Track the time spent over the limit (INFO's eviction_exceeded_time). */
static void exceeded(cmd_env *env, int over)
{
    if (over && !env->eviction_exceeded_since_us) {
        env->eviction_exceeded_since_us = mono_us();
    } else if (!over && env->eviction_exceeded_since_us) {
        env->eviction_exceeded_us += (uint64_t)(mono_us() - env->eviction_exceeded_since_us);
        env->eviction_exceeded_since_us = 0;
    }
}

uint64_t evict_exceeded_ms(const cmd_env *env, int total)
{
    uint64_t cur = env->eviction_exceeded_since_us
                       ? (uint64_t)(mono_us() - env->eviction_exceeded_since_us)
                       : 0;
    return ((total ? env->eviction_exceeded_us : 0) + cur) / 1000;
}

int evict_perform(cmd_env *env, ks *const *dbs, int ndbs)
{
    /* Not evicting here is a fake OK, as Redis's isSafeToPerformEvictions. */
    if (env->replica) {
        env->eviction_running = 0;
        return EVICT_OK;
    }
    size_t tofree;
    if (!over_limit(env, &tofree)) {
        env->eviction_running = 0;
        exceeded(env, 0);
        return EVICT_OK;
    }
    exceeded(env, 1);
    if (env->maxmemory_policy == EVICT_NOEVICTION ||
        engine_can_write(env->eng, 64 * 1024, NULL) != 0) {
        env->eviction_running = 0;
        return EVICT_FAIL;
    }
    unsigned long long limit = time_limit_us(env);
    int64_t start = mono_us(), now_ms = wall_ms();
    long long freed = 0;
    unsigned long keys = 0;
    int result = EVICT_FAIL, timed_out = 0;
    while (freed < (long long)tofree) {
        int d = 0;
        kobj *o = (env->maxmemory_policy & (EVICT_FLAG_LRU | EVICT_FLAG_LFU)) ||
                          env->maxmemory_policy == EVICT_VOLATILE_TTL
                      ? pool_pick(env, dbs, ndbs, now_ms, &d)
                      : random_pick(env, dbs, ndbs, &d);
        if (!o)
            goto done; /* nothing left to evict */
        freed += evict_one(env, d, dbs[d], o);
        keys++;
        if (keys % EVICT_ENTRY_KEYS == 0)
            engine_entry_commit(env->eng);
        if (keys % 16 == 0) {
            /* What went to the lazyfree thread is not counted in freed:
             * stop once the thread has freed enough (Redis's check). */
            size_t left;
            if (env->lazy_eviction && !over_limit(env, &left))
                break;
            if ((unsigned long long)(mono_us() - start) > limit) {
                timed_out = 1;
                break;
            }
        }
    }
    result = timed_out ? EVICT_RUNNING : EVICT_OK;
done:
    /* Nothing left to evict, but the lazyfree thread may still be freeing
     * what was: give it the time limit once, as Redis does. */
    if (result == EVICT_FAIL && lazyfree_pending()) {
        usleep((useconds_t)limit);
        size_t left;
        if (!over_limit(env, &left))
            result = EVICT_OK;
    }
    engine_entry_commit(env->eng);
    env->eviction_running = result == EVICT_RUNNING;
    if (result == EVICT_OK)
        exceeded(env, 0);
    return result;
}
