/* test_check_data.c — `kvnode --check-data DIR [--repair]` on data
 * directories written by a real kvnode and then damaged the way disks and
 * bugs damage them: a torn tail, a bit flip in the middle of a segment with
 * valid records after it, a missing segment, records whose LSNs jump (the
 * group-commit bug of issue 7), a truncated snapshot, a snapshot block with
 * a bad CRC, and damage in old segments that a snapshot covers. For each:
 * the report names file, offset and LSNs, the exit status says damaged,
 * --repair changes exactly what it says (keeping copies), and kvnode then
 * starts on the directory and serves every write from before the damage.
 *
 * Key i (1-based) is written by the i-th SET after startup, so it has LSN
 * base + i, where base is the LSN the node reported before the writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "wal.h"

/* ---- Fixture ---- */

typedef struct fx {
    char *tmp;
    char dir[600];  /* the data directory */
    h_proc node;
    uint64_t base;  /* LSN before key 1 */
    int keys;       /* keys written */
    char out[65536]; /* the checker's last report */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->tmp = h_tmpdir("check");
    snprintf(f->dir, sizeof f->dir, "%s/data", f->tmp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    h_stop_all();
    h_rmrf(f->tmp);
    free(f->tmp);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

static const char *const node_args[] = {"--wal-segment-size", "64kb", "--save", "", NULL};

static void key_of(int i, char *key, size_t n)
{
    snprintf(key, n, "key:%06d", i);
}

/* 32 bytes that depend on i. */
static void value_of(int i, char *val)
{
    snprintf(val, 33, "value-%06d-%024d", i, i * 7);
}

static uint64_t info_field(kv_client *c, const char *field)
{
    kv_reply *r = h_cmd(c, "INFO persistence");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STRING);
    char pat[64];
    snprintf(pat, sizeof pat, "%s:", field);
    const char *p = strstr(r->str, pat);
    assert_non_null(p);
    uint64_t v = strtoull(p + strlen(pat), NULL, 10);
    kv_reply_free(r);
    return v;
}

static void start_node(fx *f)
{
    if (h_kvnode_start(&f->node, f->dir, node_args) != 0)
        fail_msg("kvnode did not start on %s", f->dir);
}

/* Pipelined SETs of keys from..to, each acknowledged. */
static void write_keys(kv_client *c, int from, int to)
{
    enum { BATCH = 100 };
    for (int i = from; i <= to;) {
        int n = 0;
        for (; n < BATCH && i + n <= to; n++) {
            char key[32], val[40];
            key_of(i + n, key, sizeof key);
            value_of(i + n, val);
            const char *argv[3] = {"SET", key, val};
            size_t lens[3] = {3, strlen(key), strlen(val)};
            assert_int_equal(kv_client_append(c, 3, argv, lens), 0);
        }
        for (int k = 0; k < n; k++) {
            kv_reply *r = NULL;
            assert_int_equal(kv_client_read(c, &r), 0);
            assert_int_equal(r->type, KV_REPLY_STATUS);
            kv_reply_free(r);
        }
        i += n;
    }
}

/* A node writes `keys` keys, taking a SAVE after each key listed in saves
 * (0-terminated), and stops cleanly. */
static void populate(fx *f, int keys, const int *saves)
{
    start_node(f);
    kv_client *c = h_connect(f->node.port);
    assert_non_null(c);
    f->base = info_field(c, "wal_last_lsn");
    int done = 0;
    for (int s = 0; saves && saves[s]; s++) {
        write_keys(c, done + 1, saves[s]);
        done = saves[s];
        kv_reply *r = h_cmd(c, "SAVE");
        assert_non_null(r);
        assert_int_equal(r->type, KV_REPLY_STATUS);
        kv_reply_free(r);
    }
    write_keys(c, done + 1, keys);
    f->keys = keys;
    assert_int_equal(info_field(c, "wal_last_lsn"), f->base + (uint64_t)keys);
    kv_client_free(c);
    int st = h_stop(&f->node, SIGTERM, 20000);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The path of the i-th WAL segment (in LSN order) and its first LSN. */
static uint64_t segment(fx *f, int i, char *path, size_t n)
{
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    char *names[256];
    int cnt = 0;
    struct dirent *de;
    while ((de = readdir(d)) && cnt < 256)
        if (strncmp(de->d_name, "wal-", 4) == 0 && strlen(de->d_name) == 28 &&
            strcmp(de->d_name + 24, ".log") == 0)
            names[cnt++] = strdup(de->d_name);
    closedir(d);
    qsort(names, (size_t)cnt, sizeof *names, cmp_str);
    if (i < 0)
        i += cnt;
    assert_true(i >= 0 && i < cnt);
    snprintf(path, n, "%s/%s", f->dir, names[i]);
    uint64_t first = strtoull(names[i] + 4, NULL, 10);
    for (int k = 0; k < cnt; k++)
        free(names[k]);
    return first;
}

static int count_segments(fx *f)
{
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    int cnt = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, "wal-", 4) == 0 && strlen(de->d_name) == 28 &&
            strcmp(de->d_name + 24, ".log") == 0)
            cnt++;
    closedir(d);
    return cnt;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return p;
}

