/* test_engine.c — the durable engine end to end: logging and recovery,
 * snapshots (in-process and forked) with the WAL tail, compaction keeping
 * disk bounded, fall-back to an older snapshot, the data-dir lock, power
 * loss, and a randomized model test with restarts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "engine_fx.h"
#include "err.h"
#include "faultfs.h"
#include "fsio.h"
#include "log.h"
#include "mem.h"
#include "snapshot.h"
#include "testutil.h"
#include "wal.pb-c.h"

/* ---- Helpers ---- */

static int eq(const char *a, size_t n, const char *lit)
{
    return n == strlen(lit) && !strncasecmp(a, lit, n);
}

static long long to_ll(const char *p, size_t n)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.*s", (int)n, p);
    return atoll(buf);
}

/* The effects this test logs: SET k v [PXAT ms], DEL k, PEXPIREAT k ms. */
static int apply(void *arg, ks **dbs, int db, int argc, const char **argv, const size_t *lens,
                 char *err, size_t errlen)
{
    (void)arg;
    ks *k = dbs[db];
    if (eq(argv[0], lens[0], "SET") && (argc == 3 || argc == 5)) {
        kobj *o = ks_set_string(k, argv[1], lens[1], argv[2], lens[2], 0);
        if (argc == 5)
            ks_set_expire(k, o, to_ll(argv[4], lens[4]));
        return 0;
    }
    if (eq(argv[0], lens[0], "DEL") && argc >= 2) {
        for (int i = 1; i < argc; i++)
            ks_delete(k, argv[i], lens[i]);
        return 0;
    }
    if (eq(argv[0], lens[0], "PEXPIREAT") && argc == 3) {
        kobj *o = ks_find(k, argv[1], lens[1]);
        if (o)
            ks_set_expire(k, o, to_ll(argv[2], lens[2]));
        return 0;
    }
    return kve_fmt(err, errlen, KVE_CORRUPT, "unexpected command");
}

static int open_engine(fx *f, engine_recovery *rec, char *err)
{
    int rc = engine_open(&f->e, &f->cfg, apply, NULL, rec, err, 512);
    if (rc == 0)
        assert_int_equal(engine_start(f->e, &f->loop, NULL, NULL), 0);
    return rc;
}

/* Do SET key value on the keyspace and log it, as the server would. */
static uint64_t do_set(fx *f, const char *key, const char *val, long long pxat)
{
    ks *k = engine_ks(f->e);
    kobj *o = ks_set_string(k, key, strlen(key), val, strlen(val), 0);
    char ms[32];
    const char *argv[5] = {"SET", key, val, "PXAT", ms};
    size_t lens[5] = {3, strlen(key), strlen(val), 4, 0};
    int argc = 3;
    if (pxat >= 0) {
        ks_set_expire(k, o, pxat);
        lens[4] = (size_t)snprintf(ms, sizeof ms, "%lld", pxat);
        argc = 5;
    }
    engine_entry_add(f->e, 0, argc, argv, lens);
    return engine_entry_commit(f->e);
}

static uint64_t do_del(fx *f, const char *key)
{
    if (!ks_delete(engine_ks(f->e), key, strlen(key)))
        return 0;
    const char *argv[2] = {"DEL", key};
    size_t lens[2] = {3, strlen(key)};
    engine_entry_add(f->e, 0, 2, argv, lens);
    return engine_entry_commit(f->e);
}

typedef struct want {
    engine *e;
    uint64_t lsn;
} want;

static int durable(void *arg)
{
    want *w = arg;
    return engine_durable_lsn(w->e) >= w->lsn || engine_failed(w->e, NULL);
}

static void wait_durable(fx *f)
{
    want w = {f->e, engine_last_lsn(f->e)};
    assert_true(tu_run_until(&f->loop, durable, &w, 10000));
}

static int snapshot_idle(void *arg)
{
    engine_stats st;
    engine_get_stats(arg, &st);
    return !st.bgsave_in_progress;
}

static void digest_of(fx *f, char out[41])
{
    ks_digest(engine_ks(f->e), out);
}

