/* faultfs.c — see faultfs.h. */
#include "faultfs.h"

#include "fsio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- undo log ---- */

enum { U_DATA, U_CREATE, U_RENAME, U_UNLINK };

typedef struct undo {
    int kind;
    char path[PATH_MAX];  /* file (data/create/unlink) or rename target */
    char from[PATH_MAX];  /* rename source */
    char dir[PATH_MAX];   /* directory whose fsync makes it durable */
    off_t off;            /* U_DATA: where old bytes go */
    off_t old_size;       /* U_DATA: file size before */
    char *old;            /* U_DATA: old bytes; U_RENAME/U_UNLINK: old content */
    size_t old_len;
    int had_old;          /* U_RENAME: target existed before */
    int durable;
    struct undo *next;
} undo;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static undo *log_head; /* newest first */
static char fd_path[4096][PATH_MAX];
static unsigned long counts[FF_NOPS];
static struct {
    unsigned long at; /* fail when the matching count reaches this; 0 = unarmed */
    unsigned long seen; /* matching calls since armed */
    int e, sticky;
    char match[128];    /* only calls on paths containing this count */
} faults[FF_NOPS];
static unsigned long short_at;
static size_t short_max;
static int powered_off;
static int tracking = 1; /* keep the undo log (0: faults and delays only) */

/* ---- gates and delays (their own lock: a held call must not hold mu) ---- */

static pthread_mutex_t gmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gcv = PTHREAD_COND_INITIALIZER;
static int gate_op = -1;          /* armed gate's op, -1 = none */
static char gate_match[128];
static int gate_waiting, gate_opened;
static unsigned delay_min[FF_NOPS], delay_max[FF_NOPS], delay_pct[FF_NOPS];
static unsigned long long delay_rng;

static unsigned long long next_rand(void)
{
    delay_rng ^= delay_rng >> 12;
    delay_rng ^= delay_rng << 25;
    delay_rng ^= delay_rng >> 27;
    return delay_rng * 2685821657736338717ULL;
}

/* Called at the start of every operation, before mu is taken. */
static void pause_point(int op, const char *path)
{
    pthread_mutex_lock(&gmu);
    if (gate_op == op && (!gate_match[0] || (path && strstr(path, gate_match)))) {
        gate_op = -1; /* one call only */
        gate_waiting = 1;
        pthread_cond_broadcast(&gcv);
        while (!gate_opened)
            pthread_cond_wait(&gcv, &gmu);
        gate_waiting = 0;
        gate_opened = 0;
    }
    unsigned us = 0;
    if (delay_max[op] && delay_rng && next_rand() % 100 < delay_pct[op])
        us = delay_min[op] + (unsigned)(next_rand() % (delay_max[op] - delay_min[op] + 1));
    pthread_mutex_unlock(&gmu);
    if (us)
        usleep(us); /* the injected slowness itself */
}

static void gates_clear(void);

/* The path an fd was opened with, copied under mu. */
static void fd_path_copy(int fd, char *out, size_t n);

static void dir_of(const char *path, char *out)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(out, PATH_MAX, "%s", dirname(tmp));
}

static void canon_dir(const char *dir, char *out)
{
    if (!realpath(dir, out))
        snprintf(out, PATH_MAX, "%s", dir);
}

static void canon_file(const char *path, char *out)
{
    char d[PATH_MAX], cd[PATH_MAX], tmp[PATH_MAX];
    dir_of(path, d);
    canon_dir(d, cd);
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(out, PATH_MAX, "%s/%s", cd, basename(tmp));
}

