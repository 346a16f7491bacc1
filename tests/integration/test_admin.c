/* test_admin.c — the server/admin commands where a diff against Redis
 * cannot say enough: INFO's fields and how they move, CONFIG with a real
 * config file, CLIENT LIST/KILL across connections, SLOWLOG catching a
 * slow command, snapshots on disk (SAVE/BGSAVE/BGREWRITEAOF/LASTSAVE),
 * DEBUG RELOAD/LOADAOF, SHUTDOWN and what a restart recovers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ---- Fixture ---- */

typedef struct fixture {
    char *tmp;
    char dir[700];
    h_proc node;
    kv_client *c;
} fixture;

static int start_node(fixture *f, const char *const *extra)
{
    if (h_kvnode_start(&f->node, f->dir, extra) != 0)
        return -1;
    f->c = h_connect(f->node.port);
    return f->c ? 0 : -1;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->tmp = h_tmpdir("admin");
    snprintf(f->dir, sizeof f->dir, "%s/data", f->tmp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kv_client_free(f->c);
    h_stop(&f->node, SIGTERM, 10000);
    h_rmrf(f->tmp);
    free(f->tmp);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Run a command that must succeed with a status, and check its text. */
static void ok(kv_client *c, const char *line)
{
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    if (r->type != KV_REPLY_STATUS)
        fprintf(stderr, "%s: %s\n", line, r->str ? r->str : "(not a status)");
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
}

static long long integer(kv_client *c, const char *line)
{
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    if (r->type != KV_REPLY_INTEGER)
        fprintf(stderr, "%s: %s\n", line, r->str ? r->str : "(not an integer)");
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    long long v = r->integer;
    kv_reply_free(r);
    return v;
}

/* The text of a string-like reply (malloc'd). */
static char *text(kv_client *c, const char *line)
{
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    assert_true(r->type == KV_REPLY_STRING || r->type == KV_REPLY_VERB ||
                r->type == KV_REPLY_STATUS);
    char *s = strdup(r->str);
    kv_reply_free(r);
    return s;
}

/* Field `name` of INFO <section> as text into out; 0, or -1 if absent. */
static int info_str(kv_client *c, const char *section, const char *name, char *out, size_t len)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "INFO %s", section);
    char *info = text(c, cmd);
    char key[128];
    snprintf(key, sizeof key, "\r\n%s:", name);
    int rc = -1;
    char *p = strstr(info, key);
    if (!p && !strncmp(info, key + 2, strlen(key + 2)))
        p = info - 2;
    if (p) {
        p += strlen(key);
        size_t n = strcspn(p, "\r\n");
        snprintf(out, len, "%.*s", (int)n, p);
        rc = 0;
    }
    free(info);
    return rc;
}

static long long info_ll(kv_client *c, const char *section, const char *name)
{
    char v[256];
    if (info_str(c, section, name, v, sizeof v) != 0) {
        fprintf(stderr, "INFO %s has no field %s\n", section, name);
        fail();
    }
    return atoll(v);
}

static int count_files(const char *dir, const char *prefix, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name), sl = strlen(suffix);
        if (!strncmp(de->d_name, prefix, strlen(prefix)) && l >= sl &&
            !strcmp(de->d_name + l - sl, suffix))
            n++;
    }
    closedir(d);
    return n;
}

/* Poll INFO until field reaches at least `want` (bounded). */
static long long wait_info_at_least(kv_client *c, const char *section, const char *name,
                                    long long want, int timeout_ms)
{
    long long deadline = h_now_ms() + timeout_ms, v = 0;
    while (h_now_ms() < deadline) {
        v = info_ll(c, section, name);
        if (v >= want)
            return v;
        sleep_ms(20);
    }
    return v;
}

static void digest(kv_client *c, char out[64])
{
    char *d = text(c, "DEBUG DIGEST");
    snprintf(out, 64, "%s", d);
    free(d);
}

/* The node has ended: start it again, and connect anew. */
static void restart_connected(fixture *f)
{
    kv_client_free(f->c);
    f->c = NULL;
    assert_int_equal(h_restart(&f->node), 0);
    f->c = h_connect(f->node.port);
    assert_non_null(f->c);
}

/* Kill the node with SIGKILL and start it again; reconnect. */
static void crash_restart(fixture *f)
{
    h_stop(&f->node, SIGKILL, 10000);
    restart_connected(f);
}

/* ---- Tests ---- */

/* INFO has Redis's sections and fields with sane values, and they move:
 * wal_durable_lsn after a write, the keyspace line, commandstats,
 * connected_clients. */
static void test_info_fields(void **state)
{
    fixture *f = *state;
    assert_int_equal(start_node(f, NULL), 0);
    char v[256];
    assert_int_equal(info_str(f->c, "server", "redis_version", v, sizeof v), 0);
    assert_string_equal(v, "7.0.15");
    assert_int_equal(info_str(f->c, "server", "kvnode_version", v, sizeof v), 0);
    assert_int_equal(info_ll(f->c, "server", "process_id"), f->node.pid);
    assert_int_equal(info_ll(f->c, "server", "tcp_port"), f->node.port);
    assert_int_equal(info_str(f->c, "server", "run_id", v, sizeof v), 0);
    assert_int_equal(strlen(v), 40);
    assert_int_equal(info_str(f->c, "replication", "role", v, sizeof v), 0);
    assert_string_equal(v, "master");
    assert_int_equal(info_str(f->c, "persistence", "wal_status", v, sizeof v), 0);
    assert_string_equal(v, "ok");
    assert_int_equal(info_str(f->c, "persistence", "wal_fsync", v, sizeof v), 0);
    assert_string_equal(v, "always");
    assert_int_equal(info_ll(f->c, "persistence", "aof_enabled"), 1);
    assert_int_equal(info_ll(f->c, "persistence", "loading"), 0);
    assert_true(info_ll(f->c, "memory", "used_memory") > 0);
    assert_true(info_ll(f->c, "memory", "used_memory_rss") > 0);
    assert_true(info_ll(f->c, "memory", "used_memory_peak") >=
                info_ll(f->c, "memory", "used_memory") / 2);
    assert_int_equal(info_ll(f->c, "memory", "maxmemory"), 0);
    assert_int_equal(info_str(f->c, "cpu", "used_cpu_user", v, sizeof v), 0);
    assert_non_null(strchr(v, '.'));

    /* Empty keyspace: the section has no db0 line, as Redis. */
    char *ks = text(f->c, "INFO keyspace");
    assert_string_equal(ks, "# Keyspace\r\n");
    free(ks);

    long long lsn0 = info_ll(f->c, "persistence", "wal_durable_lsn");
    long long cmds0 = info_ll(f->c, "stats", "total_commands_processed");
    ok(f->c, "SET a 1");
    ok(f->c, "SET b 2");
    long long lsn1 = info_ll(f->c, "persistence", "wal_durable_lsn");
    assert_int_equal(lsn1, lsn0 + 2);
    assert_int_equal(info_ll(f->c, "persistence", "wal_last_lsn"), lsn1);
    assert_int_equal(info_ll(f->c, "replication", "master_repl_offset"), lsn1);
    assert_int_equal(info_ll(f->c, "replication", "commit_lsn"), lsn1);
    assert_true(info_ll(f->c, "persistence", "wal_syncs") >= 1);
    assert_true(info_ll(f->c, "persistence", "rdb_changes_since_last_save") >= 2);
    assert_true(info_ll(f->c, "stats", "total_commands_processed") > cmds0);
    ks = text(f->c, "INFO keyspace");
    assert_string_equal(ks, "# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\n");
    free(ks);

    /* Misses and hits. */
    long long hits = info_ll(f->c, "stats", "keyspace_hits");
    long long misses = info_ll(f->c, "stats", "keyspace_misses");
    kv_reply_free(h_cmd(f->c, "GET a"));
    kv_reply_free(h_cmd(f->c, "GET nosuch"));
    assert_int_equal(info_ll(f->c, "stats", "keyspace_hits"), hits + 1);
    assert_int_equal(info_ll(f->c, "stats", "keyspace_misses"), misses + 1);

    /* commandstats: subcommands by their full name, errors counted. */
    integer(f->c, "CLIENT ID");
    kv_reply_free(h_cmd(f->c, "CLIENT ID x"));
    kv_reply_free(h_cmd(f->c, "GET a b"));
    char *cs = text(f->c, "INFO commandstats");
    assert_non_null(strstr(cs, "cmdstat_set:calls=2,"));
    assert_non_null(strstr(cs, "cmdstat_client|id:calls=1,"));
    assert_non_null(strstr(cs, "rejected_calls=1,failed_calls=0\r\n"));
    assert_null(strstr(cs, "cmdstat_client:"));
    free(cs);
    assert_true(info_ll(f->c, "stats", "total_error_replies") >= 2);

    /* connected_clients counts live connections. */
    kv_client *c2 = h_connect(f->node.port);
    assert_non_null(c2);
    kv_reply_free(h_cmd(c2, "PING")); /* accepted for sure */
    assert_int_equal(info_ll(f->c, "clients", "connected_clients"), 2);
    kv_client_free(c2);
    long long deadline = h_now_ms() + 5000;
    while (info_ll(f->c, "clients", "connected_clients") != 1 && h_now_ms() < deadline)
        sleep_ms(10);
    assert_int_equal(info_ll(f->c, "clients", "connected_clients"), 1);

    /* Sections: default has no commandstats, all has; unknown is empty. */
    char *def = text(f->c, "INFO");
    assert_non_null(strstr(def, "# Server\r\n"));
    assert_non_null(strstr(def, "\r\n\r\n# Persistence\r\n"));
    assert_null(strstr(def, "# Commandstats"));
    free(def);
    char *all = text(f->c, "INFO all");
    assert_non_null(strstr(all, "# Commandstats\r\n"));
    free(all);
    char *none = text(f->c, "INFO nosuchsection");
    assert_string_equal(none, "");
    free(none);

    /* CONFIG RESETSTAT zeroes counters and command stats. */
    ok(f->c, "CONFIG RESETSTAT");
    assert_int_equal(info_ll(f->c, "stats", "keyspace_hits"), 0);
    cs = text(f->c, "INFO commandstats");
    assert_null(strstr(cs, "cmdstat_set:"));
    free(cs);

    /* RESP3: a verbatim string. */
    kv_reply_free(h_cmd(f->c, "HELLO 3"));
    kv_reply *r = h_cmd(f->c, "INFO server");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_VERB);
    assert_string_equal(r->vtype, "txt");
    kv_reply_free(r);
}

