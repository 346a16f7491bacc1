/* test_acl.c — Redis 7.0's ACLs on real processes: users from --user and
 * from a config file's `user` lines (and the setups kvnode must refuse),
 * the aclfile across kill -9 and a broken ACL LOAD, connections closed when
 * their user is deleted or reloaded and subscribers when their channels
 * are revoked, requirepass as the default user's password, the ACL log;
 * and, side by side with redis-server, replies that must be byte-identical
 * (ACL SETUSER errors, GETUSER, DRYRUN, CAT, GENPASS, AUTH and HELLO
 * failures, denials inside MULTI and scripts, the ACL config options). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* SHA-256 of the passwords used below, as ACL GETUSER / LIST show them. */
#define SHA_SECRET "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
#define SHA_PW "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4"
#define SHA_BOBPW "e8f318657ce39ec4edeecbbee28fd72dea2261d8a6b2155ce4977393e0ea721b"
#define SHA_ADMINPW "5fcf82bc15aef42cd3ec93e6d4b51c04df110cf77ee715f62f3f172ff8ed9de9"

#define WRONGPASS "-WRONGPASS invalid username-password pair or user is disabled."
#define NOPERM_KEY                                                                               \
    "-NOPERM this user has no permissions to access one of the keys used as arguments"
#define NOPERM_CHANNEL                                                                           \
    "-NOPERM this user has no permissions to access one of the channels used as arguments"
#define NOAUTH "-NOAUTH Authentication required."
#define LOAD_ABORTED                                                                             \
    "WARNING: ACL errors detected, no change to the previously active ACL rules was performed"

/* ---- Fixture ---- */

typedef struct fixture {
    char *tmp;
    char dir[700];
    h_proc node;
    kv_client *c;
    h_pair pair;
    kv_client *second[2]; /* a pair's second connections: redis, kvnode */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->tmp = h_tmpdir("acl");
    snprintf(f->dir, sizeof f->dir, "%s/data", f->tmp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kv_client_free(f->c);
    kv_client_free(f->second[0]);
    kv_client_free(f->second[1]);
    h_stop(&f->node, SIGTERM, 10000);
    if (f->pair.tmp)
        h_pair_stop(&f->pair);
    h_rmrf(f->tmp);
    free(f->tmp);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

/* Start the fixture's node on f->dir with extra arguments; f->c connected
 * (not authenticated). */
static void start(fixture *f, const char *const *extra)
{
    assert_int_equal(h_kvnode_start(&f->node, f->dir, extra), 0);
    f->c = h_connect(f->node.port);
    assert_non_null(f->c);
}

static void write_file(const char *path, const char *text, const char *mode)
{
    FILE *fp = fopen(path, mode);
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static void read_file(const char *path, char *out, size_t len)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(out, 1, len - 1, fp);
    out[n] = '\0';
    fclose(fp);
}

static kv_reply *run(kv_client *c, const char *const *argv)
{
    int n = 0;
    while (argv[n])
        n++;
    return h_cmdv(c, n, argv, NULL);
}
#define RUN(c, ...) run((c), (const char *const[]){__VA_ARGS__, NULL})

static void join(const char *const *argv, char *out, size_t len)
{
    size_t at = 0;
    out[0] = '\0';
    for (int i = 0; argv[i] && at + 1 < len; i++)
        at += (size_t)snprintf(out + at, len - at, "%s%s", i ? " " : "", argv[i]);
}

/* The reply's text (h_reply_text) of argv on c (malloc'd). */
static char *reply_of(kv_client *c, const char *const *argv)
{
    char *text = malloc(16384);
    kv_reply *r = run(c, argv);
    h_reply_text(r, text, 16384);
    kv_reply_free(r);
    return text;
}

/* argv on c must reply exactly `want` (h_reply_text's form: +OK, -ERR …,
 * :1, "bulk", [array], (nil), (no reply: connection error)). */
static void expect_argv(kv_client *c, const char *want, const char *const *argv)
{
    char *got = reply_of(c, argv);
    int same = !strcmp(got, want);
    if (!same) {
        char line[1024];
        join(argv, line, sizeof line);
        fprintf(stderr, "%s\n  got:  %s\n  want: %s\n", line, got, want);
    }
    free(got);
    assert_true(same);
}
#define EXPECT(c, want, ...) expect_argv((c), (want), (const char *const[]){__VA_ARGS__, NULL})

/* A new connection to port, authenticated as user (NULL: none). */
static kv_client *login(int port, const char *user, const char *pass)
{
    kv_client *c = h_connect(port);
    assert_non_null(c);
    if (user)
        EXPECT(c, "+OK", "AUTH", user, pass);
    return c;
}

/* The value after key `name` in a RESP2 map-as-array reply, or NULL. */
static const kv_reply *field(const kv_reply *r, const char *name)
{
    if (!r || (r->type != KV_REPLY_ARRAY && r->type != KV_REPLY_MAP))
        return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->str && !strcmp(r->element[i]->str, name))
            return r->element[i + 1];
    return NULL;
}

static void assert_field_text(const kv_reply *r, const char *name, const char *want)
{
    char got[4096];
    const kv_reply *v = field(r, name);
    assert_non_null(v);
    h_reply_text(v, got, sizeof got);
    if (strcmp(got, want))
        fprintf(stderr, "field %s: got %s, want %s\n", name, got, want);
    assert_string_equal(got, want);
}

/* kvnode with argv (argv[0] the binary) must refuse to start: exit status
 * 1 within 20 s, its log (a new file, f->tmp/<tag>.log) holding `needle`. */
static void refuses(fixture *f, const char *tag, const char *const *argv, const char *needle)
{
    h_proc p;
    memset(&p, 0, sizeof p);
    snprintf(p.log, sizeof p.log, "%s/%s.log", f->tmp, tag);
    unlink(p.log);
    h_set_args(&p, argv);
    assert_int_equal(h_respawn(&p), 0);
    /* Signal 0 sends nothing: h_stop only waits (bounded) for the exit,
     * and kills a node that came up after all. */
    int st = h_stop(&p, 0, 20000);
    assert_int_not_equal(st, -1);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    if (!h_log_has(&p, needle))
        fprintf(stderr, "%s does not mention: %s\n", p.log, needle);
    assert_true(h_log_has(&p, needle));
}

/* ---- Raw connections (subscribers) ---- */

static void raw_send_cmd(int fd, const char *const *argv)
{
    int n = 0;
    while (argv[n])
        n++;
    char buf[1024];
    size_t len = 0;
    assert_int_equal(kv_format_command(buf, sizeof buf, &len, n, argv, NULL), 0);
    assert_int_equal(h_raw_send(fd, buf, len), 0);
}
#define RAW(fd, ...) raw_send_cmd((fd), (const char *const[]){__VA_ARGS__, NULL})

/* The next lines on fd are exactly these (each within 5 s). */
static void raw_expect(int fd, const char *const *lines)
{
    char got[512];
    for (int i = 0; lines[i]; i++) {
        assert_int_equal(h_raw_line(fd, got, sizeof got, 5000), 0);
        if (strcmp(got, lines[i]))
            fprintf(stderr, "raw line %d: got %s, want %s\n", i, got, lines[i]);
        assert_string_equal(got, lines[i]);
    }
}
#define RAW_EXPECT(fd, ...) raw_expect((fd), (const char *const[]){__VA_ARGS__, NULL})

/* Whether the server closes fd within ms (anything it sends first is read
 * and dropped). */
static int raw_closed(int fd, int ms)
{
    long long deadline = h_now_ms() + ms;
    char buf[512];
    for (;;) {
        long long left = deadline - h_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != 1)
            return 0;
        ssize_t r = read(fd, buf, sizeof buf);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return 1;
        if (r < 0 && errno != EINTR)
            return 0;
    }
}