static int read_all(const char *path, char **buf, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    struct stat st;
    fstat(fd, &st);
    *len = (size_t)st.st_size;
    *buf = malloc(*len + 1);
    size_t got = 0;
    while (got < *len) {
        ssize_t r = pread(fd, *buf + got, *len - got, (off_t)got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    return 0;
}

static void write_all(const char *path, const char *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    size_t put = 0;
    while (put < len) {
        ssize_t w = pwrite(fd, buf + put, len - put, (off_t)put);
        if (w <= 0)
            break;
        put += (size_t)w;
    }
    close(fd);
}

static undo *push(int kind)
{
    undo *u = calloc(1, sizeof *u);
    u->kind = kind;
    u->next = log_head;
    log_head = u;
    return u;
}

static void forget_log(void);

/* Should this call on `path` fail? Counts it either way. Caller holds mu. */
static int should_fail_path(int op, const char *path)
{
    if (!tracking)
        forget_log(); /* keeps at most the entry this call adds */
    if (powered_off) {
        errno = EIO;
        return 1;
    }
    counts[op]++;
    if (!faults[op].at)
        return 0;
    if (faults[op].match[0] && (!path || !strstr(path, faults[op].match)))
        return 0;
    unsigned long n = ++faults[op].seen;
    if (n == faults[op].at || (faults[op].sticky && n > faults[op].at)) {
        errno = faults[op].e;
        return 1;
    }
    return 0;
}

/* ---- the table ---- */

/* The path fd was opened with ("" for an fd out of the table's range).
 * Caller holds mu. */
static const char *fd_name(int fd)
{
    return fd >= 0 && fd < 4096 ? fd_path[fd] : "";
}

static void fd_path_copy(int fd, char *out, size_t n)
{
    pthread_mutex_lock(&mu);
    snprintf(out, n, "%s", fd_name(fd));
    pthread_mutex_unlock(&mu);
}

static void pause_fd(int op, int fd)
{
    char path[PATH_MAX];
    fd_path_copy(fd, path, sizeof path);
    pause_point(op, path);
}

static int ff_open(const char *path, int flags, mode_t mode)
{
    pause_point(FF_OPEN, path);
    pthread_mutex_lock(&mu);
    if (should_fail_path(FF_OPEN, path)) {
        pthread_mutex_unlock(&mu);
        return -1;
    }
    int existed = access(path, F_OK) == 0;
    int fd = open(path, flags | O_CLOEXEC, mode);
    if (fd >= 0 && fd < 4096) {
        canon_file(path, fd_path[fd]);
        if (!existed && (flags & O_CREAT)) {
            undo *u = push(U_CREATE);
            snprintf(u->path, sizeof u->path, "%s", fd_name(fd));
            dir_of(u->path, u->dir);
        }
    }
    pthread_mutex_unlock(&mu);
    return fd;
}

static int ff_close(int fd)
{
    return close(fd);
}

static ssize_t ff_pread(int fd, void *buf, size_t n, off_t off)
{
    pause_fd(FF_READ, fd);
    pthread_mutex_lock(&mu);
    int f = should_fail_path(FF_READ, fd_name(fd));
    pthread_mutex_unlock(&mu);
    if (f)
        return -1;
    return pread(fd, buf, n, off);
}

static ssize_t ff_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    pause_fd(FF_WRITE, fd);
    pthread_mutex_lock(&mu);
    if (should_fail_path(FF_WRITE, fd_name(fd))) {
        pthread_mutex_unlock(&mu);
        return -1;
    }
    if (short_at && counts[FF_WRITE] == short_at && n > short_max)
        n = short_max;
    struct stat st;
    fstat(fd, &st);
    undo *u = push(U_DATA);
    snprintf(u->path, sizeof u->path, "%s", fd_name(fd));
    u->off = off;
    u->old_size = st.st_size;
    if (off < st.st_size) {
        size_t have = (size_t)(st.st_size - off) < n ? (size_t)(st.st_size - off) : n;
        u->old = malloc(have);
        ssize_t r = pread(fd, u->old, have, off);
        u->old_len = r > 0 ? (size_t)r : 0;
    }
    ssize_t w = pwrite(fd, buf, n, off);
    pthread_mutex_unlock(&mu);
    return w;
}

static void make_data_durable(const char *path)
{
    for (undo *u = log_head; u; u = u->next)
        if (u->kind == U_DATA && strcmp(u->path, path) == 0)
            u->durable = 1;
}

static int ff_fsync_common(int fd)
{
    pause_fd(FF_FSYNC, fd);
    pthread_mutex_lock(&mu);
    if (should_fail_path(FF_FSYNC, fd_name(fd))) {
        pthread_mutex_unlock(&mu);
        return -1;
    }
    struct stat st;
    fstat(fd, &st);
    if (S_ISDIR(st.st_mode)) {
        for (undo *u = log_head; u; u = u->next)
            if (u->kind != U_DATA && strcmp(u->dir, fd_name(fd)) == 0)
                u->durable = 1;
    } else {
        make_data_durable(fd_name(fd));
    }
    pthread_mutex_unlock(&mu);
    return 0;
}

static int ff_fsync(int fd)
{
    return ff_fsync_common(fd);
}

static int ff_fdatasync(int fd)
{
    return ff_fsync_common(fd);
}

static int ff_ftruncate(int fd, off_t len)
{
    pause_fd(FF_TRUNCATE, fd);
    pthread_mutex_lock(&mu);
    if (should_fail_path(FF_TRUNCATE, fd_name(fd))) {
        pthread_mutex_unlock(&mu);
        return -1;
    }
    struct stat st;
    fstat(fd, &st);
    undo *u = push(U_DATA);
    snprintf(u->path, sizeof u->path, "%s", fd_name(fd));
    u->off = len;
    u->old_size = st.st_size;
    if (len < st.st_size) {
        u->old_len = (size_t)(st.st_size - len);
        u->old = malloc(u->old_len);
        ssize_t r = pread(fd, u->old, u->old_len, len);
        if (r < 0)
            u->old_len = 0;
    }
    int rc = ftruncate(fd, len);
    pthread_mutex_unlock(&mu);
    return rc;
}

static int ff_rename(const char *from, const char *to)
{
    pause_point(FF_RENAME, to);
    pthread_mutex_lock(&mu);
    if (should_fail_path(FF_RENAME, to)) {
        pthread_mutex_unlock(&mu);
        return -1;
    }
    undo *u = push(U_RENAME);
    canon_file(to, u->path);
    canon_file(from, u->from);
    dir_of(u->path, u->dir);
    u->had_old = read_all(to, &u->old, &u->old_len) == 0;
    int rc = rename(from, to);
    if (rc < 0) {
        log_head = u->next;
        free(u->old);
        free(u);
    } else {
        /* Renamed data keeps its durability state under the new name. */
        for (undo *v = u->next; v; v = v->next)
            if (v->kind == U_DATA && strcmp(v->path, u->from) == 0)
                snprintf(v->path, sizeof v->path, "%s", u->path);
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

static int ff_unlink(const char *path)
{
    pause_point(FF_UNLINK, path);
    pthread_mutex_lock(&mu);
    if (should_fail_path(FF_UNLINK, path)) {
        pthread_mutex_unlock(&mu);
        return -1;
    }
    undo *u = push(U_UNLINK);
    canon_file(path, u->path);
    dir_of(u->path, u->dir);
    if (read_all(path, &u->old, &u->old_len) < 0) {
        log_head = u->next;
        free(u);
    }
    int rc = unlink(path);
    pthread_mutex_unlock(&mu);
    return rc;
}

static int ff_fstat(int fd, struct stat *st)
{
    return fstat(fd, st);
}

/* Reserving space counts as a write for fault injection (ENOSPC there is
 * what a full disk looks like); a crash undoes the size change. */
static int ff_fallocate(int fd, off_t len)
{
    pthread_mutex_lock(&mu);
    if (should_fail_path(FF_WRITE, fd_name(fd))) {
        pthread_mutex_unlock(&mu);
        return -1;
    }
    struct stat st;
    fstat(fd, &st);
    undo *u = push(U_DATA);
    snprintf(u->path, sizeof u->path, "%s", fd_name(fd));
    u->off = st.st_size;
    u->old_size = st.st_size;
    int e = posix_fallocate(fd, 0, len);
    pthread_mutex_unlock(&mu);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

/* Listing a directory: can be failed (FF_LIST) and gated like any call;
 * the entries are the real ones. */
static int ff_listdir(const char *dir, int (*fn)(void *arg, const char *name), void *arg)
{
    pause_point(FF_LIST, dir);
    pthread_mutex_lock(&mu);
    int f = should_fail_path(FF_LIST, dir);
    pthread_mutex_unlock(&mu);
    if (f)
        return -1;
    return kvfs_posix.listdir(dir, fn, arg);
}

static const kv_fs faultfs = {
    .open = ff_open,
    .close = ff_close,
    .pread = ff_pread,
    .pwrite = ff_pwrite,
    .fsync = ff_fsync,
    .fdatasync = ff_fdatasync,
    .ftruncate = ff_ftruncate,
    .rename = ff_rename,
    .unlink = ff_unlink,
    .fstat = ff_fstat,
    .fallocate = ff_fallocate,
    .listdir = ff_listdir,
};

/* ---- control ---- */

static void forget_log(void)
{
    while (log_head) {
        undo *u = log_head;
        log_head = u->next;
        free(u->old);
        free(u);
    }
}

void faultfs_track_undo(int on)
{
    pthread_mutex_lock(&mu);
    tracking = on;
    if (!on)
        forget_log();
    pthread_mutex_unlock(&mu);
}

void faultfs_install(void)
{
    pthread_mutex_lock(&mu);
    tracking = 1;
    forget_log();
    memset(counts, 0, sizeof counts);
    memset(faults, 0, sizeof faults);
    short_at = 0;
    powered_off = 0;
    pthread_mutex_unlock(&mu);
    kvfs_set(&faultfs);
}

void faultfs_uninstall(void)
{
    gates_clear();
    kvfs_set(NULL);
    pthread_mutex_lock(&mu);
    forget_log();
    powered_off = 0;
    pthread_mutex_unlock(&mu);
}

void faultfs_fail(int op, int nth, int e, int sticky)
{
    faultfs_fail_path(op, "", nth, e, sticky);
}

void faultfs_fail_path(int op, const char *match, int nth, int e, int sticky)
{
    pthread_mutex_lock(&mu);
    faults[op].at = (unsigned long)nth;
    faults[op].seen = 0;
    faults[op].e = e;
    faults[op].sticky = sticky;
    snprintf(faults[op].match, sizeof faults[op].match, "%s", match);
    pthread_mutex_unlock(&mu);
}

void faultfs_short_write(int nth, size_t max)
{
    pthread_mutex_lock(&mu);
    short_at = counts[FF_WRITE] + (unsigned long)nth;
    short_max = max;
    pthread_mutex_unlock(&mu);
}

static void gates_clear(void)
{
    pthread_mutex_lock(&gmu);
    gate_op = -1;
    if (gate_waiting)
        gate_opened = 1;
    memset(delay_min, 0, sizeof delay_min);
    memset(delay_max, 0, sizeof delay_max);
    memset(delay_pct, 0, sizeof delay_pct);
    delay_rng = 0;
    pthread_cond_broadcast(&gcv);
    pthread_mutex_unlock(&gmu);
}

void faultfs_gate(int op, const char *match)
{
    pthread_mutex_lock(&gmu);
    gate_op = op;
    gate_opened = 0;
    snprintf(gate_match, sizeof gate_match, "%s", match ? match : "");
    pthread_mutex_unlock(&gmu);
}

int faultfs_gate_waiting(void)
{
    pthread_mutex_lock(&gmu);
    int w = gate_waiting && !gate_opened;
    pthread_mutex_unlock(&gmu);
    return w;
}

void faultfs_gate_open(void)
{
    pthread_mutex_lock(&gmu);
    gate_op = -1;
    if (gate_waiting)
        gate_opened = 1;
    pthread_cond_broadcast(&gcv);
    pthread_mutex_unlock(&gmu);
}

void faultfs_delay(int op, unsigned max_us, unsigned pct, unsigned long long seed)
{
    faultfs_delay_range(op, 0, max_us, pct, seed);
}

void faultfs_delay_range(int op, unsigned min_us, unsigned max_us, unsigned pct,
                         unsigned long long seed)
{
    pthread_mutex_lock(&gmu);
    delay_min[op] = min_us < max_us ? min_us : max_us;
    delay_max[op] = max_us;
    delay_pct[op] = pct;
    delay_rng = seed ? seed : 0;
    pthread_mutex_unlock(&gmu);
}

void faultfs_clear(void)
{
    pthread_mutex_lock(&mu);
    memset(faults, 0, sizeof faults);
    short_at = 0;
    pthread_mutex_unlock(&mu);
    gates_clear();
}

unsigned long faultfs_count(int op)
{
    pthread_mutex_lock(&mu);
    unsigned long n = counts[op];
    pthread_mutex_unlock(&mu);
    return n;
}

void faultfs_crash(void)
{
    pthread_mutex_lock(&mu);
    powered_off = 1;
    /* Newest first: undo in reverse order of the changes. */
    for (undo *u = log_head; u; u = u->next) {
        if (u->durable)
            continue;
        switch (u->kind) {
        case U_DATA: {
            int fd = open(u->path, O_WRONLY);
            if (fd < 0)
                break;
            if (u->old_len) {
                ssize_t w = pwrite(fd, u->old, u->old_len, u->off);
                (void)w;
            }
            if (ftruncate(fd, u->old_size) < 0) {
                /* nothing more we can do in a test helper */
            }
            close(fd);
            break;
        }
        case U_CREATE:
            unlink(u->path);
            break;
        case U_RENAME:
            if (rename(u->path, u->from) == 0 && u->had_old)
                write_all(u->path, u->old, u->old_len);
            break;
        case U_UNLINK:
            write_all(u->path, u->old, u->old_len);
            break;
        }
    }
    forget_log();
    pthread_mutex_unlock(&mu);
}

void faultfs_recover(void)
{
    pthread_mutex_lock(&mu);
    forget_log();
    memset(faults, 0, sizeof faults);
    short_at = 0;
    powered_off = 0;
    pthread_mutex_unlock(&mu);
}
