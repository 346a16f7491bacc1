/* harness.c — see harness.h. */
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef KVNODE_BIN
#error "KVNODE_BIN must be defined by the build"
#endif
#ifndef KV_SOURCE_DIR
#error "KV_SOURCE_DIR must be defined by the build"
#endif

static pid_t started[256];
static int nstarted;
static int atexit_set;

const char *h_kvnode_bin(void)
{
    const char *e = getenv("KVNODE_BIN");
    return e && *e ? e : KVNODE_BIN;
}

const char *h_source_dir(void)
{
    return KV_SOURCE_DIR;
}

long long h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int h_link_up(void *arg)
{
    kv_client *c = h_connect(*(int *)arg);
    if (!c)
        return 0;
    kv_reply *r = h_cmd(c, "INFO replication");
    int up = r && r->str && strstr(r->str, "master_link_status:up");
    kv_reply_free(r);
    kv_client_free(c);
    return up;
}

static void sleep_ms(int ms);

int h_wait_until(int (*pred)(void *arg), void *arg, int ms)
{
    long long deadline = h_now_ms() + ms;
    for (;;) {
        if (pred(arg))
            return 1;
        if (h_now_ms() >= deadline)
            return pred(arg);
        sleep_ms(20);
    }
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int h_free_port(void)
{
    /* Ports from the ephemeral range's upper neighbour, checked free by
     * binding both the port and port+10000 (kvnode's peer port). */
    static unsigned seed;
    if (!seed)
        seed = (unsigned)getpid() * 2654435761u;
    for (int attempt = 0; attempt < 200; attempt++) {
        seed = seed * 1103515245u + 12345u;
        /* port and port + 10000 (the peer port) stay below the ephemeral range
         * (32768+), where outgoing connections could hold them. */
        int port = 10000 + (int)(seed % 12000);
        int ok = 1;
        for (int k = 0; k < 2 && ok; k++) {
            int fd = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in a = {0};
            a.sin_family = AF_INET;
            a.sin_port = htons((uint16_t)(port + k * 10000));
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
                ok = 0;
            close(fd);
        }
        if (ok)
            return port;
    }
    return -1;
}

char *h_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *p = malloc(512);
    snprintf(p, 512, "%s/kvit-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(p)) {
        perror("mkdtemp");
        exit(1);
    }
    return p;
}

void h_rmrf(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            h_rmrf(sub);
        else
            unlink(sub);
    }
    closedir(d);
    rmdir(path);
    /* A kvnode started on this directory logs beside it (h_kvnode_start). */
    char log[1024];
    snprintf(log, sizeof log, "%s.log", path);
    unlink(log);
}

void h_stop_all(void)
{
    for (int i = 0; i < nstarted; i++) {
        if (started[i] > 0) {
            kill(started[i], SIGKILL);
            waitpid(started[i], NULL, 0);
            started[i] = 0;
        }
    }
    nstarted = 0;
}

static void track(pid_t pid)
{
    if (!atexit_set) {
        atexit(h_stop_all);
        atexit_set = 1;
    }
    for (int i = 0; i < nstarted; i++) {
        if (started[i] == 0) {
            started[i] = pid;
            return;
        }
    }
    if (nstarted < 256)
        started[nstarted++] = pid;
}

static void untrack(pid_t pid)
{
    for (int i = 0; i < nstarted; i++)
        if (started[i] == pid)
            started[i] = 0;
}

static void print_log(const h_proc *p)
{
    FILE *f = fopen(p->log, "r");
    if (!f)
        return;
    char line[1024];
    fprintf(stderr, "---- %s ----\n", p->log);
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

static int spawn(h_proc *p)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* Die with the test, even if it aborts (ASan) before cleanup. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) {
            dup2(null, 0);
            close(null);
        }
        execv(p->argv[0], p->argv);
        fprintf(stderr, "exec %s: %s\n", p->argv[0], strerror(errno));
        _exit(127);
    }
    p->pid = pid;
    track(pid);
    return 0;
}

/* Did the process's log say its port was taken? */
static int log_says_in_use(const h_proc *p)
{
    FILE *f = fopen(p->log, "r");
    if (!f)
        return 0;
    char line[1024];
    int in_use = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "already in use") || strstr(line, "Address in use"))
            in_use = 1;
    fclose(f);
    return in_use;
}

