/* redis_server.c — start, query and stop real redis-server processes for
 * the client's integration tests (see redis_server.h). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "redis_server.h"

/* ---- Helpers ---- */

long long test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

int wait_until(int (*pred)(void *arg), void *arg, int timeout_ms)
{
    long long deadline = test_now_ms() + timeout_ms;
    for (;;) {
        if (pred(arg))
            return 1;
        if (test_now_ms() >= deadline)
            return 0;
        nap_ms(10);
    }
}

int rs_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static kv_reply *cmd_argv(const redis_server *rs, const char **argv, int argc)
{
    kv_options o;
    kv_options_init(&o);
    o.connect_timeout_ms = 2000;
    o.io_timeout_ms = 5000;
    kv_client *c;
    if (kv_client_new(&c, &o) < 0)
        return NULL;
    kv_reply *r = NULL;
    if (kv_client_connect_tcp(c, "127.0.0.1", rs->port) < 0 ||
        kv_client_command(c, argc, argv, NULL, &r) < 0)
        fprintf(stderr, "rs_cmd %s on port %d: %s\n", argv[0], rs->port, kv_client_errmsg(c));
    kv_client_free(c);
    return r;
}

static int collect(va_list ap, const char **argv, int max)
{
    int argc = 0;
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < max)
        argv[argc++] = a;
    return argc;
}

kv_reply *rs_cmd(const redis_server *rs, ...)
{
    const char *argv[32];
    va_list ap;
    va_start(ap, rs);
    int argc = collect(ap, argv, 32);
    va_end(ap);
    return cmd_argv(rs, argv, argc);
}

int rs_ok(const redis_server *rs, ...)
{
    const char *argv[32];
    va_list ap;
    va_start(ap, rs);
    int argc = collect(ap, argv, 32);
    va_end(ap);
    kv_reply *r = cmd_argv(rs, argv, argc);
    int ok = r && (r->type == KV_REPLY_INTEGER ||
                   (r->type == KV_REPLY_STATUS && strcmp(r->str, "OK") == 0));
    if (r && !ok)
        fprintf(stderr, "rs_ok %s on port %d: reply type %d %s\n", argv[0], rs->port, r->type,
                r->str ? r->str : "");
    kv_reply_free(r);
    return ok;
}

int rs_info_has(const redis_server *rs, const char *section, const char *field)
{
    kv_reply *r = rs_cmd(rs, "INFO", section, NULL);
    int found = 0;
    if (r && r->type == KV_REPLY_STRING) {
        size_t n = strlen(field);
        for (const char *p = r->str; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
            if (strncmp(p, field, n) == 0 && (p[n] == '\r' || p[n] == '\n'))
                found = 1;
    }
    kv_reply_free(r);
    return found;
}

static int answers_ping(void *arg)
{
    const redis_server *rs = arg;
    kv_options o;
    kv_options_init(&o);
    o.connect_timeout_ms = 500;
    o.io_timeout_ms = 1000;
    kv_client *c;
    if (kv_client_new(&c, &o) < 0)
        return 0;
    const char *argv[] = {"PING"};
    kv_reply *r = NULL;
    int ok = kv_client_connect_tcp(c, "127.0.0.1", rs->port) == 0 &&
             kv_client_command(c, 1, argv, NULL, &r) == 0 && r->type == KV_REPLY_STATUS;
    kv_reply_free(r);
    kv_client_free(c);
    if (!ok) {
        /* Stop waiting early if the server died (port taken, bad option). */
        int st;
        if (waitpid(rs->pid, &st, WNOHANG) == rs->pid) {
            ((redis_server *)arg)->pid = -1;
            return 1;
        }
    }
    return ok;
}

static pid_t spawn(const redis_server *rs, const char *const extra[])
{
    char port[16], logfile[96];
    snprintf(port, sizeof port, "%d", rs->port);
    snprintf(logfile, sizeof logfile, "%s/redis.log", rs->dir);
    const char *argv[64] = {REDIS_SERVER_BIN, "--port", port, "--bind", "127.0.0.1",
                            "--save", "", "--appendonly", "no", "--daemonize", "no",
                            "--dir", rs->dir, "--logfile", logfile, "--unixsocket", rs->sock,
                            "--unixsocketperm", "700", "--enable-debug-command", "yes",
                            /* replicas sync at once instead of after 5 s */
                            "--repl-diskless-sync-delay", "0"};
    int n = 23;
    for (int i = 0; extra && extra[i] && n < 63; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        /* Die with the test, even if it is killed by a timeout. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
        }
        execv(REDIS_SERVER_BIN, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* ---- API ---- */

int rs_start(redis_server *rs, const char *const extra[])
{
    memset(rs, 0, sizeof *rs);
    rs->pid = -1;
    if (access(REDIS_SERVER_BIN, X_OK) != 0) {
        fprintf(stderr, "%s not found: run scripts/install-deps.sh\n", REDIS_SERVER_BIN);
        return -1;
    }
    snprintf(rs->dir, sizeof rs->dir, "/tmp/kvclient-test-XXXXXX");
    if (mkdtemp(rs->dir) == NULL) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(rs->sock, sizeof rs->sock, "%s/redis.sock", rs->dir);
    /* A free port can be taken by someone else before redis binds it:
     * try a few. */
    for (int attempt = 0; attempt < 5; attempt++) {
        rs->port = rs_free_port();
        rs->pid = spawn(rs, extra);
        if (rs->pid < 0) {
            perror("fork");
            return -1;
        }
        if (wait_until(answers_ping, rs, 10000) && rs->pid > 0)
            return 0;
        if (rs->pid > 0) {
            kill(rs->pid, SIGKILL);
            waitpid(rs->pid, NULL, 0);
        }
        rs->pid = -1;
    }
    fprintf(stderr, "redis-server did not start (see %s/redis.log)\n", rs->dir);
    return -1;
}

void rs_kill(redis_server *rs)
{
    if (rs->pid > 0) {
        kill(rs->pid, SIGKILL);
        waitpid(rs->pid, NULL, 0);
        rs->pid = -1;
    }
}

static int reaped(void *arg)
{
    redis_server *rs = arg;
    if (waitpid(rs->pid, NULL, WNOHANG) == rs->pid) {
        rs->pid = -1;
        return 1;
    }
    return 0;
}

void rs_stop(redis_server *rs)
{
    if (rs->pid > 0) {
        kill(rs->pid, SIGTERM);
        if (!wait_until(reaped, rs, 5000))
            rs_kill(rs);
    }
    if (rs->dir[0]) {
        char path[192];
        const char *files[] = {"redis.log", "redis.sock", "dump.rdb"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(path, sizeof path, "%s/%s", rs->dir, files[i]);
            unlink(path);
        }
        rmdir(rs->dir);
        rs->dir[0] = '\0';
    }
}