/* A raw connection authenticated as user, subscribed (cmd SUBSCRIBE or
 * PSUBSCRIBE) to one channel. */
static int raw_subscriber(int port, const char *user, const char *pass, const char *cmd,
                          const char *channel)
{
    int fd = h_raw_connect(port);
    assert_true(fd >= 0);
    RAW(fd, "AUTH", user, pass);
    RAW_EXPECT(fd, "+OK");
    RAW(fd, cmd, channel);
    char kind[32], klen[8], clen[8];
    snprintf(kind, sizeof kind, "%s", cmd);
    for (char *p = kind; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    snprintf(klen, sizeof klen, "$%zu", strlen(kind));
    snprintf(clen, sizeof clen, "$%zu", strlen(channel));
    RAW_EXPECT(fd, "*3", klen, kind, clen, channel, ":1");
    return fd;
}

/* ---- Side by side with redis-server ---- */

/* argv on redis (rc) and on kvnode (kc): the same reply, byte for byte?
 * A difference is printed. */
static int same_reply(kv_client *rc, kv_client *kc, const char *const *argv)
{
    char *r = reply_of(rc, argv);
    char *k = reply_of(kc, argv);
    int same = !strcmp(r, k);
    if (!same) {
        char line[1024];
        join(argv, line, sizeof line);
        fprintf(stderr, "DIFF %s\n  redis:  %s\n  kvnode: %s\n", line, r, k);
    }
    free(r);
    free(k);
    return same;
}

/* Start the fixture's pair (each server with extra, NULL for none) and a
 * second connection to each. */
static h_pair *start_pair(fixture *f, const char *tag, const char *const *extra)
{
    assert_int_equal(h_pair_start(&f->pair, tag, extra, extra), 0);
    f->second[0] = h_connect(f->pair.redis.port);
    f->second[1] = h_connect(f->pair.kv.port);
    assert_non_null(f->second[0]);
    assert_non_null(f->second[1]);
    return &f->pair;
}

/* A command of a side-by-side script: on the pair's first connections
 * (who 0, the default user) or on the second ones (who 1). */
typedef struct step {
    int who;
    const char *argv[12];
} step;

/* Run steps on both servers; the number of replies that differ (each
 * printed: every step runs, so one run lists every difference). */
static int compare_steps(h_pair *p, kv_client *const second[2], const step *steps, size_t n)
{
    int diffs = 0;
    for (size_t i = 0; i < n; i++) {
        kv_client *rc = steps[i].who ? second[0] : p->rc;
        kv_client *kc = steps[i].who ? second[1] : p->kc;
        diffs += !same_reply(rc, kc, steps[i].argv);
    }
    return diffs;
}

/* The value of `name=` in a CLIENT LIST-style line (up to a space or the
 * line's end) into out; "" when absent. */
static void client_field(const char *line, const char *name, char *out, size_t len)
{
    char key[64];
    snprintf(key, sizeof key, " %s=", name);
    const char *p = strstr(line, key);
    out[0] = '\0';
    if (!p)
        return;
    p += strlen(key);
    size_t n = strcspn(p, " \r\n");
    snprintf(out, len, "%.*s", (int)n, p);
}

/* The line of CLIENT LIST (asked on admin) of the connection named name
 * into out. */
static void client_line(kv_client *admin, const char *name, char *out, size_t len)
{
    kv_reply *r = RUN(admin, "CLIENT", "LIST");
    assert_non_null(r);
    assert_non_null(r->str);
    char needle[128];
    snprintf(needle, sizeof needle, " name=%s ", name);
    const char *p = strstr(r->str, needle);
    assert_non_null(p);
    while (p > r->str && p[-1] != '\n')
        p--;
    size_t n = strcspn(p, "\n");
    snprintf(out, len, "%.*s", (int)n, p);
    kv_reply_free(r);
}

/* The client-info of the newest ACL LOG entry (asked on admin). */
static void last_log_client_info(kv_client *admin, char *out, size_t len)
{
    kv_reply *r = RUN(admin, "ACL", "LOG", "1");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    const kv_reply *ci = field(r->element[0], "client-info");
    assert_non_null(ci);
    assert_non_null(ci->str);
    snprintf(out, len, " %s", ci->str);
    kv_reply_free(r);
}

/* ---- Tests ---- */

/* Users given as --user on the command line: AUTH against them, their key
 * patterns and commands enforced with Redis's NOPERM errors, a disabled
 * one refused, CLIENT LIST / KILL USER. */
static void test_users_from_command_line(void **state)
{
    fixture *f = *state;
    start(f, (const char *const[]){"--user", "alice", "on", ">secret", "~app:*", "+@read",
                                   "+@write", "-flushall", "+acl|whoami", "--user", "bob", "off",
                                   "nopass", "+@all", "~*", NULL});
    int port = f->node.port;
    EXPECT(f->c, "[\"alice\" \"bob\" \"default\"]", "ACL", "USERS");
    EXPECT(f->c, "\"default\"", "ACL", "WHOAMI");

    kv_client *a = h_connect(port);
    assert_non_null(a);
    EXPECT(a, WRONGPASS, "AUTH", "alice", "wrong");
    EXPECT(a, "\"default\"", "ACL", "WHOAMI");
    EXPECT(a, "+OK", "AUTH", "alice", "secret");
    EXPECT(a, "\"alice\"", "ACL", "WHOAMI");
    EXPECT(a, "+OK", "SET", "app:1", "v");
    EXPECT(a, "\"v\"", "GET", "app:1");
    EXPECT(a, NOPERM_KEY, "SET", "other", "1");
    EXPECT(a, NOPERM_KEY, "MGET", "app:1", "other");
    EXPECT(a, "-NOPERM this user has no permissions to run the 'flushall' command", "FLUSHALL");
    EXPECT(a, "-NOPERM this user has no permissions to run the 'config|get' command", "CONFIG",
           "GET", "port");
    EXPECT(a, "-NOPERM this user has no permissions to run the 'ping' command", "PING");
    /* Nothing denied ran. */
    EXPECT(f->c, "(nil)", "GET", "other");
    EXPECT(f->c, "\"v\"", "GET", "app:1");
    /* FLUSHALL is a @write command, as in Redis: +@read +@write alone allow it. */
    EXPECT(f->c, "+OK", "ACL", "SETUSER", "rw", "on", "nopass", "~app:*", "+@read", "+@write");
    EXPECT(f->c, "+OK", "ACL", "DRYRUN", "rw", "flushall");

    kv_reply *r = RUN(f->c, "ACL", "GETUSER", "alice");
    assert_field_text(r, "flags", "[\"on\"]");
    assert_field_text(r, "passwords", "[\"" SHA_SECRET "\"]");
    assert_field_text(r, "keys", "\"~app:*\"");
    assert_field_text(r, "channels", "\"\"");
    assert_field_text(r, "selectors", "[]");
    kv_reply_free(r);

    /* bob is off: no password opens it. */
    kv_client *b = h_connect(port);
    assert_non_null(b);
    EXPECT(b, WRONGPASS, "AUTH", "bob", "anything");
    EXPECT(b, "\"default\"", "ACL", "WHOAMI");
    kv_client_free(b);

    /* CLIENT LIST names the user; CLIENT KILL USER closes its connection. */
    r = RUN(f->c, "CLIENT", "LIST");
    assert_non_null(r);
    assert_non_null(strstr(r->str, " user=alice "));
    kv_reply_free(r);
    EXPECT(f->c, ":1", "CLIENT", "KILL", "USER", "alice");
    EXPECT(a, "(no reply: connection error)", "GET", "app:1");
    EXPECT(f->c, "-ERR No such user 'nosuch'", "CLIENT", "KILL", "USER", "nosuch");
    kv_client_free(a);
}

/* A predicate for h_wait_until: the node on port *(int *)arg answers PING
 * with PONG once logged in as the default user with password adminpw. */
static int admin_pong(void *arg)
{
    kv_client *c = h_connect(*(int *)arg);
    if (!c)
        return 0;
    kv_reply *r = RUN(c, "AUTH", "adminpw");
    int ok = r && r->type == KV_REPLY_STATUS;
    kv_reply_free(r);
    r = ok ? RUN(c, "PING") : NULL;
    ok = r && r->type == KV_REPLY_STATUS && !strcmp(r->str, "PONG");
    kv_reply_free(r);
    kv_client_free(c);
    return ok;
}

/* The same users as `user` lines of a config file, with the default user's
 * own line (a password: new connections must AUTH) and acl-pubsub-default
 * allchannels, which applies to the file's users wherever its line is.
 * User lines together with an aclfile, a duplicate user or a bad rule:
 * kvnode refuses to start. */
static void test_users_from_config_file(void **state)
{
    fixture *f = *state;
    int port = h_free_port();
    char conf[800], text[2048];
    snprintf(conf, sizeof conf, "%s/kvnode.conf", f->tmp);
    snprintf(text, sizeof text,
             "port %d\n"
             "dir %s\n"
             "user alice on >secret ~app:* +@read +@write -flushall +acl|whoami\n"
             "user default on >adminpw ~* &* +@all\n"
             "acl-pubsub-default allchannels\n",
             port, f->dir);
    write_file(conf, text, "w");

    h_proc *p = &f->node;
    memset(p, 0, sizeof *p);
    p->port = port;
    snprintf(p->dir, sizeof p->dir, "%s", f->dir);
    snprintf(p->log, sizeof p->log, "%s/kvnode.log", f->tmp);
    h_set_args(p, (const char *const[]){h_kvnode_bin(), conf, NULL});
    assert_int_equal(h_restart(p), 0);
    /* The harness saw NOAUTH, which comes before -LOADING: wait for PONG. */
    assert_true(h_wait_until(admin_pong, &port, 30000));
    f->c = h_connect(port);
    assert_non_null(f->c);

    EXPECT(f->c, NOAUTH, "PING");
    EXPECT(f->c, WRONGPASS, "AUTH", "wrong");
    EXPECT(f->c, "+OK", "AUTH", "adminpw");
    EXPECT(f->c, "+PONG", "PING");
    kv_reply *r = RUN(f->c, "ACL", "LIST");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    /* Its single-command rules' order is the command table's (Redis's is
     * its hash table's): only the part before them is fixed. */
    const char *alice = "user alice on #" SHA_SECRET " ~app:* &* -@all ";
    assert_memory_equal(r->element[0]->str, alice, strlen(alice));
    assert_non_null(strstr(r->element[0]->str, " -flushall"));
    assert_non_null(strstr(r->element[0]->str, " +acl|whoami"));
    /* A user line resets the default user first (sanitize-payload). */
    assert_string_equal(r->element[1]->str,
                        "user default on sanitize-payload #" SHA_ADMINPW " ~* &* +@all");
    kv_reply_free(r);
    /* A user created now also gets every channel. */
    EXPECT(f->c, "+OK", "ACL", "SETUSER", "newu");
    r = RUN(f->c, "ACL", "GETUSER", "newu");
    assert_field_text(r, "channels", "\"&*\"");
    kv_reply_free(r);

    kv_client *a = login(port, "alice", "secret");
    EXPECT(a, "\"alice\"", "ACL", "WHOAMI");
    EXPECT(a, "+OK", "SET", "app:1", "v");
    EXPECT(a, NOPERM_KEY, "SET", "other", "1");
    EXPECT(a, "-NOPERM this user has no permissions to run the 'flushall' command", "FLUSHALL");
    kv_client_free(a);
    kv_client_free(f->c);
    f->c = NULL;
    assert_int_equal(h_stop(&f->node, SIGTERM, 10000), 0);

    /* user lines and an aclfile: not both. */
    write_file(conf, "aclfile users.acl\n", "a");
    refuses(f, "conf-and-aclfile", (const char *const[]){h_kvnode_bin(), conf, NULL},
            "please define either an ACL file or declare users directly in your redis.conf, "
            "but not both.");
    /* The same from the command line. */
    char ports[16];
    snprintf(ports, sizeof ports, "%d", h_free_port());
    char acl[800];
    snprintf(acl, sizeof acl, "%s/users.acl", f->dir);
    write_file(acl, "", "w");
    refuses(f, "user-and-aclfile",
            (const char *const[]){h_kvnode_bin(), "--port", ports, "--dir", f->dir, "--user",
                                  "alice", "on", "nopass", "--aclfile", "users.acl", NULL},
            "but not both.");
    refuses(f, "duplicate",
            (const char *const[]){h_kvnode_bin(), "--port", ports, "--dir", f->dir, "--user",
                                  "alice", "on", "--user", "alice", "off", NULL},
            "Duplicate user found. A user can only be defined once in config files");
    refuses(f, "bad-rule",
            (const char *const[]){h_kvnode_bin(), "--port", ports, "--dir", f->dir, "--user",
                                  "alice", "on", "+nosuch", NULL},
            "Error loading ACL rule '+nosuch' for the user named 'alice': Unknown command or "
            "category name in ACL");
}

/* The aclfile: ACL SAVE writes Redis's lines, a kill -9 and a restart load
 * them (same users, same descriptions, the password works); a broken line
 * makes ACL LOAD fail with Redis's message and change nothing, and makes a
 * restart fail. */
static void test_aclfile_durability(void **state)
{
    fixture *f = *state;
    char acl[800];
    assert_int_equal(mkdir(f->dir, 0755), 0);
    snprintf(acl, sizeof acl, "%s/users.acl", f->dir);
    write_file(acl, "", "w");
    start(f, (const char *const[]){"--aclfile", "users.acl", NULL});
    int port = f->node.port;

    EXPECT(f->c, "[\"user default on nopass ~* &* +@all\"]", "ACL", "LIST");
    EXPECT(f->c, "+OK", "ACL", "SETUSER", "bob", "on", ">bobpw", "~bob:*", "&chan", "+@read",
           "(+set ~w*)");
    EXPECT(f->c, "+OK", "ACL", "SAVE");
    char text[4096];
    read_file(acl, text, sizeof text);
    assert_string_equal(text, "user bob on #" SHA_BOBPW " ~bob:* resetchannels &chan -@all "
                              "+@read (~w* resetchannels -@all +set)\n"
                              "user default on nopass ~* &* +@all\n");
    char *list = reply_of(f->c, (const char *const[]){"ACL", "LIST", NULL});
    char *getuser = reply_of(f->c, (const char *const[]){"ACL", "GETUSER", "bob", NULL});

    kv_client_free(f->c);
    f->c = NULL;
    assert_int_not_equal(h_stop(&f->node, SIGKILL, 10000), -1);
    assert_int_equal(h_restart(&f->node), 0);
    f->c = h_connect(port);
    assert_non_null(f->c);
    expect_argv(f->c, list, (const char *const[]){"ACL", "LIST", NULL});
    expect_argv(f->c, getuser, (const char *const[]){"ACL", "GETUSER", "bob", NULL});

    kv_client *b = h_connect(port);
    assert_non_null(b);
    EXPECT(b, WRONGPASS, "AUTH", "bob", "wrong");
    EXPECT(b, "+OK", "AUTH", "bob", "bobpw");
    EXPECT(b, "(nil)", "GET", "bob:1");
    EXPECT(b, "+OK", "SET", "w1", "v"); /* the selector's */
    EXPECT(b, NOPERM_KEY, "SET", "bob:1", "v");
    EXPECT(b, NOPERM_KEY, "GET", "w1");

    /* A broken line: ACL LOAD fails as a whole. */
    write_file(acl, "user carl on +nosuchcmd\n", "a");
    EXPECT(f->c,
           "-ERR users.acl:3: Error in applying operation '+nosuchcmd': Unknown command or "
           "category name in ACL. " LOAD_ABORTED,
           "ACL", "LOAD");
    expect_argv(f->c, list, (const char *const[]){"ACL", "LIST", NULL});
    EXPECT(b, "(nil)", "GET", "bob:1"); /* bob's connection stays */
    write_file(acl, "garbage\n", "a");
    EXPECT(f->c,
           "-ERR users.acl:3: Error in applying operation '+nosuchcmd': Unknown command or "
           "category name in ACL. users.acl:4 should start with user keyword followed by the "
           "username. " LOAD_ABORTED,
           "ACL", "LOAD");
    expect_argv(f->c, list, (const char *const[]){"ACL", "LIST", NULL});
    kv_client_free(b);
    free(list);
    free(getuser);

    /* ... and a restart. */
    kv_client_free(f->c);
    f->c = NULL;
    assert_int_equal(h_stop(&f->node, SIGTERM, 10000), 0);
    char ports[16];
    snprintf(ports, sizeof ports, "%d", h_free_port());
    refuses(f, "broken-aclfile",
            (const char *const[]){h_kvnode_bin(), "--port", ports, "--dir", f->dir, "--aclfile",
                                  "users.acl", NULL},
            "Aborting Redis startup because of ACL errors: users.acl:3: Error in applying "
            "operation '+nosuchcmd'");
}

/* A deleted user's connections are closed (the one deleting itself after
 * its reply); turning a user off is not (Redis 7.0); ACL LOAD closes the
 * connections of every user but the default one. */
static void test_deleted_user_connections_closed(void **state)
{
    fixture *f = *state;
    char acl[800];
    assert_int_equal(mkdir(f->dir, 0755), 0);
    snprintf(acl, sizeof acl, "%s/users.acl", f->dir);
    write_file(acl, "user carol on >pw ~* +@all\nuser dave on >pw ~* +@all\n", "w");
    start(f, (const char *const[]){"--aclfile", "users.acl", NULL});
    int port = f->node.port;

    kv_client *a = login(port, "carol", "pw");
    EXPECT(a, "\"carol\"", "ACL", "WHOAMI");
    EXPECT(f->c, ":1", "ACL", "DELUSER", "carol", "nosuch");
    EXPECT(a, "(no reply: connection error)", "PING");
    kv_client_free(a);
    EXPECT(f->c, "[\"dave\" \"default\"]", "ACL", "USERS");
    EXPECT(f->c, "-ERR The 'default' user cannot be removed", "ACL", "DELUSER", "dave", "default");
    EXPECT(f->c, "[\"dave\" \"default\"]", "ACL", "USERS");

    /* Deleting itself: the reply, then the connection goes. */
    EXPECT(f->c, "+OK", "ACL", "SETUSER", "carol", "on", ">pw", "~*", "+@all");
    a = login(port, "carol", "pw");
    EXPECT(a, ":1", "ACL", "DELUSER", "carol");
    EXPECT(a, "(no reply: connection error)", "PING");
    kv_client_free(a);

    /* off: new logins fail, the open connection stays. */
    kv_client *d = login(port, "dave", "pw");
    EXPECT(f->c, "+OK", "ACL", "SETUSER", "dave", "off");
    EXPECT(d, "+PONG", "PING");
    kv_client *x = h_connect(port);
    assert_non_null(x);
    EXPECT(x, WRONGPASS, "AUTH", "dave", "pw");
    kv_client_free(x);

    /* ACL LOAD: dave's connection and the loader's (after its reply) go;
     * the default user's stay, explicitly authenticated or not. */
    EXPECT(f->c, "+OK", "ACL", "SETUSER", "loader", "on", ">pw", "~*", "+@all");
    kv_client *l = login(port, "loader", "pw");
    kv_client *e = login(port, "default", "any"); /* nopass: any password */
    EXPECT(l, "+OK", "ACL", "LOAD");
    EXPECT(l, "(no reply: connection error)", "PING");
    EXPECT(d, "(no reply: connection error)", "PING");
    EXPECT(e, "+PONG", "PING");
    EXPECT(f->c, "+PONG", "PING");
    EXPECT(f->c, "[\"carol\" \"dave\" \"default\"]", "ACL", "USERS");
    x = login(port, "dave", "pw"); /* on again, from the file */
    EXPECT(x, "\"dave\"", "ACL", "WHOAMI");
    kv_client_free(x);
    kv_client_free(e);
    kv_client_free(l);
    kv_client_free(d);
}

/* Pub/Sub: a subscriber whose channel (or pattern) its user may no longer
 * use is disconnected by ACL SETUSER; subscribers still allowed, and the
 * user's other connections, stay. */
static void test_pubsub_revocation(void **state)
{
    fixture *f = *state;
    start(f, NULL);
    int port = f->node.port;
    EXPECT(f->c, "+OK", "ACL", "SETUSER", "sub", "on", ">pw", "+@all", "~*", "resetchannels",
           "&news*", "&other");
    int ch = raw_subscriber(port, "sub", "pw", "SUBSCRIBE", "news1");
    int pat = raw_subscriber(port, "sub", "pw", "PSUBSCRIBE", "news*");
    int keep = raw_subscriber(port, "sub", "pw", "SUBSCRIBE", "other");
    kv_client *plain = login(port, "sub", "pw");
    EXPECT(plain, NOPERM_CHANNEL, "SUBSCRIBE", "secret");
    EXPECT(plain, NOPERM_CHANNEL, "PUBLISH", "secret", "x");

    /* Adding a channel revokes nothing. */
    EXPECT(f->c, "+OK", "ACL", "SETUSER", "sub", "&extra");
    EXPECT(f->c, ":2", "PUBLISH", "news1", "a");
    RAW_EXPECT(ch, "*3", "$7", "message", "$5", "news1", "$1", "a");
    RAW_EXPECT(pat, "*4", "$8", "pmessage", "$5", "news*", "$5", "news1", "$1", "a");

    /* news* goes (news1 stays): the pattern subscriber is closed. */
    EXPECT(f->c, "+OK", "ACL", "SETUSER", "sub", "resetchannels", "&other", "&news1");
    assert_true(raw_closed(pat, 5000));
    EXPECT(f->c, ":1", "PUBLISH", "news1", "b");
    RAW_EXPECT(ch, "*3", "$7", "message", "$5", "news1", "$1", "b");
    EXPECT(f->c, ":1", "PUBLISH", "other", "c");
    RAW_EXPECT(keep, "*3", "$7", "message", "$5", "other", "$1", "c");

    /* No channels at all: both subscribers go, the plain connection stays. */
    EXPECT(f->c, "+OK", "ACL", "SETUSER", "sub", "resetchannels");
    assert_true(raw_closed(ch, 5000));
    assert_true(raw_closed(keep, 5000));
    EXPECT(plain, "+PONG", "PING");
    EXPECT(f->c, ":0", "PUBLISH", "other", "d");
    EXPECT(f->c, ":0", "PUBLISH", "news1", "d");
    close(ch);
    close(pat);
    close(keep);
    kv_client_free(plain);
}

/* requirepass is the default user's password: NOAUTH before AUTH, its hash
 * in ACL GETUSER / LIST; CONFIG SET requirepass "" lets every connection
 * (open or new) in without AUTH, and a new password is asked of new ones. */
static void test_requirepass_default_user(void **state)
{
    fixture *f = *state;
    start(f, (const char *const[]){"--requirepass", "pw", NULL});
    int port = f->node.port;
    EXPECT(f->c, NOAUTH, "PING");
    EXPECT(f->c, NOAUTH, "ACL", "WHOAMI");
    EXPECT(f->c, NOAUTH, "SET", "k", "v");
    EXPECT(f->c, WRONGPASS, "AUTH", "wrong");
    EXPECT(f->c, WRONGPASS, "AUTH", "default", "wrong");
    EXPECT(f->c, "+OK", "AUTH", "pw");
    EXPECT(f->c, "+OK", "AUTH", "default", "pw");
    EXPECT(f->c, "\"default\"", "ACL", "WHOAMI");
    EXPECT(f->c,
           "[\"flags\" [\"on\"] \"passwords\" [\"" SHA_PW "\"] \"commands\" \"+@all\" \"keys\" "
           "\"~*\" \"channels\" \"&*\" \"selectors\" []]",
           "ACL", "GETUSER", "default");
    EXPECT(f->c, "[\"user default on #" SHA_PW " ~* &* +@all\"]", "ACL", "LIST");

    kv_client *waiting = h_connect(port); /* opened before, never authenticated */
    assert_non_null(waiting);
    EXPECT(waiting, NOAUTH, "PING");
    EXPECT(f->c, "+OK", "CONFIG", "SET", "requirepass", "");
    EXPECT(waiting, "+PONG", "PING");
    kv_client *n = h_connect(port);
    assert_non_null(n);
    EXPECT(n, "+PONG", "PING");
    EXPECT(n,
           "[\"flags\" [\"on\" \"nopass\"] \"passwords\" [] \"commands\" \"+@all\" \"keys\" "
           "\"~*\" \"channels\" \"&*\" \"selectors\" []]",
           "ACL", "GETUSER", "default");
    EXPECT(n,
           "-ERR AUTH <password> called without any password configured for the default user. "
           "Are you sure your configuration is correct?",
           "AUTH", "pw");
    kv_client_free(n);

    EXPECT(f->c, "+OK", "CONFIG", "SET", "requirepass", "pw2");
    EXPECT(f->c, "+PONG", "PING"); /* authenticated connections stay so */
    n = h_connect(port);
    assert_non_null(n);
    EXPECT(n, NOAUTH, "PING");
    kv_reply *r = RUN(n, "HELLO", "3", "AUTH", "default", "pw2");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_MAP);
    kv_reply_free(r);
    EXPECT(n, "+PONG", "PING");
    kv_client_free(n);
    kv_client_free(waiting);
}

