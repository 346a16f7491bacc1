/* test_diskfull.c — a disk that fills gracefully.
 *
 * The data directory lives on a small tmpfs the test mounts (40 MiB, less
 * than one 64 MiB WAL segment) and unmounts on every way out (teardown, and
 * atexit for an abort). A filler file leaves about 12 MiB free, as in the
 * issue's "16 MB free".
 *
 * Primary: SETs of 1 KB values until the node refuses them with Redis's
 * -MISCONF; reads go on, PING and DEL are refused as Redis does, INFO shows
 * the condition; kill -9 and restart with the disk still full keep every
 * acknowledged write and none of the refused ones (per key, DBSIZE and
 * DEBUG DIGEST); deleting the filler lets writes resume without a restart,
 * and a second kill -9 + restart loses nothing acknowledged.
 *
 * Replica: in a three-node cluster one replica's data is on a 24 MiB tmpfs; it
 * fills while the other two commit writes. It never acknowledges what it
 * did not store (its durable LSN stays below the leader's, and the log
 * says it refused), and once the filler is gone it catches up to the same
 * DEBUG DIGEST without a restart.
 *
 * Needs root (mount); skipped otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cluster.h"
#include "harness.h"

/* ---- The tmpfs ---- */

static char *tmp;
static char mnt[600];
static int mounted;

static void unmount_now(void)
{
    if (mounted) {
        umount2(mnt, MNT_DETACH);
        mounted = 0;
    }
}

static void at_exit(void)
{
    h_stop_all();
    unmount_now();
}

/* Mount a 40 MiB tmpfs at <tmp>/mnt; 0, or -1 when this machine cannot
 * (not root, no tmpfs): the test is skipped then. */
static int mount_small(void)
{
    snprintf(mnt, sizeof mnt, "%s/mnt", tmp);
    if (mkdir(mnt, 0755) < 0)
        return -1;
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=40m") < 0) {
        fprintf(stderr, "cannot mount a tmpfs (%s): skipped\n", strerror(errno));
        return -1;
    }
    mounted = 1;
    return 0;
}

static long long free_bytes(void)
{
    struct statvfs sv;
    assert_int_equal(statvfs(mnt, &sv), 0);
    return (long long)sv.f_bavail * (long long)sv.f_frsize;
}

/* A file of `bytes` (really allocated) at <mnt>/filler. */
static void write_filler(long long bytes)
{
    char path[700];
    snprintf(path, sizeof path, "%s/filler", mnt);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    static char block[65536];
    memset(block, 'f', sizeof block);
    for (long long done = 0; done < bytes;) {
        size_t n = bytes - done < (long long)sizeof block ? (size_t)(bytes - done) : sizeof block;
        ssize_t w = write(fd, block, n);
        assert_true(w > 0);
        done += w;
    }
    close(fd);
}

static void remove_filler(void)
{
    char path[700];
    snprintf(path, sizeof path, "%s/filler", mnt);
    assert_int_equal(unlink(path), 0);
}

/* ---- Keys ---- */

enum { VAL = 1000, MAXKEYS = 200000 };
enum { UNSENT = 0, ACKED = 1, REFUSED = 2 };
static unsigned char st[MAXKEYS];

static void key_of(long long n, char *key, size_t len)
{
    snprintf(key, len, "key:%lld", n);
}

static void val_of(long long n, char *val)
{
    memset(val, 'a' + (int)(n % 26), VAL);
    int k = snprintf(val, VAL, "%lld:", n);
    val[k] = 'v';
}

/* SET key:n; records the outcome. Returns ACKED or REFUSED; anything but
 * OK or -MISCONF fails the test. */
static int set_key(kv_client *c, long long n)
{
    char key[32], val[VAL];
    key_of(n, key, sizeof key);
    val_of(n, val);
    const char *argv[3] = {"SET", key, val};
    size_t lens[3] = {3, strlen(key), VAL};
    kv_reply *r = h_cmdv(c, 3, argv, lens);
    assert_non_null(r);
    int out;
    if (r->type == KV_REPLY_STATUS && !strcmp(r->str, "OK")) {
        out = ACKED;
    } else {
        char text[300];
        h_reply_text(r, text, sizeof text);
        if (r->type != KV_REPLY_ERROR ||
            strcmp(r->str, "MISCONF Errors writing to the AOF file: No space left on device"))
            fail_msg("SET %s: unexpected reply %s", key, text);
        out = REFUSED;
    }
    kv_reply_free(r);
    st[n] = (unsigned char)out;
    return out;
}

