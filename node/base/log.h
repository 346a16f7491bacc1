/* log.h — the server log.
 *
 * Lines look like Redis's: "<pid>:<role> <dd Mon yyyy HH:MM:SS.mmm> <lvl> msg"
 * where role is M (primary), S (replica), C (candidate) or X (not serving
 * yet) and lvl is . debug, - verbose, * notice, # warning. The level is
 * checked before anything is formatted. Thread-safe: each line is one
 * write(2). */
#ifndef KV_LOG_H
#define KV_LOG_H

enum { LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3 };

extern int log_level;

/* Parse "debug" | "verbose" | "notice" | "warning"; -1 if none. */
int log_level_parse(const char *s);
const char *log_level_name(int level);
/* Log to this file (appended) instead of stderr; "" means stderr.
 * Returns 0 or a negative KVE_* code. */
int log_set_file(const char *path);
void log_set_role(char role);
void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The crash report (crash-log-enabled, as Redis's bug report): on a fatal
 * signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) the log gets "<who>
 * crashed by signal: <n>" and a STACK TRACE (glibc's backtrace), then the
 * signal's default action (a core dump where enabled). Off: the default
 * actions only. In sanitizer builds the sanitizer keeps the signals it
 * reports itself (all but SIGABRT). */
void log_crash_report(int on, const char *who);

#define LOG(level, ...)                     \
    do {                                    \
        if ((level) >= log_level)           \
            log_write((level), __VA_ARGS__); \
    } while (0)
#define log_debug(...) LOG(LOG_DEBUG, __VA_ARGS__)
#define log_verbose(...) LOG(LOG_VERBOSE, __VA_ARGS__)
#define log_notice(...) LOG(LOG_NOTICE, __VA_ARGS__)
#define log_warn(...) LOG(LOG_WARNING, __VA_ARGS__)

#endif
