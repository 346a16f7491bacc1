/* test_wal_commit.c — the group-commit hand-off between the loop and the WAL
 * thread under slow and failing disks: sync requests (the everysec tick,
 * flush-wait) arriving while a batch is in flight, data arriving behind
 * them, segment switches in between, for every appendfsync policy; the
 * stall watchdog; a randomized run with injected delays and policy changes
 * ending each round in a simulated power loss; and kill -9 of a process
 * that is appending, with every acknowledged LSN checked after restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "faultfs.h"
#include "fsio.h"
#include "log.h"
#include "testutil.h"
#include "wal.h"

/* ---- Fixture ---- */

typedef struct fx {
    char *dir;
    uv_loop_t loop;
    wal *w;
    wal_config cfg;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp("walc");
    uv_loop_init(&f->loop);
    f->cfg.dir = f->dir;
    f->cfg.segment_size = 16 * 1024;
    f->cfg.fsync = WAL_FSYNC_ALWAYS;
    f->cfg.prealloc = 1;
    log_level = LOG_WARNING + 1; /* quiet */
    *state = f;
    return 0;
}

static void close_wal(fx *f)
{
    if (f->w) {
        wal_close(f->w);
        f->w = NULL;
        tu_drain(&f->loop, 2000);
    }
}

static int teardown(void **state)
{
    fx *f = *state;
    faultfs_gate_open();
    close_wal(f);
    faultfs_uninstall();
    uv_loop_close(&f->loop);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    log_set_file("");
    return 0;
}

/* ---- Helpers ---- */

/* The payload of LSN lsn: a length spread over 0..max_len-1 and bytes that
 * depend on the LSN, so replay can tell a record from any other. */
static size_t payload_for(uint64_t lsn, size_t max_len, uint8_t *out)
{
    uint64_t h = lsn * 0x9E3779B97F4A7C15ULL;
    size_t len = (size_t)((h >> 17) % max_len);
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(lsn * 131 + i * 7);
    return len;
}

#define MAX_LEN 3000

typedef struct seen {
    uint64_t n, last_lsn;
    int ok;
} seen;

static int collect(void *arg, const wal_record *rec, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    seen *s = arg;
    uint8_t buf[MAX_LEN];
    size_t len = payload_for(rec->lsn, MAX_LEN, buf);
    if (rec->lsn != s->last_lsn + 1 || rec->len != len ||
        (len && memcmp(rec->payload, buf, len) != 0))
        s->ok = 0;
    s->n++;
    s->last_lsn = rec->lsn;
    return 0;
}

static int open_wal(fx *f, seen *s, char *err)
{
    memset(s, 0, sizeof *s);
    s->ok = 1;
    return wal_open(&f->w, &f->cfg, 0, 0, collect, s, NULL, err, 256);
}

static void start(fx *f)
{
    assert_int_equal(wal_start(f->w, &f->loop, NULL, NULL), 0);
}

static uint64_t append_one(wal *w)
{
    uint8_t buf[MAX_LEN];
    uint64_t lsn = wal_last_lsn(w) + 1;
    size_t len = payload_for(lsn, MAX_LEN, buf);
    return wal_append(w, 1, WAL_REC_COMMANDS, buf, len);
}