/* Every acknowledged key has its value, every refused one is absent. */
static void check_keys(int port, long long upto)
{
    kv_client *c = h_connect(port);
    assert_non_null(c);
    long long acked = 0;
    for (long long n = 0; n < upto; n++) {
        if (st[n] == UNSENT)
            continue;
        char key[32], val[VAL];
        key_of(n, key, sizeof key);
        const char *argv[2] = {"GET", key};
        size_t lens[2] = {3, strlen(key)};
        kv_reply *r = h_cmdv(c, 2, argv, lens);
        assert_non_null(r);
        if (st[n] == ACKED) {
            acked++;
            val_of(n, val);
            if (r->type != KV_REPLY_STRING || r->len != VAL || memcmp(r->str, val, VAL))
                fail_msg("acknowledged %s lost or wrong", key);
        } else if (r->type != KV_REPLY_NIL) {
            fail_msg("refused %s is present", key);
        }
        kv_reply_free(r);
    }
    kv_reply *r = h_cmd(c, "DBSIZE");
    assert_non_null(r);
    assert_int_equal(r->integer, acked);
    kv_reply_free(r);
    kv_client_free(c);
}

static char *digest(int port)
{
    kv_client *c = h_connect(port);
    assert_non_null(c);
    kv_reply *r = h_cmd(c, "DEBUG DIGEST");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    char *d = strdup(r->str);
    kv_reply_free(r);
    kv_client_free(c);
    return d;
}

/* The value of an INFO field as a string ("" when absent). */
static void info_field(int port, const char *section, const char *field, char *out, size_t len)
{
    out[0] = '\0';
    kv_client *c = h_connect(port);
    assert_non_null(c);
    char line[64];
    snprintf(line, sizeof line, "INFO %s", section);
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    char pat[80];
    snprintf(pat, sizeof pat, "\n%s:", field);
    const char *p = r->str ? strstr(r->str, pat) : NULL;
    if (p) {
        p += strlen(pat);
        size_t n = strcspn(p, "\r\n");
        if (n >= len)
            n = len - 1;
        memcpy(out, p, n);
        out[n] = '\0';
    }
    kv_reply_free(r);
    kv_client_free(c);
}

/* ---- Fixture ---- */

static int setup(void **state)
{
    (void)state;
    tmp = h_tmpdir("diskfull");
    memset(st, 0, sizeof st);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    h_stop_all();
    unmount_now();
    h_rmrf(tmp);
    free(tmp);
    return 0;
}

/* After a failed replica test: its nodes, the mount, the directory. */
static int repl_teardown(void **state)
{
    (void)state;
    h_stop_all();
    unmount_now();
    if (hc_tmp)
        hc_teardown();
    tmp = NULL;
    return 0;
}

/* ---- Primary ---- */

static int writable_again(void *arg)
{
    int port = *(int *)arg;
    kv_client *c = h_connect(port);
    if (!c)
        return 0;
    kv_reply *r = h_cmd(c, "SET probe:again x");
    int ok = r && r->type == KV_REPLY_STATUS;
    kv_reply_free(r);
    kv_client_free(c);
    return ok;
}

