/* bench_engine.c — the durable engine's figures, printed as a table:
 * group-commit throughput with appendfsync always at 1/16/64 concurrent
 * writers, WAL replay and snapshot load time for 1M keys (and MB/s),
 * snapshot write time (in-process and forked), bytes per key.
 *
 * Usage: bench_engine [dir] [keys]   (default: a temp dir under /tmp, 1000000)
 * A program that prints figures; it asserts nothing about time. */
#include "dict.h"
#include "engine.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "snapshot.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static long long dir_bytes(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    long long total = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
            continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p, &st) == 0)
            total += st.st_size;
    }
    if (d)
        closedir(d);
    return total;
}

static void rmrf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* The effects this benchmark logs: SET key value. */
static int apply(void *arg, ks **dbs, int db, int argc, const char **argv, const size_t *lens,
                 char *err, size_t errlen)
{
    (void)arg;
    ks *k = dbs[db];
    if (argc == 3 && lens[0] == 3 && !strncasecmp(argv[0], "SET", 3)) {
        ks_set_string(k, argv[1], lens[1], argv[2], lens[2], 0);
        return 0;
    }
    return kve_fmt(err, errlen, KVE_CORRUPT, "unexpected command");
}

typedef struct durable_wait {
    engine *e;
    uint64_t lsn;
} durable_wait;

static void on_tick(uv_idle_t *h)
{
    durable_wait *w = h->data;
    if (engine_durable_lsn(w->e) >= w->lsn || engine_failed(w->e, NULL))
        uv_stop(h->loop);
}