/* Append n records and end the loop iteration (the batch is handed over). */
static void append_batch(fx *f, int n)
{
    for (int i = 0; i < n; i++)
        assert_true(append_one(f->w) > 0);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

typedef struct want {
    wal *w;
    uint64_t durable, synced;
} want;

static int reached(void *arg)
{
    want *x = arg;
    return wal_error(x->w, NULL) ||
           (wal_durable_lsn(x->w) >= x->durable && wal_synced_lsn(x->w) >= x->synced);
}

/* Bounded wait until durable >= d and synced >= s; asserts both. */
static void wait_lsns(fx *f, uint64_t d, uint64_t s)
{
    want x = {f->w, d, s};
    assert_true(tu_run_until(&f->loop, reached, &x, 10000));
    assert_int_equal(wal_error(f->w, NULL), 0);
    assert_true(wal_durable_lsn(f->w) >= d);
    assert_true(wal_synced_lsn(f->w) >= s);
}

static int gate_held(void *arg)
{
    (void)arg;
    return faultfs_gate_waiting();
}

/* Append one record with a sync owed, block that fdatasync and wait until
 * the WAL thread is held inside it (whatever the policy). */
static void hold_next_segment_sync(fx *f)
{
    faultfs_gate(FF_FSYNC, "/wal-0");
    assert_true(append_one(f->w) > 0);
    wal_request_sync(f->w);
    assert_true(tu_run_until(&f->loop, gate_held, NULL, 10000));
}

static int spare_ready(void *arg)
{
    wal_stats st;
    wal_get_stats(arg, &st);
    return st.spare_ready;
}

/* Simulated power loss, then recovery: the log must be an exact,
 * contiguous prefix holding at least `at_least` records. */
static void crash_and_check(fx *f, uint64_t at_least)
{
    char err[256];
    seen s;
    faultfs_crash();
    close_wal(f); /* the machine is off: nothing more reaches the disk */
    faultfs_uninstall();
    int rc = open_wal(f, &s, err);
    if (rc)
        fail_msg("recovery failed: %s", err);
    assert_true(s.ok);
    if (s.n < at_least)
        fail_msg("recovered %" PRIu64 " records, %" PRIu64 " were acknowledged", s.n, at_least);
    assert_int_equal(wal_last_lsn(f->w), s.n);
    wal_close(f->w); /* never started: freed at once */
    f->w = NULL;
}

/* ---- Tests ---- */

/* The reproduction, made deterministic: while the thread is held in
 * a slow fdatasync, a data batch queues behind it, a sync request (the
 * everysec tick) joins that queued batch, and more data joins after it;
 * then, the other way round, a sync request queues first and data joins
 * it. Nothing may be dropped, durable may not move while the data waits,
 * and after the sync is released everything is written, synced and
 * recovered after a power loss — under every fsync policy. */
static void check_sync_requests_during_slow_sync(fx *f, int policy)
{
    char err[256];
    seen s;
    f->cfg.fsync = policy;
    faultfs_install();
    assert_int_equal(open_wal(f, &s, err), 0);
    start(f);
    /* Let the startup segment be left for a zero-filled spare: the first
     * batch after this carries a segment switch. */
    assert_true(tu_run_until(&f->loop, spare_ready, f->w, 10000));
    append_batch(f, 10);
    wait_lsns(f, 10, 0);

    /* Data queued, then a sync request joins it, then more data. */
    hold_next_segment_sync(f);
    uint64_t before = wal_durable_lsn(f->w);
    assert_true(before <= 11);
    append_batch(f, 10);
    wal_request_sync(f->w);
    append_batch(f, 10);
    assert_int_equal(wal_durable_lsn(f->w), before); /* the barrier holds */
    faultfs_gate_open();
    wait_lsns(f, 31, 31);

    /* A sync request queued alone, then data joins it. */
    hold_next_segment_sync(f);
    wal_request_sync(f->w);
    append_batch(f, 7);
    append_batch(f, 5);
    faultfs_gate_open();
    wait_lsns(f, 44, 44);

    /* Data with segment switches queued behind a held sync: records large
     * enough that the 16 KiB segments roll over several times. */
    wal_stats st;
    wal_get_stats(f->w, &st);
    uint64_t segs_before = st.segments;
    hold_next_segment_sync(f);
    for (int i = 0; i < 6; i++) {
        /* A spare ready for every batch, so that each switch happens. */
        assert_true(tu_run_until(&f->loop, spare_ready, f->w, 10000));
        append_batch(f, 8);
        wal_request_sync(f->w);
    }
    faultfs_gate_open();
    wait_lsns(f, 93, 93);
    assert_int_equal(wal_flush_wait(f->w), 0);
    assert_int_equal(wal_synced_lsn(f->w), 93);
    assert_int_equal(wal_last_lsn(f->w), 93);
    wal_get_stats(f->w, &st);
    assert_true(st.segments >= segs_before + 2);
    crash_and_check(f, 93);
}

static void test_sync_requests_during_slow_sync_always(void **state)
{
    check_sync_requests_during_slow_sync(*state, WAL_FSYNC_ALWAYS);
}

static void test_sync_requests_during_slow_sync_everysec(void **state)
{
    check_sync_requests_during_slow_sync(*state, WAL_FSYNC_EVERYSEC);
}

static void test_sync_requests_during_slow_sync_no(void **state)
{
    check_sync_requests_during_slow_sync(*state, WAL_FSYNC_NO);
}

typedef struct opener {
    pthread_t t;
    int ok;
} opener;

static void *open_gate_when_held(void *arg)
{
    opener *o = arg;
    for (int i = 0; i < 10000 && !faultfs_gate_waiting(); i++)
        usleep(1000); /* polling another thread's state: bounded */
    o->ok = faultfs_gate_waiting();
    faultfs_gate_open();
    return NULL;
}

/* wal_flush_wait (SAVE, shutdown) called while a sync is held and data is
 * queued behind it returns only when everything is written and synced. */
static void test_flush_wait_during_slow_sync(void **state)
{
    fx *f = *state;
    char err[256];
    seen s;
    f->cfg.fsync = WAL_FSYNC_EVERYSEC;
    faultfs_install();
    assert_int_equal(open_wal(f, &s, err), 0);
    start(f);
    append_batch(f, 20);
    wait_lsns(f, 20, 0);
    hold_next_segment_sync(f);
    append_batch(f, 20);
    wal_request_sync(f->w);
    for (int i = 0; i < 5; i++)
        assert_true(append_one(f->w) > 0);
    opener o = {0};
    assert_int_equal(pthread_create(&o.t, NULL, open_gate_when_held, &o), 0);
    assert_int_equal(wal_flush_wait(f->w), 0);
    pthread_join(o.t, NULL);
    assert_true(o.ok);
    assert_int_equal(wal_synced_lsn(f->w), 46);
    assert_int_equal(wal_durable_lsn(f->w), 46);
    crash_and_check(f, 46);
}

typedef struct logwatch {
    const char *path, *needle;
} logwatch;

static int file_contains(const char *path, const char *needle);

static int log_says(void *arg)
{
    logwatch *l = arg;
    return file_contains(l->path, l->needle);
}

static int not_stalled(void *arg)
{
    return wal_stalled_ms(arg) == 0 && wal_durable_lsn(arg) == wal_last_lsn(arg);
}

static int file_contains(const char *path, const char *needle)
{
    char *data;
    size_t len;
    if (kvfs_read_file(path, &data, &len) < 0)
        return 0;
    int found = strstr(data, needle) != NULL;
    free(data);
    return found;
}

/* A durable LSN that does not move while records wait is reported: the
 * watchdog's figure grows past the threshold, one warning names the
 * waiting LSNs, and both clear once the disk answers again. */
static void test_stall_watchdog(void **state)
{
    fx *f = *state;
    char err[256], logpath[4200];
    seen s;
    f->cfg.stall_warn_ms = 100;
    snprintf(logpath, sizeof logpath, "%s/test.log", f->dir);
    assert_int_equal(log_set_file(logpath), 0);
    log_level = LOG_NOTICE;
    faultfs_install();
    assert_int_equal(open_wal(f, &s, err), 0);
    start(f);
    append_batch(f, 5);
    wait_lsns(f, 5, 5);
    assert_int_equal(wal_stalled_ms(f->w), 0);
    faultfs_gate(FF_FSYNC, "/wal-0");
    append_batch(f, 3);
    logwatch lw = {logpath, "WAL stalled: durable LSN 5"};
    assert_true(tu_run_until(&f->loop, log_says, &lw, 10000));
    wal_stats st;
    wal_get_stats(f->w, &st);
    assert_true(st.stalled_ms >= 100);
    assert_true(file_contains(logpath, "LSNs 6..8 wait"));
    faultfs_gate_open();
    assert_true(tu_run_until(&f->loop, not_stalled, f->w, 10000));
    lw.needle = "durable LSN moving again";
    assert_true(tu_run_until(&f->loop, log_says, &lw, 10000));
    log_level = LOG_WARNING + 1;
    close_wal(f);
}

/* The gather wait (appendfsync always): while a sync is under way the
 * loop waits for it at the end of a pass, but never longer than its bound,
 * whatever the disk does: with the sync held indefinitely, a 2 ms timer
 * keeps firing and the passes keep waiting; once the disk answers, the
 * records become durable. */
typedef struct ticker {
    uv_timer_t t;
    int ticks;
} ticker;

static void on_tick(uv_timer_t *h)
{
    ((ticker *)h->data)->ticks++;
}

static int ticked_enough(void *arg)
{
    return ((ticker *)arg)->ticks >= 60;
}

static void test_gather_wait_is_bounded(void **state)
{
    fx *f = *state;
    char err[256];
    seen s;
    faultfs_install();
    assert_int_equal(open_wal(f, &s, err), 0);
    start(f);
    append_batch(f, 5);
    wait_lsns(f, 5, 5);
    wal_stats st0, st1;
    wal_get_stats(f->w, &st0);
    faultfs_gate(FF_FSYNC, "/wal-0");
    append_batch(f, 3);
    ticker tk = {.ticks = 0};
    uv_timer_init(&f->loop, &tk.t);
    tk.t.data = &tk;
    uv_timer_start(&tk.t, on_tick, 2, 2);
    assert_true(tu_run_until(&f->loop, ticked_enough, &tk, 20000));
    wal_get_stats(f->w, &st1);
    assert_true(st1.gather_waits > st0.gather_waits);
    assert_int_equal(wal_durable_lsn(f->w), 5);
    uv_close((uv_handle_t *)&tk.t, NULL);
    faultfs_gate_open();
    wait_lsns(f, 8, 8);
    close_wal(f);
}

/* The loop's commit delay (appendfsync always, alone): writers that
 * answer every reply with a new write, driven by the WAL's own progress
 * callback and nothing else (no timer runs until the deadline), keep the
 * log moving round after round: a pass that holds its reads for the next
 * one never leaves them stuck; the delay engaged; everything appended is
 * durable and reads back in order. Syncs are slowed to up to 2 ms so that
 * the delay (half a sync) applies. */
#define WRITERS 8
#define ROUNDS 150
typedef struct writers {
    fx *f;
    uint64_t waiting_for; /* LSN whose durability ends the round */
    int rounds;
    int target; /* rounds after which the loop stops */
} writers;

static void writers_progress(void *arg)
{
    writers *x = arg;
    if (x->rounds >= x->target || wal_durable_lsn(x->f->w) < x->waiting_for)
        return; /* stopped, or the round goes on */
    if (++x->rounds >= x->target) {
        uv_stop(&x->f->loop);
        return;
    }
    for (int i = 0; i < WRITERS; i++)
        x->waiting_for = append_one(x->f->w);
}

static void on_deadline(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* Drive x for `rounds` more rounds (WRITERS appends each, the next round
 * started by the WAL's progress callback); fails the test if they do not
 * complete within 60 s. */
static void run_writers(fx *f, writers *x, int rounds)
{
    x->target = x->rounds + rounds;
    for (int i = 0; i < WRITERS; i++)
        x->waiting_for = append_one(f->w);
    uv_timer_t deadline;
    uv_timer_init(&f->loop, &deadline);
    uv_timer_start(&deadline, on_deadline, 60000, 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(x->rounds, x->target);
    assert_true(wal_durable_lsn(f->w) >= x->waiting_for);
}

/* Close the log, open it again: it reads back whole, ending at last. */
static void reopen_ends_at(fx *f, uint64_t last)
{
    char err[256];
    seen s;
    close_wal(f);
    assert_int_equal(open_wal(f, &s, err), 0);
    assert_true(s.ok);
    assert_int_equal(s.last_lsn, last);
    close_wal(f);
}

static void test_loop_delay_never_strands_writes(void **state)
{
    fx *f = *state;
    char err[256];
    seen s;
    faultfs_install();
    faultfs_delay(FF_FSYNC, 2000, 100, 7);
    assert_int_equal(open_wal(f, &s, err), 0);
    writers x = {f, 0, 0, 0};
    assert_int_equal(wal_start(f->w, &f->loop, writers_progress, &x), 0);
    run_writers(f, &x, ROUNDS);
    wal_stats st;
    wal_get_stats(f->w, &st);
    assert_true(st.loop_delays > 0);
    faultfs_clear();
    reopen_ends_at(f, x.waiting_for);
}

/* Inline syncs (appendfsync always, alone, syncs fast): the loop syncs
 * each batch itself and the thread syncs none; everything released is
 * durable and reads back in order. */
static void test_inline_syncs_while_fast(void **state)
{
    fx *f = *state;
    char err[256];
    seen s;
    f->cfg.inline_sync_max_us = 1000000; /* any real sync counts as fast */
    assert_int_equal(open_wal(f, &s, err), 0);
    writers x = {f, 0, 0, 0};
    assert_int_equal(wal_start(f->w, &f->loop, writers_progress, &x), 0);
    run_writers(f, &x, 100);
    wal_stats st;
    wal_get_stats(f->w, &st);
    assert_true(st.inline_syncs > 0);
    /* Batches that switch segments (16 KiB here) go to the thread, which
     * syncs the old segment and then the batch; all others are inline. */
    assert_true(st.syncs >= st.inline_syncs);
    assert_true(st.inline_syncs + 3 * (st.segments + 8) >= st.syncs);
    reopen_ends_at(f, x.waiting_for);
}

/* A slow sync sends the following batches to the WAL thread, where a
 * disk that stops answering holds the writes but not the loop (a timer
 * keeps firing); once syncs are fast again the loop syncs inline again.
 * Turning gathering off (peers) stops inline syncs outright. "Slow" is
 * 20 ms here and the injected syncs take 25-30 ms, so that a loaded
 * machine's real syncs count as fast (a CI run had them over 2 ms). */
static void test_slow_sync_moves_to_thread(void **state)
{
    fx *f = *state;
    char err[256];
    seen s;
    f->cfg.inline_sync_max_us = 20000;
    faultfs_install();
    faultfs_delay_range(FF_FSYNC, 25000, 30000, 100, 11);
    assert_int_equal(open_wal(f, &s, err), 0);
    writers x = {f, 0, 0, 0};
    assert_int_equal(wal_start(f->w, &f->loop, writers_progress, &x), 0);
    run_writers(f, &x, 20);
    wal_stats st0, st1, st2, st3;
    wal_get_stats(f->w, &st0);
    /* Only the first sync, before any was timed, ran on the loop. */
    assert_int_equal(st0.inline_syncs, 1);
    assert_true(st0.syncs >= 20);

    /* The disk stops answering: the loop does not. */
    faultfs_gate(FF_FSYNC, "/wal-0"); /* a segment's, not a spare's */
    uint64_t durable = wal_durable_lsn(f->w);
    for (int i = 0; i < WRITERS; i++)
        append_one(f->w);
    ticker tk = {.ticks = 0};
    uv_timer_init(&f->loop, &tk.t);
    tk.t.data = &tk;
    uv_timer_start(&tk.t, on_tick, 2, 2);
    assert_true(tu_run_until(&f->loop, ticked_enough, &tk, 20000));
    assert_true(faultfs_gate_waiting());
    assert_int_equal(wal_durable_lsn(f->w), durable);
    uv_close((uv_handle_t *)&tk.t, NULL);
    faultfs_gate_open();
    wait_lsns(f, wal_last_lsn(f->w), wal_last_lsn(f->w));

    /* Fast again: back on the loop (within a bounded number of rounds,
     * whatever the machine's load). */
    faultfs_delay_range(FF_FSYNC, 0, 0, 0, 0);
    wal_get_stats(f->w, &st1);
    for (int i = 0; i < 100; i++) {
        run_writers(f, &x, 5);
        wal_get_stats(f->w, &st2);
        if (st2.inline_syncs > st1.inline_syncs + 2)
            break;
    }
    assert_true(st2.inline_syncs > st1.inline_syncs + 2);

    /* Peers: never on the loop. */
    wal_set_gather(f->w, 0);
    run_writers(f, &x, 20);
    wal_get_stats(f->w, &st3);
    assert_int_equal(st3.inline_syncs, st2.inline_syncs);
    assert_true(st3.syncs >= st2.syncs + 20);
    faultfs_clear();
    reopen_ends_at(f, x.waiting_for);
}

/* Switching the policy to "always" never moves the durable LSN back. */
static void test_durable_never_moves_back_on_policy_change(void **state)
{
    fx *f = *state;
    char err[256];
    seen s;
    f->cfg.fsync = WAL_FSYNC_NO;
    faultfs_install();
    assert_int_equal(open_wal(f, &s, err), 0);
    start(f);
    append_batch(f, 12);
    wait_lsns(f, 12, 0);
    faultfs_gate(FF_FSYNC, "/wal-0");
    wal_set_fsync(f->w, WAL_FSYNC_ALWAYS);
    assert_true(wal_durable_lsn(f->w) >= 12);
    append_batch(f, 4);
    assert_true(tu_run_until(&f->loop, gate_held, NULL, 10000));
    assert_true(wal_durable_lsn(f->w) >= 12);
    faultfs_gate_open();
    wait_lsns(f, 16, 16);
    close_wal(f);
}

/* Many rounds of appends of random sizes in random batches, segment
 * switches (16 KiB segments), run-time policy changes, sync requests and
 * flush-waits, with random delays injected into writes, syncs and renames
 * on every thread. Each round ends in a simulated power loss: the
 * recovered log is an exact prefix of what was appended and holds every
 * LSN that was synced (and, under "always", every LSN released). */
static void test_randomized_hand_off(void **state)
{
    fx *f = *state;
    uint64_t rng = 0xC0FFEE;
    int rounds = 40;
    for (int round = 0; round < rounds; round++) {
        char err[256];
        seen s;
        faultfs_install();
        faultfs_delay(FF_WRITE, 1500, 15, 1000 + (unsigned long long)round);
        faultfs_delay(FF_FSYNC, 3000, 30, 1000 + (unsigned long long)round);
        faultfs_delay(FF_RENAME, 2000, 50, 1000 + (unsigned long long)round);
        f->cfg.fsync = (int)(tu_rand(&rng) % 3);
        f->cfg.prealloc = (int)(tu_rand(&rng) % 4 != 0);
        if (open_wal(f, &s, err))
            fail_msg("round %d: recovery failed: %s", round, err);
        assert_true(s.ok);
        start(f);
        int steps = 20 + (int)(tu_rand(&rng) % 60);
        uint64_t must_have = s.n;
        for (int i = 0; i < steps; i++) {
            uint64_t r = tu_rand(&rng) % 100;
            if (r < 60) {
                append_batch(f, 1 + (int)(tu_rand(&rng) % 12));
            } else if (r < 75) {
                wal_request_sync(f->w);
                append_batch(f, (int)(tu_rand(&rng) % 4));
            } else if (r < 83) {
                wal_set_fsync(f->w, (int)(tu_rand(&rng) % 3));
            } else if (r < 88) {
                assert_int_equal(wal_flush_wait(f->w), 0);
                assert_int_equal(wal_synced_lsn(f->w), wal_last_lsn(f->w));
            } else {
                /* Let the loop run a little: completions, timer ticks. */
                tu_drain(&f->loop, 1 + (int)(tu_rand(&rng) % 5));
            }
            assert_int_equal(wal_error(f->w, NULL), 0);
            uint64_t synced = wal_synced_lsn(f->w);
            if (synced > must_have)
                must_have = synced;
        }
        crash_and_check(f, must_have);
    }
}

/* ---- concurrency on the real file system ---- */

/* A reader on its own thread, as replication reads the log on the thread
 * pool: it follows `upto` (what the loop saw written) with wal_read and
 * checks every record it gets. */
typedef struct follower {
    const char *dir;
    _Atomic uint64_t upto;
    _Atomic int stop;
    uint64_t got; /* records read and verified (the reader's own) */
    int bad;
    char err[256];
} follower;

static void *follow(void *arg)
{
    follower *fo = arg;
    wal_cursor cur = {.next_lsn = 1};
    wal_rbuf buf = {0};
    uint8_t expect[MAX_LEN];
    for (;;) {
        int stopping = atomic_load(&fo->stop);
        uint64_t upto = atomic_load(&fo->upto);
        buf.len = 0;
        long n = wal_read(fo->dir, &cur, upto, 64 * 1024, &buf, fo->err, sizeof fo->err);
        if (n < 0) {
            fo->bad = 1;
            break;
        }
        for (size_t off = 0; off < buf.len;) {
            wal_record r;
            long m = wal_decode_record(buf.p + off, buf.len - off, &r);
            size_t len = payload_for(fo->got + 1, MAX_LEN, expect);
            if (m <= 0 || r.lsn != fo->got + 1 || r.len != len ||
                (len && memcmp(r.payload, expect, len) != 0)) {
                snprintf(fo->err, sizeof fo->err, "record after LSN %" PRIu64 " differs",
                         fo->got);
                fo->bad = 1;
                break;
            }
            fo->got++;
            off += (size_t)m;
        }
        if (fo->bad || (stopping && fo->got >= upto))
            break;
        if (!n)
            usleep(200);
    }
    wal_rbuf_free(&buf);
    return NULL;
}

/* The loop appends in random batches across segment switches (real spare
 * segments on the thread pool), changes the policy, asks for syncs and
 * flush-waits, while the WAL thread writes and a reader thread follows
 * the log with wal_read, all on the real file system: no test helper
 * takes a lock between the threads, so ThreadSanitizer sees every access
 * the WAL makes. The reader gets every record, intact and in order, and
 * a reopen finds them all. */
static void test_concurrent_real_fs(void **state)
{
    fx *f = *state;
    char err[256];
    seen s;
    f->cfg.segment_size = 8 * 1024;
    f->cfg.fsync = WAL_FSYNC_EVERYSEC;
    assert_int_equal(open_wal(f, &s, err), 0);
    start(f);
    follower fo = {.dir = f->dir};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, follow, &fo), 0);
    uint64_t rng = 4242;
    for (int i = 0; i < 3000; i++) {
        uint64_t r = tu_rand(&rng) % 100;
        if (r < 70) {
            int n = 1 + (int)(tu_rand(&rng) % 8);
            for (int k = 0; k < n; k++)
                assert_true(append_one(f->w) > 0);
        } else if (r < 80) {
            wal_request_sync(f->w);
        } else if (r < 85) {
            wal_set_fsync(f->w, (int)(tu_rand(&rng) % 3));
        } else if (r < 87) {
            assert_int_equal(wal_flush_wait(f->w), 0);
        }
        wal_stats st;
        wal_get_stats(f->w, &st);
        uv_run(&f->loop, UV_RUN_NOWAIT);
        atomic_store(&fo.upto, wal_written_lsn(f->w));
    }
    assert_int_equal(wal_flush_wait(f->w), 0);
    uint64_t last = wal_last_lsn(f->w);
    atomic_store(&fo.upto, wal_written_lsn(f->w));
    atomic_store(&fo.stop, 1);
    assert_int_equal(pthread_join(th, NULL), 0);
    if (fo.bad)
        fail_msg("reader: %s", fo.err);
    assert_int_equal(fo.got, last);
    close_wal(f);
    assert_int_equal(open_wal(f, &s, err), 0);
    assert_true(s.ok);
    assert_int_equal(s.n, last);
    close_wal(f);
}

/* ---- kill -9 of an appending process ---- */

static void child_tick(uv_timer_t *t)
{
    (void)t;
}

/* The child: append in random batches with random sync requests and
 * policy changes over slow, randomly delayed syscalls, and report every
 * new durable LSN on the pipe. Runs until killed. */
static void child_append_forever(const char *dir, int fd, uint64_t seed)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    faultfs_install();
    faultfs_track_undo(0);
    faultfs_delay(FF_WRITE, 800, 10, seed);
    faultfs_delay(FF_FSYNC, 3000, 40, seed);
    faultfs_delay(FF_RENAME, 1000, 50, seed);
    wal_config cfg = {.dir = dir, .segment_size = 16 * 1024, .fsync = (int)(seed % 3),
                      .prealloc = 1};
    wal *w;
    char err[256];
    seen s = {.ok = 1};
    if (wal_open(&w, &cfg, 0, 0, collect, &s, NULL, err, sizeof err) || !s.ok)
        _exit(3);
    if (wal_start(w, &loop, NULL, NULL))
        _exit(4);
    /* A referenced timer, so that waiting for the WAL below blocks in poll
     * instead of spinning (the WAL's own handles are unreferenced). */
    uv_timer_t tick;
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, child_tick, 10, 10);
    uint64_t rng = seed, reported = wal_durable_lsn(w);
    for (;;) {
        /* Like clients waiting for replies: at most 500 records in flight. */
        while (wal_last_lsn(w) - wal_durable_lsn(w) > 500 && !wal_error(w, NULL))
            uv_run(&loop, UV_RUN_ONCE);
        uint64_t r = tu_rand(&rng) % 100;
        int n = 1 + (int)(tu_rand(&rng) % 10);
        for (int i = 0; i < n; i++)
            append_one(w);
        if (r < 20)
            wal_request_sync(w);
        else if (r < 25)
            wal_set_fsync(w, (int)(tu_rand(&rng) % 3));
        uv_run(&loop, UV_RUN_NOWAIT);
        if (wal_error(w, NULL))
            _exit(5);
        uint64_t d = wal_durable_lsn(w);
        if (d > reported) {
            if (write(fd, &d, sizeof d) != (ssize_t)sizeof d)
                _exit(6);
            reported = d;
        }
    }
}

