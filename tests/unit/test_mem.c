/* test_mem.c — counted allocation and bulk loading: used_memory follows
 * what is live; between kv_bulk_begin and kv_bulk_end allocations stay
 * whole and counted, begin/end nest, and (glibc's allocator, THP not
 * "never") the heap a bulk load grew is backed by huge pages while what
 * grows after it is not advised, and its prefault helper thread ran during
 * the load and is gone after it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

#define NOBJ 400000
#define OBJ 96 /* 400k objects of 96 bytes: ~40 MB, above the bulk minimum */

static size_t anon_huge_kb(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f)
        return 0;
    char line[256];
    size_t kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "AnonHugePages: %zu kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
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

static int populate_supported(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int ok = madvise(p, (size_t)pg, 23 /* MADV_POPULATE_WRITE */) == 0;
    munmap(p, (size_t)pg);
    return ok;
}


static void fill(unsigned char *p, size_t i)
{
    memset(p, (int)(i * 131u & 0xff), OBJ);
    memcpy(p, &i, sizeof i);
}

static int intact(const unsigned char *p, size_t i)
{
    size_t got;
    memcpy(&got, p, sizeof got);
    if (got != i)
        return 0;
    for (size_t j = sizeof i; j < OBJ; j++)
        if (p[j] != (unsigned char)(i * 131u & 0xff))
            return 0;
    return 1;
}

static void test_used_memory_counts_live_bytes(void **state)
{
    (void)state;
    size_t before = kv_used_memory();
    void *a = kv_malloc(1000), *b = kv_calloc(10, 100);
    assert_true(kv_used_memory() >= before + 2000);
    a = kv_realloc(a, 5000);
    assert_true(kv_used_memory() >= before + 6000);
    kv_free(a);
    kv_free(b);
    assert_int_equal(kv_used_memory(), before);
}

/* The prefault helper has covered what the test's bulk load allocated. */
static int loaded_prefaulted(void *arg)
{
    (void)arg;
    return kv_bulk_prefaulted() >= (size_t)NOBJ * OBJ;
}

static void test_bulk_load_keeps_data_and_counts(void **state)
{
    (void)state;
    size_t before = kv_used_memory(), huge0 = anon_huge_kb();
    unsigned char **v = malloc(NOBJ * sizeof *v);
    assert_non_null(v);
    kv_bulk_begin((size_t)NOBJ * OBJ);
    kv_bulk_begin(1); /* nested: the outer one decides */
    for (size_t i = 0; i < NOBJ; i++) {
        v[i] = kv_malloc(OBJ);
        fill(v[i], i);
    }
    kv_bulk_end();
    /* Still loading: the inner end changed nothing. */
    for (size_t i = 0; i < NOBJ / 2; i++)
        kv_free(v[i]);
    for (size_t i = 0; i < NOBJ / 2; i++) {
        v[i] = kv_malloc(OBJ);
        fill(v[i], i);
    }
    /* The prefault helper (glibc's heap, more than one CPU, Linux 5.14)
     * has been clearing the grown heap ahead of the allocator, all of it. */
    int helper = !SANITIZED && sysconf(_SC_NPROCESSORS_ONLN) > 1 && populate_supported();
    if (helper)
        assert_true(tu_poll_until(loaded_prefaulted, NULL, 60000));
    int threads_loading = threads();
    kv_bulk_end();
    if (helper) {
        print_message("prefaulted %zu MB; threads %d while loading, %d after\n",
                      kv_bulk_prefaulted() >> 20, threads_loading, threads());
        /* At least as far as the allocator got (it runs up to 32 MiB
         * past it, within the heap). */
        assert_true(kv_bulk_prefaulted() >= (size_t)NOBJ * OBJ);
        assert_int_equal(threads(), threads_loading - 1);
    }
    size_t huge1 = anon_huge_kb();
    assert_true(kv_used_memory() >= before + (size_t)NOBJ * OBJ);
    for (size_t i = 0; i < NOBJ; i++)
        assert_true(intact(v[i], i));
    /* Growth after the load: ordinary pages, data intact. */
    unsigned char **w = malloc(NOBJ * sizeof *w);
    assert_non_null(w);
    for (size_t i = 0; i < NOBJ; i++) {
        w[i] = kv_malloc(OBJ);
        fill(w[i], i + 7);
    }
    for (size_t i = 0; i < NOBJ; i++) {
        assert_true(intact(w[i], i + 7));
        assert_true(intact(v[i], i));
        kv_free(w[i]);
        kv_free(v[i]);
    }
    free(w);
    free(v);
    assert_int_equal(kv_used_memory(), before);
    if (SANITIZED || !tu_thp_possible()) {
        print_message("huge-page backing not checked (%s)\n",
                      SANITIZED ? "sanitizer allocator" : "THP disabled");
        return;
    }
    /* ~38 MB loaded in steps of that size: most of it in huge pages. */
    print_message("AnonHugePages %zu kB before, %zu kB after the load\n", huge0, huge1);
    assert_true(huge1 >= huge0 + 16 * 1024);
}

static void test_small_bulk_is_ignored(void **state)
{
    (void)state;
    size_t before = kv_used_memory();
    kv_bulk_begin(4096);
    void *p = kv_malloc(64);
    memset(p, 1, 64);
    kv_bulk_end();
    kv_free(p);
    kv_bulk_end(); /* unbalanced end: harmless */
    assert_int_equal(kv_used_memory(), before);
}

static void test_advise_huge_any_range(void **state)
{
    (void)state;
    /* Unaligned, smaller than a huge page, and large: never an error. */
    char small[100];
    kv_advise_huge(small, sizeof small);
    size_t n = (size_t)9 << 20;
    char *big = kv_calloc(1, n);
    kv_advise_huge(big + 1, n - 1);
    for (size_t i = 0; i < n; i += 4096)
        assert_int_equal(big[i], 0);
    big[n - 1] = 5;
    assert_int_equal(big[n - 1], 5);
    kv_free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_used_memory_counts_live_bytes),
        cmocka_unit_test(test_bulk_load_keeps_data_and_counts),
        cmocka_unit_test(test_small_bulk_is_ignored),
        cmocka_unit_test(test_advise_huge_any_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
