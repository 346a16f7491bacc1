/* test_keyspecs.c — COMMAND INFO's key specifications of every command
 * and subcommand kvnode and redis-server both have are the same, element
 * for element (flags, begin_search, find_keys, notes): what cluster
 * clients and proxies read to find keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static h_pair pr;

static int group_setup(void **state)
{
    (void)state;
    const char *extra[] = {"--save", "", "--appendfsync", "no", NULL};
    return h_pair_start(&pr, "keyspecs", NULL, extra);
}

static int group_teardown(void **state)
{
    (void)state;
    h_pair_stop(&pr);
    return 0;
}

static int compared, differ;

/* The key specs (element 8) of a COMMAND INFO entry, and those of its
 * subcommands (element 9) that both have. */
static void compare_entry(const kv_reply *k, const kv_reply *r)
{
    assert_int_equal(k->type, KV_REPLY_ARRAY);
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_int_equal(k->elements, 10);
    assert_int_equal(r->elements, 10);
    static char tk[65536], tr[65536];
    h_reply_text(k->element[8], tk, sizeof tk);
    h_reply_text(r->element[8], tr, sizeof tr);
    compared++;
    if (strcmp(tk, tr) != 0) {
        differ++;
        fprintf(stderr, "%s: kvnode %s\n  redis-server %s\n", k->element[0]->str, tk, tr);
    }
    const kv_reply *ks = k->element[9], *rs = r->element[9];
    for (size_t i = 0; i < rs->elements; i++)
        for (size_t j = 0; j < ks->elements; j++)
            if (!strcmp(rs->element[i]->element[0]->str, ks->element[j]->element[0]->str))
                compare_entry(ks->element[j], rs->element[i]);
}

static void test_every_command_key_specs(void **state)
{
    (void)state;
    kv_reply *list = h_cmd(pr.kc, "COMMAND LIST");
    assert_non_null(list);
    assert_true(list->elements > 200);
    int redis_lacks = 0;
    for (size_t i = 0; i < list->elements; i++) {
        const char *argv[3] = {"COMMAND", "INFO", list->element[i]->str};
        kv_reply *k = h_cmdv(pr.kc, 3, argv, NULL), *r = h_cmdv(pr.rc, 3, argv, NULL);
        assert_non_null(k);
        assert_non_null(r);
        assert_int_equal(k->elements, 1);
        if (r->element[0]->type == KV_REPLY_NIL)
            redis_lacks++; /* kvnode's own (KVCLUSTER …) */
        else
            compare_entry(k->element[0], r->element[0]);
        kv_reply_free(k);
        kv_reply_free(r);
    }
    kv_reply_free(list);
    fprintf(stderr, "key specs compared: %d entries, %d differ; %d commands redis-server lacks\n",
            compared, differ, redis_lacks);
    assert_true(compared > 300);
    assert_int_equal(differ, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_command_key_specs),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