/* The appender runs in a fresh process: this program exec'd again with
 * "--appender DIR FD SEED" (see main). A plain fork of a process that has
 * threads (libuv's pool, earlier WAL threads) could not start threads of
 * its own under ThreadSanitizer, and would inherit their locks' state. */
static pid_t spawn_appender(const char *dir, int fd, uint64_t seed)
{
    char fds[16], seeds[32];
    snprintf(fds, sizeof fds, "%d", fd);
    snprintf(seeds, sizeof seeds, "%" PRIu64, seed);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "test_wal_commit", "--appender", dir, fds, seeds, (char *)NULL);
        _exit(7);
    }
    return pid;
}

/* kill -9 at a random moment of a process appending under random policies
 * and slow disks: after restart every LSN it reported durable is there,
 * and the log is an exact prefix of what it appended (each trial on a
 * fresh directory). */
static void test_kill9_while_appending(void **state)
{
    fx *f = *state;
    uint64_t rng = 77;
    for (int trial = 0; trial < 12; trial++) {
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(fcntl(p[1], F_SETFD, 0), 0); /* the appender's end */
        uint64_t seed = 500 + (uint64_t)trial;
        pid_t pid = spawn_appender(f->dir, p[1], seed);
        assert_true(pid > 0);
        close(p[1]);
        /* Kill after a random number of durability reports. */
        int reports = 5 + (int)(tu_rand(&rng) % 200), got = 0;
        uint64_t acked = 0, d;
        while (got < reports && read(p[0], &d, sizeof d) == (ssize_t)sizeof d) {
            acked = d;
            got++;
        }
        assert_int_equal(kill(pid, SIGKILL), 0);
        while (read(p[0], &d, sizeof d) == (ssize_t)sizeof d)
            acked = d; /* reports sent before it died */
        close(p[0]);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
            fail_msg("trial %d: the appender exited on its own (status %d) after %d reports",
                     trial, st, got);
        assert_int_equal(got, reports);
        char err[256];
        seen s;
        if (open_wal(f, &s, err))
            fail_msg("trial %d: recovery failed: %s", trial, err);
        assert_true(s.ok);
        if (s.n < acked)
            fail_msg("trial %d: recovered %" PRIu64 " records, %" PRIu64 " were acknowledged",
                     trial, s.n, acked);
        wal_close(f->w);
        f->w = NULL;
        /* The next trial starts on an empty directory: the appender writes
         * tens of MB a second, and recovering an ever longer log would
         * make the later trials mostly replay (minutes under TSan). */
        tu_rmrf(f->dir);
        free(f->dir);
        f->dir = tu_mkdtemp("walc");
        f->cfg.dir = f->dir;
    }
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--appender") == 0) {
        log_level = LOG_WARNING + 1;
        child_append_forever(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 10));
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sync_requests_during_slow_sync_always, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sync_requests_during_slow_sync_everysec, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sync_requests_during_slow_sync_no, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_wait_during_slow_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stall_watchdog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gather_wait_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loop_delay_never_strands_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inline_syncs_while_fast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_sync_moves_to_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durable_never_moves_back_on_policy_change, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_randomized_hand_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_real_fs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_while_appending, setup, teardown),
    };
    if (getenv("KV_TEST_FILTER"))
        cmocka_set_test_filter(getenv("KV_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
