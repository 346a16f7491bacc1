/* test_prefault.c — the prefault helper thread (prefault.h): it makes
 * exactly the allowed part of a range resident and no more, follows a
 * limit that rises, leaves data already there as it was, stops idling
 * when the kernel refuses a range, and is joined by prefault_stop so no
 * thread outlives it. Waits are bounded polls; nothing is timed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "prefault.h"
#include "testutil.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* ---- Helpers ---- */

#define MB ((size_t)1 << 20)

static long page;

/* An anonymous private region of n bytes whose start is 2 MiB aligned. */
static char *region(size_t n, char **map, size_t *maplen)
{
    *maplen = n + PREFAULT_CHUNK;
    *map = mmap(NULL, *maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                -1, 0);
    assert_true(*map != MAP_FAILED);
    uintptr_t a = ((uintptr_t)*map + PREFAULT_CHUNK - 1) & ~(PREFAULT_CHUNK - 1);
    /* Keep the helper's pages small and countable: no huge pages here. */
    madvise((void *)a, n, MADV_NOHUGEPAGE);
    return (char *)a;
}

/* Resident pages among [p, p + n). */
static size_t resident(const char *p, size_t n)
{
    size_t np = n / (size_t)page, r = 0;
    unsigned char v[4096];
    for (size_t i = 0; i < np; i += sizeof v) {
        size_t k = np - i < sizeof v ? np - i : sizeof v;
        assert_int_equal(mincore((void *)(p + i * (size_t)page), k * (size_t)page, v), 0);
        for (size_t j = 0; j < k; j++)
            r += v[j] & 1;
    }
    return r;
}

typedef struct done_want {
    prefault *pf;
    size_t want;
} done_want;

static int done_reached(void *arg)
{
    done_want *d = arg;
    return prefault_done(d->pf) >= d->want;
}

static int failed(void *arg)
{
    return atomic_load(&((prefault *)arg)->failed);
}

/* Poll (bounded: 60 s) until the helper has populated `want` bytes. */
static void wait_done(prefault *pf, size_t want)
{
    done_want d = {pf, want};
    assert_true(tu_poll_until(done_reached, &d, 60000));
    assert_int_equal(prefault_done(pf), want);
}

static int threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    assert_non_null(f);
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* MADV_POPULATE_WRITE came with Linux 5.14: before it the helper can do
 * nothing, which the tests then say instead of failing. */
static int supported(void)
{
    char *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int ok = madvise(p, (size_t)page, MADV_POPULATE_WRITE) == 0;
    munmap(p, (size_t)page);
    if (!ok)
        print_message("MADV_POPULATE_WRITE not supported here: skipped\n");
    return ok;
}

/* ---- Tests ---- */

/* The helper populates exactly up to each limit it is allowed (whole
 * pages below it, for a limit inside a page), no further, and is gone
 * after prefault_stop. */
static void test_populates_up_to_the_limit(void **state)
{
    (void)state;
    if (!supported())
        return;
    char *map;
    size_t maplen, n = 24 * MB;
    char *p = region(n, &map, &maplen);
    int before = threads();
    prefault pf = PREFAULT_INIT;
    assert_int_equal(prefault_start(&pf, (uintptr_t)p), 0);
    assert_int_equal(prefault_start(&pf, (uintptr_t)p), -EBUSY);
    /* (ThreadSanitizer starts a thread of its own with the first one.) */
    int running = threads();
    assert_true(running > before);
    assert_int_equal(resident(p, n), 0);

    prefault_allow(&pf, (uintptr_t)p + 5 * MB); /* not a multiple of a chunk */
    wait_done(&pf, 5 * MB);
    assert_int_equal(resident(p, 5 * MB), 5 * MB / (size_t)page);
    assert_int_equal(resident(p + 5 * MB, n - 5 * MB), 0);

    /* Limits anywhere in a page (a heap's block ends): whole pages below. */
    prefault_allow(&pf, (uintptr_t)p + 7 * MB + 100);
    wait_done(&pf, 7 * MB);
    prefault_allow(&pf, (uintptr_t)p + 9 * MB + (size_t)page - 1);
    wait_done(&pf, 9 * MB);
    assert_int_equal(resident(p, 9 * MB), 9 * MB / (size_t)page);
    assert_int_equal(resident(p + 9 * MB, n - 9 * MB), 0);
    assert_int_equal(atomic_load(&pf.failed), 0);
    prefault_allow(&pf, (uintptr_t)p + 3 * MB); /* lower: no-op */
    prefault_allow(&pf, (uintptr_t)p + 16 * MB);
    wait_done(&pf, 16 * MB);
    assert_int_equal(resident(p, 16 * MB), 16 * MB / (size_t)page);
    assert_int_equal(resident(p + 16 * MB, n - 16 * MB), 0);
    assert_int_equal(atomic_load(&pf.failed), 0);

    prefault_stop(&pf);
    prefault_stop(&pf); /* not running: no-op */
    assert_int_equal(threads(), running - 1);
    prefault_allow(&pf, (uintptr_t)p + n); /* no helper: only noted */
    assert_int_equal(resident(p + 16 * MB, n - 16 * MB), 0);
    munmap(map, maplen);
}

