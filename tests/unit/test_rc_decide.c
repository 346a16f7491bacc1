/* test_rc_decide.c — the replication core's pure decisions (decide.c):
 * the common point of two logs from their term histories (the cases Raft's
 * Log Matching argument is about), how a follower is caught up, the commit
 * point with the current-term rule, the up-to-date rule for votes, quorums,
 * and the membership config encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core.h"

/* ---- Helpers ---- */

#define H(...) ((rc_term_start[]){__VA_ARGS__})
#define N(a) (sizeof(a) / sizeof *(a))

static uint64_t fixed_terms[64];

static uint64_t term_of(void *arg, uint64_t lsn)
{
    (void)arg;
    return lsn < 64 ? fixed_terms[lsn] : 0;
}

/* ---- Tests: common point ---- */

/* Identical logs agree up to the shorter end; a prefix is common whole. */
static void test_common_point_prefix(void **state)
{
    (void)state;
    rc_term_start a[] = {{1, 1}, {2, 10}, {3, 20}};
    rc_term_start b[] = {{1, 1}, {2, 10}, {3, 20}};
    assert_int_equal(rc_common_point(a, 3, 30, b, 3, 25), 25);
    assert_int_equal(rc_common_point(a, 3, 30, b, 2, 15), 15);
    assert_int_equal(rc_common_point(a, 3, 30, b, 3, 30), 30);
}

/* Divergence: the follower has a suffix of term 2 past where the leader's
 * term 2 ended (the leader then wrote term 3 entries): they agree only up
 * to the end of the shorter run of term 2. */
static void test_common_point_divergent_suffix(void **state)
{
    (void)state;
    rc_term_start leader[] = {{1, 1}, {2, 10}, {3, 15}};
    rc_term_start follower[] = {{1, 1}, {2, 10}};
    assert_int_equal(rc_common_point(leader, 3, 40, follower, 2, 22), 14);
    /* A follower whose divergent run is of a term the leader never saw. */
    rc_term_start f2[] = {{1, 1}, {4, 8}};
    assert_int_equal(rc_common_point(leader, 3, 40, f2, 2, 30), 7);
}

/* Nothing in common: different first terms, or an empty log. */
static void test_common_point_none(void **state)
{
    (void)state;
    rc_term_start a[] = {{2, 1}};
    rc_term_start b[] = {{3, 1}};
    assert_int_equal(rc_common_point(a, 1, 10, b, 1, 10), 0);
    assert_int_equal(rc_common_point(a, 1, 10, NULL, 0, 0), 0);
}

/* A log that starts at a snapshot base (its first run begins at the base
 * LSN) still agrees with a full log there. */
static void test_common_point_snapshot_base(void **state)
{
    (void)state;
    rc_term_start full[] = {{1, 1}, {2, 50}};
    rc_term_start based[] = {{2, 80}};
    assert_int_equal(rc_common_point(full, 2, 120, based, 1, 100), 100);
}

/* ---- Tests: catch-up ---- */

static void test_catchup_entries_or_snapshot(void **state)
{
    (void)state;
    uint64_t next;
    assert_int_equal(rc_catchup(10, 5, &next), RC_CATCHUP_ENTRIES);
    assert_int_equal(next, 11);
    assert_int_equal(rc_catchup(10, 11, &next), RC_CATCHUP_ENTRIES);
    assert_int_equal(rc_catchup(10, 12, &next), RC_CATCHUP_SNAPSHOT);
    assert_int_equal(rc_catchup(0, 1, &next), RC_CATCHUP_ENTRIES);
    assert_int_equal(rc_catchup(0, 2, &next), RC_CATCHUP_SNAPSHOT);
}

/* ---- Tests: commit ---- */

/* The quorum-th highest match commits, if it is of the current term. */
static void test_commit_point_counts_current_term(void **state)
{
    (void)state;
    for (int i = 0; i < 64; i++)
        fixed_terms[i] = 3;
    uint64_t m[] = {10, 7, 4};
    assert_int_equal(rc_commit_point(m, 3, 2, 0, 3, term_of, NULL), 7);
    assert_int_equal(rc_commit_point(m, 3, 3, 0, 3, term_of, NULL), 4);
    /* Never backwards. */
    assert_int_equal(rc_commit_point(m, 3, 3, 6, 3, term_of, NULL), 6);
    /* Too few members for the quorum: no progress. */
    assert_int_equal(rc_commit_point(m, 2, 3, 1, 3, term_of, NULL), 1);
}

/* Figure 8: LSN 2 (term 2) is on a majority but the leader is in term 4;
 * it does not commit until an entry of term 4 is on a majority, which then
 * commits everything before it too. */
