/* test_cmd_types.c — string and key commands on keys that hold a list or
 * a hash (the differential scripts cannot make such keys without list and
 * hash commands): WRONGTYPE where Redis 7.0 answers it, which errors come
 * first, and the commands that work on any type (TYPE, OBJECT, EXPIRE,
 * COPY, RENAME, SET). Expected replies are Redis 7.0.15's, byte for byte.
 *
 * Also OBJECT HELP and the subcommands left out (IDLETIME).
 *
 * Commands run through their table entries on a bare server whose only
 * state is the keyspace, as on replay (no WAL, no client). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "server.h"

/* ---- Fixture ---- */

typedef struct fixture {
    server *s;
    ks *k; /* the server's one database */
    kbuf out;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->s = calloc(1, sizeof *f->s);
    f->k = ks_new();
    f->s->dbs = &f->k;
    f->s->ndbs = 1;
    commands_init();
    kobj *l = ks_add_list(f->k, "l", 1);
    list_push(kobj_list(l), LIST_TAIL, "a", 1);
    list_push(kobj_list(l), LIST_TAIL, "b", 1);
    kobj *h = ks_add_hash(f->k, "h", 1);
    hash_set(kobj_hash(h), "f", 1, "v", 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ks_free(f->k);
    kbuf_free(&f->out);
    free(f->s);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

/* Run a command line (space-separated words, "" for an empty argument)
 * and return its reply as raw RESP2 text, valid until the next call. */
static const char *run(fixture *f, const char *line)
{
    char buf[512], *argv[16];
    size_t lens[16];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *tok = strtok(buf, " "); tok && argc < 16; tok = strtok(NULL, " ")) {
        if (!strcmp(tok, "\"\""))
            tok[0] = '\0';
        argv[argc] = tok;
        lens[argc++] = strlen(tok);
    }
    const kv_command *cmd = command_lookup(argv[0], lens[0]);
    assert_non_null(cmd);
    kbuf_reset(&f->out);
    cmd_ctx c;
    server_ctx_init(&c, f->s, NULL, &f->out, 2);
    c.cmd = cmd;
    c.argc = argc;
    c.argv = (const char *const *)argv;
    c.lens = lens;
    c.now_ms = 1700000000000LL;
    c.replay = 1;
    cmd->proc(&c);
    kbuf_append(&f->out, "", 1);
    return kbuf_data(&f->out);
}

#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
#define NOTINT "-ERR value is not an integer or out of range\r\n"

static void expect(fixture *f, const char *line, const char *want)
{
    const char *got = run(f, line);
    if (strcmp(got, want) != 0)
        fail_msg("%s: got %s, want %s", line, got, want);
}

/* ---- Tests ---- */

/* Every string read and write on a list or hash answers WRONGTYPE and
 * leaves the key alone. */
static void test_string_commands_wrongtype(void **state)
{
    fixture *f = *state;
    static const char *const lines[] = {
        "GET l",           "SET l v GET",      "GETSET l v",       "GETDEL h",
        "GETEX l",         "GETEX l EX 10",    "GETEX h EX abc",   "GETEX l PERSIST",
        "APPEND l x",      "APPEND h \"\"",    "STRLEN l",         "GETRANGE l 0 1",
        "SUBSTR h 0 1",    "SETRANGE l 0 x",   "SETRANGE h 0 \"\"", "INCR l",
        "DECR h",          "INCRBY l 1",       "DECRBY h 1",       "INCRBYFLOAT l 1",
        "INCRBYFLOAT l x", "SET h v IFEQ v",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        expect(f, lines[i], WRONGTYPE);
    expect(f, "TYPE l", "+list\r\n");
    expect(f, "TYPE h", "+hash\r\n");
}

/* Argument errors come before the lookup, as in Redis: a bad number or
 * option is reported even on a key of the wrong type. */
static void test_argument_errors_first(void **state)
{
    fixture *f = *state;
    expect(f, "GETRANGE l a 1", NOTINT);
    expect(f, "SETRANGE l -1 x", "-ERR offset is out of range\r\n");
    expect(f, "SETRANGE l x x", NOTINT);
    expect(f, "INCRBY l x", NOTINT);
    expect(f, "DECRBY h x", NOTINT);
    expect(f, "GETEX l BOGUS", "-ERR syntax error\r\n");
    expect(f, "SET l v EX 0 GET", "-ERR invalid expire time in 'set' command\r\n");
    expect(f, "SETEX l 0 v", "-ERR invalid expire time in 'setex' command\r\n");
}

/* Commands that do not look at the value: MGET's nil for other types,
 * SETNX/MSETNX see the key as existing, SET and MSET replace it. */
static void test_type_blind_commands(void **state)
{
    fixture *f = *state;
    expect(f, "MGET l h", "*2\r\n$-1\r\n$-1\r\n");
    expect(f, "SETNX l v", ":0\r\n");
    expect(f, "MSETNX x 1 h v", ":0\r\n");
    expect(f, "EXISTS x", ":0\r\n");
    expect(f, "SET l v", "+OK\r\n");
    expect(f, "TYPE l", "+string\r\n");
    expect(f, "GET l", "$1\r\nv\r\n");
    expect(f, "MSET h 1", "+OK\r\n");
    expect(f, "TYPE h", "+string\r\n");
    expect(f, "OBJECT ENCODING h", "$3\r\nint\r\n");
}

/* Key commands keep the type: OBJECT, TTLs, COPY (a deep copy) and
 * RENAME of lists and hashes. */
static void test_key_commands_on_containers(void **state)
{
    fixture *f = *state;
    expect(f, "OBJECT ENCODING l", "$9\r\nquicklist\r\n");
    expect(f, "OBJECT ENCODING h", "$8\r\nlistpack\r\n");
    expect(f, "OBJECT REFCOUNT l", ":1\r\n");
    expect(f, "OBJECT REFCOUNT h", ":1\r\n");
    expect(f, "EXPIRE h 100", ":1\r\n");
    expect(f, "TTL h", ":100\r\n");
    expect(f, "PERSIST h", ":1\r\n");
    expect(f, "TTL h", ":-1\r\n");
    expect(f, "COPY l l2", ":1\r\n");
    expect(f, "TYPE l2", "+list\r\n");
    kobj *a = ks_find(f->k, "l", 1), *b = ks_find(f->k, "l2", 2);
    assert_ptr_not_equal(kobj_list(a), kobj_list(b));
    assert_int_equal(list_len(kobj_list(b)), 2);
    expect(f, "RENAME h h2", "+OK\r\n");
    expect(f, "TYPE h2", "+hash\r\n");
    expect(f, "TYPE h", "+none\r\n");
    expect(f, "SCAN 0 TYPE hash COUNT 100", "*2\r\n$1\r\n0\r\n*1\r\n$2\r\nh2\r\n");
    expect(f, "SCAN 0 TYPE LIST MATCH l COUNT 100", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nl\r\n");
    expect(f, "RENAMENX l2 h2", ":0\r\n");
    expect(f, "COPY l h2 REPLACE", ":1\r\n");
    expect(f, "TYPE h2", "+list\r\n");
}

/* OBJECT HELP has Redis's layout (header with the command name as typed,
 * upper-cased; HELP last) and lists exactly the subcommands there are:
 * no IDLETIME, which answers the unknown-subcommand error. */
static void test_object_help(void **state)
{
    fixture *f = *state;
    const char *got = run(f, "object help");
    const char *head = "*12\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
                       "+ENCODING <key>\r\n";
    assert_memory_equal(got, head, strlen(head));
    assert_non_null(strstr(got, "+REFCOUNT <key>\r\n"));
    assert_non_null(strstr(got, "+FREQ <key>\r\n"));
    assert_null(strstr(got, "IDLETIME"));
    const char *tail = "+HELP\r\n+    Prints this help.\r\n";
    assert_string_equal(got + strlen(got) - strlen(tail), tail);
    expect(f, "OBJECT IDLETIME l", "-ERR unknown subcommand 'IDLETIME'. Try OBJECT HELP.\r\n");
    expect(f, "OBJECT HELP x", "-ERR wrong number of arguments for 'object|help' command\r\n");
    expect(f, "OBJECT FREQ l",
           "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
           "note that when switching between policies at runtime LRU and LFU data will take "
           "some time to adjust.\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_string_commands_wrongtype, setup, teardown),
        cmocka_unit_test_setup_teardown(test_argument_errors_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_blind_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_commands_on_containers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_object_help, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