/* After a crash, INFO persistence reports what recovery did: entries
 * replayed from the WAL, then (after a SAVE) the snapshot it loaded. (A
 * leader's first entry in each term is a no-op: the 10 SETs follow one.) */
static void test_recovery_info(void **state)
{
    fixture *f = *state;
    assert_int_equal(start_node(f, NULL), 0);
    for (int i = 0; i < 10; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "SET k%d v%d", i, i);
        ok(f->c, cmd);
    }
    long long logged = info_ll(f->c, "persistence", "wal_last_lsn");
    assert_int_equal(logged, 11);
    crash_restart(f);
    assert_int_equal(info_ll(f->c, "persistence", "recovery_entries_replayed"), logged);
    assert_true(info_ll(f->c, "persistence", "recovery_segments_scanned") >= 1);
    assert_int_equal(info_ll(f->c, "persistence", "recovery_snapshot_lsn"), 0);
    assert_int_equal(info_ll(f->c, "persistence", "recovery_bytes_truncated"), 0);
    /* The restarted leader logged the no-op of its new term. */
    assert_int_equal(info_ll(f->c, "persistence", "wal_last_lsn"), logged + 1);

    ok(f->c, "SAVE");
    assert_int_equal(info_ll(f->c, "persistence", "snapshot_last_lsn"), logged + 1);
    ok(f->c, "SET after-save 1");
    ok(f->c, "SET after-save 2");
    crash_restart(f);
    assert_int_equal(info_ll(f->c, "persistence", "recovery_snapshot_lsn"), logged + 1);
    assert_int_equal(info_ll(f->c, "persistence", "recovery_snapshot_keys"), 10);
    assert_int_equal(info_ll(f->c, "persistence", "recovery_entries_replayed"), 2);
    assert_int_equal(info_ll(f->c, "persistence", "recovery_broken_snapshots"), 0);
    assert_int_equal(integer(f->c, "DBSIZE"), 11);
}

/* Start the fixture's node from the config file conf alone (it must be
 * kvnode's first argument), on port; f->c connected. */
static h_proc *start_from_file(fixture *f, const char *conf, int port)
{
    h_proc *p = &f->node;
    memset(p, 0, sizeof *p);
    p->port = port;
    snprintf(p->dir, sizeof p->dir, "%s", f->dir);
    snprintf(p->log, sizeof p->log, "%s/kvnode.log", f->tmp);
    const char *args[] = {h_kvnode_bin(), conf, NULL};
    h_set_args(p, args);
    assert_int_equal(h_restart(p), 0);
    f->c = h_connect(port);
    assert_non_null(f->c);
    return p;
}

/* CONFIG SET / GET / REWRITE with a config file: the file keeps its
 * comments, gets the new values, and a restart comes up with them. */
static void test_config_rewrite(void **state)
{
    fixture *f = *state;
    char conf[800];
    snprintf(conf, sizeof conf, "%s/kvnode.conf", f->tmp);
    int port = h_free_port();
    FILE *fp = fopen(conf, "w");
    assert_non_null(fp);
    fprintf(fp,
            "# a comment that must survive\n"
            "port %d\n"
            "dir %s\n"
            "timeout 0\n"
            "\n"
            "# another comment\n"
            "loglevel notice\n",
            port, f->dir);
    fclose(fp);
    start_from_file(f, conf, port);

    char v[256];
    assert_int_equal(info_str(f->c, "server", "config_file", v, sizeof v), 0);
    assert_non_null(strstr(v, "kvnode.conf"));
    ok(f->c, "CONFIG SET timeout 42 slowlog-max-len 7 loglevel verbose");
    kv_reply *r = h_cmd(f->c, "CONFIG GET timeout");
    assert_non_null(r);
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[1]->str, "42");
    kv_reply_free(r);
    /* A failed SET changes nothing. */
    r = h_cmd(f->c, "CONFIG SET timeout 50 slowlog-max-len nope");
    assert_int_equal(r->type, KV_REPLY_ERROR);
    kv_reply_free(r);
    r = h_cmd(f->c, "CONFIG GET timeout");
    assert_string_equal(r->element[1]->str, "42");
    kv_reply_free(r);
    /* An option kvnode cannot change while running, set to the value it
     * has (as tools re-apply whole configs): OK, nothing changes; another
     * value, or any value of one Redis never changes at runtime, is
     * refused. */
    char line[128];
    snprintf(line, sizeof line, "CONFIG SET port %d wal-segment-size 16mb timeout 41", port);
    ok(f->c, line);
    r = h_cmd(f->c, "CONFIG GET timeout");
    assert_string_equal(r->element[1]->str, "41");
    kv_reply_free(r);
    ok(f->c, "CONFIG SET timeout 42");
    snprintf(line, sizeof line, "CONFIG SET timeout 44 peer-port %d", port + 1);
    r = h_cmd(f->c, line);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_non_null(strstr(r->str, "'peer-port') - can't set immutable config"));
    kv_reply_free(r);
    r = h_cmd(f->c, "CONFIG SET databases 16");
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_non_null(strstr(r->str, "'databases') - can't set immutable config"));
    kv_reply_free(r);
    r = h_cmd(f->c, "CONFIG GET timeout");
    assert_string_equal(r->element[1]->str, "42");
    kv_reply_free(r);

    ok(f->c, "CONFIG REWRITE");
    fp = fopen(conf, "r");
    assert_non_null(fp);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    assert_non_null(strstr(buf, "# a comment that must survive\n"));
    assert_non_null(strstr(buf, "# another comment\n"));
    assert_non_null(strstr(buf, "\ntimeout 42\n"));
    assert_non_null(strstr(buf, "\nloglevel verbose\n"));
    assert_non_null(strstr(buf, "slowlog-max-len 7\n"));
    assert_null(strstr(buf, "timeout 0"));

    /* A clean restart reads the rewritten file. */
    kv_client_free(f->c);
    f->c = NULL;
    assert_int_equal(WEXITSTATUS(h_stop(&f->node, SIGTERM, 10000)), 0);
    assert_int_equal(h_restart(&f->node), 0);
    f->c = h_connect(port);
    assert_non_null(f->c);
    r = h_cmd(f->c, "CONFIG GET slowlog-max-len");
    assert_string_equal(r->element[1]->str, "7");
    kv_reply_free(r);
    r = h_cmd(f->c, "CONFIG GET timeout");
    assert_string_equal(r->element[1]->str, "42");
    kv_reply_free(r);
}

/* CONFIG SET proto-max-bulk-len applies to connections already open: a
 * bulk over the new limit is a protocol error. */
/* The string of a reply (error or status) equals want. */
static void says(kv_client *c, const char *line, const char *want)
{
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    assert_non_null(r->str);
    if (strcmp(r->str, want))
        fprintf(stderr, "%s: %s\n", line, r->str);
    assert_string_equal(r->str, want);
    kv_reply_free(r);
}

static int read_oom_adj(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/oom_score_adj", (int)pid);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    int v = 0;
    assert_int_equal(fscanf(fp, "%d", &v), 1);
    fclose(fp);
    return v;
}

