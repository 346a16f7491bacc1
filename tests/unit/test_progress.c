/* test_progress.c — progress of long jobs (progress.c): counting, the
 * check cadence and the hook, nesting of current jobs, percent and ETA. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "progress.h"

/* ---- Helpers ---- */

static int hooks;
static uint64_t hook_done;

static void hook(void *arg, progress_job *j)
{
    (void)arg;
    hooks++;
    hook_done = j->done;
}

/* ---- Tests ---- */

/* A byte job counts bytes, checks (runs its hook) once per
 * PROGRESS_CHECK_BYTES, and reports percent of its total. */
static void test_bytes_job(void **state)
{
    (void)state;
    progress_job j;
    hooks = 0;
    progress_begin(&j, "test", 0, 4 * PROGRESS_CHECK_BYTES, hook, NULL);
    assert_ptr_equal(progress_current, &j);
    for (int i = 0; i < 4 * 64; i++)
        progress_step(1, PROGRESS_CHECK_BYTES / 64);
    assert_int_equal(j.done, 4 * PROGRESS_CHECK_BYTES);
    assert_int_equal(hooks, 4);
    assert_int_equal(hook_done, 4 * PROGRESS_CHECK_BYTES);
    assert_true(progress_perc(&j) == 100.0);
    assert_int_equal(progress_eta_s(&j), 0);
    progress_end(&j);
    assert_null(progress_current);
}

/* A key job counts keys (bytes only for the rate) and checks every
 * PROGRESS_CHECK_UNITS keys too. */
static void test_keys_job(void **state)
{
    (void)state;
    progress_job j;
    hooks = 0;
    progress_begin(&j, "keys", 1, 10 * PROGRESS_CHECK_UNITS, hook, NULL);
    for (unsigned i = 0; i < 5 * PROGRESS_CHECK_UNITS; i++)
        progress_step(1, 10);
    assert_int_equal(j.done, 5 * PROGRESS_CHECK_UNITS);
    assert_int_equal(j.bytes, 50 * PROGRESS_CHECK_UNITS);
    assert_int_equal(hooks, 5);
    assert_true(progress_perc(&j) > 49.9 && progress_perc(&j) < 50.1);
    assert_true(progress_eta_s(&j) >= 0);
    progress_end(&j);
}

/* Jobs nest: the inner one is current until it ends; a job opened without
 * becoming current is counted only explicitly; without a job a step does
 * nothing. */
static void test_nesting(void **state)
{
    (void)state;
    progress_step(1, 1000); /* no job: nothing happens */
    progress_job outer, inner, side;
    progress_begin(&outer, "outer", 0, 0, NULL, NULL);
    progress_begin(&inner, "inner", 0, 0, NULL, NULL);
    progress_open(&side, "side", 0, 100, NULL, NULL);
    progress_step(0, 10);
    assert_int_equal(inner.done, 10);
    assert_int_equal(outer.done, 0);
    assert_int_equal(side.done, 0);
    progress_add(&side, 0, 50);
    assert_int_equal(side.done, 50);
    progress_end(&side);
    assert_ptr_equal(progress_current, &inner);
    progress_end(&inner);
    assert_ptr_equal(progress_current, &outer);
    progress_step(0, 5);
    assert_int_equal(outer.done, 5);
    progress_end(&outer);
    assert_null(progress_current);
}

/* Unknown totals: percent 0, ETA unknown (-1); nothing done yet: ETA
 * unknown. */
static void test_unknown(void **state)
{
    (void)state;
    progress_job j;
    progress_open(&j, "x", 0, 0, NULL, NULL);
    progress_add(&j, 0, 100);
    assert_true(progress_perc(&j) == 0);
    assert_int_equal(progress_eta_s(&j), -1);
    progress_open(&j, "y", 0, 100, NULL, NULL);
    assert_int_equal(progress_eta_s(&j), -1);
    progress_end(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_job),
        cmocka_unit_test(test_keys_job),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
