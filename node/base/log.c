/* log.c — see log.h. */
#include "log.h"

#include "err.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int log_level = LOG_NOTICE;
static int log_fd = 2;
static volatile char log_role = 'X';

static const char *names[] = {"debug", "verbose", "notice", "warning"};

int log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    return -1;
}

const char *log_level_name(int level)
{
    return level >= 0 && level < 4 ? names[level] : "unknown";
}

int log_set_file(const char *path)
{
    if (!path || !path[0]) {
        if (log_fd != 2)
            close(log_fd);
        log_fd = 2;
        return 0;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == ENOSPC ? KVE_NOSPC : KVE_IO;
    if (log_fd != 2)
        close(log_fd);
    log_fd = fd;
    return 0;
}

void log_set_role(char role)
{
    log_role = role;
}

void log_write(int level, const char *fmt, ...)
{
    static const char marks[] = ".-*#";
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%d:%c ", (int)getpid(), log_role);
    n += (int)strftime(line + n, sizeof line - (size_t)n, "%d %b %Y %H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03d %c ", (int)(tv.tv_usec / 1000),
                  marks[level < 0 ? 0 : level > 3 ? 3 : level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(log_fd, line, (size_t)n);
    (void)w;
}

/* ---- the crash report ---- */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CRASH_SANITIZED 1
#else
#define CRASH_SANITIZED 0
#endif

static char crash_who[64] = "kvnode";
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

static int crash_ours(int sig)
{
    return !CRASH_SANITIZED || sig == SIGABRT;
}

static void crash_handler(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    /* What Redis's sigsegvHandler logs: not strictly async-signal-safe (the
     * process is dying; glibc's backtrace was loaded at install time). */
    log_write(LOG_WARNING, "\n\n=== KVNODE BUG REPORT START: Cut & paste starting from here ===");
    log_write(LOG_WARNING, "    %s crashed by signal: %d, si_code: %d", crash_who, sig,
              info ? info->si_code : 0);
    if (info && (sig == SIGSEGV || sig == SIGBUS))
        log_write(LOG_WARNING, "    Accessing address: %p", info->si_addr);
    log_write(LOG_WARNING, "\n------ STACK TRACE ------\n");
    void *frames[100];
    int n = backtrace(frames, 100);
    backtrace_symbols_fd(frames, n, log_fd);
    log_write(LOG_WARNING, "(kvnode's own frames resolve with: addr2line -f -e <its binary> <+0x offset>)");
    log_write(LOG_WARNING, "\n=== KVNODE BUG REPORT END. Make sure to include from START to END. ===");
    /* The signal's own action now: a core dump where enabled. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    sigaction(sig, &sa, NULL);
    raise(sig);
}

void log_crash_report(int on, const char *who)
{
    snprintf(crash_who, sizeof crash_who, "%s", who);
    if (on) {
        /* backtrace() loads libgcc on its first call: now, not in the
         * handler. */
        void *f[1];
        (void)backtrace(f, 1);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    if (on) {
        sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESETHAND;
        sa.sa_sigaction = crash_handler;
    } else {
        sa.sa_handler = SIG_DFL;
    }
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        if (crash_ours(crash_signals[i]))
            sigaction(crash_signals[i], &sa, NULL);
}