/* A node starts from a redis.conf holding every Redis 7.0 option kvnode
 * only records or honours its own way, with redis.conf's values (among
 * them appendonly no and an optional "-::1" bind address), and keeps
 * every write in its WAL: after kill -9 the data is back. DEBUG and
 * MODULE LOAD follow enable-debug-command / enable-module-command (here
 * local and yes), and oom-score-adj writes the primary's value to
 * /proc/<pid>/oom_score_adj. */
static void test_redis_conf_options(void **state)
{
    fixture *f = *state;
    char conf[800];
    snprintf(conf, sizeof conf, "%s/redis.conf", f->tmp);
    int port = h_free_port();
    FILE *fp = fopen(conf, "w");
    assert_non_null(fp);
    fprintf(fp,
            "bind 127.0.0.1 -::1\nport %d\ndir %s\npeer-port %d\n"
            "always-show-logo no\nset-proc-title yes\n"
            "proc-title-template \"{title} {listen-addr} {server-mode}\"\n"
            "stop-writes-on-bgsave-error yes\nrdbcompression yes\nrdbchecksum yes\n"
            "dbfilename dump.rdb\nrdb-del-sync-files no\nreplica-serve-stale-data yes\n"
            "replica-read-only yes\nrepl-diskless-sync yes\nrepl-diskless-sync-delay 5\n"
            "repl-diskless-sync-max-replicas 0\nrepl-diskless-load disabled\n"
            "repl-disable-tcp-nodelay no\nreplica-priority 100\nacllog-max-len 128\n"
            "oom-score-adj absolute\noom-score-adj-values 7 200 800\ndisable-thp yes\n"
            "appendonly no\nappendfilename \"appendonly.aof\"\n"
            "appenddirname \"appendonlydir\"\nappendfsync everysec\n"
            "no-appendfsync-on-rewrite no\nauto-aof-rewrite-percentage 100\n"
            "auto-aof-rewrite-min-size 64mb\naof-load-truncated yes\n"
            "aof-use-rdb-preamble yes\naof-timestamp-enabled no\n"
            "aof-rewrite-incremental-fsync yes\nrdb-save-incremental-fsync yes\n"
            "aof-disable-auto-gc no\njemalloc-bg-thread yes\nactiverehashing yes\n"
            "dynamic-hz yes\npropagation-error-behavior ignore\n"
            "enable-protected-configs no\nenable-debug-command local\n"
            "enable-module-command yes\n",
            port, f->dir, h_free_port());
    fclose(fp);
    h_proc *p = start_from_file(f, conf, port);

    /* Recorded as set; the WAL stays on. */
    kv_reply *r = h_cmd(f->c, "CONFIG GET appendonly");
    assert_string_equal(r->element[1]->str, "no");
    kv_reply_free(r);
    assert_int_equal(info_ll(f->c, "persistence", "aof_enabled"), 1);
    ok(f->c, "SET k v");
    ok(f->c, "CONFIG SET appendonly yes");
    ok(f->c, "CONFIG SET appendonly no");
    says(f->c, "CONFIG SET replica-read-only no",
         "ERR CONFIG SET failed (possibly related to argument 'replica-read-only') - kvnode "
         "replicas are always read-only");

    /* enable-debug-command local: this client is on the loopback. */
    r = h_cmd(f->c, "DEBUG DIGEST");
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    says(f->c, "MODULE LOAD /nonexistent/module.so",
         "ERR Error loading the extension. Please check the server logs.");
    says(f->c, "MODULE UNLOAD nosuch", "ERR Error unloading module: no such module with that name");
    assert_true(h_log_has(p, "Module /nonexistent/module.so failed to load"));

    /* oom-score-adj absolute: the primary's value; relative: added to the
     * starting value; no: the starting value again. */
    int base = read_oom_adj(getpid()); /* inherited by the node */
    assert_int_equal(read_oom_adj(p->pid), 7);
    const char *set_values[] = {"CONFIG", "SET", "oom-score-adj-values", "11 200 800"};
    size_t lens[] = {6, 3, 20, 10};
    r = h_cmdv(f->c, 4, set_values, lens);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    assert_int_equal(read_oom_adj(p->pid), 11);
    ok(f->c, "CONFIG SET oom-score-adj relative");
    assert_int_equal(read_oom_adj(p->pid), base + 11 > 1000 ? 1000 : base + 11);
    ok(f->c, "CONFIG SET oom-score-adj no");
    assert_int_equal(read_oom_adj(p->pid), base);

    /* Every write is in the WAL whatever appendonly says. */
    ok(f->c, "SET k2 v2");
    kv_client_free(f->c);
    f->c = NULL;
    h_stop(p, SIGKILL, 10000);
    assert_int_equal(h_restart(p), 0);
    f->c = h_connect(port);
    assert_non_null(f->c);
    assert_int_equal(integer(f->c, "DBSIZE"), 2);
}

/* DEBUG and MODULE LOAD are refused under Redis's defaults (enable-debug-
 * command and enable-module-command no), with Redis's words, and before
 * authentication; protected options (dbfilename) need
 * enable-protected-configs. */
static void test_protected_commands(void **state)
{
    fixture *f = *state;
    const char *extra[] = {"--enable-debug-command", "no", "--requirepass", "pw", NULL};
    assert_int_equal(start_node(f, extra), 0);
    says(f->c, "DEBUG DIGEST",
         "ERR DEBUG command not allowed. If the enable-debug-command option is set to "
         "\"local\", you can run it from a local connection, otherwise you need to set this "
         "option in the configuration file, and then restart the server.");
    ok(f->c, "AUTH pw");
    says(f->c, "DEBUG SLEEP 0",
         "ERR DEBUG command not allowed. If the enable-debug-command option is set to "
         "\"local\", you can run it from a local connection, otherwise you need to set this "
         "option in the configuration file, and then restart the server.");
    says(f->c, "MODULE LOAD /x.so",
         "ERR MODULE command not allowed. If the enable-module-command option is set to "
         "\"local\", you can run it from a local connection, otherwise you need to set this "
         "option in the configuration file, and then restart the server.");
    says(f->c, "CONFIG SET dbfilename other.rdb",
         "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set "
         "protected config");
    says(f->c, "CONFIG SET enable-debug-command yes",
         "ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't "
         "set immutable config");
    kv_reply *r = h_cmd(f->c, "MODULE LIST");
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    kv_reply_free(r);
}

static void test_config_applies_to_clients(void **state)
{
    fixture *f = *state;
    assert_int_equal(start_node(f, NULL), 0);
    kv_client *other = h_connect(f->node.port);
    assert_non_null(other);
    ok(f->c, "CONFIG SET proto-max-bulk-len 1mb");
    size_t big = 2u << 20;
    char *val = malloc(big);
    memset(val, 'x', big);
    const char *argv[3] = {"SET", "big", val};
    size_t lens[3] = {3, 3, big};
    kv_reply *r = h_cmdv(other, 3, argv, lens);
    /* Either the error reply arrives, or the connection is already gone. */
    if (r) {
        assert_int_equal(r->type, KV_REPLY_ERROR);
        assert_non_null(strstr(r->str, "Protocol error"));
        kv_reply_free(r);
    }
    free(val);
    kv_client_free(other);
    assert_int_equal(integer(f->c, "EXISTS big"), 0);
    ok(f->c, "CONFIG SET proto-max-bulk-len 512mb");
}

/* Can a client connect to port (and get PONG)? */
static int answers_on(int port)
{
    kv_client *c = h_connect(port);
    if (!c)
        return 0;
    kv_reply *r = h_cmd(c, "PING");
    int ok = r && r->type == KV_REPLY_STATUS && !strcmp(r->str, "PONG");
    kv_reply_free(r);
    kv_client_free(c);
    return ok;
}

static void expect_error(kv_client *c, const char *line, const char *want)
{
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_string_equal(r->str, want);
    kv_reply_free(r);
}

/* CONFIG SET port / bind, as Redis's networking and introspection units:
 * the listener moves (connections already open stay); a port in use or a
 * bad address fails with Redis's errors, every value of the same CONFIG SET
 * goes back and the node still listens where it did; peer-port is pinned
 * to what the node started with. */