/* What the owner wrote before the helper reached it is left as it was. */
static void test_leaves_data_alone(void **state)
{
    (void)state;
    if (!supported())
        return;
    char *map;
    size_t maplen, n = 8 * MB;
    char *p = region(n, &map, &maplen);
    for (size_t i = 0; i < n; i += 3 * MB)
        memset(p + i, 0x5a, 1000);
    prefault pf = PREFAULT_INIT;
    assert_int_equal(prefault_start(&pf, (uintptr_t)p), 0);
    prefault_allow(&pf, (uintptr_t)p + n);
    wait_done(&pf, n);
    prefault_stop(&pf);
    for (size_t i = 0; i < n; i++)
        assert_int_equal((unsigned char)p[i], i % (3 * MB) < 1000 ? 0x5a : 0);
    munmap(map, maplen);
}

/* A range the kernel refuses (no longer mapped) stops the helper's work:
 * it marks itself failed, populates nothing more, and still joins. A
 * prefault object can be started again afterwards. */
static void test_refused_range_idles_and_joins(void **state)
{
    (void)state;
    if (!supported())
        return;
    char *map;
    size_t maplen, n = 8 * MB;
    char *p = region(n, &map, &maplen);
    prefault pf = PREFAULT_INIT;
    munmap(p + 2 * MB, 2 * MB); /* a hole in the second chunk */
    assert_int_equal(prefault_start(&pf, (uintptr_t)p), 0);
    int running = threads();
    prefault_allow(&pf, (uintptr_t)p + n);
    assert_true(tu_poll_until(failed, &pf, 60000));
    assert_int_equal(atomic_load(&pf.failed), 1);
    assert_int_equal(prefault_done(&pf), 2 * MB);
    assert_int_equal(resident(p + 4 * MB, 4 * MB), 0);
    prefault_stop(&pf);
    assert_int_equal(threads(), running - 1);

    assert_int_equal(prefault_start(&pf, (uintptr_t)p + 4 * MB), 0);
    assert_int_equal(atomic_load(&pf.failed), 0);
    prefault_allow(&pf, (uintptr_t)p + 6 * MB);
    wait_done(&pf, 2 * MB);
    assert_int_equal(resident(p + 4 * MB, 2 * MB), 2 * MB / (size_t)page);
    prefault_stop(&pf);
    munmap(map, 2 * MB + (size_t)(p - map));
    munmap(p + 4 * MB, maplen - (size_t)(p - map) - 4 * MB);
}

/* Stopping a helper that was never allowed anything joins at once. */
static void test_stop_while_idle(void **state)
{
    (void)state;
    prefault pf = PREFAULT_INIT;
    char x[64];
    assert_int_equal(prefault_start(&pf, (uintptr_t)x), 0);
    int running = threads();
    prefault_stop(&pf);
    assert_int_equal(prefault_done(&pf), 0);
    assert_int_equal(threads(), running - 1);
}

int main(void)
{
    page = sysconf(_SC_PAGESIZE);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_populates_up_to_the_limit),
        cmocka_unit_test(test_leaves_data_alone),
        cmocka_unit_test(test_refused_range_idles_and_joins),
        cmocka_unit_test(test_stop_while_idle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