static long long dir_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    long long total = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            total += st.st_blocks * 512LL;
    }
    closedir(d);
    return total;
}

/* ---- Tests ---- */

/* Logged writes survive a restart: the recovered keyspace is the same. */
static void test_log_and_recover(void **state)
{
    fx *f = *state;
    char err[512], d1[41], d2[41];
    engine_recovery rec;
    assert_int_equal(open_engine(f, &rec, err), 0);
    char key[32], val[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "k%d", i % 300);
        snprintf(val, sizeof val, "v%d", i);
        do_set(f, key, val, i % 7 == 0 ? 4000000000000LL + i : -1);
        if (i % 11 == 0) {
            snprintf(key, sizeof key, "k%d", (i * 7) % 300);
            do_del(f, key);
        }
        if (i % 50 == 0)
            uv_run(&f->loop, UV_RUN_NOWAIT);
    }
    wait_durable(f);
    digest_of(f, d1);
    uint64_t last = engine_last_lsn(f->e);
    close_engine(f);
    assert_int_equal(open_engine(f, &rec, err), 0);
    digest_of(f, d2);
    assert_string_equal(d1, d2);
    assert_int_equal(rec.wal.entries_replayed, last);
    assert_int_equal(rec.snapshot_lsn, 0);
}

/* SAVE writes a snapshot at the last LSN; recovery loads it and replays
 * only the entries after it. */
static void test_snapshot_plus_wal_tail(void **state)
{
    fx *f = *state;
    char err[512], d1[41], d2[41];
    engine_recovery rec;
    assert_int_equal(open_engine(f, &rec, err), 0);
    for (int i = 0; i < 100; i++) {
        char key[32];
        snprintf(key, sizeof key, "a%d", i);
        do_set(f, key, "x", -1);
    }
    assert_int_equal(engine_save(f->e, err, sizeof err), 0);
    engine_stats st;
    engine_get_stats(f->e, &st);
    assert_int_equal(st.last_save_lsn, 100);
    assert_int_equal(st.last_snapshot_keys, 100);
    assert_true(st.last_bgsave_ok);
    for (int i = 0; i < 50; i++) {
        char key[32];
        snprintf(key, sizeof key, "b%d", i);
        do_set(f, key, "y", -1);
    }
    wait_durable(f);
    digest_of(f, d1);
    close_engine(f);
    assert_int_equal(open_engine(f, &rec, err), 0);
    assert_int_equal(rec.snapshot_lsn, 100);
    assert_int_equal(rec.snapshot_keys, 100);
    assert_int_equal(rec.wal.entries_replayed, 50);
    digest_of(f, d2);
    assert_string_equal(d1, d2);
}

/* BGSAVE forks a child; the snapshot is published once the child is done
 * and the WAL durable; the parent keeps logging meanwhile. */
static void test_bgsave_fork(void **state)
{
    fx *f = *state;
    f->cfg.snapshot_fork = 1;
    char err[512], d1[41], d2[41];
    engine_recovery rec;
    assert_int_equal(open_engine(f, &rec, err), 0);
    for (int i = 0; i < 5000; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%d", i);
        do_set(f, key, "value", -1);
    }
    uint64_t at = engine_last_lsn(f->e);
    assert_int_equal(engine_bgsave(f->e, err, sizeof err), 0);
    assert_int_equal(engine_bgsave(f->e, err, sizeof err), KVE_BUSY);
    for (int i = 0; i < 100; i++)
        do_set(f, "during", "bgsave", -1);
    assert_true(tu_run_until(&f->loop, snapshot_idle, f->e, 20000));
    engine_stats st;
    engine_get_stats(f->e, &st);
    assert_true(st.last_bgsave_ok);
    assert_int_equal(st.last_save_lsn, at);
    char path[4096];
    snap_path(path, sizeof path, f->dir, at);
    assert_true(tu_file_size(path) > 0);
    wait_durable(f);
    digest_of(f, d1);
    close_engine(f);
    assert_int_equal(open_engine(f, &rec, err), 0);
    assert_int_equal(rec.snapshot_lsn, at);
    assert_int_equal(rec.wal.entries_replayed, 100);
    digest_of(f, d2);
    assert_string_equal(d1, d2);
}

