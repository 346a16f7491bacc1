/* cmd_memory.c — MEMORY USAGE / STATS / DOCTOR / MALLOC-STATS / PURGE /
 * HELP with Redis 7.0's reply shapes, the memory figures INFO memory shares
 * with them, and the server's side of maxmemory: running eviction rounds
 * (evict.c) before commands and from a timer while over the limit.
 *
 * The figures are kvnode's own, measured the same way Redis measures its:
 * used memory is what kv_malloc handed out (malloc_usable_size), the
 * allocator's view comes from glibc's mallinfo2, RSS from /proc. What does
 * not count against maxmemory is the WAL's entry buffer (Redis's AOF
 * buffer) and what waits to be sent to other nodes (its replica buffers).
 * MEMORY USAGE is exact: every value type keeps its byte count, so SAMPLES
 * is checked as Redis checks it and changes nothing. */
#include "server.h"

#include "mem.h"
#include "repl.h"
#include "reply.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Eviction rounds                                                           */
/* ------------------------------------------------------------------------ */

size_t server_mem_not_counted(void *srv)
{
    server *s = srv;
    size_t n = 0;
    if (s->eng)
        n += engine_entry_buffer_bytes(s->eng);
    if (s->repl)
        n += (size_t)repl_output_bytes(s->repl);
    /* Replies and messages held behind the reply barrier go out once the
     * WAL commits them, as Redis's AOF buffer is written before its
     * replies: evicting keys for them would only hold more (each eviction
     * is a write, and may send invalidations). */
    return n + sync_stream_memory(s) + s->closing_mem + clients_held_bytes(s);
}

int server_evict(server *s)
{
    /* Nothing is evicted while clients are paused, and nothing is refused
     * for memory then either (Redis's isSafeToPerformEvictions). */
    if (!s->env.maxmemory || s->shutting_down || !s->serving || !repl_writable(s->repl) ||
        s->pause_type != PAUSE_OFF)
        return EVICT_OK;
    int r = evict_perform(&s->env, s->dbs, s->ndbs);
    if (r == EVICT_RUNNING)
        server_evict_soon(s);
    return r;
}

static void on_evict_timer(uv_timer_t *t)
{
    server *s = t->data;
    if (server_evict(s) != EVICT_RUNNING)
        uv_timer_stop(t);
    pubsub_settle(s); /* "evicted" events */
}

void server_evict_soon(server *s)
{
    if (s->shutting_down || !s->evict_timer.data)
        return;
    /* Every loop turn until memory is under the limit or nothing is left
     * to evict (Redis's evictionTimeProc). */
    if (!uv_is_active((uv_handle_t *)&s->evict_timer))
        uv_timer_start(&s->evict_timer, on_evict_timer, 0, 1);
}

/* ------------------------------------------------------------------------ */
/* Figures                                                                   */
/* ------------------------------------------------------------------------ */

