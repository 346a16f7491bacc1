/* cmd_latency.c — LATENCY HISTOGRAM and INFO latencystats: the per-command
 * latency histograms (latency.h) the server keeps while latency-tracking
 * is on, reported as Redis 7.0 does.
 *
 * LATENCY's other subcommands (DOCTOR, GRAPH, HISTORY, LATEST, RESET) are
 * Redis's latency monitor, which kvnode does not have: they are unknown
 * subcommands here, and HELP lists only what exists. */
#include "server.h"

#include "latency.h"
#include "mem.h"
#include "reply.h"

#include <stdio.h>
#include <string.h>

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

void latency_free(server *s)
{
    latency_reset(s);
    kv_free(s->latency);
    s->latency = NULL;
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
    {"latency|help", latency_help_cmd, 2, CMD_STALE | CMD_NOBARRIER | CMD_LOADING, 0, 0, 0, "server",
     "Returns helpful text about the different subcommands.", "2.8.13", "@slow"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