/* Overwriting the same 1,000 keys over and over keeps disk use bounded:
 * snapshots triggered by WAL growth let old segments be deleted. */
static void test_overwrite_workload_bounded_disk(void **state)
{
    fx *f = *state;
    f->cfg.wal_segment_size = 64 * 1024;
    f->cfg.snapshot_wal_min = 256 * 1024;
    f->cfg.snapshot_wal_pct = 100;
    char err[512];
    engine_recovery rec;
    assert_int_equal(open_engine(f, &rec, err), 0);
    char val[101];
    memset(val, 'v', 100);
    val[100] = '\0';
    long long peak = 0;
    for (int i = 0; i < 40000; i++) {
        char key[32];
        snprintf(key, sizeof key, "key:%d", i % 1000);
        do_set(f, key, val, -1);
        if (i % 200 == 0) {
            uv_run(&f->loop, UV_RUN_NOWAIT);
            engine_cron(f->e);
            tu_run_until(&f->loop, snapshot_idle, f->e, 10000);
            long long b = dir_bytes(f->dir);
            if (b > peak)
                peak = b;
        }
    }
    wait_durable(f);
    engine_stats st;
    engine_get_stats(f->e, &st);
    /* ~5.6 MB were logged in all; what stays on disk is a few segments
     * and two snapshots of ~0.2 MB. */
    assert_true(st.snapshots_taken >= 5);
    assert_true(st.wal_compactions >= 3);
    assert_true(peak < 2 * 1024 * 1024);
    char d1[41], d2[41];
    digest_of(f, d1);
    close_engine(f);
    assert_int_equal(open_engine(f, &rec, err), 0);
    digest_of(f, d2);
    assert_string_equal(d1, d2);
    assert_true(rec.snapshot_lsn > 0);
}

/* A damaged newest snapshot is set aside and the older one, plus the WAL
 * kept back to it, rebuilds the same state. */
static void test_broken_newest_snapshot(void **state)
{
    fx *f = *state;
    f->cfg.wal_segment_size = 64 * 1024;
    char err[512], d1[41], d2[41];
    engine_recovery rec;
    assert_int_equal(open_engine(f, &rec, err), 0);
    char val[200];
    memset(val, 'q', sizeof val - 1);
    val[sizeof val - 1] = '\0';
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 1500; i++) {
            char key[32];
            snprintf(key, sizeof key, "r%d:%d", round, i);
            do_set(f, key, val, -1);
        }
        wait_durable(f);
        assert_int_equal(engine_save(f->e, err, sizeof err), 0);
    }
    tu_drain(&f->loop, 100);
    uint64_t newest = engine_last_lsn(f->e);
    digest_of(f, d1);
    close_engine(f);
    char path[4096];
    snap_path(path, sizeof path, f->dir, newest);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "XXXX", 4, 200), 4);
    close(fd);
    assert_int_equal(open_engine(f, &rec, err), 0);
    assert_int_equal(rec.snapshots_broken, 1);
    assert_true(rec.snapshot_lsn < newest);
    assert_true(rec.wal.entries_replayed > 0);
    digest_of(f, d2);
    assert_string_equal(d1, d2);
}

