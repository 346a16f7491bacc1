/* cmd_latency.c — LATENCY HISTOGRAM and INFO latencystats: the per-command
 * latency histograms (latency.h) the server keeps while latency-tracking
 * is on, reported as Redis 7.0 does; and Redis's latency monitor (LATENCY
 * LATEST, HISTORY, RESET): per event, the last 160 seconds that had a
 * sample of at least latency-monitor-threshold ms (the worst one of each
 * second) and the worst ever.
 *
 * LATENCY DOCTOR and GRAPH (Redis's text report and ASCII graph) are not
 * implemented: they are unknown subcommands here, and HELP lists only what
 * exists. */
#include "server.h"

#include "latency.h"
#include "mem.h"
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void latency_note(server *s, const kv_command *cmd, int argc, const char *const *argv,
                  const size_t *lens, int64_t usec)
{
    if (!s->cfg.latency_tracking)
        return;
    const kv_command *real = cmd;
    if (argc > 1 && command_is_container(cmd)) {
        real = command_lookup_sub(cmd, argv[1], lens[1]);
        if (!real)
            return;
    }
    int i = command_index(real);
    if (!s->latency)
        s->latency = kv_calloc((size_t)command_count(), sizeof *s->latency);
    if (!s->latency[i])
        s->latency[i] = kv_calloc(1, sizeof *s->latency[i]);
    lat_record(s->latency[i], usec * 1000);
}

void latency_reset(server *s)
{
    if (!s->latency)
        return;
    for (int i = 0; i < command_count(); i++) {
        kv_free(s->latency[i]);
        s->latency[i] = NULL;
    }
}

#define LATMON_TS_LEN 160 /* samples per event, as Redis's LATENCY_TS_LEN */

typedef struct latmon_sample {
    int64_t time; /* unix seconds; 0: unused slot */
    int64_t latency; /* ms */
} latmon_sample;

struct latmon_event {
    char name[32];
    int64_t max; /* worst ever, ms */
    int idx;     /* next slot */
    latmon_sample samples[LATMON_TS_LEN];
};

void latency_monitor_sample(server *s, const char *event, int64_t ms)
{
    if (!s->cfg.latency_monitor_threshold || ms < s->cfg.latency_monitor_threshold)
        return;
    struct latmon_event *e = NULL;
    for (int i = 0; i < s->latmon_n; i++)
        if (!strcmp(s->latmon[i].name, event))
            e = &s->latmon[i];
    if (!e) {
        s->latmon = kv_realloc(s->latmon, (size_t)(s->latmon_n + 1) * sizeof *s->latmon);
        e = &s->latmon[s->latmon_n++];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", event);
    }
    if (ms > e->max)
        e->max = ms;
    /* Samples within one second are one: the worst of them. */
    int64_t now = (int64_t)time(NULL);
    latmon_sample *prev = &e->samples[(e->idx + LATMON_TS_LEN - 1) % LATMON_TS_LEN];
    if (prev->time == now) {
        if (ms > prev->latency)
            prev->latency = ms;
        return;
    }
    e->samples[e->idx].time = now;
    e->samples[e->idx].latency = ms;
    e->idx = (e->idx + 1) % LATMON_TS_LEN;
}

/* Forget the events named (case-insensitively), or all: how many. */
static long latmon_reset(server *s, const char *name, size_t len)
{
    long n = 0;
    for (int i = 0; i < s->latmon_n;) {
        if (!name || (strlen(s->latmon[i].name) == len &&
                      !strncasecmp(s->latmon[i].name, name, len))) {
            memmove(&s->latmon[i], &s->latmon[i + 1],
                    (size_t)(s->latmon_n - i - 1) * sizeof *s->latmon);
            s->latmon_n--;
            n++;
        } else {
            i++;
        }
    }
    return n;
}

void latency_free(server *s)
{
    latency_reset(s);
    kv_free(s->latency);
    s->latency = NULL;
    kv_free(s->latmon);
    s->latmon = NULL;
    s->latmon_n = 0;
}