static void test_commit_point_figure8(void **state)
{
    (void)state;
    memset(fixed_terms, 0, sizeof fixed_terms);
    fixed_terms[1] = 1;
    fixed_terms[2] = 2;
    fixed_terms[3] = 4;
    uint64_t before[] = {3, 2, 1, 1, 1};
    assert_int_equal(rc_commit_point(before, 5, 3, 1, 4, term_of, NULL), 1);
    uint64_t spread[] = {3, 2, 2, 1, 1};
    assert_int_equal(rc_commit_point(spread, 5, 3, 1, 4, term_of, NULL), 1);
    uint64_t after[] = {3, 3, 3, 1, 1};
    assert_int_equal(rc_commit_point(after, 5, 3, 1, 4, term_of, NULL), 3);
}

/* ---- Tests: votes and quorums ---- */

static void test_log_up_to_date(void **state)
{
    (void)state;
    assert_true(rc_log_up_to_date(3, 5, 2, 100));  /* higher last term wins */
    assert_false(rc_log_up_to_date(2, 100, 3, 5));
    assert_true(rc_log_up_to_date(3, 10, 3, 10));  /* equal is enough */
    assert_false(rc_log_up_to_date(3, 9, 3, 10));
    assert_true(rc_log_up_to_date(0, 0, 0, 0));
}

static void test_quorums(void **state)
{
    (void)state;
    assert_int_equal(rc_election_quorum(1), 1);
    assert_int_equal(rc_election_quorum(3), 2);
    assert_int_equal(rc_election_quorum(4), 3);
    assert_int_equal(rc_election_quorum(5), 3);
    /* Commits and elections both need a majority: they always meet. */
    for (int n = 1; n <= 9; n++)
        assert_true(rc_commit_quorum(n) + rc_election_quorum(n) > n);
    /* The point durable on k replicas. */
    uint64_t m[] = {9, 4, 7};
    assert_int_equal(rc_replicated_on(m, 3, 0), UINT64_MAX);
    assert_int_equal(rc_replicated_on(m, 3, 1), 9);
    assert_int_equal(rc_replicated_on(m, 3, 2), 7);
    assert_int_equal(rc_replicated_on(m, 3, 3), 4);
    assert_int_equal(rc_replicated_on(m, 3, 4), 0);
}

/* ---- Tests: config encoding ---- */

static void test_config_round_trip_and_rejects(void **state)
{
    (void)state;
    rc_config c;
    memset(&c, 0, sizeof c);
    strcpy(c.cluster_id, "abc");
    c.n = 2;
    strcpy(c.m[0].id, "n1");
    strcpy(c.m[0].peer_addr, "10.0.0.1:17379");
    strcpy(c.m[0].client_addr, "10.0.0.1:7379");
    c.m[0].voter = 1;
    strcpy(c.m[1].id, "n2");
    strcpy(c.m[1].peer_addr, "10.0.0.2:17379");
    uint8_t buf[4096];
    size_t n = rc_config_encode(&c, buf, sizeof buf);
    assert_true(n > 0 && n <= sizeof buf);
    rc_config d;
    assert_int_equal(rc_config_decode(buf, n, &d), 0);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.cluster_id, "abc");
    assert_string_equal(d.m[1].peer_addr, "10.0.0.2:17379");
    assert_int_equal(d.m[0].voter, 1);
    assert_int_equal(d.m[1].voter, 0);
    assert_int_equal(rc_config_find(&d, "n2"), 1);
    assert_int_equal(rc_config_find(&d, "n3"), -1);
    assert_int_equal(rc_config_voters(&d), 1);
    /* A member twice, or garbage, is refused. */
    strcpy(c.m[1].id, "n1");
    n = rc_config_encode(&c, buf, sizeof buf);
    assert_int_equal(rc_config_decode(buf, n, &d), -1);
    uint8_t junk[] = {0xff, 0xff, 0xff};
    assert_int_equal(rc_config_decode(junk, sizeof junk, &d), -1);
    /* Too small a buffer: the size needed comes back. */
    assert_true(rc_config_encode(&c, buf, 4) > 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_point_prefix),
        cmocka_unit_test(test_common_point_divergent_suffix),
        cmocka_unit_test(test_common_point_none),
        cmocka_unit_test(test_common_point_snapshot_base),
        cmocka_unit_test(test_catchup_entries_or_snapshot),
        cmocka_unit_test(test_commit_point_counts_current_term),
        cmocka_unit_test(test_commit_point_figure8),
        cmocka_unit_test(test_log_up_to_date),
        cmocka_unit_test(test_quorums),
        cmocka_unit_test(test_config_round_trip_and_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
