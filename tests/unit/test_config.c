/* test_config.c — the option table: defaults, files, command line, runtime
 * changes and their bounds, REWRITE keeping comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"
#include "wal.h"

/* ---- Helpers ---- */

static const char *get(const kv_config *c, const char *name)
{
    static char buf[1024];
    const cfg_option *o = config_find(name);
    assert_non_null(o);
    config_format(c, o, buf, sizeof buf);
    return buf;
}

static int set1(kv_config *c, const char *name, const char *v, int startup, char *err)
{
    const cfg_option *o = config_find(name);
    assert_non_null(o);
    return config_set(c, o, 1, &v, startup, err, 256);
}

/* ---- Tests ---- */

/* Every option starts at its documented default, readable back. */
static void test_defaults(void **state)
{
    (void)state;
    kv_config c;
    config_init(&c);
    assert_int_equal(c.port, 7379);
    assert_string_equal(c.bind, "127.0.0.1");
    assert_string_equal(c.dir, "./data");
    assert_int_equal(c.appendfsync, WAL_FSYNC_ALWAYS);
    assert_int_equal(c.proto_max_bulk_len, 512LL * 1024 * 1024);
    assert_int_equal(c.protected_mode, 1);
    assert_string_equal(get(&c, "appendfsync"), "always");
    assert_string_equal(get(&c, "client-output-buffer-limit"),
                        "normal 1073741824 0 0 slave 268435456 67108864 60 pubsub 33554432 "
                        "8388608 60");
    assert_string_equal(get(&c, "notify-keyspace-events"), "");
    assert_string_equal(get(&c, "replicaof"), "");
    assert_string_equal(get(&c, "unixsocketperm"), "0");
    config_free(&c);
}

/* A config file with comments, quotes and aliases sets what it says; an
 * error names the file, the line and the reason. */
static void test_file(void **state)
{
    (void)state;
    kv_config c;
    config_init(&c);
    char err[256];
    const char *text = "# comment\n"
                       "port 7400\n"
                       "  bind 127.0.0.1 ::1\n"
                       "requirepass \"se cret\\x21\"\n"
                       "slaveof 10.0.0.1 7379\n"
                       "wal-segment-size 1mb\n"
                       "hash-max-ziplist-entries 64\n"
                       "\n";
    assert_int_equal(config_load_text(&c, text, "t.conf", err, sizeof err), 0);
    assert_int_equal(c.port, 7400);
    assert_string_equal(c.bind, "127.0.0.1 ::1");
    assert_string_equal(c.requirepass, "se cret!");
    assert_string_equal(c.replicaof, "10.0.0.1 7379");
    assert_int_equal(c.wal_segment_size, 1024 * 1024);
    assert_int_equal(c.hash_max_listpack_entries, 64);
    /* redis.conf's form: one client-output-buffer-limit line per class. */
    const char *obuf = "client-output-buffer-limit normal 0 0 0\n"
                       "client-output-buffer-limit replica 256mb 64mb 60\n"
                       "client-output-buffer-limit pubsub 16mb 4mb 30\n"
                       "notify-keyspace-events Ex\n";
    assert_int_equal(config_load_text(&c, obuf, "t.conf", err, sizeof err), 0);
    assert_string_equal(get(&c, "client-output-buffer-limit"),
                        "normal 0 0 0 slave 268435456 67108864 60 pubsub 16777216 4194304 30");
    assert_string_equal(get(&c, "notify-keyspace-events"), "xE");
    assert_int_equal(config_load_text(&c, "port 1\nnosuch 3\n", "t.conf", err, sizeof err), -1);
    assert_non_null(strstr(err, "t.conf:2"));
    assert_non_null(strstr(err, "Bad directive"));
    assert_int_equal(config_load_text(&c, "port 99999\n", "t.conf", err, sizeof err), -1);
    assert_non_null(strstr(err, "between 0 and 65535"));
    assert_int_equal(config_load_text(&c, "dir \"unbalanced\n", "t.conf", err, sizeof err), -1);
    assert_non_null(strstr(err, "Unbalanced"));
    config_free(&c);
}

/* The command line takes a config file then --name value pairs; bad
 * options are reported with their name. */