/* ---- LATENCY GRAPH: Redis's sparkline (sparkline.c) ---- */

typedef struct spark_sample {
    double value;
    char label[16]; /* "" : none */
} spark_sample;

typedef struct spark_seq {
    int length, labels;
    double min, max;
    spark_sample samples[LATMON_TS_LEN];
} spark_seq;

static void spark_add(spark_seq *q, double value, const char *label)
{
    if (q->length == 0) {
        q->min = q->max = value;
    } else {
        /* (Redis's test: a new minimum is never also checked as maximum.) */
        if (value < q->min)
            q->min = value;
        else if (value > q->max)
            q->max = value;
    }
    spark_sample *sm = &q->samples[q->length++];
    sm->value = value;
    snprintf(sm->label, sizeof sm->label, "%s", label ? label : "");
    if (sm->label[0])
        q->labels++;
}

/* Rows of the samples offset..offset+len-1: `rows` rows of "_o#" (a full
 * cell below the top one is '|'), one blank row, then the labels written
 * downwards, one character per row. */
static void spark_render_range(kbuf *out, const spark_seq *q, int rows, int offset, int len)
{
    static const char fill[] = "_o#";
    const int charset_len = 3, label_margin_top = 1;
    double relmax = q->max - q->min;
    int steps = charset_len * rows;
    char chars[LATMON_TS_LEN];
    if (relmax == 0)
        relmax = 1;
    for (int row = 0, loop = 1; loop;) {
        loop = 0;
        memset(chars, ' ', (size_t)len);
        for (int j = 0; j < len; j++) {
            const spark_sample *sm = &q->samples[j + offset];
            double relval = sm->value - q->min;
            int step = (int)((double)(int)(relval * steps) / relmax);
            if (step < 0)
                step = 0;
            if (step >= steps)
                step = steps - 1;
            if (row < rows) {
                int charidx = step - ((rows - row - 1) * charset_len);
                loop = 1;
                if (charidx >= 0 && charidx < charset_len)
                    chars[j] = fill[charidx];
                else if (charidx >= charset_len)
                    chars[j] = '|';
            } else {
                if (q->labels && row - rows < label_margin_top) {
                    loop = 1;
                    break;
                }
                if (sm->label[0]) {
                    int label_len = (int)strlen(sm->label);
                    int label_char = row - rows - label_margin_top;
                    if (label_len > label_char) {
                        loop = 1;
                        chars[j] = sm->label[label_char];
                    }
                }
            }
        }
        if (loop) {
            row++;
            kbuf_append(out, chars, (size_t)len);
            kbuf_putc(out, '\n');
        }
    }
}

#define LATENCY_GRAPH_COLS 80

/* LATENCY GRAPH event: a header, 80 dashes, then the samples as a 4-row
 * sparkline labelled with how long ago each was (s, m, h or d). */
