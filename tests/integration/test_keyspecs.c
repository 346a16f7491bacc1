/* test_keyspecs.c — the command table as kvnode and redis-server describe
 * it, for every command and subcommand both have:
 *   - COMMAND INFO's key specifications, element for element (flags,
 *     begin_search, find_keys, notes): what cluster clients and proxies
 *     read to find keys;
 *   - the rest of COMMAND INFO (arity, flags, first/last/step, ACL
 *     categories, tips) and the same for each subcommand;
 *   - COMMAND DOCS (summary, since, group, complexity, doc flags,
 *     deprecation, history, the argument tree) and each subcommand's.
 * Every subcommand redis-server has, kvnode has too. */
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

static int info_compared, info_differ;

/* A COMMAND INFO entry: elements 0-8 as text, then the subcommands both
 * have, matched by name (the order of a container's subcommands is its
 * table's: it differs). */
static void compare_info(const kv_reply *k, const kv_reply *r)
{
    static char tk[65536], tr[65536];
    for (size_t e = 0; e < 9; e++) {
        h_reply_text(k->element[e], tk, sizeof tk);
        h_reply_text(r->element[e], tr, sizeof tr);
        if (strcmp(tk, tr) != 0) {
            info_differ++;
            fprintf(stderr, "COMMAND INFO %s [%zu]: kvnode %s\n  redis-server %s\n",
                    r->element[0]->str, e, tk, tr);
        }
    }
    info_compared++;
    const kv_reply *ks = k->element[9], *rs = r->element[9];
    size_t matched = 0;
    for (size_t i = 0; i < rs->elements; i++) {
        int found = 0;
        for (size_t j = 0; j < ks->elements && !found; j++)
            if (!strcmp(rs->element[i]->element[0]->str, ks->element[j]->element[0]->str)) {
                compare_info(ks->element[j], rs->element[i]);
                found = 1;
            }
        matched += (size_t)found;
        if (!found) {
            info_differ++;
            fprintf(stderr, "COMMAND INFO: kvnode lacks %s\n", rs->element[i]->element[0]->str);
        }
    }
    if (matched != ks->elements) {
        info_differ++;
        fprintf(stderr, "COMMAND INFO %s: kvnode has subcommands redis-server lacks\n",
                r->element[0]->str);
    }
}

static int docs_compared, docs_differ;

/* A COMMAND DOCS map (RESP2: name, value, …): every field as text, in
 * order, and "subcommands" by name. */
static void compare_docs(const char *name, const kv_reply *k, const kv_reply *r)
{
    static char tk[262144], tr[262144];
    docs_compared++;
    if (k->elements != r->elements) {
        docs_differ++;
        h_reply_text(k, tk, sizeof tk);
        h_reply_text(r, tr, sizeof tr);
        fprintf(stderr, "COMMAND DOCS %s: kvnode %.400s\n  redis-server %.400s\n", name, tk, tr);
        return;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *field = r->element[i]->str;
        if (strcmp(field, k->element[i]->str) != 0) {
            docs_differ++;
            fprintf(stderr, "COMMAND DOCS %s: field %s where redis-server has %s\n", name,
                    k->element[i]->str, field);
            continue;
        }
        if (!strcmp(field, "subcommands")) {
            const kv_reply *ks = k->element[i + 1], *rs = r->element[i + 1];
            for (size_t a = 0; a + 1 < rs->elements; a += 2) {
                int found = 0;
                for (size_t b = 0; b + 1 < ks->elements && !found; b += 2)
                    if (!strcmp(rs->element[a]->str, ks->element[b]->str)) {
                        compare_docs(rs->element[a]->str, ks->element[b + 1], rs->element[a + 1]);
                        found = 1;
                    }
                if (!found) {
                    docs_differ++;
                    fprintf(stderr, "COMMAND DOCS: kvnode lacks %s\n", rs->element[a]->str);
                }
            }
            continue;
        }
        h_reply_text(k->element[i + 1], tk, sizeof tk);
        h_reply_text(r->element[i + 1], tr, sizeof tr);
        if (strcmp(tk, tr) != 0) {
            docs_differ++;
            fprintf(stderr, "COMMAND DOCS %s %s: kvnode %.400s\n  redis-server %.400s\n", name,
                    field, tk, tr);
        }
    }
}

static void test_every_command_info_and_docs(void **state)
{
    (void)state;
    kv_reply *list = h_cmd(pr.kc, "COMMAND LIST");
    assert_non_null(list);
    int tops = 0;
    for (size_t i = 0; i < list->elements; i++) {
        const char *name = list->element[i]->str;
        if (strchr(name, '|'))
            continue; /* compared within their container */
        const char *info[3] = {"COMMAND", "INFO", name};
        kv_reply *k = h_cmdv(pr.kc, 3, info, NULL), *r = h_cmdv(pr.rc, 3, info, NULL);
        assert_non_null(k);
        assert_non_null(r);
        if (r->element[0]->type != KV_REPLY_NIL) {
            compare_info(k->element[0], r->element[0]);
            tops++;
        }
        kv_reply_free(k);
        kv_reply_free(r);
        const char *docs[3] = {"COMMAND", "DOCS", name};
        k = h_cmdv(pr.kc, 3, docs, NULL);
        r = h_cmdv(pr.rc, 3, docs, NULL);
        assert_non_null(k);
        assert_non_null(r);
        if (r->elements == 2) {
            assert_int_equal(k->elements, 2);
            compare_docs(name, k->element[1], r->element[1]);
        }
        kv_reply_free(k);
        kv_reply_free(r);
    }
    kv_reply_free(list);
    fprintf(stderr,
            "COMMAND INFO compared: %d entries (%d commands), %d differ; COMMAND DOCS: %d "
            "entries, %d differ\n",
            info_compared, tops, info_differ, docs_compared, docs_differ);
    assert_true(tops > 200);
    assert_true(info_compared > 340);
    assert_true(docs_compared > 340);
    assert_int_equal(info_differ, 0);
    assert_int_equal(docs_differ, 0);
    /* COMMAND COUNT counts the top-level commands; kvnode has every command
     * and subcommand of redis-server's. */
    kv_reply *kcnt = h_cmd(pr.kc, "COMMAND COUNT");
    int ktops = 0, lacks = 0;
    list = h_cmd(pr.kc, "COMMAND LIST");
    for (size_t i = 0; i < list->elements; i++)
        ktops += strchr(list->element[i]->str, '|') == NULL;
    assert_int_equal(kcnt->integer, ktops);
    kv_reply_free(kcnt);
    kv_reply *rlist = h_cmd(pr.rc, "COMMAND LIST");
    for (size_t i = 0; i < rlist->elements; i++) {
        const char *name = rlist->element[i]->str;
        int have = 0;
        for (size_t j = 0; j < list->elements && !have; j++)
            have = !strcmp(list->element[j]->str, name);
        if (!have) {
            lacks++;
            fprintf(stderr, "kvnode lacks %s\n", name);
        }
    }
    assert_int_equal(lacks, 0);
    kv_reply_free(rlist);
    kv_reply_free(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_command_key_specs),
        cmocka_unit_test(test_every_command_info_and_docs),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
