/* test_diff.c — differential testing against redis-server.
 *
 * Every tests/integration/diff/<name>.txt script is run, line by line, on a
 * real redis-server (Debian's package) and on kvnode, each started by this
 * test; the replies must be identical (type and content). One cmocka test
 * per script. Script syntax:
 *
 *   # comment                      (blank lines too)
 *   SET "quoted \x00 arg" 'x'      a command, split like redis-cli
 *   @sorted CMD …                  compare top-level array elements sorted
 *   @pairs CMD …                   compare a flat field/value array as a set of pairs
 *                                  (a SCAN reply: its cursor, then its items so)
 *   @type CMD …                    compare only the reply type (and array length)
 *   @run CMD …                     run on both, do not compare
 *   @sleep MS                      pause (for expiry tests)
 *   @resp 2|3                      switch both connections' protocol (HELLO)
 *
 * Each script starts from an empty database on both servers. After each
 * script kvnode is killed with SIGKILL and restarted: the state it
 * recovers from its WAL must have the same DEBUG DIGEST as before, which
 * checks that every command logged a deterministic effect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "harness.h"

/* ---- Fixture ---- */

static h_pair pr;
static kv_client *rc, *kc;

static int group_setup(void **state)
{
    (void)state;
    /* DEBUG must answer on both sides for the DEBUG scripts. */
    const char *rextra[] = {"--enable-debug-command", "yes", NULL};
    /* No active expiry: the digest taken before a restart must not race
     * with background deletions. */
    const char *extra[] = {"--save", "", "--active-expire", "no", NULL};
    int r = h_pair_start(&pr, "diff", rextra, extra);
    rc = pr.rc;
    kc = pr.kc;
    return r;
}

static int group_teardown(void **state)
{
    (void)state;
    pr.rc = rc; /* the tests may have reconnected */
    pr.kc = kc;
    h_pair_stop(&pr);
    return 0;
}

/* ---- Helpers ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Canonical text of a reply under a comparison mode. */
static void canon(const kv_reply *r, const char *mode, char *out, size_t len)
{
    if (r && !strcmp(mode, "type")) {
        if (r->type == KV_REPLY_ARRAY || r->type == KV_REPLY_MAP || r->type == KV_REPLY_SET)
            snprintf(out, len, "type=%d elements=%zu", r->type, r->elements);
        else
            snprintf(out, len, "type=%d", r->type);
        return;
    }
    int pairs = !strcmp(mode, "pairs");
    if (r && (!strcmp(mode, "sorted") || pairs) && r->type == KV_REPLY_ARRAY &&
        r->elements == 2 && r->element[0]->type == KV_REPLY_STRING &&
        r->element[1]->type == KV_REPLY_ARRAY) {
        /* A SCAN-shaped reply: the cursor, then the items compared as the
         * mode says. */
        size_t at = (size_t)snprintf(out, len, "cursor %s: ", r->element[0]->str);
        if (at < len)
            canon(r->element[1], mode, out + at, len - at);
        return;
    }
    if (r && (!strcmp(mode, "sorted") || pairs) &&
        (r->type == KV_REPLY_ARRAY || r->type == KV_REPLY_SET || r->type == KV_REPLY_MAP)) {
        size_t step = pairs || r->type == KV_REPLY_MAP ? 2 : 1;
        size_t n = r->elements / step;
        char **items = calloc(n ? n : 1, sizeof *items);
        for (size_t i = 0; i < n; i++) {
            items[i] = malloc(len);
            h_reply_text(r->element[i * step], items[i], len);
            if (step == 2) {
                size_t l = strlen(items[i]);
                snprintf(items[i] + l, len - l, " => ");
                l = strlen(items[i]);
                h_reply_text(r->element[i * step + 1], items[i] + l, len - l);
            }
        }
        qsort(items, n, sizeof *items, cmp_str);
        size_t at = (size_t)snprintf(out, len, "sorted[");
        for (size_t i = 0; i < n; i++) {
            if (at < len)
                at += (size_t)snprintf(out + at, len - at, "%s%s", i ? ", " : "", items[i]);
            free(items[i]);
        }
        if (at < len)
            snprintf(out + at, len - at, "]");
        free(items);
        return;
    }
    h_reply_text(r, out, len);
}

