/* kvcli.c — the kvnode command line, modelled on redis-cli.
 *
 *   kvcli [options] [cmd [arg ...]]
 *
 * With a command: run it (-r times, -i seconds apart), print the reply as
 * redis-cli would (terminal format on a tty, raw otherwise) and exit.
 * Without one: an interactive prompt with line editing and history when
 * stdin is a terminal, else one command per line read from stdin.
 *
 * Uses only the public libkvclient API: a kv_client for one node, or a
 * kv_cluster (--cluster-seeds) that follows the primary. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <editline/readline.h>

#include "kvcli.h"
#include "kvclient.h"

#define DEFAULT_PORT 7379

/* ---- Configuration ---- */

typedef struct config {
    const char *host;
    int port;
    const char *socket_path;
    const char *seeds;       /* --cluster-seeds */
    const char *master_name; /* --master-name ("" : ROLE only) */
    const char *user;
    const char *password;
    int resp;
    int db;                  /* -n: selected on every connection */
    int raw;                 /* 1 raw, 0 terminal format */
    long repeat;             /* -r; -1 forever */
    double interval;         /* -i seconds */
    double timeout;          /* -t seconds, 0 none */
    int auth_warning;
    int interactive;
} config;

typedef struct session {
    config cfg;
    kv_client *client;
    kv_cluster *cluster;
} session;

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: kvcli [OPTIONS] [cmd [arg [arg ...]]]\n"
            "  -h <hostname>       Server hostname (default: 127.0.0.1).\n"
            "  -p <port>           Server port (default: %d).\n"
            "  -s <socket>         Server socket (overrides hostname and port).\n"
            "  -n <db>             Database number (selected on every connection).\n"
            "  -a <password>       Password to use when connecting to the server.\n"
            "                      The KVCLI_AUTH environment variable is safer.\n"
            "  --user <username>   Used to send ACL style 'AUTH username pass'. Needs -a.\n"
            "  --pass <password>   Alias of -a.\n"
            "  --no-auth-warning   Don't show the warning about -a on the command line.\n"
            "  -2                  Start the session in RESP2 protocol mode (default).\n"
            "  -3                  Start the session in RESP3 protocol mode.\n"
            "  -r <repeat>         Execute the command N times (-1: forever).\n"
            "  -i <interval>       Wait <interval> seconds between commands (-r).\n"
            "  -t <timeout>        Connect and reply timeout in seconds (decimals ok).\n"
            "  --raw               Use raw formatting for replies (default when stdout\n"
            "                      is not a tty).\n"
            "  --no-raw            Force formatted output even when stdout is not a tty.\n"
            "  --cluster-seeds <h1:p1,h2:p2,...>\n"
            "                      Find the primary among these nodes (SENTINEL\n"
            "                      GET-MASTER-ADDR-BY-NAME checked with ROLE, then ROLE)\n"
            "                      and follow it across failovers.\n"
            "  --master-name <name> Service name asked of the seeds (default kvnode;\n"
            "                      \"\" asks ROLE only).\n"
            "  --help              Output this help and exit.\n"
            "  --version           Output version and exit.\n",
            DEFAULT_PORT);
}

static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < 0)
        return -1;
    *out = v;
    return 0;
}

/* Parse options; returns the index of the first command word, or -1 to
 * exit with *status. */
