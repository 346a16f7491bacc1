/* fsio.c — the real file-system table and helpers built on the current one
 * (see fsio.h). */
#include "fsio.h"

#include "mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

static int p_open(const char *path, int flags, mode_t mode)
{
    return open(path, flags | O_CLOEXEC, mode);
}

static int p_fallocate(int fd, off_t len)
{
    int e = posix_fallocate(fd, 0, len);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

static int p_listdir(const char *dir, int (*fn)(void *arg, const char *name), void *arg)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de)
            break;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fn(arg, de->d_name))
            break;
    }
    int e = errno;
    closedir(d);
    errno = e;
    return e ? -1 : 0;
}

#ifdef KV_FAILPOINTS
/* Test builds only (CMake KV_FAILPOINTS, on with KV_TESTS): when the
 * environment names a file in KVNODE_FAILPOINT_FILE, every fsync and
 * fdatasync first reads it (again only when it was replaced or changed):
 *   "fsync-stall <ms>"  sleep that long, then sync;
 *   "fsync-error"       fail with EIO without syncing;
 *   anything else, or no file: sync as usual.
 * A fault run rewrites the file (rename) to start and end the fault. */
#include <time.h>

/* -1: fail with EIO; otherwise milliseconds to sleep first. The cache is
 * per thread (no lock: a fork child, the snapshot writer, cannot inherit
 * one held by another thread). */
static int failpoint_sync(void)
{
    static _Thread_local struct stat seen;
    static _Thread_local int action;
    const char *path = getenv("KVNODE_FAILPOINT_FILE");
    if (!path || !*path)
        return 0;
    struct stat st;
    if (stat(path, &st) < 0) {
        memset(&seen, 0, sizeof seen);
        action = 0;
    } else if (st.st_ino != seen.st_ino || st.st_size != seen.st_size ||
               st.st_mtim.tv_sec != seen.st_mtim.tv_sec ||
               st.st_mtim.tv_nsec != seen.st_mtim.tv_nsec) {
        seen = st;
        action = 0;
        char buf[64] = "";
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, buf, sizeof buf - 1);
            buf[n > 0 ? n : 0] = 0;
            close(fd);
        }
        if (!strncmp(buf, "fsync-error", 11))
            action = -1;
        else if (!strncmp(buf, "fsync-stall ", 12))
            action = atoi(buf + 12) > 0 ? atoi(buf + 12) : 0;
    }
    return action;
}