static int run_script(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    kv_reply *x = h_cmd(rc, "FLUSHALL");
    kv_reply_free(x);
    if (!kc)
        return -1;
    x = h_cmd(kc, "FLUSHALL");
    if (x && x->type == KV_REPLY_ERROR) {
        /* A build without FLUSHALL: delete what KEYS lists instead. */
        kv_reply_free(x);
        x = h_cmd(kc, "KEYS *");
        for (size_t i = 0; x && x->type == KV_REPLY_ARRAY && i < x->elements; i++) {
            const char *del[2] = {"DEL", x->element[i]->str};
            size_t dl[2] = {3, x->element[i]->len};
            kv_reply_free(h_cmdv(kc, 2, del, dl));
        }
    }
    kv_reply_free(x);
    x = h_cmd(rc, "HELLO 2");
    kv_reply_free(x);
    x = h_cmd(kc, "HELLO 2");
    kv_reply_free(x);
    /* The previous script may have left the connections in another
     * database. */
    kv_reply_free(h_cmd(rc, "SELECT 0"));
    kv_reply_free(h_cmd(kc, "SELECT 0"));
    char line[65536];
    int lineno = 0, failures = 0, commands = 0;
    static char storage[65536], a[1 << 17], b[1 << 17];
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        const char *mode = "exact";
        if (*p == '@') {
            char *sp = strchr(p, ' ');
            size_t dl = sp ? (size_t)(sp - p) : strlen(p);
            if (!strncmp(p, "@sleep", dl)) {
                int ms = atoi(sp ? sp + 1 : "0");
                struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
                nanosleep(&ts, NULL);
                continue;
            }
            if (!strncmp(p, "@resp", dl)) {
                char hello[32];
                snprintf(hello, sizeof hello, "HELLO %s", sp ? sp + 1 : "2");
                kv_reply_free(h_cmd(rc, hello));
                kv_reply_free(h_cmd(kc, hello));
                continue;
            }
            if (!strncmp(p, "@sorted", dl))
                mode = "sorted";
            else if (!strncmp(p, "@pairs", dl))
                mode = "pairs";
            else if (!strncmp(p, "@type", dl))
                mode = "type";
            else if (!strncmp(p, "@run", dl))
                mode = "run";
            else {
                fprintf(stderr, "%s:%d: unknown directive\n", path, lineno);
                failures++;
                continue;
            }
            p = sp ? sp + 1 : p + dl;
        }
        /* Words are written one after the other into storage, each
         * NUL-terminated, and may contain NULs (\x00): a word's length is
         * where the next one starts, minus its terminator. A sentinel word
         * after the last gives the last one its end too. */
        static char withend[sizeof line + 4];
        snprintf(withend, sizeof withend, "%s x", p);
        char *argv[257];
        int argc = config_split_line(withend, argv, 257, storage) - 1;
        if (argc <= 0) {
            fprintf(stderr, "%s:%d: cannot split line\n", path, lineno);
            failures++;
            continue;
        }
        size_t lens[256];
        for (int i = 0; i < argc; i++)
            lens[i] = (size_t)(argv[i + 1] - 1 - argv[i]);
        kv_reply *ra = h_cmdv(rc, argc, (const char *const *)argv, lens);
        kv_reply *rb = h_cmdv(kc, argc, (const char *const *)argv, lens);
        commands++;
        if (strcmp(mode, "run") != 0) {
            canon(ra, mode, a, sizeof a);
            canon(rb, mode, b, sizeof b);
            if (strcmp(a, b) != 0) {
                fprintf(stderr, "%s:%d: %s\n  redis:  %.2000s\n  kvnode: %.2000s\n", path,
                        lineno, p, a, b);
                failures++;
            }
        }
        if (!ra || !rb) {
            fprintf(stderr, "%s:%d: connection lost (%s)\n", path, lineno,
                    !ra ? "redis" : "kvnode");
            kv_reply_free(ra);
            kv_reply_free(rb);
            failures++;
            break;
        }
        kv_reply_free(ra);
        kv_reply_free(rb);
    }
    fclose(f);
    printf("%s: %d commands, %d mismatches\n", strrchr(path, '/') + 1, commands, failures);
    return failures;
}

static void digest(kv_client *c, char *out, size_t len)
{
    kv_reply *r = h_cmd(c, "DEBUG DIGEST");
    h_reply_text(r, out, len);
    kv_reply_free(r);
}

/* ---- Tests ---- */

static void test_script(void **state)
{
    const char *path = *state;
    assert_int_equal(run_script(path), 0);
    char before[128], after[128];
    digest(kc, before, sizeof before);
    kv_client_free(kc);
    kc = NULL;
    h_stop(&pr.kv, SIGKILL, 10000);
    assert_int_equal(h_restart(&pr.kv), 0);
    kc = h_connect(pr.kv.port);
    assert_non_null(kc);
    digest(kc, after, sizeof after);
    if (strcmp(before, after) != 0)
        fprintf(stderr, "%s: state after crash recovery differs: %s before, %s after\n", path,
                before, after);
    assert_string_equal(before, after);
}

int main(int argc, char **argv)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/tests/integration/diff", h_source_dir());
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "no %s\n", dir);
        return 1;
    }
    /* argv[1]: "I/N" runs shard I (1-based) of N (scripts assigned by a
     * hash of their names, so ctest can run shards side by side), anything
     * else runs the scripts whose names contain it. */
    unsigned shard = 0, nshards = 0;
    if (argc > 1 && sscanf(argv[1], "%u/%u", &shard, &nshards) == 2 &&
        (shard < 1 || shard > nshards)) {
        fprintf(stderr, "bad shard %s\n", argv[1]);
        return 1;
    }
    struct CMUnitTest tests[256];
    char *paths[256];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 256) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".txt") != 0)
            continue;
        if (nshards) {
            uint32_t h = 2166136261u;
            for (const char *q = de->d_name; *q; q++)
                h = (h ^ (unsigned char)*q) * 16777619u;
            if (h % nshards != shard - 1)
                continue;
        } else if (argc > 1 && !strstr(de->d_name, argv[1])) {
            continue;
        }
        paths[n] = malloc(1200);
        snprintf(paths[n], 1200, "%s/%s", dir, de->d_name);
        struct CMUnitTest t = {strdup(de->d_name), test_script, NULL, NULL, paths[n]};
        tests[n++] = t;
    }
    closedir(d);
    int status = _cmocka_run_group_tests("diff", tests, (size_t)n, group_setup, group_teardown);
    for (int i = 0; i < n; i++) {
        free((char *)tests[i].name);
        free(paths[i]);
    }
    return status;
}