static void test_config_set_port_and_bind(void **state)
{
    fixture *f = *state;
    assert_int_equal(start_node(f, NULL), 0);
    int p0 = f->node.port, p1 = h_free_port();
    char line[128];
    snprintf(line, sizeof line, "CONFIG SET port %d", p1);
    ok(f->c, line);
    assert_true(answers_on(p1));
    assert_false(answers_on(p0));
    f->node.port = p1;
    kv_reply *r = h_cmd(f->c, "CONFIG GET peer-port"); /* the old connection stays */
    assert_non_null(r);
    assert_int_equal(atoi(r->element[1]->str), p0 + 10000);
    kv_reply_free(r);
    /* A port some other socket holds. */
    int holder = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int p2 = h_free_port();
    sa.sin_port = htons((uint16_t)p2);
    assert_int_equal(bind(holder, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(holder, 1), 0);
    snprintf(line, sizeof line, "CONFIG SET maxmemory 10000001 port %d client-query-buffer-limit 10mb",
             p2);
    expect_error(f->c, line,
                 "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen "
                 "on this port. Check server logs.");
    close(holder);
    r = h_cmd(f->c, "CONFIG GET maxmemory");
    assert_string_equal(r->element[1]->str, "0");
    kv_reply_free(r);
    r = h_cmd(f->c, "CONFIG GET client-query-buffer-limit");
    assert_string_equal(r->element[1]->str, "1073741824");
    kv_reply_free(r);
    assert_true(answers_on(p1));
    expect_error(f->c, "CONFIG SET bind 999.999.999.999",
                 "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to "
                 "specified addresses.");
    assert_true(answers_on(p1));
    r = h_cmd(f->c, "CONFIG GET bind");
    assert_string_equal(r->element[1]->str, "127.0.0.1");
    kv_reply_free(r);
    /* Two addresses, one of them the current: the listener closes first. */
    const char *two[] = {"CONFIG", "SET", "bind", "127.0.0.1 -::1"};
    r = h_cmdv(f->c, 4, two, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    assert_true(answers_on(p1));
    ok(f->c, "CONFIG SET bind 127.0.0.1");
    assert_true(answers_on(p1));
}

/* CLIENT LIST's rbs of the connection named `name`, -1 if none. */
static long long rbs_of(kv_client *c, const char *name)
{
    kv_reply *r = h_cmd(c, "CLIENT LIST");
    assert_non_null(r);
    char want[64];
    snprintf(want, sizeof want, " name=%s ", name);
    long long v = -1;
    for (char *line = r->str; line && *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        const char *rbs = strstr(line, " rbs=");
        if (strstr(line, want) && rbs)
            v = atoll(rbs + 5);
        line = end ? end + 1 : NULL;
    }
    kv_reply_free(r);
    return v;
}

typedef struct rbs_want {
    kv_client *admin, *tc;
    long long lo, hi;
    int get; /* GET bigval on tc at each poll */
} rbs_want;

static int rbs_within(void *arg)
{
    rbs_want *w = arg;
    if (w->get) {
        kv_reply *r = h_cmd(w->tc, "GET bigval");
        assert_non_null(r);
        kv_reply_free(r);
    }
    long long v = rbs_of(w->admin, "test_client");
    return v >= w->lo && v < w->hi;
}

/* Redis 7's reply buffer resizing (its replybufsize unit): an idle
 * connection's reply buffer shrinks to 1 KB; one that keeps filling it
 * with big replies doubles it back up to 16 KB. */
static void test_reply_buffer_resizing(void **state)
{
    fixture *f = *state;
    const char *extra[] = {"--enable-debug-command", "yes", NULL};
    assert_int_equal(start_node(f, extra), 0);
    ok(f->c, "DEBUG REPLYBUFFER peak-reset-time 100");
    kv_client *tc = h_connect(f->node.port);
    assert_non_null(tc);
    ok(tc, "CLIENT SETNAME test_client");
    assert_int_equal(rbs_of(f->c, "test_client"), 16384);
    rbs_want w = {f->c, tc, 1024, 2046, 0};
    assert_true(h_wait_until(rbs_within, &w, 5000));
    char *big = malloc(32769);
    memset(big, 'x', 32768);
    big[32768] = '\0';
    const char *set[] = {"SET", "bigval", big};
    kv_reply *r = h_cmdv(f->c, 3, set, NULL);
    assert_non_null(r);
    kv_reply_free(r);
    free(big);
    ok(f->c, "DEBUG REPLYBUFFER peak-reset-time never");
    w = (rbs_want){f->c, tc, 16384, 32768, 1};
    assert_true(h_wait_until(rbs_within, &w, 5000));
    assert_true(h_info_num(f->c, "stats", "reply_buffer_shrinks") >= 1);
    assert_true(h_info_num(f->c, "stats", "reply_buffer_expands") >= 4);
    ok(f->c, "DEBUG REPLYBUFFER peak-reset-time reset");
    kv_client_free(tc);
}

/* Redis's repl-backlog-size is a second name of repl-retention-bytes: set
 * through either (with other configs in one CONFIG SET, as Redis's own
 * test does), read back under both; a bad value names the one used. */
static void test_config_second_alias(void **state)
{
    fixture *f = *state;
    assert_int_equal(start_node(f, NULL), 0);
    const char *set[8] = {"CONFIG", "SET", "maxmemory", "10000001", "repl-backlog-size",
                          "10000002", "save", "3000 5"};
    kv_reply *r = h_cmdv(f->c, 8, set, NULL);
    assert_true(r && r->type == KV_REPLY_STATUS);
    kv_reply_free(r);
    const char *names[2] = {"repl-backlog-size", "repl-retention-bytes"};
    for (int i = 0; i < 2; i++) {
        char line[64];
        snprintf(line, sizeof line, "CONFIG GET %s", names[i]);
        r = h_cmd(f->c, line);
        assert_true(r && r->type == KV_REPLY_ARRAY && r->elements == 2);
        assert_string_equal(r->element[0]->str, names[i]);
        assert_string_equal(r->element[1]->str, "10000002");
        kv_reply_free(r);
    }
    r = h_cmd(f->c, "CONFIG GET repl-*");
    assert_true(r && r->type == KV_REPLY_ARRAY);
    int seen = 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        seen += !strcmp(r->element[i]->str, "repl-backlog-size") ||
                !strcmp(r->element[i]->str, "repl-retention-bytes");
    assert_int_equal(seen, 2);
    kv_reply_free(r);
    r = h_cmd(f->c, "CONFIG SET repl-backlog-size -5");
    assert_true(r && r->type == KV_REPLY_ERROR);
    assert_string_equal(r->str, "ERR CONFIG SET failed (possibly related to argument "
                                "'repl-backlog-size') - argument must be a memory value");
    kv_reply_free(r);
    /* min-replicas-ack's Redis names, all three the same setting. */
    ok(f->c, "CONFIG SET min-slaves-to-write 2");
    const char *mins[3] = {"min-replicas-ack", "min-replicas-to-write", "min-slaves-to-write"};
    for (int i = 0; i < 3; i++) {
        char line[64];
        snprintf(line, sizeof line, "CONFIG GET %s", mins[i]);
        r = h_cmd(f->c, line);
        assert_true(r && r->type == KV_REPLY_ARRAY && r->elements == 2);
        assert_string_equal(r->element[0]->str, mins[i]);
        assert_string_equal(r->element[1]->str, "2");
        kv_reply_free(r);
    }
    r = h_cmd(f->c, "CONFIG GET min-*-write");
    assert_true(r && r->type == KV_REPLY_ARRAY && r->elements == 4);
    kv_reply_free(r);
    r = h_cmd(f->c, "CONFIG SET min-slaves-to-write x");
    assert_true(r && r->type == KV_REPLY_ERROR);
    assert_non_null(strstr(r->str, "'min-slaves-to-write'"));
    kv_reply_free(r);
    ok(f->c, "CONFIG SET min-replicas-to-write 0");
}

/* The idle= field of the client with this CLIENT ID in CLIENT LIST, as
 * seen from c, or -1. */
static long long client_idle(kv_client *c, long long id)
{
    char *list = text(c, "CLIENT LIST");
    char want[64];
    snprintf(want, sizeof want, "id=%lld ", id);
    char *line = strstr(list, want);
    char *idle = line ? strstr(line, " idle=") : NULL;
    long long v = idle ? atoll(idle + 6) : -1;
    free(list);
    return v;
}

typedef struct idle_wait {
    kv_client *c;
    long long id;
    long long at_least;
} idle_wait;

static int idle_reached(void *arg)
{
    idle_wait *w = arg;
    return client_idle(w->c, w->id) >= w->at_least;
}

/* A connection with nothing in flight is closed once idle past `timeout`
 * seconds; one that keeps talking is not. CLIENT LIST's idle= counts the
 * seconds since a client last sent anything. */
static void test_idle_timeout(void **state)
{
    fixture *f = *state;
    const char *extra[] = {"--timeout", "2", NULL};
    assert_int_equal(start_node(f, extra), 0);
    int quiet = h_raw_connect(f->node.port);
    assert_true(quiet >= 0);
    const char ping[] = "*1\r\n$4\r\nPING\r\n";
    char line[256];
    assert_int_equal(h_raw_send(quiet, ping, sizeof ping - 1), 0);
    assert_int_equal(h_raw_line(quiet, line, sizeof line, 2000), 0);
    assert_string_equal(line, "+PONG");
    kv_client *busy = h_connect(f->node.port);
    assert_non_null(busy);
    /* The quiet one shows idle >= 1 while the busy one asks. */
    char *list = text(busy, "CLIENT LIST");
    long long ids[4];
    int n = 0;
    for (char *p = list; p && *p && n < 4; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, "id=", 3) == 0)
            ids[n++] = atoll(p + 3);
    free(list);
    assert_int_equal(n, 3); /* f->c, quiet, busy, oldest first */
    idle_wait w = {busy, ids[1], 1};
    assert_true(h_wait_until(idle_reached, &w, 5000));
    assert_true(client_idle(busy, ids[2]) == 0);
    /* The quiet one is closed within the timeout plus the cron's period;
     * the busy one, asking every few hundred ms, is kept. */
    int closed = 0;
    for (int i = 0; i < 40 && !closed; i++) {
        long long one = integer(busy, "EXISTS nothing");
        assert_int_equal(one, 0);
        closed = h_raw_line(quiet, line, sizeof line, 200) != 0 && client_idle(busy, ids[1]) < 0;
    }
    assert_true(closed);
    assert_int_equal(integer(busy, "EXISTS nothing"), 0);
    assert_true(client_idle(busy, ids[2]) == 0);
    close(quiet);
    kv_client_free(busy);
}

/* CLIENT LIST shows every connection with its name and current command;
 * CLIENT KILL closes another connection, and a client that kills itself
 * still gets its reply first. */
static void test_client_list_kill(void **state)
{
    fixture *f = *state;
    assert_int_equal(start_node(f, NULL), 0);
    kv_client *a = h_connect(f->node.port);
    kv_client *b = h_connect(f->node.port);
    assert_non_null(a);
    assert_non_null(b);
    ok(a, "CLIENT SETNAME alpha");
    long long ida = integer(a, "CLIENT ID");
    long long idb = integer(b, "CLIENT ID");
    assert_true(idb > ida);

    char *list = text(b, "CLIENT LIST");
    int lines = 0;
    for (char *p = list; (p = strchr(p, '\n')); p++)
        lines++;
    assert_int_equal(lines, 3);
    char want[128];
    snprintf(want, sizeof want, "id=%lld ", ida);
    char *la = strstr(list, want);
    assert_non_null(la);
    assert_true(la < strstr(list, "cmd=client|list")); /* oldest first */
    assert_non_null(strstr(list, "name=alpha "));
    assert_non_null(strstr(la, "cmd=client|id "));
    free(list);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "CLIENT LIST ID %lld 999999", ida);
    list = text(b, cmd);
    assert_non_null(strstr(list, "name=alpha"));
    assert_non_null(strstr(list, want));
    assert_null(strchr(strchr(list, '\n') + 1, '\n'));
    free(list);

    char *info = text(a, "CLIENT INFO");
    assert_non_null(strstr(info, want));
    assert_non_null(strstr(info, "cmd=client|info "));
    free(info);

    /* B kills A by id. */
    snprintf(cmd, sizeof cmd, "CLIENT KILL ID %lld", ida);
    assert_int_equal(integer(b, cmd), 1);
    kv_reply *r = h_cmd(a, "PING");
    assert_null(r);
    kv_client_free(a);

    /* The old form by address. */
    kv_client *c = h_connect(f->node.port);
    assert_non_null(c);
    char *ci = text(c, "CLIENT INFO");
    char addr[80];
    assert_int_equal(sscanf(strstr(ci, " addr=") + 6, "%79s", addr), 1);
    free(ci);
    snprintf(cmd, sizeof cmd, "CLIENT KILL %s", addr);
    ok(b, cmd);
    r = h_cmd(c, "PING");
    assert_null(r);
    kv_client_free(c);

    /* B kills itself: the reply comes, then the connection closes. */
    char *bi = text(b, "CLIENT INFO");
    assert_int_equal(sscanf(strstr(bi, " addr=") + 6, "%79s", addr), 1);
    free(bi);
    snprintf(cmd, sizeof cmd, "CLIENT KILL ADDR %s SKIPME no", addr);
    assert_int_equal(integer(b, cmd), 1);
    r = h_cmd(b, "PING");
    assert_null(r);
    kv_client_free(b);

    /* With SKIPME yes (the default) the caller survives. */
    snprintf(cmd, sizeof cmd, "CLIENT KILL TYPE normal");
    assert_int_equal(integer(f->c, cmd), 0);
    ok(f->c, "PING");
}

