/* fsio.h — the file-system calls of the WAL, snapshots and meta files.
 *
 * Everything that touches durable state reaches the kernel through the
 * table `kvfs`, so tests can swap in a table that injects short writes,
 * EIO, ENOSPC, or drops everything not yet fsynced (simulated power loss),
 * as sqlite's aSyscall[] does. The calls have POSIX semantics: -1 + errno.
 * The table must be thread-safe (the WAL thread uses it). */
#ifndef KV_FSIO_H
#define KV_FSIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

typedef struct kv_fs {
    int (*open)(const char *path, int flags, mode_t mode);
    int (*close)(int fd);
    ssize_t (*pread)(int fd, void *buf, size_t n, off_t off);
    ssize_t (*pwrite)(int fd, const void *buf, size_t n, off_t off);
    int (*fsync)(int fd);
    int (*fdatasync)(int fd);
    int (*ftruncate)(int fd, off_t len);
    int (*rename)(const char *from, const char *to);
    int (*unlink)(const char *path);
    int (*fstat)(int fd, struct stat *st);
    /* Reserve blocks for [0, len) so later writes there cannot run out of
     * space; the file reads as zeros there. */
    int (*fallocate)(int fd, off_t len);
    /* Call fn(arg, name) for each entry of dir but "." and ".."; fn returns
     * 0 to go on, anything else to stop there. 0 once the listing ended, or
     * -1 + errno when the directory cannot be read. */
    int (*listdir)(const char *dir, int (*fn)(void *arg, const char *name), void *arg);
} kv_fs;

/* The table in use; the real system calls by default. */
extern const kv_fs *kvfs;
extern const kv_fs kvfs_posix;
/* Swap the table (tests). Returns the previous one. */
const kv_fs *kvfs_set(const kv_fs *t);

/* Write all n bytes at off, retrying short writes and EINTR. 0 or -errno. */
int kvfs_pwrite_all(int fd, const void *buf, size_t n, off_t off);
/* Read exactly n bytes at off. 0, -errno, or -ENODATA at end of file. */
int kvfs_pread_all(int fd, void *buf, size_t n, off_t off);
/* Make fd at least len bytes of reserved, zero-reading space: fallocate,
 * or writing zeros where the file system cannot. 0 or -errno (-ENOSPC). */
int kvfs_preallocate(int fd, off_t len);
/* Write zeros over [size of fd, len): the blocks are then allocated and
 * written, so later overwrites there need no metadata change at all
 * (faster fdatasync than fallocate's unwritten extents). 0 or -errno. */
int kvfs_zero_fill(int fd, off_t len);
/* Bytes available to this (unprivileged) process and the size of the file
 * system holding path (statvfs; outside the table: tests that inject
 * ENOSPC through the table still see the real figures). 0 or -errno. */
int kvfs_disk_space(const char *path, uint64_t *avail, uint64_t *total);
/* fsync a directory so creates/renames/unlinks in it are durable. 0/-errno */
int kvfs_fsync_dir(const char *dir);
/* Read a whole file into a kv_malloc'd buffer (+NUL): loop thread only,
 * like every kv_malloc. 0 or -errno. */
int kvfs_read_file(const char *path, char **out, size_t *len);
/* A whole file in memory for reading: mapped when the table is the real
 * file system (no copy), read into a plain malloc buffer otherwise (test
 * tables). Usable from any thread (recovery, readers on the pool). */
typedef struct kvfs_map {
    const char *p;
    size_t len;
    int mapped;
} kvfs_map;
int kvfs_map_file(const char *path, kvfs_map *m);
void kvfs_unmap(kvfs_map *m);

/* Publish a small file atomically: write path.tmp, fsync, rename, fsync dir.
 * 0 or -errno. */
int kvfs_write_file_atomic(const char *dir, const char *name, const void *buf, size_t n);
/* Copy a file (for keeping *.broken copies), fsynced. 0 or -errno. */
int kvfs_copy_file(const char *from, const char *to);
/* The same, but never over an existing file: -EEXIST if `to` exists. */
int kvfs_copy_file_new(const char *from, const char *to);

#endif
