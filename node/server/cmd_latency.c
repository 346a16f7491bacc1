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
     "A container for latency diagnostics commands.", "2.8.13", "@slow"},
    {"latency|histogram", latency_histogram_cmd, -2, LATENCY_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0, "server",
     "Returns the cumulative distribution of latencies of a subset or all commands.", "7.0.0",
     "@admin @slow @dangerous"},
    {"latency|latest", latency_latest_cmd, 2, LATENCY_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0,
     "server", "Returns the latest latency samples for all events.", "2.8.13",
     "@admin @slow @dangerous"},
    {"latency|history", latency_history_cmd, 3, LATENCY_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0,
     0, "server", "Returns timestamp-latency samples for an event.", "2.8.13",
     "@admin @slow @dangerous"},
    {"latency|reset", latency_reset_cmd, -2, LATENCY_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0,
     "server", "Resets the latency data for one or more events.", "2.8.13",
     "@admin @slow @dangerous"},
    {"latency|help", latency_help_cmd, 2, CMD_STALE | CMD_NOBARRIER | CMD_LOADING, 0, 0, 0, "server",
     "Returns helpful text about the different subcommands.", "2.8.13", "@slow"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