static void write_file(const char *path, const uint8_t *p, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, len, fp), len);
    fclose(fp);
}

/* The records of a segment file: offsets and LSNs (up to max). */
typedef struct recs {
    size_t n;
    uint64_t off[1024], lsn[1024], size[1024];
} recs;

static void read_records(const char *path, recs *rs)
{
    size_t len;
    uint8_t *p = read_file(path, &len);
    rs->n = 0;
    size_t off = WAL_SEG_HDR;
    while (off < len && rs->n < 1024) {
        wal_record r;
        long k = wal_decode_record(p + off, len - off, &r);
        if (k <= 0)
            break;
        rs->off[rs->n] = off;
        rs->lsn[rs->n] = r.lsn;
        rs->size[rs->n] = (uint64_t)k;
        rs->n++;
        off += (size_t)k;
    }
    free(p);
}

static void flip_byte(const char *path, uint64_t off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
    close(fd);
}

/* Run the checker; its stdout and stderr land in f->out. Returns its exit
 * status. */
static int run_check(fx *f, int repair)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "%s --check-data %s%s 2>&1", h_kvnode_bin(), f->dir,
             repair ? " --repair" : "");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(f->out, 1, sizeof f->out - 1, p);
    f->out[n] = '\0';
    int st = pclose(p);
    assert_true(WIFEXITED(st));
    if (getenv("KV_TEST_VERBOSE")) /* show the reports */
        printf("$ %s\n%s(exit %d)\n", cmd, f->out, WEXITSTATUS(st));
    return WEXITSTATUS(st);
}