/* ACL LOG: denied commands, keys and failed AUTHs with their reason,
 * context (toplevel, multi, lua), object and username; a repeat counted in
 * its entry; acllog-max-len; ACL LOG RESET. */
static void test_acl_log(void **state)
{
    fixture *f = *state;
    start(f, (const char *const[]){"--acllog-max-len", "3", NULL});
    EXPECT(f->c, "[]", "ACL", "LOG");
    EXPECT(f->c, "+OK", "ACL", "SETUSER", "u", "on", ">pw", "~app:*", "+@all", "-flushall");
    kv_client *a = login(f->node.port, "u", "pw");
    EXPECT(a, "-NOPERM this user has no permissions to run the 'flushall' command", "FLUSHALL");
    EXPECT(a, NOPERM_KEY, "GET", "other");
    EXPECT(a, WRONGPASS, "AUTH", "nobody", "x");

    kv_reply *r = RUN(f->c, "ACL", "LOG");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    static const char *const want[3][5] = {
        /* reason, context, object, username, count: newest first */
        {"auth", "toplevel", "AUTH", "nobody", ":1"},
        {"key", "toplevel", "other", "u", ":1"},
        {"command", "toplevel", "flushall", "u", ":1"},
    };
    char q[128];
    for (int i = 0; i < 3; i++) {
        const kv_reply *e = r->element[i];
        assert_int_equal(e->elements, 14);
        snprintf(q, sizeof q, "\"%s\"", want[i][0]);
        assert_field_text(e, "reason", q);
        snprintf(q, sizeof q, "\"%s\"", want[i][1]);
        assert_field_text(e, "context", q);
        snprintf(q, sizeof q, "\"%s\"", want[i][2]);
        assert_field_text(e, "object", q);
        snprintf(q, sizeof q, "\"%s\"", want[i][3]);
        assert_field_text(e, "username", q);
        assert_field_text(e, "count", want[i][4]);
        const kv_reply *age = field(e, "age-seconds");
        assert_true(age && age->str);
        double secs = strtod(age->str, NULL);
        assert_true(secs >= 0 && secs < 60);
        const kv_reply *ci = field(e, "client-info");
        assert_true(ci && ci->str);
        /* The connection that was refused (logged in as u throughout). */
        assert_non_null(strstr(ci->str, " user=u "));
    }
    kv_reply_free(r);

    /* The same denial again: its entry counts 2 and is the newest. */
    EXPECT(a, "-NOPERM this user has no permissions to run the 'flushall' command", "FLUSHALL");
    r = RUN(f->c, "ACL", "LOG", "1");
    assert_int_equal(r->elements, 1);
    assert_field_text(r->element[0], "object", "\"flushall\"");
    assert_field_text(r->element[0], "context", "\"toplevel\"");
    assert_field_text(r->element[0], "count", ":2");
    kv_reply_free(r);

    /* Inside MULTI and inside a script: other contexts, other entries; the
     * log keeps its 3 newest. */
    EXPECT(a, "+OK", "MULTI");
    EXPECT(a, "-NOPERM this user has no permissions to run the 'flushall' command", "FLUSHALL");
    EXPECT(a, "-EXECABORT Transaction discarded because of previous errors.", "EXEC");
    kv_reply_free(RUN(a, "EVAL", "return redis.pcall('flushall')", "0"));
    r = RUN(f->c, "ACL", "LOG", "10");
    assert_int_equal(r->elements, 3);
    assert_field_text(r->element[0], "context", "\"lua\"");
    assert_field_text(r->element[0], "object", "\"flushall\"");
    assert_field_text(r->element[1], "context", "\"multi\"");
    assert_field_text(r->element[1], "object", "\"flushall\"");
    assert_field_text(r->element[2], "context", "\"toplevel\"");
    assert_field_text(r->element[2], "count", ":2");
    kv_reply_free(r);

    EXPECT(f->c, "-ERR value is not an integer or out of range", "ACL", "LOG", "x");
    EXPECT(f->c, "+OK", "ACL", "LOG", "RESET");
    EXPECT(f->c, "[]", "ACL", "LOG");
    kv_client_free(a);
}