static int fp_sync(int fd, int data_only)
{
    int a = failpoint_sync();
    if (a < 0) {
        errno = EIO;
        return -1;
    }
    if (a > 0) {
        struct timespec ts = {a / 1000, (long)(a % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    return data_only ? fdatasync(fd) : fsync(fd);
}

static int fp_fsync(int fd)
{
    return fp_sync(fd, 0);
}

static int fp_fdatasync(int fd)
{
    return fp_sync(fd, 1);
}
#define KV_FSYNC fp_fsync
#define KV_FDATASYNC fp_fdatasync
#else
#define KV_FSYNC fsync
#define KV_FDATASYNC fdatasync
#endif

const kv_fs kvfs_posix = {
    .open = p_open,
    .close = close,
    .pread = pread,
    .pwrite = pwrite,
    .fsync = KV_FSYNC,
    .fdatasync = KV_FDATASYNC,
    .ftruncate = ftruncate,
    .rename = rename,
    .unlink = unlink,
    .fstat = fstat,
    .fallocate = p_fallocate,
    .listdir = p_listdir,
};

const kv_fs *kvfs = &kvfs_posix;

const kv_fs *kvfs_set(const kv_fs *t)
{
    const kv_fs *old = kvfs;
    kvfs = t ? t : &kvfs_posix;
    return old;
}

int kvfs_pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
    const char *p = buf;
    while (n) {
        ssize_t w = kvfs->pwrite(fd, p, n, off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (w == 0)
            return -EIO;
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

int kvfs_pread_all(int fd, void *buf, size_t n, off_t off)
{
    char *p = buf;
    while (n) {
        ssize_t r = kvfs->pread(fd, p, n, off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -ENODATA;
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

int kvfs_zero_fill(int fd, off_t len)
{
    static const char zeros[1 << 16];
    struct stat st;
    off_t from = kvfs->fstat(fd, &st) == 0 ? st.st_size : 0;
    for (off_t off = from; off < len; off += (off_t)sizeof zeros) {
        size_t n = len - off < (off_t)sizeof zeros ? (size_t)(len - off) : sizeof zeros;
        int rc = kvfs_pwrite_all(fd, zeros, n, off);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int kvfs_preallocate(int fd, off_t len)
{
    if (kvfs->fallocate && kvfs->fallocate(fd, len) == 0)
        return 0;
    if (kvfs->fallocate && errno != EOPNOTSUPP && errno != EINVAL && errno != ENOSYS)
        return -errno;
    return kvfs_zero_fill(fd, len); /* no fallocate on this file system */
}

int kvfs_disk_space(const char *path, uint64_t *avail, uint64_t *total)
{
    struct statvfs sv;
    if (statvfs(path, &sv) < 0)
        return -errno;
    uint64_t unit = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
    if (avail)
        *avail = (uint64_t)sv.f_bavail * unit;
    if (total)
        *total = (uint64_t)sv.f_blocks * unit;
    return 0;
}

int kvfs_fsync_dir(const char *dir)
{
    int fd = kvfs->open(dir, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return -errno;
    int rc = kvfs->fsync(fd) < 0 ? -errno : 0;
    kvfs->close(fd);
    return rc;
}

/* Read a whole file through the table into a buffer from alloc (+NUL). */
static int read_whole(const char *path, char **out, size_t *len, void *(*alloc)(size_t),
                      void (*release)(void *))
{
    int fd = kvfs->open(path, O_RDONLY, 0);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (kvfs->fstat(fd, &st) < 0) {
        int e = -errno;
        kvfs->close(fd);
        return e;
    }
    size_t n = (size_t)st.st_size;
    char *buf = alloc(n + 1);
    if (!buf)
        return -ENOMEM;
    int rc = kvfs_pread_all(fd, buf, n, 0);
    kvfs->close(fd);
    if (rc < 0) {
        release(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int kvfs_read_file(const char *path, char **out, size_t *len)
{
    return read_whole(path, out, len, kv_malloc, kv_free);
}

int kvfs_map_file(const char *path, kvfs_map *m)
{
    memset(m, 0, sizeof *m);
    if (kvfs != &kvfs_posix) {
        char *buf;
        size_t len;
        int rc = read_whole(path, &buf, &len, malloc, free);
        if (rc == 0) {
            m->p = buf;
            m->len = len;
        }
        return rc;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    m->len = (size_t)st.st_size;
    if (m->len) {
        /* Read whole: populated in one call rather than a fault per page. */
        void *p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = -errno;
            close(fd);
            return e;
        }
        madvise(p, m->len, MADV_SEQUENTIAL);
        m->p = p;
        m->mapped = 1;
    }
    close(fd);
    return 0;
}

void kvfs_unmap(kvfs_map *m)
{
    if (m->mapped)
        munmap((void *)m->p, m->len);
    else
        free((void *)m->p);
    memset(m, 0, sizeof *m);
}

int kvfs_write_file_atomic(const char *dir, const char *name, const void *buf, size_t n)
{
    char tmp[PATH_MAX], dst[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    int fd = kvfs->open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -errno;
    int rc = kvfs_pwrite_all(fd, buf, n, 0);
    if (rc == 0 && kvfs->fsync(fd) < 0)
        rc = -errno;
    kvfs->close(fd);
    if (rc == 0 && kvfs->rename(tmp, dst) < 0)
        rc = -errno;
    if (rc == 0)
        rc = kvfs_fsync_dir(dir);
    if (rc < 0)
        kvfs->unlink(tmp);
    return rc;
}

static int copy_file(const char *from, const char *to, int create)
{
    int in = kvfs->open(from, O_RDONLY, 0);
    if (in < 0)
        return -errno;
    int out = kvfs->open(to, O_WRONLY | O_CREAT | create, 0644);
    if (out < 0) {
        int e = -errno;
        kvfs->close(in);
        return e;
    }
    char buf[65536];
    off_t off = 0;
    int rc = 0;
    for (;;) {
        ssize_t r = kvfs->pread(in, buf, sizeof buf, off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        rc = kvfs_pwrite_all(out, buf, (size_t)r, off);
        if (rc < 0)
            break;
        off += r;
    }
    if (rc == 0 && kvfs->fsync(out) < 0)
        rc = -errno;
    kvfs->close(in);
    kvfs->close(out);
    return rc;
}

int kvfs_copy_file(const char *from, const char *to)
{
    return copy_file(from, to, O_TRUNC);
}

int kvfs_copy_file_new(const char *from, const char *to)
{
    return copy_file(from, to, O_EXCL);
}