static void test_args(void **state)
{
    (void)state;
    kv_config c;
    config_init(&c);
    char err[256];
    char *argv[] = {"kvnode", "--port", "7001", "--appendfsync", "everysec", "--bind",
                    "127.0.0.1", "127.0.0.2", "--requirepass", "pw"};
    assert_int_equal(config_parse_args(&c, 10, argv, err, sizeof err), 0);
    assert_int_equal(c.port, 7001);
    assert_int_equal(c.appendfsync, WAL_FSYNC_EVERYSEC);
    assert_string_equal(c.bind, "127.0.0.1 127.0.0.2");
    char *bad[] = {"kvnode", "--appendfsync", "sometimes"};
    assert_int_equal(config_parse_args(&c, 3, bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "appendfsync"));
    assert_non_null(strstr(err, "always, everysec, no"));
    char *unknown[] = {"kvnode", "--portt", "1"};
    assert_int_equal(config_parse_args(&c, 3, unknown, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown option '--portt'"));
    char *novalue[] = {"kvnode", "--port"};
    assert_int_equal(config_parse_args(&c, 2, novalue, err, sizeof err), -1);
    assert_non_null(strstr(err, "'port': wrong number of arguments"));
    /* Redis 7's reading: the argument after an option name is its value
     * even when it starts with "--"; more values run to the next "--". */
    char *two[] = {"kvnode", "--port", "6379", "6380"};
    assert_int_equal(config_parse_args(&c, 4, two, err, sizeof err), -1);
    assert_non_null(strstr(err, "'port \"6379\" \"6380\"': wrong number of arguments"));
    char *dashes[] = {"kvnode", "--port", "--bla", "--loglevel", "verbose"};
    assert_int_equal(config_parse_args(&c, 5, dashes, err, sizeof err), -1);
    assert_non_null(strstr(err, "'port \"--bla\"': argument couldn't be parsed into an integer"));
    char *replica[] = {"kvnode", "--replicaof", "--127.0.0.1", "--abc"};
    assert_int_equal(config_parse_args(&c, 4, replica, err, sizeof err), -1);
    assert_non_null(strstr(err, "'replicaof \"--127.0.0.1\"': wrong number of arguments"));
    config_free(&c);
    /* Name and value in one argument; a value starting with "--"; a bare
     * "--save" before another option or last means save "". */
    config_init(&c);
    char *one[] = {"kvnode", "--maxmemory 700mb", "--proc-title-template", "--my--title",
                   "--save", "--loglevel", "verbose"};
    assert_int_equal(config_parse_args(&c, 7, one, err, sizeof err), 0);
    assert_string_equal(get(&c, "maxmemory"), "734003200");
    assert_string_equal(get(&c, "proc-title-template"), "--my--title");
    assert_string_equal(get(&c, "save"), "");
    assert_string_equal(get(&c, "loglevel"), "verbose");
    config_free(&c);
}

/* CONFIG SET respects types, bounds, units and immutability. */
static void test_runtime_set(void **state)
{
    (void)state;
    kv_config c;
    config_init(&c);
    char err[256];
    assert_int_equal(set1(&c, "maxclients", "50", 0, err), 0);
    assert_int_equal(c.maxclients, 50);
    assert_int_equal(set1(&c, "maxclients", "0", 0, err), -1);
    assert_int_equal(set1(&c, "maxclients", "abc", 0, err), -1);
    assert_int_equal(set1(&c, "peer-port", "7000", 0, err), -1);
    assert_string_equal(err, "can't set immutable config");
    assert_int_equal(set1(&c, "proto-max-bulk-len", "2gb", 0, err), 0);
    assert_int_equal(c.proto_max_bulk_len, 2LL << 30);
    assert_int_equal(set1(&c, "proto-max-bulk-len", "10k", 0, err), -1);
    assert_int_equal(set1(&c, "protected-mode", "maybe", 0, err), -1);
    assert_int_equal(set1(&c, "client-output-buffer-limit", "normal 10mb 5mb 30", 0, err), 0);
    assert_int_equal(c.obuf_hard, 10 << 20);
    assert_int_equal(c.obuf_soft_seconds, 30);
    assert_int_equal(set1(&c, "client-output-buffer-limit", "pubsub 1 1 1", 0, err), 0);
    assert_int_equal(c.obuf_pubsub_hard, 1);
    assert_int_equal(c.obuf_hard, 10 << 20);
    assert_int_equal(set1(&c, "client-output-buffer-limit", "master 1 1 1", 0, err), -1);
    assert_int_equal(set1(&c, "client-output-buffer-limit", "normal 1 1", 0, err), -1);
    assert_int_equal(set1(&c, "slowlog-log-slower-than", "-1", 0, err), 0);
    assert_int_equal(c.slowlog_log_slower_than, -1);
    config_free(&c);
}

/* REWRITE keeps comments and unknown-to-us order, updates values in place
 * and appends changed options that were not in the file. */
static void test_rewrite(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("cfg");
    char path[4200];
    snprintf(path, sizeof path, "%s/kv.conf", dir);
    FILE *f = fopen(path, "w");
    fputs("# my settings\nport 7500\n# keep me\nmaxclients 100\n", f);
    fclose(f);
    kv_config c;
    config_init(&c);
    char err[256];
    assert_int_equal(config_load_file(&c, path, err, sizeof err), 0);
    assert_int_equal(set1(&c, "maxclients", "200", 0, err), 0);
    assert_int_equal(set1(&c, "requirepass", "a b", 0, err), 0);
    assert_int_equal(config_rewrite(&c, NULL, 0, err, sizeof err), 0);
    kv_config d;
    config_init(&d);
    assert_int_equal(config_load_file(&d, path, err, sizeof err), 0);
    assert_int_equal(d.port, 7500);
    assert_int_equal(d.maxclients, 200);
    assert_string_equal(d.requirepass, "a b");
    f = fopen(path, "r");
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    assert_non_null(strstr(text, "# my settings\nport 7500\n# keep me\nmaxclients 200\n"));
    /* force_all (DEBUG CONFIG-REWRITE-FORCE-ALL): every option is written,
     * and the file loads back to the same values. */
    assert_int_equal(config_rewrite(&c, NULL, 1, err, sizeof err), 0);
    kv_config e;
    config_init(&e);
    assert_int_equal(config_load_file(&e, path, err, sizeof err), 0);
    f = fopen(path, "r");
    char *all = malloc(1 << 16);
    n = fread(all, 1, (1 << 16) - 1, f);
    all[n] = '\0';
    fclose(f);
    for (const cfg_option *o = cfg_options; o->name; o++) {
        char a[1024], b[1024], key[128];
        config_format(&c, o, a, sizeof a);
        config_format(&e, o, b, sizeof b);
        assert_string_equal(a, b);
        snprintf(key, sizeof key, "\n%s ", o->name);
        if (!o->hidden && strncmp(all, key + 1, strlen(key + 1)) != 0 && !strstr(all, key))
            fail_msg("option %s not written", o->name);
    }
    free(all);
    config_free(&e);
    config_free(&c);
    config_free(&d);
    tu_rmrf(dir);
    free(dir);
}

/* The shipped sample config (every option, documented) loads cleanly and
 * sets every option to its default. */
static void test_sample_config_loads(void **state)
{
    (void)state;
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/deploy/kvnode.conf", KV_SOURCE_DIR);
    kv_config c, d;
    config_init(&c);
    config_init(&d);
    assert_int_equal(config_load_file(&c, path, err, sizeof err), 0);
    for (const cfg_option *o = cfg_options; o->name; o++) {
        char a[1024], b[1024];
        config_format(&c, o, a, sizeof a);
        config_format(&d, o, b, sizeof b);
        assert_string_equal(a, b);
    }
    config_free(&c);
    config_free(&d);
}

/* save lines as Redis 7 reads them: without one the defaults hold; the
 * first one (file or command line) drops them, each later one appends, an
 * empty one drops all; CONFIG SET replaces. */
static void test_save_lines(void **state)
{
    (void)state;
    char err[256];
    kv_config c;
    config_init(&c);
    assert_string_equal(get(&c, "save"), "3600 1 300 100 60 10000");
    assert_int_equal(config_load_text(&c, "port 7400\n", "t.conf", err, sizeof err), 0);
    assert_string_equal(get(&c, "save"), "3600 1 300 100 60 10000");
    assert_int_equal(config_load_text(&c, "save 900 1\nsave 300 10\n", "t.conf", err, sizeof err),
                     0);
    assert_string_equal(get(&c, "save"), "900 1 300 10");
    assert_int_equal(set1(&c, "save", "10 10", 0, err), 0);
    assert_string_equal(get(&c, "save"), "10 10");
    config_free(&c);

    char path[] = "/tmp/kvtest_saveXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "save 900 1\n", 11), 11);
    close(fd);
    char *append[] = {"kvnode", path, "--save", "100", "100"};
    config_init(&c);
    assert_int_equal(config_parse_args(&c, 5, append, err, sizeof err), 0);
    assert_string_equal(get(&c, "save"), "900 1 100 100");
    config_free(&c);
    char *reset[] = {"kvnode", path, "--save", ""};
    config_init(&c);
    assert_int_equal(config_parse_args(&c, 4, reset, err, sizeof err), 0);
    assert_string_equal(get(&c, "save"), "");
    config_free(&c);
    char *again[] = {"kvnode", path, "--save", "", "--save", "5", "5"};
    config_init(&c);
    assert_int_equal(config_parse_args(&c, 7, again, err, sizeof err), 0);
    assert_string_equal(get(&c, "save"), "5 5");
    config_free(&c);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),      cmocka_unit_test(test_file),
        cmocka_unit_test(test_args),          cmocka_unit_test(test_runtime_set),
        cmocka_unit_test(test_rewrite),
        cmocka_unit_test(test_sample_config_loads),
        cmocka_unit_test(test_save_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