/* The last report contains this text. */
static void expect_text(fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void expect_text(fx *f, const char *fmt, ...)
{
    char want[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    if (!strstr(f->out, want))
        fail_msg("the report lacks \"%s\":\n%s", want, f->out);
}

/* Check, expect damage, repair, expect it clean afterwards. */
static void check_then_repair(fx *f)
{
    int st = run_check(f, 0);
    if (st != 1)
        fail_msg("check exited %d, expected 1:\n%s", st, f->out);
    expect_text(f, "verdict: DAMAGED");
}

static void repair_ok(fx *f)
{
    int st = run_check(f, 1);
    if (st != 0)
        fail_msg("repair exited %d, expected 0:\n%s", st, f->out);
    expect_text(f, "--- after repair ---");
    const char *after = strstr(f->out, "--- after repair ---");
    if (!strstr(after, "verdict: clean"))
        fail_msg("not clean after the repair:\n%s", f->out);
    st = run_check(f, 0);
    if (st != 0)
        fail_msg("a second check exited %d:\n%s", st, f->out);
}

/* kvnode starts on the directory and serves exactly keys 1..upto (LSNs up
 * to base + upto), with their values; the keys after them are absent. */
static void expect_served(fx *f, int upto)
{
    start_node(f);
    kv_client *c = h_connect(f->node.port);
    assert_non_null(c);
    kv_reply *n = h_cmd(c, "DBSIZE");
    assert_non_null(n);
    assert_int_equal(n->type, KV_REPLY_INTEGER);
    assert_int_equal(n->integer, upto);
    kv_reply_free(n);
    /* Its log holds them (and whatever it logged itself at start). */
    assert_true(info_field(c, "wal_last_lsn") >= f->base + (uint64_t)upto);
    for (int i = 1; i <= f->keys; i++) {
        char key[32], val[40];
        key_of(i, key, sizeof key);
        value_of(i, val);
        const char *argv[2] = {"GET", key};
        kv_reply *r = h_cmdv(c, 2, argv, NULL);
        assert_non_null(r);
        if (i <= upto) {
            if (r->type != KV_REPLY_STRING || strcmp(r->str, val) != 0)
                fail_msg("%s is missing or wrong after the repair", key);
        } else if (r->type != KV_REPLY_NIL) {
            fail_msg("%s (LSN %" PRIu64 ", after the damage) is still there", key,
                     f->base + (uint64_t)i);
        }
        kv_reply_free(r);
    }
    kv_client_free(c);
    h_stop(&f->node, SIGTERM, 20000);
}

/* ---- Tests ---- */

/* An undamaged directory, checked while its kvnode runs and after it
 * stopped: clean, exit 0; --repair refuses while the LOCK is held and
 * changes nothing; a missing directory cannot be read (exit 2). */
static void test_clean_and_locked(void **state)
{
    fx *f = *state;
    populate(f, 1500, (const int[]){700, 0});
    assert_int_equal(run_check(f, 0), 0);
    expect_text(f, "LOCK: free");
    expect_text(f, "snap-%020" PRIu64 ".snap: LSN %" PRIu64 ", term 1, 700 keys", f->base + 700,
                f->base + 700);
    expect_text(f, "verified");
    expect_text(f, "reaches back to the newest good snapshot");
    /* Segments wholly covered by the only snapshot are gone (with no
     * replica nothing older is kept): the log starts at or before it. */
    char first_seg[700];
    uint64_t first = segment(f, 0, first_seg, sizeof first_seg);
    assert_true(first >= 1 && first <= f->base + 701);
    expect_text(f, "verdict: clean: %d WAL segments (LSN %" PRIu64 "..%" PRIu64 "), 1 snapshot",
                count_segments(f), first, f->base + 1500);

    start_node(f);
    assert_int_equal(run_check(f, 0), 0);
    expect_text(f, "LOCK: held by pid %d", (int)f->node.pid);
    assert_int_equal(run_check(f, 1), 2);
    expect_text(f, "verdict: CANNOT REPAIR: the directory is in use");
    h_stop(&f->node, SIGTERM, 20000);

    char saved[600];
    snprintf(saved, sizeof saved, "%s", f->dir);
    snprintf(f->dir, sizeof f->dir, "%s/no-such-dir", f->tmp);
    assert_int_equal(run_check(f, 0), 2);
    expect_text(f, "verdict: CANNOT READ");
    snprintf(f->dir, sizeof f->dir, "%s", saved);
}

/* The last record of the last segment is cut in half (a crash mid-write):
 * a torn tail that kvnode would cut itself; --repair cuts it too, and
 * keeps its copy under a fresh name because <file>.broken already exists. */
static void test_torn_tail(void **state)
{
    fx *f = *state;
    populate(f, 2000, NULL);
    char path[700];
    segment(f, -1, path, sizeof path);
    recs rs;
    read_records(path, &rs);
    assert_true(rs.n > 2);
    uint64_t off = rs.off[rs.n - 1], size = rs.size[rs.n - 1];
    assert_int_equal(rs.lsn[rs.n - 1], f->base + 2000);
    assert_int_equal(truncate(path, (off_t)(off + size / 2)), 0);
    size_t len;
    uint8_t *p = read_file(path, &len);
    uint64_t torn = size / 2; /* the bytes up to the last non-zero one */
    while (torn && !p[off + torn - 1])
        torn--;
    free(p);
    char old_copy[800];
    snprintf(old_copy, sizeof old_copy, "%s.broken", path);
    write_file(old_copy, (const uint8_t *)"an older copy", 13);

    check_then_repair(f);
    expect_text(f, "DAMAGED: torn tail at offset %" PRIu64 " (%" PRIu64 " bytes: record cut short)",
                off, torn);
    expect_text(f, "kvnode cuts this torn tail itself");
    expect_text(f, "keep LSNs up to %" PRIu64, f->base + 1999);
    repair_ok(f);
    /* The old copy is untouched; the new one has a time-stamped name. */
    p = read_file(old_copy, &len);
    assert_int_equal(len, 13);
    free(p);
    char stamped[800];
    snprintf(stamped, sizeof stamped, "%s.broken-", strrchr(path, '/') + 1);
    int found = 0;
    DIR *d = opendir(f->dir);
    struct dirent *de;
    while ((de = readdir(d)))
        found += strncmp(de->d_name, stamped, strlen(stamped)) == 0;
    closedir(d);
    assert_int_equal(found, 1);
    expect_served(f, 1999);
}

/* One bit flips inside a record in the middle of the log, with valid
 * records after it: kvnode refuses to start; the report names the file,
 * the offset, the LSN expected there and the next valid record; --repair
 * keeps the log up to the record before and sets later segments aside. */
static void test_bit_flip_mid_log(void **state)
{
    fx *f = *state;
    populate(f, 3000, NULL);
    int nseg = count_segments(f);
    assert_true(nseg >= 4);
    char path[700];
    segment(f, 2, path, sizeof path);
    recs rs;
    read_records(path, &rs);
    assert_true(rs.n > 200);
    uint64_t bad = rs.lsn[100];
    flip_byte(path, rs.off[100] + WAL_REC_HDR + 5);

    check_then_repair(f);
    expect_text(f,
                "%s: LSN %" PRIu64 "..%" PRIu64 ", term 1, 100 records, %" PRIu64
                " bytes: DAMAGED: invalid record at offset %" PRIu64 " (bad CRC; LSN %" PRIu64
                " expected) followed by a valid record at offset %" PRIu64 " (LSN %" PRIu64 ")",
                strrchr(path, '/') + 1, rs.lsn[0], bad - 1, rs.off[100] - WAL_SEG_HDR,
                rs.off[100], bad, rs.off[101], bad + 1);
    expect_text(f, "kvnode refuses to start on this directory");
    expect_text(f,
                "keep LSNs up to %" PRIu64 ": cut %s at offset %" PRIu64 " and set aside %d later "
                "segment",
                bad - 1, strrchr(path, '/') + 1, rs.off[100], nseg - 3);
    repair_ok(f);
    assert_int_equal(count_segments(f), 3);
    expect_served(f, (int)(bad - 1 - f->base));
}

/* A segment in the middle of the log is gone: the report shows the LSNs
 * that no segment holds; --repair keeps the log before them. */
static void test_missing_segment(void **state)
{
    fx *f = *state;
    populate(f, 3000, NULL);
    char gone[700], next[700];
    uint64_t first = segment(f, 2, gone, sizeof gone);
    uint64_t after = segment(f, 3, next, sizeof next);
    assert_int_equal(unlink(gone), 0);

    check_then_repair(f);
    expect_text(f, "gap: LSNs %" PRIu64 "..%" PRIu64 " are in no segment (a segment is missing",
                first, after - 1);
    expect_text(f, "first damage: %s: starts at LSN %" PRIu64 " but LSN %" PRIu64 " was expected",
                strrchr(next, '/') + 1, after, first);
    expect_text(f, "keep LSNs up to %" PRIu64 ": set aside %s", first - 1, strrchr(next, '/') + 1);
    repair_ok(f);
    expect_text(f, "WAL segments: 2");
    expect_served(f, (int)(first - 1 - f->base));
}

/* Ten records vanish from the middle of a segment and the ones after them
 * move up (what the group-commit bug of issue 7 wrote: LSN 11405 where
 * 11385 belonged): the report names the offset and both LSNs. */
static void test_lsn_jump(void **state)
{
    fx *f = *state;
    populate(f, 2500, NULL);
    char path[700];
    segment(f, 1, path, sizeof path);
    recs rs;
    read_records(path, &rs);
    assert_true(rs.n > 100);
    size_t len;
    uint8_t *p = read_file(path, &len);
    uint64_t from = rs.off[50], to = rs.off[60];
    memmove(p + from, p + to, len - to);
    memset(p + len - (to - from), 0, to - from);
    write_file(path, p, len);
    free(p);

    check_then_repair(f);
    expect_text(f, "DAMAGED: offset %" PRIu64 ": record has LSN %" PRIu64 ", expected %" PRIu64,
                from, rs.lsn[60], rs.lsn[50]);
    expect_text(f, "kvnode refuses to start on this directory");
    repair_ok(f);
    expect_served(f, (int)(rs.lsn[49] - f->base));
}

/* Two snapshots; the newer one loses its second half: the report says
 * where it fails, that the older one is the newest good snapshot and that
 * the log reaches back to it; kvnode would start anyway; --repair sets the
 * broken snapshot aside and every key is served. */
static void test_truncated_snapshot(void **state)
{
    fx *f = *state;
    populate(f, 2400, (const int[]){800, 1600, 0});
    char snap[700];
    snprintf(snap, sizeof snap, "%s/snap-%020" PRIu64 ".snap", f->dir, f->base + 1600);
    struct stat st;
    assert_int_equal(stat(snap, &st), 0);
    assert_int_equal(truncate(snap, st.st_size / 2), 0);

    check_then_repair(f);
    expect_text(f, "snap-%020" PRIu64 ".snap: DAMAGED: header: LSN %" PRIu64 ", term 1",
                f->base + 1600, f->base + 1600);
    expect_text(f, "newest good snapshot: LSN %" PRIu64 ", term 1", f->base + 800);
    expect_text(f, "reaches back to the newest good snapshot");
    expect_text(f, "kvnode starts (setting the damaged snapshots aside)");
    repair_ok(f);
    expect_text(f, "snapshots: 1");
    expect_served(f, 2400);
}

/* One byte of the newest snapshot's first block flips: its CRC fails and
 * the report names block 0 and its offset. */
static void test_snapshot_block_crc(void **state)
{
    fx *f = *state;
    populate(f, 2400, (const int[]){800, 1600, 0});
    char snap[700];
    snprintf(snap, sizeof snap, "%s/snap-%020" PRIu64 ".snap", f->dir, f->base + 1600);
    flip_byte(snap, 64 + 16 + 200);

    check_then_repair(f);
    expect_text(f, "snap-%020" PRIu64 ".snap: DAMAGED:", f->base + 1600);
    expect_text(f, "block 0 (offset 64): crc mismatch");
    repair_ok(f);
    expect_served(f, 2400);
}

/* Damage in the oldest segment, whose records the snapshot already holds:
 * kvnode refuses to start (recovery verifies every segment), and --repair
 * sets the old segments aside instead of cutting the log: nothing after
 * the snapshot is lost. */
static void test_damage_covered_by_snapshot(void **state)
{
    fx *f = *state;
    /* Two snapshots (snapshot-keep 2): the WAL is kept back to the older,
     * early one, so old segments the newer one covers are still there. */
    populate(f, 3000, (const int[]){5, 2000, 0});
    char path[700];
    segment(f, 1, path, sizeof path);
    recs rs;
    read_records(path, &rs);
    assert_true(rs.n > 20);
    assert_true(rs.lsn[rs.n - 1] < f->base + 2000);
    flip_byte(path, rs.off[10] + 3);

    check_then_repair(f);
    expect_text(f, "kvnode refuses to start on this directory");
    expect_text(f, "--repair would set aside the 2 oldest segments");
    repair_ok(f);
    expect_served(f, 3000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clean_and_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bit_flip_mid_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lsn_jump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_block_crc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_covered_by_snapshot, setup, teardown),
    };
    if (getenv("KV_TEST_FILTER"))
        cmocka_set_test_filter(getenv("KV_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