static int parse_options(config *cfg, int argc, char **argv, int *status)
{
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        long l;
        if (!strcmp(a, "-h") && more) {
            cfg->host = argv[++i];
        } else if (!strcmp(a, "-p") && more) {
            if (parse_long(argv[++i], &l) < 0 || l < 1 || l > 65535) {
                fprintf(stderr, "Invalid port: %s\n", argv[i]);
                *status = 1;
                return -1;
            }
            cfg->port = (int)l;
        } else if (!strcmp(a, "-n") && more) {
            if (parse_long(argv[++i], &l) < 0 || l < INT_MIN || l > INT_MAX) {
                fprintf(stderr, "Invalid database number: %s\n", argv[i]);
                *status = 1;
                return -1;
            }
            cfg->db = (int)l;
        } else if (!strcmp(a, "-s") && more) {
            cfg->socket_path = argv[++i];
        } else if ((!strcmp(a, "-a") || !strcmp(a, "--pass")) && more) {
            cfg->password = argv[++i];
        } else if (!strcmp(a, "--user") && more) {
            cfg->user = argv[++i];
        } else if (!strcmp(a, "--no-auth-warning")) {
            cfg->auth_warning = 0;
        } else if (!strcmp(a, "-2")) {
            cfg->resp = 2;
        } else if (!strcmp(a, "-3")) {
            cfg->resp = 3;
        } else if (!strcmp(a, "-r") && more) {
            if (parse_long(argv[++i], &cfg->repeat) < 0) {
                fprintf(stderr, "Invalid repeat count: %s\n", argv[i]);
                *status = 1;
                return -1;
            }
        } else if (!strcmp(a, "-i") && more) {
            if (parse_double(argv[++i], &cfg->interval) < 0) {
                fprintf(stderr, "Invalid interval: %s\n", argv[i]);
                *status = 1;
                return -1;
            }
        } else if (!strcmp(a, "-t") && more) {
            if (parse_double(argv[++i], &cfg->timeout) < 0) {
                fprintf(stderr, "Invalid timeout: %s\n", argv[i]);
                *status = 1;
                return -1;
            }
        } else if (!strcmp(a, "--raw")) {
            cfg->raw = 1;
        } else if (!strcmp(a, "--no-raw")) {
            cfg->raw = 0;
        } else if (!strcmp(a, "--cluster-seeds") && more) {
            cfg->seeds = argv[++i];
        } else if (!strcmp(a, "--master-name") && more) {
            cfg->master_name = argv[++i];
        } else if (!strcmp(a, "--help")) {
            usage(stdout);
            *status = 0;
            return -1;
        } else if (!strcmp(a, "--version") || !strcmp(a, "-v")) {
            printf("kvcli %d.%d.%d\n", KV_CLIENT_VERSION_MAJOR, KV_CLIENT_VERSION_MINOR,
                   KV_CLIENT_VERSION_PATCH);
            *status = 0;
            return -1;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "Unrecognized option or bad number of args for: '%s'\n", a);
            *status = 1;
            return -1;
        } else {
            break;
        }
    }
    if (cfg->user && !cfg->password) {
        fprintf(stderr, "--user needs a password (-a or KVCLI_AUTH)\n");
        *status = 1;
        return -1;
    }
    return i;
}

/* ---- Connection ---- */

static void fill_options(const config *cfg, kv_options *o)
{
    kv_options_init(o);
    o->resp = cfg->resp;
    o->user = cfg->user;
    o->password = cfg->password;
    o->db = cfg->db;
    if (cfg->master_name)
        o->master_name = cfg->master_name[0] ? cfg->master_name : NULL;
    if (cfg->timeout > 0) {
        o->connect_timeout_ms = (int)(cfg->timeout * 1000);
        o->io_timeout_ms = (int)(cfg->timeout * 1000);
        if (o->connect_timeout_ms == 0)
            o->connect_timeout_ms = o->io_timeout_ms = 1;
    }
}

static int print_reply(const session *s, const kv_reply *r);

/* RESP3 pushes are shown on a terminal, as redis-cli does. */
static void on_push(void *data, kv_reply *push)
{
    const session *s = data;
    if (!s->cfg.raw && isatty(STDOUT_FILENO))
        print_reply(s, push);
    kv_reply_free(push);
}

/* Create the handle (once) and connect it. 0 or a KV_E* code; a message
 * has been printed on failure. */
static int session_connect(session *s)
{
    kv_options o;
    fill_options(&s->cfg, &o);
    if (s->cfg.seeds) {
        if (s->cluster)
            return 0;
        int rc = kv_cluster_new(&s->cluster, s->cfg.seeds, &o);
        if (rc < 0)
            fprintf(stderr, "Invalid --cluster-seeds '%s': %s\n", s->cfg.seeds, kv_strerror(rc));
        return rc;
    }
    if (s->client == NULL) {
        int rc = kv_client_new(&s->client, &o);
        if (rc < 0) {
            fprintf(stderr, "kvcli: %s\n", kv_strerror(rc));
            return rc;
        }
        kv_client_set_push_handler(s->client, on_push, s);
    }
    int rc = s->cfg.socket_path ? kv_client_connect_unix(s->client, s->cfg.socket_path)
                                : kv_client_connect_tcp(s->client, s->cfg.host, s->cfg.port);
    if (rc < 0)
        fprintf(stderr, "Could not connect: %s\n", kv_client_errmsg(s->client));
    return rc;
}