/* SLOWLOG catches a DEBUG SLEEP with its arguments, duration, client
 * address and name; long arguments are cut as Redis cuts them. */
static void test_slowlog(void **state)
{
    fixture *f = *state;
    assert_int_equal(start_node(f, NULL), 0);
    ok(f->c, "SLOWLOG RESET");
    ok(f->c, "CONFIG SET slowlog-log-slower-than 100000");
    ok(f->c, "CLIENT SETNAME sleeper");
    ok(f->c, "SET fast 1");
    ok(f->c, "DEBUG SLEEP 0.2");
    assert_int_equal(integer(f->c, "SLOWLOG LEN"), 1);
    kv_reply *r = h_cmd(f->c, "SLOWLOG GET");
    assert_non_null(r);
    assert_int_equal(r->elements, 1);
    kv_reply *e = r->element[0];
    assert_int_equal(e->elements, 6);
    assert_true(e->element[0]->integer >= 0);
    long long now = (long long)time(NULL);
    assert_true(e->element[1]->integer <= now && e->element[1]->integer >= now - 60);
    assert_true(e->element[2]->integer >= 200000);
    assert_int_equal(e->element[3]->elements, 3);
    assert_string_equal(e->element[3]->element[0]->str, "DEBUG");
    assert_string_equal(e->element[3]->element[1]->str, "SLEEP");
    assert_string_equal(e->element[3]->element[2]->str, "0.2");
    char *ci = text(f->c, "CLIENT INFO");
    char addr[80];
    assert_int_equal(sscanf(strstr(ci, " addr=") + 6, "%79s", addr), 1);
    free(ci);
    assert_string_equal(e->element[4]->str, addr);
    assert_string_equal(e->element[5]->str, "sleeper");
    kv_reply_free(r);

    /* Inside MULTI the slow command is logged, EXEC itself is not (Redis's
     * skip_slowlog). */
    ok(f->c, "SLOWLOG RESET");
    ok(f->c, "MULTI");
    ok(f->c, "DEBUG SLEEP 0.2");
    r = h_cmd(f->c, "EXEC");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    kv_reply_free(r);
    assert_int_equal(integer(f->c, "SLOWLOG LEN"), 1);
    r = h_cmd(f->c, "SLOWLOG GET");
    assert_non_null(r);
    assert_int_equal(r->element[0]->element[3]->elements, 3);
    assert_string_equal(r->element[0]->element[3]->element[0]->str, "DEBUG");
    kv_reply_free(r);

    /* Everything is slow now: a long argument is cut at 128 bytes. */
    ok(f->c, "CONFIG SET slowlog-log-slower-than 0");
    char val[201];
    memset(val, 'v', 200);
    val[200] = '\0';
    const char *argv[3] = {"SET", "long", val};
    size_t lens[3] = {3, 4, 200};
    kv_reply_free(h_cmdv(f->c, 3, argv, lens));
    r = h_cmd(f->c, "SLOWLOG GET 1");
    kv_reply *args = r->element[0]->element[3];
    assert_int_equal(args->elements, 3);
    assert_non_null(strstr(args->element[2]->str, "... (72 more bytes)"));
    assert_int_equal(args->element[2]->len, 128 + strlen("... (72 more bytes)"));
    kv_reply_free(r);

    ok(f->c, "SLOWLOG RESET");
    ok(f->c, "CONFIG SET slowlog-log-slower-than -1");
    assert_int_equal(integer(f->c, "SLOWLOG LEN"), 1); /* the CONFIG SET itself */
    ok(f->c, "SLOWLOG RESET");
    assert_int_equal(integer(f->c, "SLOWLOG LEN"), 0);
}

/* SAVE writes a snapshot file now and moves LASTSAVE; BGSAVE writes one in
 * the background; BGREWRITEAOF snapshots and then compacts the WAL. */
typedef struct server_second {
    kv_client *c;
    long long after;
} server_second;

/* The server's TIME is in a later second than `after`. */
static int second_after(void *arg)
{
    server_second *x = arg;
    kv_reply *r = h_cmd(x->c, "TIME");
    int later = r && r->type == KV_REPLY_ARRAY && r->elements == 2 &&
                atoll(r->element[0]->str) > x->after;
    kv_reply_free(r);
    return later;
}