static void latency_graph_cmd(cmd_ctx *c)
{
    server *s = c->srv;
    const struct latmon_event *e = NULL;
    for (int i = 0; i < s->latmon_n; i++)
        if (strlen(s->latmon[i].name) == c->lens[2] &&
            !memcmp(s->latmon[i].name, c->argv[2], c->lens[2]))
            e = &s->latmon[i];
    if (!e) {
        reply_errorf(&c->r, "ERR No samples available for event '%.*s'", (int)c->lens[2],
                     c->argv[2]);
        return;
    }
    spark_seq *q = kv_calloc(1, sizeof *q);
    uint32_t min = 0, max = 0;
    int64_t now = (int64_t)time(NULL);
    for (int j = 0; j < LATMON_TS_LEN; j++) {
        const latmon_sample *sm = &e->samples[(e->idx + j) % LATMON_TS_LEN];
        if (!sm->time)
            continue;
        uint32_t lat = (uint32_t)sm->latency;
        if (q->length == 0) {
            min = max = lat;
        } else {
            if (lat > max)
                max = lat;
            if (lat < min)
                min = lat;
        }
        int elapsed = (int)(now - sm->time);
        char label[16];
        if (elapsed < 60)
            snprintf(label, sizeof label, "%ds", elapsed);
        else if (elapsed < 3600)
            snprintf(label, sizeof label, "%dm", elapsed / 60);
        else if (elapsed < 3600 * 24)
            snprintf(label, sizeof label, "%dh", elapsed / 3600);
        else
            snprintf(label, sizeof label, "%dd", elapsed / (3600 * 24));
        spark_add(q, (double)sm->latency, label);
    }
    kbuf g = KBUF_INIT;
    kbuf_printf(&g, "%s - high %lu ms, low %lu ms (all time high %lu ms)\n", e->name,
                (unsigned long)max, (unsigned long)min, (unsigned long)e->max);
    for (int j = 0; j < LATENCY_GRAPH_COLS; j++)
        kbuf_putc(&g, '-');
    kbuf_putc(&g, '\n');
    for (int j = 0; j < q->length; j += LATENCY_GRAPH_COLS) {
        int sublen = q->length - j < LATENCY_GRAPH_COLS ? q->length - j : LATENCY_GRAPH_COLS;
        if (j != 0)
            kbuf_putc(&g, '\n');
        spark_render_range(&g, q, 4, j, sublen);
    }
    reply_verbatim(&c->r, kbuf_data(&g), kbuf_len(&g), "txt");
    kbuf_free(&g);
    kv_free(q);
}

/* ---- LATENCY DOCTOR: Redis's report ---- */

/* Redis's latencyStats of one event: samples, average and mean absolute
 * deviation (integer ms), and the seconds since the oldest sample. */
typedef struct latmon_stats {
    int samples;
    uint64_t avg, mad;
    int64_t period;
} latmon_stats;

static void latmon_analyze(const struct latmon_event *e, latmon_stats *ls)
{
    memset(ls, 0, sizeof *ls);
    uint64_t sum = 0;
    for (int j = 0; j < LATMON_TS_LEN; j++) {
        const latmon_sample *sm = &e->samples[j];
        if (!sm->time)
            continue;
        ls->samples++;
        sum += (uint64_t)sm->latency;
        if (ls->period == 0 || sm->time < ls->period)
            ls->period = sm->time;
    }
    if (ls->samples) {
        ls->avg = sum / (uint64_t)ls->samples;
        ls->period = (int64_t)time(NULL) - ls->period;
        if (ls->period == 0)
            ls->period = 1;
    }
    sum = 0;
    for (int j = 0; j < LATMON_TS_LEN; j++) {
        const latmon_sample *sm = &e->samples[j];
        if (!sm->time)
            continue;
        int64_t delta = (int64_t)ls->avg - sm->latency;
        sum += (uint64_t)(delta < 0 ? -delta : delta);
    }
    if (ls->samples)
        ls->mad = sum / (uint64_t)ls->samples;
}

/* Does this process have transparent huge pages (AnonHugePages in
 * /proc/self/smaps), as Redis's THPGetAnonHugePagesSize? */
static int thp_in_use(void)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return 0;
    char line[256];
    long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "AnonHugePages:", 14))
            kb += strtoll(line + 14, NULL, 10);
    fclose(f);
    return kb > 0;
}

