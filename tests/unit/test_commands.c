/* test_commands.c — the command registry's subcommands: how containers
 * (CLIENT, CONFIG, …) and their "<container>|<sub>" entries are found,
 * listed and checked before a call, and how a container dispatches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mem.h"
#include "server.h"

/* ---- Helpers ---- */

/* Check a call argv (space-separated words) like dispatch does; returns
 * the rc and the reply text in out. */
static int check(const char *line, char *out, size_t len, cmd_stat *stats)
{
    char buf[256], *argv[16];
    size_t lens[16];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *t = strtok(buf, " "); t && argc < 16; t = strtok(NULL, " ")) {
        argv[argc] = t;
        lens[argc++] = strlen(t);
    }
    const kv_command *cmd = command_lookup(argv[0], lens[0]);
    assert_non_null(cmd);
    kbuf b = KBUF_INIT;
    reply r = reply_make(&b, 2);
    int rc = command_check_sub(cmd, argc, (const char *const *)argv, lens, &r, stats);
    snprintf(out, len, "%.*s", (int)kbuf_len(&b), kbuf_len(&b) ? kbuf_data(&b) : "");
    kbuf_free(&b);
    return rc;
}

/* ---- Tests ---- */

/* A subcommand cannot be called by its full name, but COMMAND INFO-style
 * lookups find it in any case; unknown and malformed names find nothing. */
static void test_lookup(void **state)
{
    (void)state;
    commands_init();
    assert_non_null(command_lookup("client", 6));
    assert_non_null(command_lookup("CoNfIg", 6));
    assert_null(command_lookup("client|list", 11));
    const kv_command *cl = command_lookup_full("CLIENT|LIST", 11);
    assert_non_null(cl);
    assert_string_equal(cl->name, "client|list");
    assert_int_equal(cl->arity, -2);
    assert_non_null(command_lookup_full("get", 3));
    assert_null(command_lookup_full("client|list|x", 13));
    assert_null(command_lookup_full("client|", 7));
    assert_null(command_lookup_full("|list", 5));
    const kv_command *ct = command_lookup("client", 6);
    assert_ptr_equal(command_lookup_sub(ct, "SetName", 7),
                     command_lookup_full("client|setname", 14));
    assert_null(command_lookup_sub(ct, "nosuch", 6));
    assert_null(command_lookup_sub(ct, "list|x", 6));
    assert_null(command_lookup_sub(command_lookup("get", 3), "x", 1));
}

/* Containers are known; their subcommands are listed in table order, and
 * a subcommand is never a container itself. */
static void test_containers(void **state)
{
    (void)state;
    commands_init();
    const char *containers[] = {"client", "config", "command", "slowlog"};
    for (size_t i = 0; i < sizeof containers / sizeof *containers; i++) {
        const kv_command *c = command_lookup(containers[i], strlen(containers[i]));
        assert_non_null(c);
        assert_true(command_is_container(c));
        assert_false(command_is_sub(c));
        const kv_command *subs[64];
        int n = command_subs(c, subs, 64);
        assert_true(n >= 2);
        for (int j = 0; j < n; j++) {
            assert_true(command_is_sub(subs[j]));
            assert_false(command_is_container(subs[j]));
            assert_int_equal(strncmp(subs[j]->name, containers[i], strlen(containers[i])), 0);
        }
        /* Fewer slots than subcommands: the count is still whole. */
        assert_int_equal(command_subs(c, subs, 1), n);
    }
    assert_false(command_is_container(command_lookup("get", 3)));
    assert_false(command_is_container(command_lookup("debug", 5)));
    assert_int_equal(command_subs(command_lookup("get", 3), NULL, 0), 0);
    /* Every entry is counted once, subcommands included. */
    int subs = 0, top = 0;
    for (int i = 0; i < command_count(); i++) {
        subs += command_is_sub(command_at(i));
        top += !command_is_sub(command_at(i));
        assert_int_equal(command_index(command_at(i)), i);
        /* The fast per-command table agrees with the subcommand list. */
        assert_int_equal(command_is_container(command_at(i)), command_subs(command_at(i), NULL, 0) > 0);
    }
    assert_true(subs > 10 && top > 10);
    assert_null(command_at(command_count()));
}

/* Before a container call runs or is queued: unknown subcommands and
 * wrong arities get Redis 7's errors; an arity error counts as a rejected
 * call of the subcommand. */
static void test_check_sub(void **state)
{
    (void)state;
    commands_init();
    cmd_stat *stats = kv_calloc((size_t)command_count(), sizeof *stats);
    char out[256];
    assert_int_equal(check("client list", out, sizeof out, stats), 0);
    assert_string_equal(out, "");
    assert_int_equal(check("CLIENT KILL a b c", out, sizeof out, stats), 0);
    assert_int_equal(check("client foo", out, sizeof out, stats), -1);
    assert_string_equal(out, "-ERR unknown subcommand 'foo'. Try CLIENT HELP.\r\n");
    assert_int_equal(check("config nosuch x", out, sizeof out, stats), -1);
    assert_string_equal(out, "-ERR unknown subcommand 'nosuch'. Try CONFIG HELP.\r\n");
    assert_int_equal(check("client id x", out, sizeof out, stats), -1);
    assert_string_equal(out, "-ERR wrong number of arguments for 'client|id' command\r\n");
    assert_int_equal(check("config set timeout", out, sizeof out, stats), -1);
    assert_string_equal(out, "-ERR wrong number of arguments for 'config|set' command\r\n");
    assert_int_equal(check("command getkeys get", out, sizeof out, stats), -1);
    const kv_command *id = command_lookup_full("client|id", 9);
    const kv_command *set = command_lookup_full("config|set", 10);
    assert_int_equal(stats[command_index(id)].rejected, 1);
    assert_int_equal(stats[command_index(set)].rejected, 1);
    assert_int_equal(stats[command_index(id)].calls, 0);
    kv_free(stats);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_check_sub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
