/* main.c — kvnode [config-file] [--option value …]
 *          kvnode --check-data DIR [--repair] */
#include "check.h"
#include "config.h"
#include "dict.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static void seed_hash(void)
{
    uint8_t seed[16];
    if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
        uint64_t t = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
        memcpy(seed, &t, 8);
        memcpy(seed + 8, &t, 8);
    }
    dict_set_seed(seed);
}

static int write_pidfile(const char *path)
{
    if (!path || !path[0])
        return 0;
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", (int)getpid());
    return fclose(f);
}

/* daemonize yes: fork; the child leaves the session and its terminal,
 * writes the pidfile, points standard input, output and error at
 * /dev/null (the log goes to logfile) and tells the parent, which exits 0
 * then (1 if the child could not get that far), so that whoever started
 * kvnode finds the pidfile in place when the command returns. */
static void daemonize(kv_config *cfg)
{
    if (!cfg->pidfile || !cfg->pidfile[0]) {
        kv_free(cfg->pidfile);
        cfg->pidfile = kv_memdup(KV_DEFAULT_PIDFILE, strlen(KV_DEFAULT_PIDFILE));
    }
    int p[2];
    if (pipe(p) < 0) {
        fprintf(stderr, "kvnode: pipe: %s\n", strerror(errno));
        exit(1);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "kvnode: fork: %s\n", strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        close(p[1]);
        char ok = 0;
        ssize_t n;
        while ((n = read(p[0], &ok, 1)) < 0 && errno == EINTR)
            ;
        _exit(n == 1 && ok == 1 ? 0 : 1);
    }
    close(p[0]);
    setsid();
    if (write_pidfile(cfg->pidfile) < 0)
        fprintf(stderr, "kvnode: can't write the pidfile %s: %s\n", cfg->pidfile,
                strerror(errno));
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    char one = 1;
    if (write(p[1], &one, 1) != 1)
        log_warn("could not tell the parent process that kvnode started");
    close(p[1]);
}

/* kvnode --check-data DIR [--repair]: the offline checker (check.h). Exit
 * status 0 clean, 1 damage found (or left after a repair), 2 cannot read
 * (or a bad command line, or a repair that could not run). */
static int check_data_main(int argc, char **argv)
{
    int repair = argc == 4 && strcmp(argv[3], "--repair") == 0;
    if (argc < 3 || argc > 4 || (argc == 4 && !repair) || strncmp(argv[2], "--", 2) == 0) {
        fprintf(stderr, "Usage: %s --check-data DIR [--repair]\n", argv[0]);
        return 2;
    }
    log_level = LOG_WARNING;
    int status = store_check_data(argv[2], repair, stdout);
    fflush(stdout);
    return status;
}

/* disable-thp, as Redis's thpDisable: only when the kernel's transparent
 * huge pages are "always" (under "madvise" they are used where kvnode asks:
 * a load at startup). */
static void thp_disable(void)
{
    char line[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f)
        return;
    int always = fgets(line, sizeof line, f) && strstr(line, "[always]");
    fclose(f);
    if (always && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
        log_warn("Unable to disable transparent huge pages: %s", strerror(errno));
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && strcmp(argv[1], "--check-data") == 0)
        return check_data_main(argc, argv);
    kv_config cfg;
    config_init(&cfg);
    char err[1024] = "";
    int rc = config_parse_args(&cfg, argc, argv, err, sizeof err);
    if (rc == 1) {
        config_free(&cfg);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "kvnode: %s\n", err);
        config_free(&cfg);
        return 1;
    }
    log_level = cfg.loglevel;
    kv_set_exit_on_panic(cfg.use_exit_on_panic);
    log_crash_report(cfg.crash_log_enabled, "kvnode " KV_VERSION);
    if (cfg.logfile && cfg.logfile[0] && log_set_file(cfg.logfile) < 0) {
        fprintf(stderr, "kvnode: can't open the log file %s: %s\n", cfg.logfile,
                strerror(errno));
        config_free(&cfg);
        return 1;
    }
    /* As Redis: a supervised node stays in the foreground. */
    int supervised = supervise_start(cfg.supervised);
    if (cfg.daemonize && !supervised)
        daemonize(&cfg);
    seed_hash();
    log_set_role('M');
    log_notice("kvnode %s starting, pid %d%s%s", KV_VERSION, (int)getpid(),
               cfg.config_file ? ", config " : "", cfg.config_file ? cfg.config_file : "");

    if (cfg.disable_thp)
        thp_disable();
    uv_loop_t *loop = uv_default_loop();
    static server s;
    if (server_init(&s, &cfg, loop, err, sizeof err) != 0) {
        log_warn("Fatal: %s", err);
        server_free(&s);
        config_free(&cfg);
        return 1;
    }
    server_oom_adjust(&s);
    /* Listen first: while the data loads, clients are answered (INFO shows
     * the progress; commands that need the data get -LOADING, as Redis). */
    if (server_listen(&s, err, sizeof err) != 0 || server_load(&s, err, sizeof err) != 0) {
        log_warn("Fatal: %s", err);
        server_shutdown(&s, 1);
        uv_run(loop, UV_RUN_DEFAULT);
        server_free(&s);
        uv_loop_close(loop);
        return 1;
    }
    if (write_pidfile(s.cfg.pidfile) < 0)
        log_warn("Failed to write PID file %s: %s", s.cfg.pidfile, strerror(errno));
    log_notice("Ready to accept connections on %s port %d%s%s", s.cfg.bind, s.cfg.port,
               s.has_unix ? " and unix socket " : "", s.has_unix ? s.cfg.unixsocket : "");
    supervise_ready();
    uv_run(loop, UV_RUN_DEFAULT);
    int code = s.exit_code;
    if (s.cfg.pidfile && s.cfg.pidfile[0])
        unlink(s.cfg.pidfile);
    server_free(&s);
    uv_loop_close(loop);
    return code;
}