static int wait_ping(h_proc *p, int timeout_ms)
{
    long long deadline = h_now_ms() + timeout_ms;
    while (h_now_ms() < deadline) {
        int st;
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
            untrack(p->pid);
            p->pid = 0;
            fprintf(stderr, "process exited during startup (status %d)\n", st);
            print_log(p);
            return -1;
        }
        kv_client *c = h_connect(p->port);
        if (c) {
            /* Serving: PONG, or NOAUTH when no password is known here;
             * -LOADING means it is still loading its data. With a
             * --requirepass in its arguments, log in and ask again. */
            kv_reply *r = h_cmd(c, "PING");
            if (r && r->type == KV_REPLY_ERROR && r->str && !strncmp(r->str, "NOAUTH", 6)) {
                for (int i = 0; i + 1 < p->argc; i++) {
                    if (!strcmp(p->argv[i], "--requirepass")) {
                        const char *argv[2] = {"AUTH", p->argv[i + 1]};
                        size_t lens[2] = {4, strlen(p->argv[i + 1])};
                        kv_reply_free(h_cmdv(c, 2, argv, lens));
                        kv_reply_free(r);
                        r = h_cmd(c, "PING");
                        break;
                    }
                }
            }
            int ok = r != NULL && !(r->type == KV_REPLY_ERROR && r->str &&
                                    !strncmp(r->str, "LOADING", 7));
            kv_reply_free(r);
            kv_client_free(c);
            if (ok)
                return 0;
        }
        sleep_ms(20);
    }
    fprintf(stderr, "process did not answer PING within %d ms\n", timeout_ms);
    print_log(p);
    return -1;
}

static void add_arg(h_proc *p, const char *a)
{
    size_t n = strlen(a) + 1;
    if (p->argc < 62 && p->argused + n <= sizeof p->argbuf) {
        p->argv[p->argc] = memcpy(p->argbuf + p->argused, a, n);
        p->argused += n;
        p->argc++;
        p->argv[p->argc] = NULL;
    }
}

void h_set_args(h_proc *p, const char *const *argv)
{
    p->argc = 0;
    p->argused = 0;
    p->argv[0] = NULL;
    for (int i = 0; argv[i]; i++)
        add_arg(p, argv[i]);
}

static int kvnode_start_once(h_proc *p, const char *dir, const char *const *extra);

int h_kvnode_start(h_proc *p, const char *dir, const char *const *extra)
{
    /* Another test may grab the same free port between our check and the
     * bind: try again on a new port then. */
    for (int attempt = 0; attempt < 5; attempt++) {
        int rc = kvnode_start_once(p, dir, extra);
        if (rc == 0 || !log_says_in_use(p))
            return rc;
        unlink(p->log);
    }
    return -1;
}

static int kvnode_start_once(h_proc *p, const char *dir, const char *const *extra)
{
    memset(p, 0, sizeof *p);
    p->port = h_free_port();
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    snprintf(p->log, sizeof p->log, "%s.log", dir);
    char port[16];
    snprintf(port, sizeof port, "%d", p->port);
    add_arg(p, h_kvnode_bin());
    add_arg(p, "--port");
    add_arg(p, port);
    add_arg(p, "--dir");
    add_arg(p, dir);
    /* Tests inspect nodes with DEBUG (DIGEST, POPULATE, SLEEP …), as
     * Redis's own test suite enables it (its default is no). */
    add_arg(p, "--enable-debug-command");
    add_arg(p, "yes");
    for (int i = 0; extra && extra[i]; i++)
        add_arg(p, extra[i]);
    if (spawn(p) < 0)
        return -1;
    return wait_ping(p, 30000);
}

int h_respawn(h_proc *p)
{
    return spawn(p) < 0 ? -1 : 0;
}

int h_restart(h_proc *p)
{
    if (spawn(p) < 0)
        return -1;
    return wait_ping(p, 60000);
}

static int redis_start_once(h_proc *p, const char *dir, const char *const *extra);

int h_redis_start(h_proc *p, const char *dir, const char *const *extra)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        int rc = redis_start_once(p, dir, extra);
        if (rc == 0 || !log_says_in_use(p))
            return rc;
        unlink(p->log);
    }
    return -1;
}

static int redis_start_once(h_proc *p, const char *dir, const char *const *extra)
{
    memset(p, 0, sizeof *p);
    p->port = h_free_port();
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    snprintf(p->log, sizeof p->log, "%s/redis.log", dir);
    char port[16];
    snprintf(port, sizeof port, "%d", p->port);
    add_arg(p, "/usr/bin/redis-server");
    add_arg(p, "--port");
    add_arg(p, port);
    add_arg(p, "--bind");
    add_arg(p, "127.0.0.1");
    add_arg(p, "--dir");
    add_arg(p, dir);
    add_arg(p, "--save");
    add_arg(p, "");
    add_arg(p, "--appendonly");
    add_arg(p, "no");
    for (int i = 0; extra && extra[i]; i++)
        add_arg(p, extra[i]);
    if (spawn(p) < 0)
        return -1;
    return wait_ping(p, 30000);
}