/* Side by side with redis-server: ACL SETUSER's errors for bad rules,
 * GETUSER / LIST of users with key permissions and selectors, DRYRUN, CAT
 * and GENPASS errors, AUTH and HELLO AUTH failures, a denied command
 * queued in MULTI (EXECABORT) and denied inside a script: the same bytes. */
static void test_replies_match_redis(void **state)
{
    fixture *f = *state;
    h_pair *p = start_pair(f, "aclcmp", NULL);
    static const step steps[] = {
        {0, {"ACL", "SETUSER", "t1", "+nosuchcmd"}},
        {0, {"ACL", "SETUSER", "t1", "+@nosuchcat"}},
        {0, {"ACL", "SETUSER", "t1", "~foo", "allkeys", "~bar"}},
        {0, {"ACL", "SETUSER", "t1", "allkeys", "~bar"}},
        {0, {"ACL", "GETUSER", "t1"}}, /* a failed SETUSER creates nothing */
        {0, {"ACL", "SETUSER", "t1", "resetkeys", "~foo", "allkeys"}},
        {0, {"ACL", "SETUSER", "t1", "~bar"}},
        {0, {"ACL", "SETUSER", "t1", "resetkeys", "~bar", "allkeys", "~baz"}},
        {0, {"ACL", "SETUSER", "t1", "#abc"}},
        {0, {"ACL", "SETUSER", "t1", "<nopass"}},
        {0, {"ACL", "SETUSER", "t1", "!abc"}},
        {0, {"ACL", "SETUSER", "t1", "(+get"}},
        {0, {"ACL", "SETUSER", "t1", "(+get", "~x"}},
        {0, {"ACL", "SETUSER", "t1", "(~x bogus)"}},
        {0, {"ACL", "SETUSER", "t1", "allchannels", "&foo"}},
        {0, {"ACL", "SETUSER", "t1", "bogus"}},
        {0, {"ACL", "SETUSER", "t1", "+config|get|x"}},
        {0, {"ACL", "SETUSER", "t1", "+config|"}},
        {0, {"ACL", "SETUSER", "a b", "on"}},
        {0, {"ACL", "GETUSER", "t1"}},
        {0, {"ACL", "SETUSER", "t2", "%X~a"}},
        {0, {"ACL", "SETUSER", "t2", "%~a"}},
        {0, {"ACL", "SETUSER", "t2", "%RR~a"}},
        {0, {"ACL", "SETUSER", "t2", "%RW~a", "%R~b", "%W~c", "~d", "%R~d", "+get|x"}},
        {0, {"ACL", "GETUSER", "t2"}},
        {0, {"ACL", "SETUSER", "g", "+@all", "-@dangerous", "~k*", "&c*", "(+get ~x*)"}},
        {0, {"ACL", "GETUSER", "g"}},
        {0, {"ACL", "GETUSER", "nosuch"}},
        {0, {"ACL", "LIST"}},
        {0, {"ACL", "USERS"}},
        {0, {"ACL", "DELUSER", "default"}},
        {0, {"ACL", "DRYRUN", "g", "get", "k1"}},
        {0, {"ACL", "DRYRUN", "g", "get", "x1"}},
        {0, {"ACL", "DRYRUN", "g", "get", "z1"}},
        {0, {"ACL", "DRYRUN", "g", "set", "x1", "v"}},
        {0, {"ACL", "DRYRUN", "g", "flushall"}},
        {0, {"ACL", "DRYRUN", "g", "config", "get", "port"}},
        {0, {"ACL", "DRYRUN", "g", "publish", "cx", "m"}},
        {0, {"ACL", "DRYRUN", "g", "publish", "d", "m"}},
        {0, {"ACL", "DRYRUN", "g", "subscribe", "c1", "d1"}},
        {0, {"ACL", "DRYRUN", "g", "psubscribe", "c1*"}},
        {0, {"ACL", "DRYRUN", "g", "mset", "k1", "v", "x1", "v"}},
        {0, {"ACL", "DRYRUN", "g", "eval", "return 1", "1", "z"}},
        {0, {"ACL", "DRYRUN", "nouser", "get", "a"}},
        {0, {"ACL", "DRYRUN", "g", "nocmd", "a"}},
        {0, {"ACL", "DRYRUN", "g", "get"}},
        {0, {"ACL", "DRYRUN", "g", "config", "nosub"}},
        {0, {"ACL", "CAT"}},
        {0, {"ACL", "CAT", "nosuch"}},
        {0, {"ACL", "CAT", "read", "extra"}},
        {0, {"ACL", "GENPASS", "0"}},
        {0, {"ACL", "GENPASS", "5000"}},
        {0, {"ACL", "GENPASS", "abc"}},
        {0, {"ACL", "GENPASS", "-1"}},
        {0, {"ACL", "GENPASS", "64", "x"}},
        {0, {"ACL", "NOSUCH"}},
        {0, {"ACL", "HELP"}},
        {0, {"ACL", "SETUSER", "lim", "on", ">pw", "~k*", "+get", "+set", "+multi", "+exec",
             "+eval"}},
        {1, {"AUTH", "lim", "wrong"}},
        {1, {"AUTH", "nouser", "x"}},
        {1, {"AUTH", "a", "b", "c"}},
        {1, {"AUTH", "onlypass"}},
        {1, {"HELLO", "3", "AUTH", "lim", "wrong"}},
        {1, {"HELLO", "2", "AUTH", "lim"}},
        {1, {"HELLO", "4", "AUTH", "lim", "pw"}},
        {1, {"AUTH", "lim", "pw"}},
        {1, {"ACL", "WHOAMI"}},
        {1, {"SET", "other", "1"}},
        {1, {"FLUSHALL"}},
        {1, {"MULTI"}},
        {1, {"SET", "k1", "v"}},
        {1, {"FLUSHALL"}},
        {1, {"SET", "other", "1"}},
        {1, {"EXEC"}},
        {1, {"GET", "k1"}}, /* the transaction did not run */
        {1, {"EVAL", "return redis.call('flushall')", "0"}},
        {1, {"EVAL", "return redis.pcall('flushall')", "0"}},
        {1, {"EVAL", "return redis.call('get', 'other')", "0"}},
        {1, {"EVAL", "return redis.acl_check_cmd('set', 'k1', 'v')", "0"}},
        {1, {"EVAL", "return redis.acl_check_cmd('set', 'other', 'v')", "0"}},
        {1, {"EVAL", "return redis.acl_check_cmd('nosuch')", "0"}},
        {0, {"GET", "other"}},
    };
    assert_int_equal(compare_steps(p, f->second, steps, sizeof steps / sizeof *steps), 0);

    /* GENPASS 5: 5 bits round up to 2 hex characters, on both. */
    for (int i = 0; i < 2; i++) {
        kv_reply *r = RUN(i ? p->kc : p->rc, "ACL", "GENPASS", "5");
        assert_non_null(r);
        assert_int_equal(r->type, KV_REPLY_STRING);
        assert_int_equal(r->len, 2);
        assert_int_equal(strspn(r->str, "0123456789abcdef"), 2);
        kv_reply_free(r);
        r = RUN(i ? p->kc : p->rc, "ACL", "GENPASS");
        assert_int_equal(r->len, 64);
        kv_reply_free(r);
    }
}