static void test_save_bgsave(void **state)
{
    fixture *f = *state;
    const char *extra[] = {"--wal-segment-size", "64kb", "--save", "", "--repl-retention-bytes", "0",
                           NULL};
    assert_int_equal(start_node(f, extra), 0);
    long long t0 = integer(f->c, "LASTSAVE");
    assert_int_equal(count_files(f->dir, "snap-", ".snap"), 0);
    /* LASTSAVE counts seconds: wait until the server's clock is past t0. */
    server_second sec = {f->c, t0};
    assert_true(h_wait_until(second_after, &sec, 3000));
    ok(f->c, "SET a 1");
    ok(f->c, "SAVE");
    assert_int_equal(count_files(f->dir, "snap-", ".snap"), 1);
    assert_true(integer(f->c, "LASTSAVE") > t0);
    assert_int_equal(info_ll(f->c, "persistence", "rdb_bgsave_in_progress"), 0);
    assert_int_equal(info_ll(f->c, "persistence", "rdb_changes_since_last_save"), 0);
    assert_int_equal(info_ll(f->c, "persistence", "snapshot_count"), 1);

    /* Fill several WAL segments. */
    char val[1024];
    memset(val, 'x', sizeof val - 1);
    val[sizeof val - 1] = '\0';
    for (int i = 0; i < 300; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%d", i % 50);
        const char *argv[3] = {"SET", key, val};
        size_t lens[3] = {3, strlen(key), strlen(val)};
        kv_reply_free(h_cmdv(f->c, 3, argv, lens));
    }
    long long segs = info_ll(f->c, "persistence", "wal_segments");
    assert_true(segs >= 3);

    kv_reply *r = h_cmd(f->c, "BGSAVE");
    assert_string_equal(r->str, "Background saving started");
    kv_reply_free(r);
    assert_int_equal(wait_info_at_least(f->c, "persistence", "snapshot_count", 2, 20000), 2);
    long long lsn = info_ll(f->c, "persistence", "wal_last_lsn");
    assert_int_equal(info_ll(f->c, "persistence", "snapshot_last_lsn"), lsn);
    assert_true(count_files(f->dir, "snap-", ".snap") >= 1);

    /* Inside EXEC a snapshot is scheduled, taken right after. */
    ok(f->c, "MULTI");
    ok(f->c, "SET a 2");
    ok(f->c, "BGSAVE");
    r = h_cmd(f->c, "EXEC");
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[1]->str, "Background saving scheduled");
    kv_reply_free(r);
    assert_int_equal(wait_info_at_least(f->c, "persistence", "snapshot_count", 3, 20000), 3);
    assert_int_equal(info_ll(f->c, "persistence", "snapshot_last_lsn"), lsn + 1);

    /* Two more snapshots (two are kept): the WAL before the older kept one
     * goes away. */
    ok(f->c, "SET a 3");
    r = h_cmd(f->c, "BGREWRITEAOF");
    assert_string_equal(r->str, "Background append only file rewriting started");
    kv_reply_free(r);
    assert_int_equal(wait_info_at_least(f->c, "persistence", "snapshot_count", 4, 20000), 4);
    assert_true(wait_info_at_least(f->c, "persistence", "wal_compactions", 1, 20000) >= 1);
    long long deadline = h_now_ms() + 10000;
    while (info_ll(f->c, "persistence", "wal_segments") >= segs && h_now_ms() < deadline)
        sleep_ms(20);
    assert_true(info_ll(f->c, "persistence", "wal_segments") < segs);
    assert_int_equal(count_files(f->dir, "snap-", ".snap"), 2);

    /* Everything is still there after a crash. */
    char before[64], after[64];
    digest(f->c, before);
    crash_restart(f);
    digest(f->c, after);
    assert_string_equal(before, after);
    assert_int_equal(integer(f->c, "DBSIZE"), 51);
}

/* DEBUG RELOAD saves, reloads the keyspace from the snapshot and keeps
 * the digest; the node goes on serving writes, and recovers them. */
/* DEBUG RELOAD while a background snapshot is being written (slowed down
 * by rdb-key-save-delay), written by the loop and by a forked child: the
 * reload takes its own snapshot, as Redis's does not wait for its child,
 * instead of failing; the one it stopped is no failure in INFO, and the
 * data is all there. */
static void test_debug_reload_during_bgsave(void **state)
{
    fixture *f = *state;
    const char *extra[] = {"--snapshot-wal-min-bytes", "0", "--snapshot-wal-growth-pct", "0",
                           NULL};
    assert_int_equal(start_node(f, extra), 0);
    ok(f->c, "DEBUG POPULATE 3000");
    char before[64], after[64];
    const char *forks[] = {"CONFIG SET snapshot-fork no", "CONFIG SET snapshot-fork yes"};
    for (int i = 0; i < 2; i++) {
        ok(f->c, forks[i]);
        /* Something new since the last snapshot, or BGSAVE has nothing to do. */
        ok(f->c, i ? "SET marker 2" : "SET marker 1");
        digest(f->c, before);
        ok(f->c, "CONFIG SET rdb-key-save-delay 2000"); /* 6 s for 3000 keys */
        ok(f->c, "BGSAVE");
        assert_int_equal(info_ll(f->c, "persistence", "rdb_bgsave_in_progress"), 1);
        /* The background one keeps its pace; DEBUG RELOAD's own goes at once. */
        ok(f->c, "CONFIG SET rdb-key-save-delay 0");
        ok(f->c, "DEBUG RELOAD");
        assert_int_equal(info_ll(f->c, "persistence", "rdb_bgsave_in_progress"), 0);
        char st[32];
        assert_int_equal(info_str(f->c, "persistence", "rdb_last_bgsave_status", st, sizeof st),
                         0);
        assert_string_equal(st, "ok");
        digest(f->c, after);
        assert_string_equal(before, after);
        assert_int_equal(integer(f->c, "DBSIZE"), 3001);
    }
    assert_true(h_log_has(&f->node, "stopped: DEBUG RELOAD takes its own"));
}

static void test_debug_reload(void **state)
{
    fixture *f = *state;
    assert_int_equal(start_node(f, NULL), 0);
    ok(f->c, "SET s hello");
    ok(f->c, "SET n 12345");
    ok(f->c, "SET t v PX 600000");
    const char *argv[3] = {"SET", "bin", "a\0b\r\n"};
    size_t lens[3] = {3, 3, 5};
    kv_reply_free(h_cmdv(f->c, 3, argv, lens));
    char before[64], after[64];
    digest(f->c, before);
    ok(f->c, "DEBUG RELOAD");
    digest(f->c, after);
    assert_string_equal(before, after);
    assert_int_equal(integer(f->c, "DBSIZE"), 4);
    assert_int_equal(count_files(f->dir, "snap-", ".snap"), 1);
    char *obj = text(f->c, "DEBUG OBJECT n");
    assert_non_null(strstr(obj, "encoding:int serializedlength:3 "));
    free(obj);
    /* serializedlength is RDB's length of the value, as redis-server
     * 7.0.15 reports it: listpacks and intsets as blobs, LZF strings
     * compressed, skiplists and streams as Redis writes them. */
    static const struct {
        const char *setup, *key, *want;
    } sl[] = {
        {"ZADD zl 1 a", "zl", "encoding:listpack serializedlength:13 "},
        {"SET lzf aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "lzf",
         "encoding:raw serializedlength:12 "},
        {"RPUSH ql a b c 1 2 3", "ql", "encoding:quicklist serializedlength:25 "},
        {"HSET hl a 1 b 2", "hl", "encoding:listpack serializedlength:18 "},
        {"SADD is 1 2 3", "is", "encoding:intset serializedlength:15 "},
        {"SADD hs a b c", "hs", "encoding:hashtable serializedlength:7 "},
        {"ZADD sk 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 2 b",
         "sk", "encoding:skiplist serializedlength:32 "},
        {"XADD st 1-1 f v", "st", "encoding:stream serializedlength:57 "},
    };
    for (size_t i = 0; i < sizeof sl / sizeof sl[0]; i++) {
        kv_reply_free(h_cmd(f->c, sl[i].setup));
        char q[64];
        snprintf(q, sizeof q, "DEBUG OBJECT %s", sl[i].key);
        obj = text(f->c, q);
        if (!strstr(obj, sl[i].want))
            fail_msg("%s: got '%s', want '%s'", q, obj, sl[i].want);
        free(obj);
    }
    assert_int_equal(integer(f->c, "DEL zl lzf ql hl is hs sk st"), 8);

    ok(f->c, "SET after reload");
    ok(f->c, "DEBUG RELOAD");
    ok(f->c, "DEBUG RELOAD");
    /* DEBUG LOADAOF (Redis's Tcl suite uses it after TTL writes) reloads
     * the same way: same digest, the TTL kept as an absolute time. */
    long long pxat = integer(f->c, "PEXPIRETIME t");
    digest(f->c, before);
    ok(f->c, "DEBUG LOADAOF");
    digest(f->c, after);
    assert_string_equal(before, after);
    assert_int_equal(integer(f->c, "PEXPIRETIME t"), pxat);
    digest(f->c, before);
    crash_restart(f);
    digest(f->c, after);
    assert_string_equal(before, after);
    assert_int_equal(integer(f->c, "DBSIZE"), 5);
    /* In a transaction that wrote, the image would be half a transaction. */
    ok(f->c, "MULTI");
    ok(f->c, "SET x 1");
    ok(f->c, "DEBUG RELOAD");
    kv_reply *r = h_cmd(f->c, "EXEC");
    assert_int_equal(r->element[1]->type, KV_REPLY_ERROR);
    kv_reply_free(r);
    assert_int_equal(integer(f->c, "DBSIZE"), 6);
}