static void latency_doctor_cmd(cmd_ctx *c)
{
    server *s = c->srv;
    long long threshold = s->cfg.latency_monitor_threshold;
    kbuf r = KBUF_INIT;
    if (s->latmon_n == 0 && threshold == 0) {
        kbuf_append_str(&r, "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in "
                            "this Redis instance. You may use \"CONFIG SET "
                            "latency-monitor-threshold <milliseconds>.\" in order to enable it. "
                            "If we weren't in a deep space mission I'd suggest to take a look at "
                            "https://redis.io/topics/latency-monitor.\n");
        reply_verbatim(&c->r, kbuf_data(&r), kbuf_len(&r), "txt");
        kbuf_free(&r);
        return;
    }
    int slowlog_enabled = 0, slowlog_tuning = 0, slowlog_inspect = 0, scheduler = 0, hz = 0,
        large_objects = 0, disable_thp = 0, advices = 0, eventnum = 0;
    for (int i = 0; i < s->latmon_n; i++) {
        const struct latmon_event *e = &s->latmon[i];
        latmon_stats ls;
        eventnum++;
        if (eventnum == 1)
            kbuf_append_str(&r, "Dave, I have observed latency spikes in this Redis instance. "
                                "You don't mind talking about it, do you Dave?\n\n");
        latmon_analyze(e, &ls);
        kbuf_printf(&r,
                    "%d. %s: %d latency spikes (average %lums, mean deviation %lums, period "
                    "%.2f sec). Worst all time event %lums.",
                    eventnum, e->name, ls.samples, (unsigned long)ls.avg, (unsigned long)ls.mad,
                    (double)ls.period / ls.samples, (unsigned long)e->max);
        if (!strcasecmp(e->name, "command")) {
            if (s->cfg.slowlog_log_slower_than < 0) {
                slowlog_enabled = 1;
                advices++;
            } else if (s->cfg.slowlog_log_slower_than / 1000 > threshold) {
                slowlog_tuning = 1;
                advices++;
            }
            slowlog_inspect = 1;
            large_objects = 1;
            advices += 2;
        }
        if (!strcasecmp(e->name, "fast-command")) {
            scheduler = 1;
            advices++;
        }
        if (!strcasecmp(e->name, "expire-cycle")) {
            hz = 1;
            large_objects = 1;
            advices += 2;
        }
        kbuf_putc(&r, '\n');
    }
    if (thp_in_use()) {
        disable_thp = 1;
        advices++;
    }
    if (eventnum == 0 && advices == 0) {
        kbuf_append_str(&r, "Dave, no latency spike was observed during the lifetime of this "
                            "Redis instance, not in the slightest bit. I honestly think you "
                            "ought to sit down calmly, take a stress pill, and think things "
                            "over.\n");
    } else if (eventnum > 0 && advices == 0) {
        kbuf_append_str(&r, "\nWhile there are latency events logged, I'm not able to suggest "
                            "any easy fix. Please use the Redis community to get some help, "
                            "providing this report in your help request.\n");
    } else {
        kbuf_append_str(&r, "\nI have a few advices for you:\n\n");
        if (slowlog_enabled)
            kbuf_printf(&r,
                        "- There are latency issues with potentially slow commands you are "
                        "using. Try to enable the Slow Log Redis feature using the command "
                        "'CONFIG SET slowlog-log-slower-than %llu'. If the Slow log is disabled "
                        "Redis is not able to log slow commands execution for you.\n",
                        (unsigned long long)threshold * 1000);
        if (slowlog_tuning)
            kbuf_printf(&r,
                        "- Your current Slow Log configuration only logs events that are "
                        "slower than your configured latency monitor threshold. Please use "
                        "'CONFIG SET slowlog-log-slower-than %llu'.\n",
                        (unsigned long long)threshold * 1000);
        if (slowlog_inspect)
            kbuf_append_str(&r, "- Check your Slow Log to understand what are the commands you "
                                "are running which are too slow to execute. Please check "
                                "https://redis.io/commands/slowlog for more information.\n");
        if (scheduler)
            kbuf_append_str(
                &r, "- The system is slow to execute Redis code paths not containing system "
                    "calls. This usually means the system does not provide Redis CPU time to "
                    "run for long periods. You should try to:\n"
                    "  1) Lower the system load.\n"
                    "  2) Use a computer / VM just for Redis if you are running other software "
                    "in the same system.\n"
                    "  3) Check if you have a \"noisy neighbour\" problem.\n"
                    "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic "
                    "latency in your system.\n"
                    "  5) Check if the problem is allocator-related by recompiling Redis with "
                    "MALLOC=libc, if you are using Jemalloc. However this may create "
                    "fragmentation problems.\n");
        if (hz && s->cfg.hz < 100)
            kbuf_append_str(&r, "- In order to make the Redis keys expiring process more "
                                "incremental, try to set the 'hz' configuration parameter to "
                                "100 using 'CONFIG SET hz 100'.\n");
        if (large_objects)
            kbuf_append_str(&r, "- Deleting, expiring or evicting (because of maxmemory policy) "
                                "large objects is a blocking operation. If you have very large "
                                "objects that are often deleted, expired, or evicted, try to "
                                "fragment those objects into multiple smaller objects.\n");
        if (disable_thp)
            kbuf_append_str(
                &r, "- I detected a non zero amount of anonymous huge pages used by your "
                    "process. This creates very serious latency events in different "
                    "conditions, especially when Redis is persisting on disk. To disable THP "
                    "support use the command 'echo never > "
                    "/sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it "
                    "into /etc/rc.local so that the command will be executed again after a "
                    "reboot. Note that even if you have already disabled THP, you still need "
                    "to restart the Redis process to get rid of the huge pages already "
                    "created.\n");
    }
    reply_verbatim(&c->r, kbuf_data(&r), kbuf_len(&r), "txt");
    kbuf_free(&r);
}