static int session_connected(const session *s)
{
    return s->cluster != NULL || (s->client && kv_client_is_connected(s->client));
}

/* Run one command. 0 with *reply, or a KV_E* code with a message printed. */
static int session_command(session *s, int argc, char **argv, size_t *lens, kv_reply **reply)
{
    const char *const *av = (const char *const *)argv;
    if (s->cluster) {
        int rc = kv_cluster_command(s->cluster, 0, argc, av, lens, reply);
        if (rc < 0)
            fprintf(stderr, "Error: %s\n", kv_cluster_errmsg(s->cluster));
        return rc;
    }
    if (!session_connected(s)) {
        int rc = session_connect(s);
        if (rc < 0)
            return rc;
    }
    int rc = kv_client_command(s->client, argc, av, lens, reply);
    if (rc == KV_ECLOSED && kv_client_reconnect(s->client) == 0) {
        /* The server had dropped the idle connection: the command was not
         * sent, so sending it on a new connection is safe. */
        rc = kv_client_command(s->client, argc, av, lens, reply);
    }
    if (rc < 0)
        fprintf(stderr, "Error: %s\n", kv_client_errmsg(s->client));
    return rc;
}

static void session_close(session *s)
{
    kv_client_free(s->client);
    kv_cluster_free(s->cluster);
    s->client = NULL;
    s->cluster = NULL;
}

/* ---- Output ---- */

static int print_reply(const session *s, const kv_reply *r)
{
    cli_str out = {0};
    if (s->cfg.raw) {
        cli_format_raw(&out, r);
        cli_str_cats(&out, "\n");
    } else {
        cli_format_tty(&out, r, "");
    }
    size_t n = fwrite(out.p, 1, out.len, stdout);
    int ok = n == out.len;
    cli_str_free(&out);
    fflush(stdout);
    return ok ? 0 : -1;
}