static void test_primary_fills_and_recovers(void **state)
{
    (void)state;
    if (mount_small() < 0)
        skip();
    char dir[700];
    snprintf(dir, sizeof dir, "%s/data", mnt);
    h_proc p;
    /* 4 MiB segments: the node's segment and its spare leave room on the
     * 40 MiB file system for the filler below. */
    assert_int_equal(h_kvnode_start(&p, dir,
                                    (const char *const[]){"--appendfsync", "always",
                                                          "--wal-segment-size", "4mb", NULL}),
                     0);
    /* Leave about 12 MiB free around the node's first segment. */
    long long avail = free_bytes();
    if (avail > 12LL << 20)
        write_filler(avail - (12LL << 20));

    kv_client *c = h_connect(p.port);
    assert_non_null(c);
    long long n = 0, acked = 0;
    while (n < MAXKEYS && set_key(c, n) == ACKED) {
        n++;
        acked++;
    }
    n++;
    assert_true(n < MAXKEYS);
    /* ~12 MiB of 1 KB values minus the node's margins went in. */
    assert_true(acked > 5000);
    /* It stays refused: the same writes again, and DEL (Redis refuses
     * every write then), and PING (as Redis's writeCommandsDeniedByDiskError). */
    for (int i = 0; i < 20; i++, n++)
        assert_int_equal(set_key(c, n), REFUSED);
    kv_reply *r = h_cmd(c, "DEL key:0");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_string_equal(r->str, "MISCONF Errors writing to the AOF file: No space left on device");
    kv_reply_free(r);
    r = h_cmd(c, "PING");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_true(!strncmp(r->str, "MISCONF ", 8));
    kv_reply_free(r);
    /* In a transaction the write is refused when queued, and EXEC
     * discards the block (redis-server 7.0 answers the same). */
    kv_reply_free(h_cmd(c, "MULTI"));
    kv_reply_free(h_cmd(c, "GET key:0"));
    r = h_cmd(c, "SET key:0 changed");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_string_equal(r->str, "MISCONF Errors writing to the AOF file: No space left on device");
    kv_reply_free(r);
    r = h_cmd(c, "EXEC");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_string_equal(r->str, "EXECABORT Transaction discarded because of previous errors.");
    kv_reply_free(r);
    kv_client_free(c);

    char v[64];
    info_field(p.port, "persistence", "aof_last_write_status", v, sizeof v);
    assert_string_equal(v, "err");
    info_field(p.port, "persistence", "wal_no_spare_space", v, sizeof v);
    assert_string_equal(v, "1");
    info_field(p.port, "persistence", "wal_disk_free_bytes", v, sizeof v);
    assert_true(v[0] && atoll(v) < (4LL << 20));
    info_field(p.port, "persistence", "wal_status", v, sizeof v);
    assert_string_equal(v, "ok");

    /* Reads go on; nothing refused is there. */
    check_keys(p.port, n);
    char *d1 = digest(p.port);

    /* kill -9 and restart with the disk still full. */
    h_stop(&p, SIGKILL, 10000);
    assert_int_equal(h_restart(&p), 0);
    check_keys(p.port, n);
    char *d2 = digest(p.port);
    assert_string_equal(d1, d2);
    c = h_connect(p.port);
    assert_non_null(c);
    assert_int_equal(set_key(c, n), REFUSED);
    n++;
    kv_client_free(c);

    /* Space comes back: writes resume without a restart. */
    remove_filler();
    assert_true(h_wait_until(writable_again, &p.port, 15000));
    c = h_connect(p.port);
    assert_non_null(c);
    kv_reply_free(h_cmd(c, "DEL probe:again"));
    for (int i = 0; i < 500; i++, n++)
        assert_int_equal(set_key(c, n), ACKED);
    kv_client_free(c);
    info_field(p.port, "persistence", "aof_last_write_status", v, sizeof v);
    assert_string_equal(v, "ok");
    char *d3 = digest(p.port);

    h_stop(&p, SIGKILL, 10000);
    assert_int_equal(h_restart(&p), 0);
    check_keys(p.port, n);
    char *d4 = digest(p.port);
    assert_string_equal(d3, d4);
    free(d1);
    free(d2);
    free(d3);
    free(d4);
    h_stop(&p, SIGTERM, 20000);
}

/* ---- Replica ---- */

/* The offset the leader (node l) records as acknowledged by the replica
 * whose client port is `port` (-1: not listed). */
static long long acked_offset(int l, int port)
{
    kv_reply *r = hc_cmd(l, "INFO replication");
    assert_non_null(r);
    long long off = -1;
    char pat[48];
    snprintf(pat, sizeof pat, ",port=%d,", port);
    const char *p = r->str ? strstr(r->str, pat) : NULL;
    if (p && (p = strstr(p, "offset=")))
        off = atoll(p + 7);
    kv_reply_free(r);
    return off;
}

typedef struct same_digest {
    int a, b;
} same_digest;

static int digests_equal(void *arg)
{
    same_digest *s = arg;
    kv_reply *x = hc_cmd(s->a, "DEBUG DIGEST");
    kv_reply *y = hc_cmd(s->b, "DEBUG DIGEST");
    int eq = x && y && x->type == KV_REPLY_STATUS && y->type == KV_REPLY_STATUS &&
             !strcmp(x->str, y->str);
    kv_reply_free(x);
    kv_reply_free(y);
    return eq;
}

