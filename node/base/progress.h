/* progress.h — progress of long jobs: restart recovery, writing and
 * loading snapshots, installing a snapshot received from a leader.
 *
 * A job counts work done against a total (bytes, or keys when writing a
 * snapshot), logs a line every PROGRESS_LOG_MS with the percentage, the
 * rate in MB/s and the time left, and calls its owner's hook at every
 * check so that the owner can show it (INFO loading_*, a snapshot child's
 * shared counters) or serve clients meanwhile.
 *
 * The loops that do the work (snapshot.c, wal.c) do not know who asked:
 * they call progress_step() on the calling thread's current job, which
 * progress_begin sets (jobs nest: progress_end restores the previous
 * one). With no job, or between checks, a step is a thread-local load, an
 * add and a compare. */
#ifndef KV_PROGRESS_H
#define KV_PROGRESS_H

#include <stdint.h>

#define PROGRESS_LOG_MS 3000
/* A check (log due? hook) every this many bytes or units. */
#define PROGRESS_CHECK_BYTES (256u << 10)
#define PROGRESS_CHECK_UNITS 4096u

typedef struct progress_job progress_job;
typedef void (*progress_hook)(void *arg, progress_job *j);

struct progress_job {
    const char *what;      /* "Loading the data", for the log */
    int by_keys;           /* done counts keys (else bytes) */
    uint64_t total;        /* in the job's unit; 0 when unknown */
    uint64_t done;         /* in the job's unit */
    uint64_t bytes;        /* bytes handled (the rate) */
    uint64_t units;        /* keys or entries handled, whatever the job counts in */
    uint64_t next_bytes, next_units; /* when the next check is due */
    uint64_t check_units;  /* units between checks (0: PROGRESS_CHECK_UNITS) */
    int64_t start_us, last_log_us;
    int logged;            /* a progress line was logged */
    progress_hook hook;    /* at every check; NULL for none */
    void *arg;
    progress_job *prev;    /* the job this one interrupted */
};

extern _Thread_local progress_job *progress_current;

/* Start j (zeroed here) without making it current: its owner counts
 * with progress_add (work that arrives over time, such as a snapshot
 * received in chunks). */
void progress_open(progress_job *j, const char *what, int by_keys, uint64_t total,
                   progress_hook hook, void *arg);
/* Start j (zeroed here) as the calling thread's current job. */
void progress_begin(progress_job *j, const char *what, int by_keys, uint64_t total,
                    progress_hook hook, void *arg);
/* Finish j: a last line if it logged any (or took over PROGRESS_LOG_MS),
 * and, if it was current, the previous job is current again. */
void progress_end(progress_job *j);
/* Count work on j (NULL: nothing) and check when due. */
void progress_add(progress_job *j, uint64_t units, uint64_t bytes);
/* Log if due, run the hook. */
void progress_check(progress_job *j);

/* Count work on the current job, if any. */
static inline void progress_step(uint64_t units, uint64_t bytes)
{
    progress_job *j = progress_current;
    if (j)
        progress_add(j, units, bytes);
}

/* What `units` keys cost under Redis's per-key test delays (key-load-delay,
 * rdb-key-save-delay), in microseconds: `delay` each, or for a negative
 * -n one per n keys (Redis's average: it sleeps 1 us with chance 1/n). */
static inline uint64_t progress_delay_us(long long delay, uint64_t units)
{
    return delay > 0 ? units * (uint64_t)delay : delay < 0 ? units / (uint64_t)(-delay) : 0;
}

/* Percent done (0..100; 0 when the total is unknown). */
double progress_perc(const progress_job *j);
/* Seconds left at the rate so far (-1 when unknown). */
int64_t progress_eta_s(const progress_job *j);
/* MB/s so far. */
double progress_rate(const progress_job *j);
/* Milliseconds since the job began. */
int64_t progress_elapsed_ms(const progress_job *j);

#endif