/* LATENCY LATEST: per event, its name, the time and ms of its newest
 * sample, and its worst ever. */
static void latency_latest_cmd(cmd_ctx *c)
{
    server *s = c->srv;
    reply_array(&c->r, s->latmon_n);
    for (int i = 0; i < s->latmon_n; i++) {
        const struct latmon_event *e = &s->latmon[i];
        const latmon_sample *last = &e->samples[(e->idx + LATMON_TS_LEN - 1) % LATMON_TS_LEN];
        reply_array(&c->r, 4);
        reply_bulk_cstr(&c->r, e->name);
        reply_int(&c->r, last->time);
        reply_int(&c->r, last->latency);
        reply_int(&c->r, e->max);
    }
}

/* LATENCY HISTORY event: its (time, ms) samples, oldest first; empty for
 * an event never seen (names compare exactly, as Redis's dict). */
static void latency_history_cmd(cmd_ctx *c)
{
    server *s = c->srv;
    const struct latmon_event *e = NULL;
    for (int i = 0; i < s->latmon_n; i++)
        if (strlen(s->latmon[i].name) == c->lens[2] &&
            !memcmp(s->latmon[i].name, c->argv[2], c->lens[2]))
            e = &s->latmon[i];
    if (!e) {
        reply_array(&c->r, 0);
        return;
    }
    reply_deferred d = reply_defer(&c->r);
    long n = 0;
    for (int j = 0; j < LATMON_TS_LEN; j++) {
        const latmon_sample *sm = &e->samples[(e->idx + j) % LATMON_TS_LEN];
        if (!sm->time)
            continue;
        reply_array(&c->r, 2);
        reply_int(&c->r, sm->time);
        reply_int(&c->r, sm->latency);
        n++;
    }
    reply_set_array_len(&c->r, d, n);
}

/* LATENCY RESET [event ...]: how many events were forgotten. */
static void latency_reset_cmd(cmd_ctx *c)
{
    server *s = c->srv;
    long n = 0;
    if (c->argc == 2)
        n = latmon_reset(s, NULL, 0);
    for (int j = 2; j < c->argc; j++)
        n += latmon_reset(s, c->argv[j], c->lens[j]);
    reply_int(&c->r, n);
}

void latency_info(server *s, kbuf *b)
{
    if (!s->latency)
        return;
    for (int i = 0; i < command_count(); i++) {
        const lat_hist *h = s->latency[i];
        if (!h)
            continue;
        kbuf_printf(b, "latency_percentiles_usec_%s:", command_at(i)->name);
        for (int j = 0; j < s->cfg.nlatpct; j++) {
            char p[64];
            lat_format_percentile(p, sizeof p, s->cfg.latpct[j]);
            kbuf_printf(b, "%sp%s=%.3f", j ? "," : "", p,
                        (double)lat_value_at_percentile(h, s->cfg.latpct[j]) / 1000.0);
        }
        kbuf_append_str(b, "\r\n");
    }
}

