/* progress.c — progress of long jobs (see progress.h). */
#include "progress.h"

#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

_Thread_local progress_job *progress_current;

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void progress_open(progress_job *j, const char *what, int by_keys, uint64_t total,
                   progress_hook hook, void *arg)
{
    *j = (progress_job){.what = what,
                        .by_keys = by_keys,
                        .total = total,
                        .next_bytes = PROGRESS_CHECK_BYTES,
                        .next_units = PROGRESS_CHECK_UNITS,
                        .hook = hook,
                        .arg = arg};
    j->start_us = j->last_log_us = mono_us();
}

void progress_begin(progress_job *j, const char *what, int by_keys, uint64_t total,
                    progress_hook hook, void *arg)
{
    progress_open(j, what, by_keys, total, hook, arg);
    j->prev = progress_current;
    progress_current = j;
}

int64_t progress_elapsed_ms(const progress_job *j)
{
    return (mono_us() - j->start_us) / 1000;
}

double progress_perc(const progress_job *j)
{
    if (!j->total)
        return 0;
    double p = 100.0 * (double)j->done / (double)j->total;
    return p > 100 ? 100 : p;
}

double progress_rate(const progress_job *j)
{
    int64_t us = mono_us() - j->start_us;
    return us > 0 ? (double)j->bytes / (double)us : 0; /* bytes/µs = MB/s */
}

int64_t progress_eta_s(const progress_job *j)
{
    int64_t us = mono_us() - j->start_us;
    if (!j->total || !j->done || us <= 0)
        return -1;
    if (j->done >= j->total)
        return 0;
    double per_unit = (double)us / (double)j->done;
    return (int64_t)(per_unit * (double)(j->total - j->done) / 1e6 + 0.5);
}

static void log_line(progress_job *j)
{
    int64_t eta = progress_eta_s(j);
    char left[32] = "unknown";
    if (eta >= 0)
        snprintf(left, sizeof left, "%" PRId64 " s", eta);
    if (j->by_keys)
        log_notice("%s: %.1f%% (%" PRIu64 " of %" PRIu64 " keys, %.1f MB), %.1f MB/s, ETA %s",
                   j->what, progress_perc(j), j->done, j->total, (double)j->bytes / 1e6,
                   progress_rate(j), left);
    else
        log_notice("%s: %.1f%% (%.1f of %.1f MB), %.1f MB/s, ETA %s", j->what,
                   progress_perc(j), (double)j->done / 1e6, (double)j->total / 1e6,
                   progress_rate(j), left);
}

void progress_check(progress_job *j)
{
    j->next_bytes = j->bytes + PROGRESS_CHECK_BYTES;
    j->next_units = j->done + (j->check_units ? j->check_units : PROGRESS_CHECK_UNITS);
    int64_t now = mono_us();
    if (now - j->last_log_us >= (int64_t)PROGRESS_LOG_MS * 1000) {
        j->last_log_us = now;
        j->logged = 1;
        log_line(j);
    }
    if (j->hook)
        j->hook(j->arg, j);
}

void progress_add(progress_job *j, uint64_t units, uint64_t bytes)
{
    if (!j)
        return;
    j->bytes += bytes;
    j->units += units;
    j->done += j->by_keys ? units : bytes;
    if (j->bytes >= j->next_bytes || (j->by_keys && j->done >= j->next_units))
        progress_check(j);
}

void progress_end(progress_job *j)
{
    if (progress_current == j)
        progress_current = j->prev;
    int64_t ms = progress_elapsed_ms(j);
    if (j->logged || ms >= PROGRESS_LOG_MS)
        log_notice("%s: done, %.1f MB in %.1f s (%.1f MB/s)", j->what, (double)j->bytes / 1e6,
                   (double)ms / 1000.0, progress_rate(j));
}