/* Side by side with redis-server started with --requirepass: what an
 * unauthenticated connection is told, HELLO's NOAUTH included. */
static void test_noauth_replies_match_redis(void **state)
{
    fixture *f = *state;
    h_pair *p = start_pair(f, "aclnoauth", (const char *const[]){"--requirepass", "pw", NULL});
    static const step steps[] = {
        {0, {"PING"}},
        {0, {"ACL", "WHOAMI"}},
        {0, {"HELLO", "3"}},
        {0, {"HELLO"}},
        {0, {"AUTH", "wrong"}},
        {0, {"HELLO", "3", "AUTH", "default", "wrong"}},
        {0, {"AUTH", "pw"}},
        {0, {"ACL", "GETUSER", "default"}},
        {0, {"ACL", "LIST"}},
        {0, {"CONFIG", "SET", "requirepass", ""}},
        {1, {"PING"}},
        {1, {"AUTH", "pw"}},
    };
    assert_int_equal(compare_steps(p, f->second, steps, sizeof steps / sizeof *steps), 0);
}

/* Side by side with redis-server: the connection a command was refused on
 * inside a script or at EXEC is described as running that script / EXEC,
 * in CLIENT LIST and in the ACL LOG entry's client-info. */
static void test_denied_client_info_matches_redis(void **state)
{
    fixture *f = *state;
    h_pair *p = start_pair(f, "aclinfo", NULL);
    kv_client *admin[2] = {p->rc, p->kc};
    kv_client *const *user = f->second;
    char line[2][2048], log[2][2048], v[2][64];
    static const char *const names[] = {"redis", "kvnode"};
    for (int i = 0; i < 2; i++) {
        EXPECT(admin[i], "+OK", "ACL", "SETUSER", "w", "on", ">pw", "+@all", "-flushall", "~*");
        EXPECT(user[i], "+OK", "AUTH", "w", "pw");
        EXPECT(user[i], "+OK", "CLIENT", "SETNAME", "scripted");
        EXPECT(user[i], "-ERR The user executing the script can't run this command or subcommand",
               "EVAL", "return redis.pcall('flushall')", "0");
        client_line(admin[i], "scripted", line[i], sizeof line[i]);
        last_log_client_info(admin[i], log[i], sizeof log[i]);
    }
    int diffs = 0;
    for (int i = 0; i < 2; i++) {
        client_field(line[i], "cmd", v[i], sizeof v[i]);
        fprintf(stderr, "after EVAL, %s's CLIENT LIST: cmd=%s\n", names[i], v[i]);
    }
    assert_string_equal(v[0], "eval");
    diffs += strcmp(v[0], v[1]) != 0;
    for (int i = 0; i < 2; i++) {
        client_field(log[i], "cmd", v[i], sizeof v[i]);
        fprintf(stderr, "lua entry, %s's ACL LOG client-info: cmd=%s\n", names[i], v[i]);
    }
    assert_string_equal(v[0], "eval");
    diffs += strcmp(v[0], v[1]) != 0;

    /* Queued, then revoked before EXEC. */
    for (int i = 0; i < 2; i++) {
        EXPECT(user[i], "+OK", "MULTI");
        EXPECT(user[i], "+QUEUED", "GET", "k");
        EXPECT(admin[i], "+OK", "ACL", "SETUSER", "w", "-get");
        EXPECT(user[i],
               "[-NOPERM ACLs rules changed between the moment the transaction was accumulated "
               "and the EXEC call. This command is no longer allowed for the following reason: "
               "no permission to execute the command or subcommand]",
               "EXEC");
        client_line(admin[i], "scripted", line[i], sizeof line[i]);
        last_log_client_info(admin[i], log[i], sizeof log[i]);
    }
    static const char *const fields[] = {"cmd", "flags", "multi"};
    for (int j = 0; j < 3; j++) {
        for (int i = 0; i < 2; i++) {
            client_field(log[i], fields[j], v[i], sizeof v[i]);
            fprintf(stderr, "multi entry, %s's ACL LOG client-info: %s=%s\n", names[i], fields[j],
                    v[i]);
        }
        diffs += strcmp(v[0], v[1]) != 0;
    }
    for (int i = 0; i < 2; i++) {
        client_field(line[i], "cmd", v[i], sizeof v[i]);
        fprintf(stderr, "after EXEC, %s's CLIENT LIST: cmd=%s\n", names[i], v[i]);
    }
    assert_string_equal(v[0], "exec");
    diffs += strcmp(v[0], v[1]) != 0;
    assert_int_equal(diffs, 0);
}