static size_t proc_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    return n == 2 ? (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

static size_t clients_memory(server *s)
{
    size_t n = 0;
    for (client *c = s->clients; c; c = c->next)
        if (!c->sync) /* counted with the replicas */
            n += client_memory(c);
    return n;
}

static float ratio(size_t a, size_t b)
{
    return b ? (float)a / (float)b : 0;
}

void server_mem_overhead(server *s, mem_overhead *m)
{
    memset(m, 0, sizeof *m);
    size_t used = kv_used_memory();
    if (used > s->stats.peak_memory)
        s->stats.peak_memory = used;
    m->total = used;
    m->peak = s->stats.peak_memory;
    m->startup = s->startup_memory;
    m->clients_slaves = (s->repl ? (size_t)repl_output_bytes(s->repl) : 0) + sync_stream_memory(s);
    m->clients_normal = clients_memory(s);
    m->aof_buffer = s->eng ? engine_entry_buffer_bytes(s->eng) : 0;
    for (int d = 0; d < s->ndbs; d++) {
        size_t main, expires;
        ks_overhead(s->dbs[d], &main, &expires);
        m->keys += ks_size(s->dbs[d]);
        m->ht_main += main;
        m->ht_expires += expires;
    }
    m->overhead_total = m->startup + m->repl_backlog + m->clients_slaves + m->clients_normal +
                        m->aof_buffer + m->ht_main + m->ht_expires;
    m->dataset = used > m->overhead_total ? used - m->overhead_total : 0;
    m->peak_perc = m->peak ? (float)used * 100 / (float)m->peak : 0;
    size_t net = used > m->startup ? used - m->startup : 1;
    m->dataset_perc = (float)m->dataset * 100 / (float)net;
    m->bytes_per_key = m->keys ? net / m->keys : 0;
    struct mallinfo2 mi = mallinfo2();
    m->alloc_allocated = mi.uordblks + mi.hblkhd;
    m->alloc_active = mi.arena + mi.hblkhd;
    m->alloc_resident = m->alloc_active;
    m->rss = proc_rss();
    m->not_counted = server_mem_not_counted(s);
}

/* a - b for the "*.bytes" figures, which Redis prints signed. */
static long long diff(size_t a, size_t b)
{
    return (long long)a - (long long)b;
}

/* ------------------------------------------------------------------------ */
/* MEMORY subcommands                                                        */
/* ------------------------------------------------------------------------ */

static void memory_usage_cmd(cmd_ctx *c)
{
    for (int j = 3; j < c->argc; j++) {
        if (arg_is_c(c, j, "samples") && j + 1 < c->argc) {
            long long samples;
            if (arg_ll(c, j + 1, &samples) < 0)
                return;
            if (samples < 0) {
                reply_err_syntax(&c->r);
                return;
            }
            j++;
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    /* As Redis: the key as stored, expired or not, untouched. */
    kobj *o = ks_find(c->k, c->argv[2], c->lens[2]);
    if (!o) {
        reply_null(&c->r);
        return;
    }
    reply_int(&c->r, (long long)kobj_mem(o));
}

static void kv_pair_int(reply *r, const char *name, long long v)
{
    reply_bulk_cstr(r, name);
    reply_int(r, v);
}

static void kv_pair_double(reply *r, const char *name, float v)
{
    reply_bulk_cstr(r, name);
    reply_double(r, v);
}

static void memory_stats_cmd(cmd_ctx *c)
{
    mem_overhead m;
    server_mem_overhead(c->srv, &m);
    reply *r = &c->r;
    server *s = c->srv;
    int ndbs = 0;
    for (int d = 0; d < s->ndbs; d++)
        ndbs += ks_size(s->dbs[d]) != 0;
    reply_map(r, 27 + ndbs);
    kv_pair_int(r, "peak.allocated", (long long)m.peak);
    kv_pair_int(r, "total.allocated", (long long)m.total);
    kv_pair_int(r, "startup.allocated", (long long)m.startup);
    kv_pair_int(r, "replication.backlog", (long long)m.repl_backlog);
    kv_pair_int(r, "clients.slaves", (long long)m.clients_slaves);
    kv_pair_int(r, "clients.normal", (long long)m.clients_normal);
    kv_pair_int(r, "cluster.links", 0);
    kv_pair_int(r, "aof.buffer", (long long)m.aof_buffer);
    kv_pair_int(r, "lua.caches", 0);
    kv_pair_int(r, "functions.caches", 0);
    /* Each database with keys, as Redis. */
    for (int d = 0; d < s->ndbs; d++) {
        if (!ks_size(s->dbs[d]))
            continue;
        size_t main, expires;
        ks_overhead(s->dbs[d], &main, &expires);
        char name[32];
        snprintf(name, sizeof name, "db.%d", d);
        reply_bulk_cstr(r, name);
        reply_map(r, 3);
        kv_pair_int(r, "overhead.hashtable.main", (long long)main);
        kv_pair_int(r, "overhead.hashtable.expires", (long long)expires);
        kv_pair_int(r, "overhead.hashtable.slot-to-keys", 0);
    }
    kv_pair_int(r, "overhead.total", (long long)m.overhead_total);
    kv_pair_int(r, "keys.count", (long long)m.keys);
    kv_pair_int(r, "keys.bytes-per-key", (long long)m.bytes_per_key);
    kv_pair_int(r, "dataset.bytes", (long long)m.dataset);
    kv_pair_double(r, "dataset.percentage", m.dataset_perc);
    kv_pair_double(r, "peak.percentage", m.peak_perc);
    kv_pair_int(r, "allocator.allocated", (long long)m.alloc_allocated);
    kv_pair_int(r, "allocator.active", (long long)m.alloc_active);
    kv_pair_int(r, "allocator.resident", (long long)m.alloc_resident);
    kv_pair_double(r, "allocator-fragmentation.ratio", ratio(m.alloc_active, m.alloc_allocated));
    kv_pair_int(r, "allocator-fragmentation.bytes", diff(m.alloc_active, m.alloc_allocated));
    kv_pair_double(r, "allocator-rss.ratio", ratio(m.alloc_resident, m.alloc_active));
    kv_pair_int(r, "allocator-rss.bytes", diff(m.alloc_resident, m.alloc_active));
    kv_pair_double(r, "rss-overhead.ratio", ratio(m.rss, m.alloc_resident));
    kv_pair_int(r, "rss-overhead.bytes", diff(m.rss, m.alloc_resident));
    kv_pair_double(r, "fragmentation", ratio(m.rss, m.total));
    kv_pair_int(r, "fragmentation.bytes", diff(m.rss, m.total));
}

/* Redis's getMemoryDoctorReport, over kvnode's figures. */
static void memory_doctor_cmd(cmd_ctx *c)
{
    server *s = c->srv;
    mem_overhead m;
    server_mem_overhead(s, &m);
    int empty = 0, big_peak = 0, high_frag = 0, high_alloc_frag = 0, high_alloc_rss = 0,
        high_proc_rss = 0, big_client_buf = 0, big_slave_buf = 0, reports = 0;
    if (m.total < 5u * 1024 * 1024) {
        empty = 1;
        reports++;
    } else {
        if (ratio(m.peak, m.total) > 1.5f)
            big_peak = 1, reports++;
        if (ratio(m.rss, m.total) > 1.4f && diff(m.rss, m.total) > (10 << 20))
            high_frag = 1, reports++;
        if (ratio(m.alloc_active, m.alloc_allocated) > 1.1f &&
            diff(m.alloc_active, m.alloc_allocated) > (10 << 20))
            high_alloc_frag = 1, reports++;
        if (ratio(m.alloc_resident, m.alloc_active) > 1.1f &&
            diff(m.alloc_resident, m.alloc_active) > (10 << 20))
            high_alloc_rss = 1, reports++;
        if (ratio(m.rss, m.alloc_resident) > 1.1f && diff(m.rss, m.alloc_resident) > (10 << 20))
            high_proc_rss = 1, reports++;
        size_t nclients = s->nclients ? s->nclients : 1;
        if (m.clients_normal / nclients > 1024 * 200)
            big_client_buf = 1, reports++;
        if (m.clients_slaves > 1024 * 1024 * 10)
            big_slave_buf = 1, reports++;
    }
    kbuf b = KBUF_INIT;
    if (reports == 0) {
        kbuf_printf(&b, "Hi Sam, I can't find any memory issue in your instance. I can only "
                        "account for what occurs on this base.\n");
    } else if (empty) {
        kbuf_printf(&b,
                    "Hi Sam, this instance is empty or is using very little memory, my issues "
                    "detector can't be used in these conditions. Please, leave for your mission "
                    "on Earth and fill it with some data. The new Sam and I will be back to our "
                    "programming as soon as I finished rebooting.\n");
    } else {
        kbuf_printf(&b, "Sam, I detected a few issues in this Redis instance memory implants:\n\n");
        if (big_peak)
            kbuf_printf(&b,
                        " * Peak memory: In the past this instance used more than 150%% the "
                        "memory that is currently using. The allocator is normally not able to "
                        "release memory after a peak, so you can expect to see a big "
                        "fragmentation ratio, however this is actually harmless and is only due "
                        "to the memory peak, and if the Redis instance Resident Set Size (RSS) is "
                        "currently bigger than expected, the memory will be used as soon as you "
                        "fill the Redis instance with more data. If the memory peak was only "
                        "occasional and you want to try to reclaim memory, please try the MEMORY "
                        "PURGE command, otherwise the only other option is to shutdown and "
                        "restart the instance.\n\n");
        if (high_frag)
            kbuf_printf(&b,
                        " * High total RSS: This instance has a memory fragmentation and RSS "
                        "overhead greater than 1.4 (this means that the Resident Set Size of the "
                        "Redis process is much larger than the sum of the logical allocations "
                        "Redis performed). This problem is usually due either to a large peak "
                        "memory (check if there is a peak memory entry above in the report) or "
                        "may result from a workload that causes the allocator to fragment memory "
                        "a lot. If the problem is a large peak memory, then there is no issue. "
                        "Otherwise, make sure you are using the Jemalloc allocator and not the "
                        "default libc malloc. Note: The currently used allocator is \"libc\".\n\n");
        if (high_alloc_frag)
            kbuf_printf(&b,
                        " * High allocator fragmentation: This instance has an allocator "
                        "external fragmentation greater than 1.1. This problem is usually due "
                        "either to a large peak memory (check if there is a peak memory entry "
                        "above in the report) or may result from a workload that causes the "
                        "allocator to fragment memory a lot. You can try enabling 'activedefrag' "
                        "config option.\n\n");
        if (high_alloc_rss)
            kbuf_printf(&b,
                        " * High allocator RSS overhead: This instance has an RSS memory overhead "
                        "is greater than 1.1 (this means that the Resident Set Size of the "
                        "allocator is much larger than the sum what the allocator actually "
                        "holds). This problem is usually due to a large peak memory (check if "
                        "there is a peak memory entry above in the report), you can try the "
                        "MEMORY PURGE command to reclaim it.\n\n");
        if (high_proc_rss)
            kbuf_printf(&b,
                        " * High process RSS overhead: This instance has non-allocator RSS memory "
                        "overhead is greater than 1.1 (this means that the Resident Set Size of "
                        "the Redis process is much larger than the RSS the allocator holds). "
                        "This problem may be due to Lua scripts or Modules.\n\n");
        if (big_slave_buf)
            kbuf_printf(&b,
                        " * Big replica buffers: The replica output buffers in this instance are "
                        "greater than 10MB for each replica (on average). This likely means that "
                        "there is some replica instance that is struggling receiving data, "
                        "either because it is too slow or because of networking issues. As a "
                        "result, data piles on the master output buffers. Please try to identify "
                        "what replica is not receiving data correctly and why. You can use the "
                        "INFO output in order to check the replicas delays and the CLIENT LIST "
                        "command to check the output buffers of each replica.\n\n");
        if (big_client_buf)
            kbuf_printf(&b,
                        " * Big client buffers: The clients output buffers in this instance are "
                        "greater than 200K per client (on average). This may result from "
                        "different causes, like Pub/Sub clients subscribed to channels bot not "
                        "receiving data fast enough, so that data piles on the Redis instance "
                        "output buffer, or clients sending commands with large replies or very "
                        "large sequences of commands in the same pipeline. Please use the CLIENT "
                        "LIST command in order to investigate the issue if it causes problems in "
                        "your instance, or to understand better why certain clients are using a "
                        "big amount of memory.\n\n");
        kbuf_printf(&b, "I'm here to keep you safe, Sam. I want to help you.\n");
    }
    reply_verbatim(&c->r, kbuf_data(&b), kbuf_len(&b), "txt");
    kbuf_free(&b);
}

/* glibc's malloc_info report (XML), where Redis prints jemalloc's. */
static void memory_malloc_stats_cmd(cmd_ctx *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f || malloc_info(0, f) != 0) {
        if (f)
            fclose(f);
        free(text);
        reply_bulk_cstr(&c->r, "Stats not supported for the current allocator");
        return;
    }
    fclose(f);
    reply_verbatim(&c->r, text, len, "txt");
    free(text);
}

static void memory_purge_cmd(cmd_ctx *c)
{
    malloc_trim(0);
    reply_ok(&c->r);
}

static void memory_help_cmd(cmd_ctx *c)
{
    static const char *const lines[] = {
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        NULL,
    };
    admin_reply_help(c, "MEMORY", lines);
}

const kv_command cmds_memory[] = {
    {"memory", command_container, -2, CMD_NOBARRIER, 0, 0, 0, "server",
     "A container for memory diagnostics commands", "4.0.0", "@slow"},
    {"memory|doctor", memory_doctor_cmd, 2, 0, 0, 0, 0, "server",
     "Outputs memory problems report", "4.0.0", "@slow"},
    {"memory|malloc-stats", memory_malloc_stats_cmd, 2, 0, 0, 0, 0, "server",
     "Show allocator internal stats", "4.0.0", "@slow"},
    {"memory|purge", memory_purge_cmd, 2, 0, 0, 0, 0, "server",
     "Ask the allocator to release memory", "4.0.0", "@slow"},
    {"memory|stats", memory_stats_cmd, 2, 0, 0, 0, 0, "server", "Show memory usage details",
     "4.0.0", "@slow"},
    {"memory|usage", memory_usage_cmd, -3, CMD_READONLY, 2, 2, 1, "server",
     "Estimate the memory usage of a key", "4.0.0", "@read @slow"},
    {"memory|help", memory_help_cmd, 2, CMD_STALE | CMD_NOBARRIER | CMD_LOADING, 0, 0, 0, "server",
     "Show helpful text about the different subcommands", "4.0.0", "@slow"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