/* One command's entry: its full name, then {calls, histogram_usec}. */
static void reply_histogram(cmd_ctx *c, const kv_command *cmd, const lat_hist *h)
{
    lat_point pts[64];
    int n = lat_cdf(h, pts, 64);
    if (n > 64)
        n = 64; /* cannot happen: 10^9 ns is 20 doublings past 1024 */
    reply_bulk_cstr(&c->r, cmd->name);
    reply_map(&c->r, 2);
    reply_bulk_cstr(&c->r, "calls");
    reply_int(&c->r, h->total);
    reply_bulk_cstr(&c->r, "histogram_usec");
    reply_map(&c->r, n);
    for (int i = 0; i < n; i++) {
        reply_int(&c->r, pts[i].usec);
        reply_int(&c->r, pts[i].cumulative);
    }
}

static const lat_hist *hist_of(server *s, const kv_command *cmd)
{
    return s->latency ? s->latency[command_index(cmd)] : NULL;
}

/* LATENCY HISTOGRAM [command ...]: a map of command -> its distribution,
 * for the commands named (a container names its subcommands; unknown names
 * and commands never called are left out), or for every command. */
static void latency_histogram_cmd(cmd_ctx *c)
{
    server *s = c->srv;
    reply_deferred d = reply_defer(&c->r);
    long n = 0;
    if (c->argc == 2) {
        for (int i = 0; i < command_count(); i++) {
            const lat_hist *h = hist_of(s, command_at(i));
            if (h) {
                reply_histogram(c, command_at(i), h);
                n++;
            }
        }
    } else {
        for (int j = 2; j < c->argc; j++) {
            const kv_command *cmd = command_lookup_full(c->argv[j], c->lens[j]);
            if (!cmd)
                continue;
            const lat_hist *h = hist_of(s, cmd);
            if (h) {
                reply_histogram(c, cmd, h);
                n++;
            }
            const kv_command *subs[64];
            int ns = command_subs(cmd, subs, 64);
            for (int k = 0; k < ns && k < 64; k++) {
                h = hist_of(s, subs[k]);
                if (h) {
                    reply_histogram(c, subs[k], h);
                    n++;
                }
            }
        }
    }
    reply_set_map_len(&c->r, d, n);
}

static void latency_help_cmd(cmd_ctx *c)
{
    static const char *const lines[] = {
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the "
        "specified command names.",
        "    If no commands are specified then all histograms are replied.",
        NULL,
    };
    admin_reply_help(c, "LATENCY", lines);
}

#define LATENCY_FLAGS (CMD_ADMIN | CMD_STALE | CMD_NOBARRIER)

const kv_command cmds_latency[] = {
    {"latency", command_container, -2, CMD_NOBARRIER, 0, 0, 0, "server",
     "A container for latency diagnostics commands", "2.8.13", "@slow"},
    {"latency|histogram", latency_histogram_cmd, -2, LATENCY_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0, "server",
     "Return the cumulative distribution of latencies of a subset of commands or all.", "7.0.0",
     "@admin @slow @dangerous"},
    {"latency|latest", latency_latest_cmd, 2, LATENCY_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0,
     "server", "Return the latest latency samples for all events.", "2.8.13",
     "@admin @slow @dangerous"},
    {"latency|history", latency_history_cmd, 3, LATENCY_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0,
     0, "server", "Return timestamp-latency samples for the event.", "2.8.13",
     "@admin @slow @dangerous"},
    {"latency|reset", latency_reset_cmd, -2, LATENCY_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0,
     "server", "Reset latency data for one or more events.", "2.8.13",
     "@admin @slow @dangerous"},
    {"latency|graph", latency_graph_cmd, 3, LATENCY_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0,
     "server", "Return a latency graph for the event.", "2.8.13", "@admin @slow @dangerous"},
    {"latency|doctor", latency_doctor_cmd, 2, LATENCY_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0,
     "server", "Return a human readable latency analysis report.", "2.8.13",
     "@admin @slow @dangerous"},
    {"latency|help", latency_help_cmd, 2, CMD_STALE | CMD_NOBARRIER | CMD_LOADING, 0, 0, 0, "server",
     "Show helpful text about the different subcommands.", "2.8.13", "@slow"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