/* Side by side with redis-server: the ACL options in CONFIG GET / SET. */
static void test_acl_config_matches_redis(void **state)
{
    fixture *f = *state;
    h_pair *p = start_pair(f, "aclconf", NULL);
    static const step steps[] = {
        {0, {"CONFIG", "GET", "aclfile"}},
        {0, {"CONFIG", "GET", "acllog-max-len"}},
        {0, {"CONFIG", "GET", "acl-pubsub-default"}},
        {0, {"CONFIG", "SET", "aclfile", "x.acl"}},
        {0, {"CONFIG", "SET", "acllog-max-len", "-1"}},
        {0, {"CONFIG", "SET", "acllog-max-len", "5"}},
        {0, {"CONFIG", "GET", "acllog-max-len"}},
        {0, {"CONFIG", "SET", "acl-pubsub-default", "allchannels"}},
        {0, {"ACL", "SETUSER", "n1"}},
        {0, {"CONFIG", "SET", "acl-pubsub-default", "resetchannels"}},
        {0, {"ACL", "SETUSER", "n2"}},
        {0, {"ACL", "LIST"}},
        {0, {"ACL", "SAVE"}},
        {0, {"ACL", "LOAD"}},
        {0, {"CONFIG", "SET", "acl-pubsub-default", "sometimes"}},
    };
    assert_int_equal(compare_steps(p, f->second, steps, sizeof steps / sizeof *steps), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_users_from_command_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users_from_config_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aclfile_durability, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_user_connections_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubsub_revocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requirepass_default_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acl_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_match_redis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noauth_replies_match_redis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_denied_client_info_matches_redis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acl_config_matches_redis, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
