/* test_failpoint.c — the test-build fsync failpoint of node/store/fsio.c
 * (CMake KV_FAILPOINTS): with KVNODE_FAILPOINT_FILE naming a file, the
 * real file-system table's fsync and fdatasync fail with EIO while it says
 * "fsync-error", sleep first while it says "fsync-stall <ms>", and sync as
 * usual once it is emptied or removed — each change seen at the next call,
 * as a fault run rewrites it under a running node. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsio.h"

static char dir[64], fpfile[128];

static void set_failpoint(const char *what)
{
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", fpfile);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", what);
    fclose(f);
    assert_int_equal(rename(tmp, fpfile), 0);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_fsync_failpoint(void **state)
{
    (void)state;
#ifndef KV_FAILPOINTS
    skip();
#else
    char path[160];
    snprintf(path, sizeof path, "%s/data", dir);
    int fd = kvfs_posix.open(path, O_RDWR | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(kvfs_pwrite_all(fd, "abc", 3, 0), 0);
    /* No file yet: plain syncs. */
    assert_int_equal(kvfs_posix.fdatasync(fd), 0);
    assert_int_equal(kvfs_posix.fsync(fd), 0);

    set_failpoint("fsync-error");
    errno = 0;
    assert_int_equal(kvfs_posix.fdatasync(fd), -1);
    assert_int_equal(errno, EIO);
    errno = 0;
    assert_int_equal(kvfs_posix.fsync(fd), -1);
    assert_int_equal(errno, EIO);
    assert_int_equal(kvfs_fsync_dir(dir), -EIO);

    set_failpoint("fsync-stall 150");
    int64_t t0 = mono_ms();
    assert_int_equal(kvfs_posix.fdatasync(fd), 0);
    assert_true(mono_ms() - t0 >= 150);

    set_failpoint("");
    assert_int_equal(kvfs_posix.fdatasync(fd), 0);
    set_failpoint("fsync-error");
    assert_int_equal(kvfs_posix.fsync(fd), -1);
    unlink(fpfile); /* gone: back to normal */
    assert_int_equal(kvfs_posix.fsync(fd), 0);
    kvfs_posix.close(fd);
    unlink(path);
#endif
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/kvfp-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    snprintf(fpfile, sizeof fpfile, "%s/failpoint", dir);
    setenv("KVNODE_FAILPOINT_FILE", fpfile, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fsync_failpoint),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(dir);
    return rc;
}