static void sleep_seconds(double sec)
{
    if (sec <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)sec, .tv_nsec = (long)((sec - (double)(time_t)sec) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run a command `repeat` times. Returns 0, or the KV_E* code of a
 * connection error (already reported on stderr). */
static int run_repeated(session *s, int argc, char **argv, size_t *lens, long repeat,
                        int show_time)
{
    for (long i = 0; repeat < 0 || i < repeat; i++) {
        kv_reply *r = NULL;
        double t0 = now_seconds();
        int rc = session_command(s, argc, argv, lens, &r);
        if (rc < 0)
            return rc;
        double elapsed = now_seconds() - t0;
        print_reply(s, r);
        kv_reply_free(r);
        if (show_time && elapsed >= 0.5 && !s->cfg.raw)
            printf("(%.2fs)\n", elapsed);
        if (repeat < 0 || i + 1 < repeat)
            sleep_seconds(s->cfg.interval);
    }
    return 0;
}

/* ---- Interactive mode ---- */

static void make_prompt(const session *s, char *buf, size_t cap)
{
    if (s->cluster) {
        char host[256];
        int port;
        if (kv_cluster_primary(s->cluster, host, sizeof host, &port) == 0)
            snprintf(buf, cap, strchr(host, ':') ? "cluster [%s]:%d> " : "cluster %s:%d> ", host,
                     port);
        else
            snprintf(buf, cap, "cluster> ");
    } else if (!session_connected(s)) {
        snprintf(buf, cap, "not connected> ");
    } else if (s->cfg.socket_path) {
        snprintf(buf, cap, "%s> ", s->cfg.socket_path);
    } else {
        snprintf(buf, cap, strchr(s->cfg.host, ':') ? "[%s]:%d> " : "%s:%d> ", s->cfg.host,
                 s->cfg.port);
    }
}

static char *history_path(void)
{
    const char *env = getenv("KVCLI_HISTFILE");
    if (env)
        return env[0] ? strdup(env) : NULL;
    const char *home = getenv("HOME");
    if (home == NULL)
        return NULL;
    size_t n = strlen(home) + sizeof "/.kvcli_history";
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/.kvcli_history", home);
    return p;
}

/* Handle one line. Returns 1 to quit. */
static int handle_line(session *s, const char *line)
{
    int argc;
    char **argv;
    size_t *lens;
    if (cli_split(line, &argc, &argv, &lens) < 0) {
        printf("Invalid argument(s)\n");
        return 0;
    }
    int quit = 0;
    if (argc == 0) {
        /* nothing */
    } else if (!strcasecmp(argv[0], "quit") || !strcasecmp(argv[0], "exit")) {
        quit = 1;
    } else if (!strcasecmp(argv[0], "help") && argc == 1) {
        usage(stdout);
    } else {
        /* "3 INCR x" repeats, as in redis-cli. */
        long repeat = 1;
        int skip = 0;
        if (argc > 1 && parse_long(argv[0], &repeat) == 0 && repeat > 0)
            skip = 1;
        else
            repeat = 1;
        int was_connected = session_connected(s);
        int rc = run_repeated(s, argc - skip, argv + skip, lens + skip, repeat, 1);
        if (rc < 0 && rc != KV_ECLOSED && was_connected && !session_connected(s)) {
            /* The connection broke after the command was sent: reconnect
             * so the prompt tells the truth, but do not send it again (it
             * may have run). KV_ECLOSED was already retried. */
            if (session_connect(s) == 0)
                fprintf(stderr, "Reconnected; the command was not sent again.\n");
        }
    }
    cli_split_free(argc, argv, lens);
    return quit;
}

static int repl(session *s)
{
    char *hist = history_path();
    using_history();
    stifle_history(10000);
    if (hist)
        read_history(hist);
    if (!s->cluster)
        session_connect(s);
    for (;;) {
        char prompt[320];
        make_prompt(s, prompt, sizeof prompt);
        char *line = readline(prompt);
        if (line == NULL)
            break;
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p) {
            add_history(line);
            if (hist)
                write_history(hist);
        }
        int quit = handle_line(s, line);
        free(line);
        if (quit)
            break;
    }
    free(hist);
    return 0;
}

/* Commands read from a pipe, one per line. */
static int run_stdin(session *s)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int status = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        int argc;
        char **argv;
        size_t *lens;
        if (cli_split(line, &argc, &argv, &lens) < 0) {
            fprintf(stderr, "Invalid argument(s)\n");
            status = 1;
            continue;
        }
        if (argc > 0 && run_repeated(s, argc, argv, lens, 1, 0) < 0)
            status = 1;
        cli_split_free(argc, argv, lens);
        if (status && !session_connected(s))
            break;
    }
    free(line);
    return status;
}

int main(int argc, char **argv)
{
    session s = {.cfg = {.host = "127.0.0.1", .port = DEFAULT_PORT, .resp = 2, .repeat = 1,
                         .auth_warning = 1}};
    s.cfg.raw = !isatty(STDOUT_FILENO);
    const char *env_auth = getenv("KVCLI_AUTH");
    if (env_auth)
        s.cfg.password = env_auth;
    int status = 0;
    int first = parse_options(&s.cfg, argc, argv, &status);
    if (first < 0)
        return status;
    if (s.cfg.password && s.cfg.password != env_auth && s.cfg.auth_warning)
        fprintf(stderr, "Warning: Using a password with '-a' or '-u' option on the command"
                        " line interface may not be safe.\n");
    if (first < argc) {
        if (session_connect(&s) < 0) {
            session_close(&s);
            return 1;
        }
        int rc = run_repeated(&s, argc - first, argv + first, NULL, s.cfg.repeat, 0);
        session_close(&s);
        return rc < 0 ? 1 : 0;
    }
    if (isatty(STDIN_FILENO)) {
        s.cfg.interactive = 1;
        status = repl(&s);
    } else {
        if (session_connect(&s) < 0) {
            session_close(&s);
            return 1;
        }
        status = run_stdin(&s);
    }
    session_close(&s);
    return status;
}