/* DEBUG OBJECT's serializedlength is Redis's rdbSavedObjectLen, and a
 * list's line ends with Redis's ql_* figures: what redis-server 7.0.15
 * shows for the same values (LZF strings, listpacks, intsets, quicklists). */
static void test_debug_object_serializedlength(void **state)
{
    fixture *f = *state;
    assert_int_equal(start_node(f, NULL), 0);
    ok(f->c, "SET s hello");
    ok(f->c, "SET lzf aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    kv_reply_free(h_cmd(f->c, "HSET h a 1 b 2"));
    kv_reply_free(h_cmd(f->c, "SADD si 1 2 3"));
    kv_reply_free(h_cmd(f->c, "SADD ss a b"));
    kv_reply_free(h_cmd(f->c, "ZADD z 1 a"));
    kv_reply_free(h_cmd(f->c, "RPUSH l a b c"));
    kv_reply_free(h_cmd(f->c, "XADD x 1-1 f v"));
    for (int i = 1; i <= 3000; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "RPUSH l2 element-%d", i % 37);
        kv_reply_free(h_cmd(f->c, cmd));
    }
    static const struct {
        const char *key;
        const char *want;
    } cases[] = {
        {"s", "serializedlength:6 "},   {"lzf", "serializedlength:12 "},
        {"h", "serializedlength:18 "},  {"si", "serializedlength:15 "},
        {"ss", "serializedlength:5 "},  {"z", "serializedlength:13 "},
        {"l", "serializedlength:19 "},  {"x", "serializedlength:57 "},
        /* Lists add Redis's quicklist figures (default list settings). */
        {"l", " lru_seconds_idle:0 ql_nodes:1 ql_avg_node:3.00 ql_listpack_max:-2 "
              "ql_compressed:0 ql_uncompressed_size:16"},
        {"l2", "serializedlength:1739 "},
        {"l2", " ql_nodes:5 ql_avg_node:600.00 ql_listpack_max:-2 ql_compressed:0 "
               "ql_uncompressed_size:35222"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "DEBUG OBJECT %s", cases[i].key);
        char *obj = text(f->c, cmd);
        if (!strstr(obj, cases[i].want))
            fail_msg("%s: %s, want %s", cases[i].key, obj, cases[i].want);
        free(obj);
    }
}

/* SHUTDOWN makes the WAL durable, sends no reply and exits 0; a restart
 * recovers everything. SHUTDOWN SAVE leaves a snapshot behind. */
/* SIGTERM: the node exits 0; then it starts again, connected. */
static void sigterm_restart(fixture *f)
{
    int st = h_stop(&f->node, SIGTERM, 20000);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    restart_connected(f);
}

static void test_shutdown(void **state)
{
    fixture *f = *state;
    const char *extra[] = {"--appendfsync", "no", NULL};
    assert_int_equal(start_node(f, extra), 0);
    for (int i = 0; i < 100; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "SET k%d %d", i, i);
        ok(f->c, cmd);
    }
    kv_reply *r = h_cmd(f->c, "SHUTDOWN ABORT");
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_string_equal(r->str, "ERR No shutdown in progress.");
    kv_reply_free(r);
    char before[64], after[64];
    digest(f->c, before);
    r = h_cmd(f->c, "SHUTDOWN");
    assert_null(r);
    int st = h_stop(&f->node, 0, 20000);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    kv_client_free(f->c);
    f->c = NULL;

    assert_int_equal(h_restart(&f->node), 0);
    f->c = h_connect(f->node.port);
    assert_non_null(f->c);
    digest(f->c, after);
    assert_string_equal(before, after);
    assert_int_equal(integer(f->c, "DBSIZE"), 100);
    assert_int_equal(count_files(f->dir, "snap-", ".snap"), 0);

    ok(f->c, "SET last one");
    r = h_cmd(f->c, "SHUTDOWN SAVE");
    assert_null(r);
    st = h_stop(&f->node, 0, 20000);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(count_files(f->dir, "snap-", ".snap"), 1);
    kv_client_free(f->c);
    f->c = NULL;
    assert_int_equal(h_restart(&f->node), 0);
    f->c = h_connect(f->node.port);
    assert_int_equal(integer(f->c, "DBSIZE"), 101);
    assert_int_equal(info_ll(f->c, "persistence", "recovery_entries_replayed"), 0);

    /* shutdown-on-sigterm: by default SIGTERM takes no snapshot (the WAL
     * has every write: the restart replays it); with "save" it does. */
    ok(f->c, "SET after one");
    sigterm_restart(f);
    assert_int_equal(integer(f->c, "DBSIZE"), 102);
    assert_true(info_ll(f->c, "persistence", "recovery_entries_replayed") >= 1);
    const char *save_now[] = {"CONFIG", "SET", "shutdown-on-sigterm", "save now"};
    kv_reply *sr = h_cmdv(f->c, 4, save_now, NULL);
    assert_non_null(sr);
    assert_int_equal(sr->type, KV_REPLY_STATUS);
    kv_reply_free(sr);
    ok(f->c, "SET after2 two");
    sigterm_restart(f);
    assert_int_equal(integer(f->c, "DBSIZE"), 103);
    assert_int_equal(info_ll(f->c, "persistence", "recovery_entries_replayed"), 0);
}

/* FLUSHALL is logged: replay after a crash empties the keyspace at the
 * same point, keeping what was written after it. */
/* Redis's other unit: FLUSHALL resets the dirty counter only with save
 * points (Redis saves an RDB then; kvnode takes a snapshot once the
 * FLUSHALL is logged). */
static void test_flushall_saves_with_save_points(void **state)
{
    fixture *f = *state;
    assert_int_equal(start_node(f, NULL), 0);
    const char *nosave[] = {"CONFIG", "SET", "save", ""};
    kv_reply *r = h_cmdv(f->c, 4, nosave, NULL);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    ok(f->c, "SET key value");
    ok(f->c, "FLUSHALL");
    assert_true(info_ll(f->c, "persistence", "rdb_changes_since_last_save") >= 2);
    const char *save[] = {"CONFIG", "SET", "save", "3600 1 300 100 60 10000"};
    r = h_cmdv(f->c, 4, save, NULL);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    ok(f->c, "SET key value");
    ok(f->c, "FLUSHALL");
    assert_int_equal(info_ll(f->c, "persistence", "rdb_changes_since_last_save"), 0);
    assert_int_equal(integer(f->c, "DBSIZE"), 0);
    /* What comes after it is counted again. */
    ok(f->c, "SET key2 value");
    assert_true(info_ll(f->c, "persistence", "rdb_changes_since_last_save") >= 1);
}

static void test_flush_replay(void **state)
{
    fixture *f = *state;
    assert_int_equal(start_node(f, NULL), 0);
    ok(f->c, "SET a 1");
    ok(f->c, "SET b 2");
    ok(f->c, "FLUSHALL ASYNC");
    ok(f->c, "SET c 3");
    ok(f->c, "FLUSHDB");
    ok(f->c, "FLUSHALL"); /* empty: logged all the same, as Redis propagates it */
    ok(f->c, "SET d 4");
    long long lsn = info_ll(f->c, "persistence", "wal_last_lsn");
    assert_int_equal(lsn, 7 + 1); /* after the leader's no-op */
    crash_restart(f);
    assert_int_equal(integer(f->c, "DBSIZE"), 1);
    assert_int_equal(integer(f->c, "EXISTS d"), 1);
}

/* daemonize yes: the command returns 0 once the pidfile names the node,
 * which runs in its own session (not our child), serves, refuses CONFIG
 * SET daemonize as immutable (Redis's error), and removes its pidfile on
 * SHUTDOWN. */
typedef struct daemon_wait {
    pid_t pid;
    int port;
    int gone; /* wait for the process to be gone (else for a PONG) */
} daemon_wait;

static int daemon_state(void *arg)
{
    daemon_wait *w = arg;
    if (w->gone)
        return kill(w->pid, 0) < 0;
    kv_client *c = h_connect(w->port);
    kv_reply *r = c ? h_cmd(c, "PING") : NULL;
    int up = r && r->type == KV_REPLY_STATUS;
    kv_reply_free(r);
    kv_client_free(c);
    return up;
}