int h_sentinel_start(h_proc *p, const char *dir, const char *name, int master_port, int quorum,
                     int down_after_ms)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        memset(p, 0, sizeof *p);
        p->port = h_free_port();
        snprintf(p->dir, sizeof p->dir, "%s", dir);
        snprintf(p->log, sizeof p->log, "%s/sentinel.log", dir);
        mkdir(dir, 0755);
        char conf[700];
        snprintf(conf, sizeof conf, "%s/sentinel.conf", dir);
        FILE *f = fopen(conf, "w");
        if (!f)
            return -1;
        fprintf(f,
                "port %d\nbind 127.0.0.1\ndir %s\n"
                "sentinel monitor %s 127.0.0.1 %d %d\n"
                "sentinel down-after-milliseconds %s %d\n",
                p->port, dir, name, master_port, quorum, name, down_after_ms);
        fclose(f);
        add_arg(p, "/usr/bin/redis-server");
        add_arg(p, conf);
        add_arg(p, "--sentinel");
        if (spawn(p) < 0)
            return -1;
        int rc = wait_ping(p, 30000);
        if (rc == 0 || !log_says_in_use(p))
            return rc;
        unlink(p->log);
    }
    return -1;
}

int h_stop(h_proc *p, int sig, int timeout_ms)
{
    if (p->pid <= 0)
        return 0;
    kill(p->pid, sig);
    long long deadline = h_now_ms() + timeout_ms;
    int st = 0;
    while (h_now_ms() < deadline) {
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            untrack(p->pid);
            p->pid = 0;
            return st;
        }
        sleep_ms(10);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &st, 0);
    untrack(p->pid);
    p->pid = 0;
    return -1;
}

kv_client *h_connect(int port)
{
    kv_options o;
    kv_options_init(&o);
    o.connect_timeout_ms = 2000;
    o.io_timeout_ms = 10000;
    kv_client *c;
    if (kv_client_new(&c, &o) != 0)
        return NULL;
    if (kv_client_connect_tcp(c, "127.0.0.1", port) != 0) {
        kv_client_free(c);
        return NULL;
    }
    return c;
}

kv_reply *h_cmdv(kv_client *c, int argc, const char *const *argv, const size_t *lens)
{
    kv_reply *r = NULL;
    if (kv_client_command(c, argc, argv, lens, &r) != 0)
        return NULL;
    return r;
}

kv_reply *h_cmd(kv_client *c, const char *line)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", line);
    const char *argv[128];
    int argc = 0;
    for (char *tok = strtok(buf, " "); tok && argc < 128; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    return h_cmdv(c, argc, argv, NULL);
}

static size_t put(char *buf, size_t len, size_t at, const char *s, size_t n)
{
    for (size_t i = 0; i < n && at + 1 < len; i++)
        buf[at++] = s[i];
    if (len)
        buf[at < len ? at : len - 1] = '\0';
    return at;
}

static size_t reply_text(const kv_reply *r, char *buf, size_t len, size_t at)
{
    char tmp[64];
    switch (r->type) {
    case KV_REPLY_STRING:
    case KV_REPLY_VERB:
        at = put(buf, len, at, "\"", 1);
        for (size_t i = 0; i < r->len; i++) {
            unsigned char ch = (unsigned char)r->str[i];
            if (ch < 32 || ch > 126 || ch == '"' || ch == '\\') {
                int n = snprintf(tmp, sizeof tmp, "\\x%02x", ch);
                at = put(buf, len, at, tmp, (size_t)n);
            } else {
                at = put(buf, len, at, (const char *)&r->str[i], 1);
            }
        }
        return put(buf, len, at, "\"", 1);
    case KV_REPLY_STATUS:
        at = put(buf, len, at, "+", 1);
        return put(buf, len, at, r->str, r->len);
    case KV_REPLY_ERROR:
        at = put(buf, len, at, "-", 1);
        return put(buf, len, at, r->str, r->len);
    case KV_REPLY_INTEGER: {
        int n = snprintf(tmp, sizeof tmp, ":%lld", r->integer);
        return put(buf, len, at, tmp, (size_t)n);
    }
    case KV_REPLY_NIL:
        return put(buf, len, at, "(nil)", 5);
    case KV_REPLY_DOUBLE:
        at = put(buf, len, at, ",", 1);
        return put(buf, len, at, r->str, r->len);
    case KV_REPLY_BOOL:
        return put(buf, len, at, r->integer ? "#t" : "#f", 2);
    case KV_REPLY_BIGNUM:
        at = put(buf, len, at, "(", 1);
        return put(buf, len, at, r->str, r->len);
    default: {
        const char *open = r->type == KV_REPLY_MAP    ? "%{"
                           : r->type == KV_REPLY_SET  ? "~["
                           : r->type == KV_REPLY_PUSH ? ">["
                                                      : "[";
        at = put(buf, len, at, open, strlen(open));
        for (size_t i = 0; i < r->elements; i++) {
            if (i)
                at = put(buf, len, at, " ", 1);
            at = reply_text(r->element[i], buf, len, at);
        }
        return put(buf, len, at, r->type == KV_REPLY_MAP ? "}" : "]", 1);
    }
    }
}