static void wait_durable(uv_loop_t *loop, engine *e)
{
    durable_wait w = {e, engine_last_lsn(e)};
    if (engine_durable_lsn(e) >= w.lsn)
        return;
    uv_idle_t idle;
    uv_idle_init(loop, &idle);
    idle.data = &w;
    uv_idle_start(&idle, on_tick);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&idle, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static void log_set(engine *e, long long i, const char *val, size_t vlen)
{
    char key[32];
    int kl = snprintf(key, sizeof key, "key:%012lld", i);
    ks_set_string(engine_ks(e), key, (size_t)kl, val, vlen, 0);
    const char *argv[3] = {"SET", key, val};
    size_t lens[3] = {3, (size_t)kl, vlen};
    engine_entry_add(e, 0, 3, argv, lens);
    engine_entry_commit(e);
}

static engine *open_engine(const char *dir, uv_loop_t *loop, engine_recovery *rec)
{
    engine_config c;
    engine_config_defaults(&c);
    c.dir = dir;
    c.nsave = 0;
    c.snapshot_wal_min = 1ull << 60;
    char err[512];
    engine *e;
    if (engine_open(&e, &c, apply, NULL, rec, err, sizeof err) != 0) {
        fprintf(stderr, "engine_open: %s\n", err);
        exit(1);
    }
    engine_start(e, loop, NULL, NULL);
    return e;
}

static void close_engine(engine *e, uv_loop_t *loop)
{
    engine_close(e);
    uv_run(loop, UV_RUN_DEFAULT);
}

int main(int argc, char **argv)
{
    char dir[512];
    long long nkeys = argc > 2 ? atoll(argv[2]) : 1000000;
    if (argc > 1)
        snprintf(dir, sizeof dir, "%s", argv[1]);
    else
        snprintf(dir, sizeof dir, "/tmp/kvbench-engine-%d", (int)getpid());
    log_level = LOG_WARNING + 1;
    uint8_t seed[16] = {1, 2, 3};
    dict_set_seed(seed);
    uv_loop_t loop;
    uv_loop_init(&loop);
    char val[33];
    memset(val, 'v', 32);
    val[32] = '\0';

    printf("kvnode engine benchmark (%lld keys, 16-byte keys, 32-byte values, dir %s)\n\n", nkeys,
           dir);
    printf("%-52s %14s\n", "measure", "value");
    printf("%-52s %14s\n", "----------------------------------------------------",
           "--------------");

    /* 1. Group commit: N writers each with one write outstanding. */
    rmrf(dir);
    engine_recovery rec;
    engine *e = open_engine(dir, &loop, &rec);
    /* Let the first spare segment be prepared before measuring. */
    for (;;) {
        engine_stats st;
        engine_get_stats(e, &st);
        if (st.wal.spare_ready)
            break;
        uv_run(&loop, UV_RUN_ONCE);
    }
    int writers[] = {1, 16, 64};
    for (int w = 0; w < 3; w++) {
        int n = writers[w];
        long long done = 0;
        double t0 = now_s();
        while (now_s() - t0 < 2.0) {
            for (int i = 0; i < n; i++)
                log_set(e, done + i, val, 32);
            wait_durable(&loop, e);
            done += n;
        }
        double dt = now_s() - t0;
        char label[80];
        snprintf(label, sizeof label, "appendfsync always, %d writer%s: writes/s", n,
                 n > 1 ? "s" : "");
        printf("%-52s %14.0f\n", label, (double)done / dt);
        snprintf(label, sizeof label, "appendfsync always, %d writer%s: fsyncs/s", n,
                 n > 1 ? "s" : "");
        printf("%-52s %14.0f\n", label, (double)done / n / dt);
    }
    close_engine(e, &loop);
    rmrf(dir);

    /* 2. Load 1M keys through the WAL. */
    e = open_engine(dir, &loop, &rec);
    long rss0 = rss_kb();
    size_t mem0 = kv_used_memory();
    double t0 = now_s();
    for (long long i = 0; i < nkeys; i++) {
        log_set(e, i, val, 32);
        if (i % 4096 == 4095)
            uv_run(&loop, UV_RUN_NOWAIT);
    }
    wait_durable(&loop, e);
    double t_load = now_s() - t0;
    size_t mem1 = kv_used_memory();
    long rss1 = rss_kb();
    printf("%-52s %14.0f\n", "logged SETs/s (one writer, pipelined, always)", nkeys / t_load);
    printf("%-52s %14.1f\n", "bytes per key (used_memory)", (double)(mem1 - mem0) / nkeys);
    printf("%-52s %14.1f\n", "bytes per key (RSS)", (double)(rss1 - rss0) * 1024 / nkeys);
    /* In-process GET ops/s on the recovered keyspace. */
    ks *k = engine_ks(e);
    t0 = now_s();
    long long hits = 0;
    for (long long i = 0; i < nkeys; i++) {
        char key[32];
        int kl = snprintf(key, sizeof key, "key:%012lld", (i * 7919) % nkeys);
        hits += ks_find(k, key, (size_t)kl) != NULL;
    }
    printf("%-52s %14.0f\n", "in-process GET ops/s", nkeys / (now_s() - t0));
    close_engine(e, &loop);
    long long wal_bytes = dir_bytes(dir, "wal-");

    /* 3. Recovery from the WAL alone. */
    t0 = now_s();
    e = open_engine(dir, &loop, &rec);
    double t_replay = now_s() - t0;
    printf("%-52s %14.3f\n", "recovery, WAL only: seconds", t_replay);
    printf("%-52s %14.1f\n", "recovery, WAL only: MB/s of WAL",
           (double)wal_bytes / 1048576.0 / t_replay);
    printf("%-52s %14llu\n", "recovery, WAL only: entries replayed",
           (unsigned long long)rec.wal.entries_replayed);

    /* 4. Snapshot write: in-process and forked. */
    char err[512];
    t0 = now_s();
    if (engine_save(e, err, sizeof err) != 0)
        fprintf(stderr, "save: %s\n", err);
    double t_save = now_s() - t0;
    long long snap_bytes = dir_bytes(dir, "snap-");
    printf("%-52s %14.3f\n", "snapshot (SAVE, in-process): seconds", t_save);
    printf("%-52s %14.1f\n", "snapshot size: MB", (double)snap_bytes / 1048576.0);
    log_set(e, nkeys, val, 32); /* something new so BGSAVE writes a new image */
    t0 = now_s();
    if (engine_bgsave(e, err, sizeof err) != 0)
        fprintf(stderr, "bgsave: %s\n", err);
    double t_fork = now_s() - t0;
    for (;;) {
        engine_stats st;
        engine_get_stats(e, &st);
        if (!st.bgsave_in_progress)
            break;
        uv_run(&loop, UV_RUN_ONCE);
    }
    printf("%-52s %14.3f\n", "snapshot (BGSAVE, forked): seconds", now_s() - t0);
    printf("%-52s %14.2f\n", "BGSAVE: ms the loop was blocked by fork()", t_fork * 1000);
    close_engine(e, &loop);

    /* 5. Recovery from the snapshot (+1 WAL entry). */
    t0 = now_s();
    e = open_engine(dir, &loop, &rec);
    double t_snap = now_s() - t0;
    printf("%-52s %14.3f\n", "recovery, snapshot + WAL tail: seconds", t_snap);
    printf("%-52s %14.1f\n", "recovery, snapshot: MB/s",
           (double)rec.snapshot_bytes / 1048576.0 / ((double)rec.snapshot_ms / 1000.0 + 1e-9));
    printf("%-52s %14llu\n", "recovery, snapshot: keys loaded",
           (unsigned long long)rec.snapshot_keys);
    close_engine(e, &loop);
    rmrf(dir);
    uv_loop_close(&loop);
    (void)hits;
    return 0;
}