static void test_daemonize(void **state)
{
    fixture *f = *state;
    char port[16], pidfile[760], logfile[760], cmd[4096];
    int p = h_free_port();
    snprintf(port, sizeof port, "%d", p);
    snprintf(pidfile, sizeof pidfile, "%s/kvnode.pid", f->tmp);
    snprintf(logfile, sizeof logfile, "%s/daemon.log", f->tmp);
    snprintf(cmd, sizeof cmd, "'%s' --port %s --peer-port 0 --dir '%s' --daemonize yes --pidfile '%s' --logfile '%s'",
             h_kvnode_bin(), port, f->dir, pidfile, logfile);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    FILE *pf = fopen(pidfile, "r");
    assert_non_null(pf);
    int pid = 0;
    assert_int_equal(fscanf(pf, "%d", &pid), 1);
    fclose(pf);
    assert_true(pid > 0);
    assert_int_equal(getsid(pid), pid);
    daemon_wait w = {pid, p, 0};
    int up = h_wait_until(daemon_state, &w, 30000);
    if (!up)
        kill(pid, SIGKILL);
    assert_true(up);
    kv_client *c = h_connect(p);
    assert_non_null(c);
    kv_reply *r = h_cmd(c, "CONFIG GET daemonize");
    assert_true(r && r->type == KV_REPLY_ARRAY && r->elements == 2);
    assert_string_equal(r->element[1]->str, "yes");
    kv_reply_free(r);
    r = h_cmd(c, "CONFIG SET daemonize no");
    assert_true(r && r->type == KV_REPLY_ERROR);
    assert_string_equal(r->str, "ERR CONFIG SET failed (possibly related to argument 'daemonize') - "
                                "can't set immutable config");
    kv_reply_free(r);
    kv_reply_free(h_cmd(c, "SHUTDOWN"));
    kv_client_free(c);
    w.gone = 1;
    int gone = h_wait_until(daemon_state, &w, 30000);
    if (!gone)
        kill(pid, SIGKILL);
    assert_true(gone);
    assert_int_not_equal(access(pidfile, F_OK), 0);
}

/* A crash leaves Redis's kind of bug report in the log (crash-log-enabled,
 * on by default): the signal, then a stack trace, then the signal's own
 * action. Off, the signal just acts. DEBUG PANIC with use-exit-on-panic
 * exits 1. (SIGABRT: the one signal a sanitizer build leaves to kvnode.) */
static void test_crash_report(void **state)
{
    fixture *f = *state;
    struct rlimit no_core = {0, 0};
    assert_int_equal(setrlimit(RLIMIT_CORE, &no_core), 0); /* no core files from these */
    const char *extra[] = {"--enable-debug-command", "yes", NULL};
    assert_int_equal(start_node(f, extra), 0);
    kv_reply *r = h_cmd(f->c, "CONFIG GET crash-log-enabled");
    assert_string_equal(r->element[1]->str, "yes");
    kv_reply_free(r);
    assert_int_equal(kill(f->node.pid, SIGABRT), 0);
    int st = h_stop(&f->node, 0, 20000);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
    assert_int_equal(h_log_count(&f->node, "crashed by signal: 6"), 1);
    assert_int_equal(h_log_count(&f->node, "------ STACK TRACE ------"), 1);
    assert_int_equal(h_log_count(&f->node, "=== KVNODE BUG REPORT END."), 1);

    /* Off at run time: no report. */
    restart_connected(f);
    r = h_cmd(f->c, "CONFIG SET crash-log-enabled no");
    assert_string_equal(r->str, "OK");
    kv_reply_free(r);
    assert_int_equal(kill(f->node.pid, SIGABRT), 0);
    st = h_stop(&f->node, 0, 20000);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
    assert_int_equal(h_log_count(&f->node, "crashed by signal: 6"), 1);

    /* DEBUG PANIC: abort() with its report, or exit(1) with use-exit-on-panic. */
    restart_connected(f);
    assert_null(h_cmd(f->c, "DEBUG PANIC"));
    st = h_stop(&f->node, 0, 20000);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
    assert_int_equal(h_log_count(&f->node, "Guru Meditation: DEBUG PANIC called"), 1);
    assert_int_equal(h_log_count(&f->node, "crashed by signal: 6"), 2);
    restart_connected(f);
    r = h_cmd(f->c, "CONFIG SET use-exit-on-panic yes");
    assert_string_equal(r->str, "OK");
    kv_reply_free(r);
    assert_null(h_cmd(f->c, "DEBUG PANIC"));
    st = h_stop(&f->node, 0, 20000);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_int_equal(h_log_count(&f->node, "Guru Meditation: DEBUG PANIC called"), 2);
    kv_client_free(f->c);
    f->c = NULL;
}

/* A RESTORE payload that does not decode is refused with Redis's error and
 * logged (at verbose) as Redis reports it: which structure failed its
 * integrity check. DEBUG SET-SKIP-CHECKSUM-VALIDATION lets it reach the
 * decoder. */
static void test_restore_corrupt_logged(void **state)
{
    fixture *f = *state;
    const char *extra[] = {"--enable-debug-command", "yes", "--loglevel", "verbose", NULL};
    assert_int_equal(start_node(f, extra), 0);
    assert_int_equal(integer(f->c, "HSET h a 1 b 2"), 2);
    kv_reply *d = h_cmd(f->c, "DUMP h");
    assert_int_equal(d->type, KV_REPLY_STRING);
    assert_int_equal((unsigned char)d->str[0], 16); /* a hash listpack */
    size_t n = d->len;
    char *p = malloc(n);
    memcpy(p, d->str, n);
    kv_reply_free(d);
    /* The listpack's element count (bytes 6-7 after the type and the
     * 1-byte string header and 4-byte total) says more than it holds. */
    p[2 + 4] = (char)0x7f;
    ok(f->c, "DEBUG SET-SKIP-CHECKSUM-VALIDATION 1");
    const char *argv[] = {"RESTORE", "h2", "0", p};
    size_t lens[] = {7, 2, 1, n};
    kv_reply *r = h_cmdv(f->c, 4, argv, lens);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_string_equal(r->str, "ERR Bad data format");
    kv_reply_free(r);
    assert_true(h_log_has(&f->node, "RESTORE of key 'h2' refused: Hash listpack integrity check failed."));
    /* Without the skip, the checksum refuses it first. */
    ok(f->c, "DEBUG SET-SKIP-CHECKSUM-VALIDATION 0");
    r = h_cmdv(f->c, 4, argv, lens);
    assert_string_equal(r->str, "ERR DUMP payload version or checksum are wrong");
    kv_reply_free(r);
    free(p);
}

/* Predicate: the process has stopped itself (SIGSTOP), not exited. */
static int stopped_itself(void *arg)
{
    const h_proc *p = arg;
    int st = 0;
    pid_t w = waitpid(p->pid, &st, WNOHANG | WUNTRACED);
    assert_true(w == 0 || w == p->pid);
    if (w == p->pid)
        assert_true(WIFSTOPPED(st)); /* an exit or a kill is a failure */
    return w == p->pid;
}

/* supervised upstart (and auto, which finds $UPSTART_JOB): the node stops
 * itself (SIGSTOP) once it has loaded its data, which is what upstart's
 * "expect stop" waits for; upstart then continues it. (systemd's side is
 * tests/deploy/test_systemd_unit.sh.) */
static void test_supervised_upstart(void **state)
{
    fixture *f = *state;
    assert_int_equal(start_node(f, NULL), 0);
    kv_reply *r = h_cmd(f->c, "INFO server");
    assert_non_null(strstr(r->str, "process_supervised:no\r\n"));
    kv_reply_free(r);
    kv_client_free(f->c);
    f->c = NULL;
    assert_true(WIFEXITED(h_stop(&f->node, SIGTERM, 20000)));
    static char args[64][512];
    const char *argv[70];
    int n = 0;
    for (; n < f->node.argc; n++) {
        snprintf(args[n], sizeof args[n], "%s", f->node.argv[n]);
        argv[n] = args[n];
    }
    const char *modes[] = {"upstart", "auto"};
    for (int m = 0; m < 2; m++) {
        argv[n] = "--supervised";
        argv[n + 1] = modes[m];
        argv[n + 2] = NULL;
        h_set_args(&f->node, argv);
        assert_int_equal(setenv("UPSTART_JOB", "kvnode-test", 1), 0);
        assert_int_equal(h_respawn(&f->node), 0);
        unsetenv("UPSTART_JOB");
        assert_true(h_wait_until(stopped_itself, &f->node, 30000));
        assert_int_equal(kill(f->node.pid, SIGCONT), 0);
        f->c = h_connect(f->node.port);
        assert_non_null(f->c);
        r = h_cmd(f->c, "INFO server");
        assert_non_null(r);
        assert_non_null(strstr(r->str, "process_supervised:upstart\r\n"));
        kv_reply_free(r);
        kv_client_free(f->c);
        f->c = NULL;
        assert_true(WIFEXITED(h_stop(&f->node, SIGTERM, 20000)));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_info_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_rewrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_applies_to_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_set_port_and_bind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_buffer_resizing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_conf_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protected_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_list_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slowlog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_bgsave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debug_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debug_reload_during_bgsave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debug_object_serializedlength, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_corrupt_logged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_supervised_upstart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flushall_saves_with_save_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_daemonize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_second_alias, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