void h_reply_text(const kv_reply *r, char *buf, size_t len)
{
    if (!len)
        return;
    buf[0] = '\0';
    if (!r) {
        snprintf(buf, len, "(no reply: connection error)");
        return;
    }
    reply_text(r, buf, len, 0);
}

int h_pair_start(h_pair *p, const char *tag, const char *const *redis_extra,
                 const char *const *kv_extra)
{
    memset(p, 0, sizeof *p);
    p->tmp = h_tmpdir(tag);
    char rdir[600], kdir[600];
    snprintf(rdir, sizeof rdir, "%s/redis", p->tmp);
    snprintf(kdir, sizeof kdir, "%s/kv", p->tmp);
    mkdir(rdir, 0755);
    if (h_redis_start(&p->redis, rdir, redis_extra) != 0)
        return -1;
    if (h_kvnode_start(&p->kv, kdir, kv_extra) != 0)
        return -1;
    p->rc = h_connect(p->redis.port);
    p->kc = h_connect(p->kv.port);
    return p->rc && p->kc ? 0 : -1;
}

void h_pair_stop(h_pair *p)
{
    if (p->rc)
        kv_client_free(p->rc);
    if (p->kc)
        kv_client_free(p->kc);
    p->rc = p->kc = NULL;
    h_stop(&p->kv, SIGTERM, 10000);
    h_stop(&p->redis, SIGTERM, 10000);
    if (p->tmp) {
        h_rmrf(p->tmp);
        free(p->tmp);
        p->tmp = NULL;
    }
}

typedef struct digest_wait {
    kv_client **c;
    int port;
    char *out;
    size_t len;
} digest_wait;

static int digest_answers(void *arg)
{
    digest_wait *w = arg;
    if (!*w->c)
        *w->c = h_connect(w->port);
    if (!*w->c)
        return 0;
    kv_reply *r = h_cmd(*w->c, "DEBUG DIGEST");
    int ok = r && r->type == KV_REPLY_STATUS;
    if (ok)
        h_reply_text(r, w->out, w->len);
    kv_reply_free(r);
    if (!ok) {
        kv_client_free(*w->c);
        *w->c = NULL;
    }
    return ok;
}

int h_wait_digest(kv_client **c, int port, char *out, size_t len, int ms)
{
    digest_wait w = {c, port, out, len};
    return h_wait_until(digest_answers, &w, ms);
}

int h_raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int h_raw_send(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

long long h_info_num(kv_client *c, const char *section, const char *name)
{
    char line[64], key[128];
    snprintf(line, sizeof line, "INFO %s", section);
    kv_reply *r = h_cmd(c, line);
    long long v = -1;
    snprintf(key, sizeof key, "\n%s:", name);
    const char *p = r && r->str ? strstr(r->str, key) : NULL;
    if (p)
        v = atoll(p + strlen(key));
    kv_reply_free(r);
    return v;
}

int h_log_count(const h_proc *p, const char *needle)
{
    FILE *f = fopen(p->log, "r");
    if (!f)
        return 0;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

int h_log_has(const h_proc *p, const char *needle)
{
    return h_log_count(p, needle) > 0;
}

int h_raw_line(int fd, char *out, size_t len, int timeout_ms)
{
    size_t n = 0;
    long long deadline = h_now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - h_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) != 1)
            return -1;
        char ch;
        if (read(fd, &ch, 1) != 1)
            return -1;
        if (ch == '\n' && n && out[n - 1] == '\r') {
            out[n - 1] = 0;
            return 0;
        }
        if (n + 1 < len)
            out[n++] = ch;
    }
}