/* A second process (here: a second open) cannot use a locked data dir. */
static void test_lock(void **state)
{
    fx *f = *state;
    char err[512];
    assert_int_equal(open_engine(f, NULL, err), 0);
    engine *other = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        /* flock is per open file: a different process must be refused. */
        int rc = engine_open(&other, &f->cfg, apply, NULL, NULL, err, sizeof err);
        _exit(rc == KVE_LOCKED && strstr(err, "in use") ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Power loss at random moments: every key whose write was durable is
 * there after recovery, with its value or a later one. */
static void test_power_loss(void **state)
{
    fx *f = *state;
    f->cfg.wal_segment_size = 64 * 1024;
    uint64_t rng = 99;
    long long durable_upto = -1; /* highest i known durable */
    long long next = 0;
    char err[512];
    for (int round = 0; round < 12; round++) {
        faultfs_install();
        engine_recovery rec;
        assert_int_equal(open_engine(f, &rec, err), 0);
        ks *k = engine_ks(f->e);
        for (long long i = 0; i <= durable_upto; i++) {
            char key[32];
            snprintf(key, sizeof key, "n%lld", i);
            assert_non_null(ks_find(k, key, strlen(key)));
        }
        /* Keys are never rewritten, so "present" is the whole check;
         * continue numbering after what survived. */
        next = 0;
        while (1) {
            char key[32];
            snprintf(key, sizeof key, "n%lld", next);
            if (!ks_find(k, key, strlen(key)))
                break;
            next++;
        }
        /* The survivors are exactly a prefix n0..n(next-1). */
        assert_int_equal(ks_size(k), (size_t)next);
        int steps = 1 + (int)(tu_rand(&rng) % 30);
        long long last_durable_i = durable_upto;
        for (int s = 0; s < steps; s++) {
            int n = 1 + (int)(tu_rand(&rng) % 25);
            for (int j = 0; j < n; j++) {
                char key[32];
                snprintf(key, sizeof key, "n%lld", next++);
                do_set(f, key, "v", -1);
            }
            uv_run(&f->loop, UV_RUN_NOWAIT);
            if (tu_rand(&rng) % 5 == 0)
                engine_save(f->e, err, sizeof err);
        }
        /* One key per entry, in LSN order: the last (last - durable)
         * keys written are the ones not yet durable. */
        uint64_t d = engine_durable_lsn(f->e), last = engine_last_lsn(f->e);
        long long durable_count = (long long)next - (long long)(last - d);
        if (durable_count - 1 > last_durable_i)
            durable_upto = durable_count - 1;
        faultfs_crash();
        close_engine(f);
        faultfs_uninstall();
    }
    assert_true(durable_upto > 0);
}

/* Random SET/DEL/expiry sequences with snapshots and restarts at random
 * points match a reference model exactly. */
static void test_random_model(void **state)
{
    fx *f = *state;
    f->cfg.wal_segment_size = 64 * 1024;
    enum { NKEYS = 200 };
    char *model[NKEYS] = {0};
    long long model_exp[NKEYS];
    for (int i = 0; i < NKEYS; i++)
        model_exp[i] = -1;
    uint64_t rng = 4242;
    char err[512];
    engine_recovery rec;
    assert_int_equal(open_engine(f, &rec, err), 0);
    for (int step = 0; step < 20000; step++) {
        int i = (int)(tu_rand(&rng) % NKEYS);
        char key[32], val[64];
        snprintf(key, sizeof key, "m%d", i);
        int op = (int)(tu_rand(&rng) % 100);
        if (op < 60) {
            snprintf(val, sizeof val, "val%llu", (unsigned long long)(tu_rand(&rng) % 100000));
            long long pxat = op < 10 ? 5000000000000LL + step : -1;
            do_set(f, key, val, pxat);
            free(model[i]);
            model[i] = strdup(val);
            model_exp[i] = pxat;
        } else if (op < 80) {
            do_del(f, key);
            free(model[i]);
            model[i] = NULL;
            model_exp[i] = -1;
        } else if (op < 85) {
            /* An expiry noticed by the primary: logged as DEL. */
            do_del(f, key);
            free(model[i]);
            model[i] = NULL;
        } else if (op < 87) {
            engine_save(f->e, err, sizeof err);
        } else if (op < 88) {
            wait_durable(f);
            close_engine(f);
            assert_int_equal(open_engine(f, &rec, err), 0);
        } else {
            uv_run(&f->loop, UV_RUN_NOWAIT);
        }
        if (step % 1000 == 999 || step == 19999) {
            ks *ref = ks_new();
            for (int j = 0; j < NKEYS; j++) {
                if (!model[j])
                    continue;
                snprintf(key, sizeof key, "m%d", j);
                kobj *o = ks_set_string(ref, key, strlen(key), model[j], strlen(model[j]), 0);
                if (model_exp[j] >= 0)
                    ks_set_expire(ref, o, model_exp[j]);
            }
            char d1[41], d2[41];
            ks_digest(ref, d1);
            digest_of(f, d2);
            assert_string_equal(d1, d2);
            ks_free(ref);
        }
    }
    for (int i = 0; i < NKEYS; i++)
        free(model[i]);
}

/* Cutting the log after an LSN with a reload rebuilds the keyspace as it
 * was at that LSN, dropping a snapshot that held the cut entries; the
 * result survives a restart. */
static void test_truncate_and_reload(void **state)
{
    fx *f = *state;
    char err[512], d70[41], d[41];
    engine_recovery rec;
    assert_int_equal(open_engine(f, &rec, err), 0);
    for (int i = 1; i <= 100; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%d", i);
        do_set(f, key, "v", -1);
        if (i == 40)
            assert_int_equal(engine_save(f->e, err, sizeof err), 0);
        if (i == 70)
            digest_of(f, d70);
        if (i == 90)
            assert_int_equal(engine_save(f->e, err, sizeof err), 0);
    }
    wait_durable(f);
    assert_int_equal(engine_truncate(f->e, 70, 1, err, sizeof err), 0);
    digest_of(f, d);
    assert_string_equal(d, d70);
    assert_int_equal(engine_last_lsn(f->e), 70);
    char path[4096];
    snap_path(path, sizeof path, f->dir, 90);
    assert_int_equal(tu_file_size(path), -1);
    do_set(f, "after", "cut", -1);
    wait_durable(f);
    digest_of(f, d70);
    close_engine(f);
    assert_int_equal(open_engine(f, &rec, err), 0);
    digest_of(f, d);
    assert_string_equal(d, d70);
    assert_int_equal(rec.snapshot_lsn, 40);
}

/* A snapshot shipped from another node replaces this node's state and log;
 * logging continues after it, across a restart. */
static void test_install_snapshot(void **state)
{
    fx *f = *state;
    char err[512], expect[41], d[41];
    engine_recovery rec;
    /* The "primary": its own directory. */
    char *pdir = tu_mkdtemp("primary");
    engine_config pc = f->cfg;
    pc.dir = pdir;
    engine *p;
    assert_int_equal(engine_open(&p, &pc, apply, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(engine_start(p, &f->loop, NULL, NULL), 0);
    engine_set_term(p, 3);
    for (int i = 0; i < 500; i++) {
        char key[32];
        snprintf(key, sizeof key, "p%d", i);
        ks_set_string(engine_ks(p), key, strlen(key), "x", 1, 0);
        const char *argv[3] = {"SET", key, "x"};
        size_t lens[3] = {3, strlen(key), 1};
        engine_entry_add(p, 0, 3, argv, lens);
        engine_entry_commit(p);
    }
    assert_int_equal(engine_save(p, err, sizeof err), 0);
    uint64_t lsn, term;
    char ppath[4096];
    assert_int_equal(engine_latest_snapshot(p, UINT64_MAX, &lsn, &term, ppath, sizeof ppath), 0);
    assert_int_equal(lsn, 500);
    assert_int_equal(term, 3);
    ks_digest(engine_ks(p), expect);
    engine_close(p);
    tu_drain(&f->loop, 1000);
    /* The "replica" has its own divergent history. */
    assert_int_equal(open_engine(f, &rec, err), 0);
    for (int i = 0; i < 50; i++)
        do_set(f, "mine", "old", -1);
    wait_durable(f);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/recv.tmp", f->dir);
    assert_int_equal(kvfs_copy_file(ppath, tmp), 0);
    assert_int_equal(engine_install_snapshot(f->e, tmp, 500, 3, err, sizeof err), 0);
    digest_of(f, d);
    assert_string_equal(d, expect);
    assert_int_equal(engine_last_lsn(f->e), 500);
    engine_set_term(f->e, 3);
    do_set(f, "later", "y", -1);
    wait_durable(f);
    digest_of(f, expect);
    close_engine(f);
    assert_int_equal(open_engine(f, &rec, err), 0);
    digest_of(f, d);
    assert_string_equal(d, expect);
    assert_int_equal(rec.snapshot_lsn, 500);
    assert_int_equal(rec.wal.entries_replayed, 1);
    tu_rmrf(pdir);
    free(pdir);
}

/* The hand-written WalEntry encoding is byte for byte what protobuf-c
 * packs, for entries of many shapes (empty and long arguments, several
 * commands, lengths needing multi-byte varints, databases 0, small and
 * needing multi-byte varints). */
static void test_entry_encoding_matches_protobuf_c(void **state)
{
    fx *f = *state;
    char err[512];
    assert_int_equal(open_engine(f, NULL, err), 0);
    uint64_t rng = 5;
    static uint8_t big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    for (int round = 0; round < 200; round++) {
        int ncmds = 1 + (int)(tu_rand(&rng) % 4);
        Kv__Command cmds[4], *ptrs[4];
        ProtobufCBinaryData args[4][6];
        for (int i = 0; i < ncmds; i++) {
            int argc = 1 + (int)(tu_rand(&rng) % 6);
            const char *argv[6];
            size_t lens[6];
            for (int j = 0; j < argc; j++) {
                uint64_t pick = tu_rand(&rng) % 10;
                lens[j] = pick == 0 ? 0 : pick < 7 ? tu_rand(&rng) % 200 : tu_rand(&rng) % 70000;
                argv[j] = (const char *)big + tu_rand(&rng) % 100;
                if (lens[j] + 100 > sizeof big)
                    lens[j] = sizeof big - 100;
                args[i][j].data = (uint8_t *)argv[j];
                args[i][j].len = lens[j];
            }
            uint64_t dpick = tu_rand(&rng) % 4;
            uint32_t db = dpick < 2 ? 0 : dpick == 2 ? (uint32_t)(tu_rand(&rng) % 16)
                                                     : (uint32_t)tu_rand(&rng) % 2000000;
            engine_entry_add(f->e, (int)db, argc, argv, lens);
            kv__command__init(&cmds[i]);
            cmds[i].n_argv = (size_t)argc;
            cmds[i].argv = args[i];
            cmds[i].db = db;
            ptrs[i] = &cmds[i];
        }
        Kv__WalEntry ent = KV__WAL_ENTRY__INIT;
        ent.n_commands = (size_t)ncmds;
        ent.commands = ptrs;
        size_t n = kv__wal_entry__get_packed_size(&ent);
        uint8_t *packed = malloc(n);
        kv__wal_entry__pack(&ent, packed);
        uint64_t lsn = engine_entry_commit(f->e);
        assert_true(lsn > 0);
        wait_durable(f);
        wal_cursor cur = {lsn, 0, 0};
        wal_rbuf out = {0};
        assert_int_equal(wal_read(f->dir, &cur, lsn, 1 << 20, &out, err, sizeof err), 1);
        wal_record r;
        assert_true(wal_decode_record(out.p, out.len, &r) > 0);
        assert_int_equal(r.len, n);
        assert_memory_equal(r.payload, packed, n);
        wal_rbuf_free(&out);
        free(packed);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_log_and_recover, engine_fx_setup, engine_fx_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_plus_wal_tail, engine_fx_setup, engine_fx_teardown),
        cmocka_unit_test_setup_teardown(test_bgsave_fork, engine_fx_setup, engine_fx_teardown),
        cmocka_unit_test_setup_teardown(test_overwrite_workload_bounded_disk, engine_fx_setup, engine_fx_teardown),
        cmocka_unit_test_setup_teardown(test_broken_newest_snapshot, engine_fx_setup, engine_fx_teardown),
        cmocka_unit_test_setup_teardown(test_lock, engine_fx_setup, engine_fx_teardown),
        cmocka_unit_test_setup_teardown(test_power_loss, engine_fx_setup, engine_fx_teardown),
        cmocka_unit_test_setup_teardown(test_random_model, engine_fx_setup, engine_fx_teardown),
        cmocka_unit_test_setup_teardown(test_truncate_and_reload, engine_fx_setup, engine_fx_teardown),
        cmocka_unit_test_setup_teardown(test_install_snapshot, engine_fx_setup, engine_fx_teardown),
        cmocka_unit_test_setup_teardown(test_entry_encoding_matches_protobuf_c, engine_fx_setup, engine_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
