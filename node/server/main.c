/* main.c — kvnode [config-file] [--option value …]
 *          kvnode --check-data DIR [--repair] */
#include "check.h"
#include "config.h"
#include "dict.h"
#include "log.h"
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    if (cfg.logfile && cfg.logfile[0] && log_set_file(cfg.logfile) < 0) {
        fprintf(stderr, "kvnode: can't open the log file %s: %s\n", cfg.logfile,
                strerror(errno));
        config_free(&cfg);
        return 1;
    }
    seed_hash();
    log_set_role('M');
    log_notice("kvnode %s starting, pid %d%s%s", KV_VERSION, (int)getpid(),
               cfg.config_file ? ", config " : "", cfg.config_file ? cfg.config_file : "");

    uv_loop_t *loop = uv_default_loop();
    static server s;
    if (server_init(&s, &cfg, loop, err, sizeof err) != 0) {
        log_warn("Fatal: %s", err);
        server_free(&s);
        config_free(&cfg);
        return 1;
    }
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
    uv_run(loop, UV_RUN_DEFAULT);
    int code = s.exit_code;
    if (s.cfg.pidfile && s.cfg.pidfile[0])
        unlink(s.cfg.pidfile);
    server_free(&s);
    uv_loop_close(loop);
    return code;
}