static int log_has(const char *path, const char *what)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[1024];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, what) != NULL;
    fclose(f);
    return found;
}

static void test_replica_fills_and_catches_up(void **state)
{
    (void)state;
    hc_setup("diskfull-repl");
    tmp = hc_tmp;
    /* Node 2 keeps its data on the small tmpfs. */
    snprintf(mnt, sizeof mnt, "%s/n2", hc_tmp);
    if (mkdir(mnt, 0755) < 0 || mount("tmpfs", mnt, "tmpfs", 0, "size=24m") < 0) {
        hc_teardown();
        tmp = NULL;
        skip();
    }
    mounted = 1;
    /* 4 MiB segments (and no fsync on the two nodes on the real disk)
     * keep the test short. */
    hc_start_cluster((const char *const[]){"--wal-segment-size", "4mb", "--appendfsync", "no",
                                           NULL});
    int l = hc_leader();
    assert_int_equal(l, 0);
    /* Leave about 3 MiB free beside what node 2 has made so far. */
    long long avail = free_bytes();
    assert_true(avail > 8LL << 20);
    write_filler(avail - (3LL << 20));
    long long t0 = h_now_ms();

    /* 64 KB values, more than node 2's room: the other two commit them. */
    enum { BIG = 65536, WRITES = 200 };
    static char val[BIG];
    memset(val, 'r', sizeof val);
    kv_client *c = h_connect(hc_node[l].port);
    assert_non_null(c);
    for (int i = 0; i < WRITES; i++) {
        char key[32];
        snprintf(key, sizeof key, "r:%d", i);
        const char *argv[3] = {"SET", key, val};
        size_t lens[3] = {3, strlen(key), BIG};
        kv_reply *r = h_cmdv(c, 3, argv, lens);
        if (!r || r->type != KV_REPLY_STATUS) {
            fprintf(stderr, "write %d after %lld ms\n", i, h_now_ms() - t0);
            hc_dump_logs();
            assert_non_null(r);
            fail_msg("SET %s on the leader: %s", key, r->str ? r->str : "?");
        }
        kv_reply_free(r);
    }
    kv_client_free(c);
    long long last = hc_info(l, "persistence", "wal_last_lsn");
    long long stored = hc_info(2, "persistence", "wal_last_lsn");
    long long durable = hc_info(2, "persistence", "wal_durable_lsn");
    fprintf(stderr,
            "%d writes in %lld ms; leader last LSN %lld; node 2 stored %lld, durable %lld, "
            "%lld bytes free\n",
            WRITES, h_now_ms() - t0, last, stored, durable, free_bytes());
    if (!(stored > 0 && stored < last)) {
        hc_dump_log(2);
        char cmd[700];
        snprintf(cmd, sizeof cmd, "ls -la %s >&2; df %s >&2", mnt, mnt);
        assert_int_equal(system(cmd), 0);
    }
    assert_true(stored > 0 && stored < last);
    assert_true(durable <= stored);
    assert_int_equal(hc_info(2, "persistence", "wal_no_spare_space"), 1);
    /* What the leader holds as acknowledged by node 2 it stored. */
    long long acked = acked_offset(l, hc_node[2].port);
    assert_true(acked >= 0 && acked <= stored);
    assert_true(log_has(hc_node[2].log, "cannot store LSN"));

    /* Space comes back: it catches up without a restart. */
    remove_filler();
    t0 = h_now_ms();
    same_digest sd = {l, 2};
    if (!h_wait_until(digests_equal, &sd, 60000)) {
        hc_dump_logs();
        fail_msg("node 2 did not catch up");
    }
    fprintf(stderr, "node 2 caught up in %lld ms\n", h_now_ms() - t0);
    assert_true(hc_info(2, "persistence", "wal_last_lsn") >= last);
    assert_true(log_has(hc_node[2].log, "storing the leader's entries again"));
    for (int i = 0; i < hc_n; i++)
        h_stop(&hc_node[i], SIGKILL, 5000);
    unmount_now();
    hc_teardown();
    tmp = NULL;
}

int main(void)
{
    atexit(at_exit);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_primary_fills_and_recovers, setup, teardown),
        cmocka_unit_test_teardown(test_replica_fills_and_catches_up, repl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
