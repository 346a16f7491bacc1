/* cmd_info.c — INFO [section …]: Redis 7's sections and field names where
 * Redis has the field, plus kvnode's own (kvnode_version, wal_*,
 * snapshot_*, recovery_*, commit_lsn, term …).
 *
 * Sections, in Redis's order: server, clients, memory, persistence, stats,
 * replication, cpu, modules, commandstats, errorstats, latencystats,
 * cluster, keyspace.
 * "default" (no argument) is all but commandstats and latencystats; "all"
 * and "everything" are all. Errorstats (in the default set) lists the
 * error codes counted by server_count_error. Unknown section names select nothing (an empty reply). */
#include "server.h"

#include "script.h"

#include "repl.h"

#include "lazyfree.h"
#include "mem.h"
#include "reply.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

enum {
    S_SERVER = 1 << 0,
    S_CLIENTS = 1 << 1,
    S_MEMORY = 1 << 2,
    S_PERSISTENCE = 1 << 3,
    S_STATS = 1 << 4,
    S_REPLICATION = 1 << 5,
    S_CPU = 1 << 6,
    S_MODULES = 1 << 7,
    S_COMMANDSTATS = 1 << 8,
    S_CLUSTER = 1 << 9,
    S_KEYSPACE = 1 << 10,
    S_LATENCYSTATS = 1 << 11,
    S_ERRORSTATS = 1 << 12,
};

#define S_DEFAULT                                                                         \
    (S_SERVER | S_CLIENTS | S_MEMORY | S_PERSISTENCE | S_STATS | S_REPLICATION | S_CPU | \
     S_MODULES | S_ERRORSTATS | S_CLUSTER | S_KEYSPACE)
#define S_ALL (S_DEFAULT | S_COMMANDSTATS | S_LATENCYSTATS)

static const struct {
    const char *name;
    int bits;
} section_names[] = {
    {"server", S_SERVER},           {"clients", S_CLIENTS},
    {"memory", S_MEMORY},           {"persistence", S_PERSISTENCE},
    {"stats", S_STATS},             {"replication", S_REPLICATION},
    {"cpu", S_CPU},                 {"modules", S_MODULES},
    {"commandstats", S_COMMANDSTATS}, {"latencystats", S_LATENCYSTATS},
    {"errorstats", S_ERRORSTATS},
    {"cluster", S_CLUSTER},
    {"keyspace", S_KEYSPACE},       {"default", S_DEFAULT},
    {"all", S_ALL},                 {"everything", S_ALL},
};

static int parse_sections(cmd_ctx *c)
{
    if (c->argc == 1)
        return S_DEFAULT;
    int bits = 0;
    for (int i = 1; i < c->argc; i++)
        for (size_t j = 0; j < sizeof section_names / sizeof *section_names; j++)
            if (arg_is(c, i, section_names[j].name))
                bits |= section_names[j].bits;
    return bits;
}

/* Redis's bytesToHuman. */
static void human(char *out, size_t len, uint64_t n)
{
    double d = (double)n;
    if (n < 1024)
        snprintf(out, len, "%" PRIu64 "B", n);
    else if (n < 1024ull * 1024)
        snprintf(out, len, "%.2fK", d / 1024);
    else if (n < 1024ull * 1024 * 1024)
        snprintf(out, len, "%.2fM", d / (1024.0 * 1024));
    else if (n < 1024ull * 1024 * 1024 * 1024)
        snprintf(out, len, "%.2fG", d / (1024.0 * 1024 * 1024));
    else if (n < 1024ull * 1024 * 1024 * 1024 * 1024)
        snprintf(out, len, "%.2fT", d / (1024.0 * 1024 * 1024 * 1024));
    else
        snprintf(out, len, "%.2fP", d / (1024.0 * 1024 * 1024 * 1024 * 1024));
}

static void header(kbuf *b, const char *name)
{
    if (kbuf_len(b))
        kbuf_append_str(b, "\r\n");
    kbuf_printf(b, "# %s\r\n", name);
}

/* ---- sections ---- */

static void info_server(server *s, kbuf *b)
{
    struct utsname u;
    uname(&u);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    struct timeval tv;
    gettimeofday(&tv, NULL);
    int64_t up = (server_mstime() - s->start_ms) / 1000;
    header(b, "Server");
    kbuf_printf(b,
                "redis_version:%s\r\n"
                "kvnode_version:%s\r\n"
                "redis_git_sha1:00000000\r\n"
                "redis_git_dirty:0\r\n"
                "redis_mode:standalone\r\n"
                "os:%s %s %s\r\n"
                "arch_bits:%d\r\n"
                "monotonic_clock:POSIX clock_gettime\r\n"
                "multiplexing_api:epoll\r\n"
                "gcc_version:%d.%d.%d\r\n"
                "process_id:%d\r\n"
                "process_supervised:%s\r\n"
                "run_id:%s\r\n"
                "tcp_port:%d\r\n"
                "server_time_usec:%lld\r\n"
                "uptime_in_seconds:%lld\r\n"
                "uptime_in_days:%lld\r\n"
                "hz:%d\r\n"
                "configured_hz:%d\r\n"
                "executable:%s\r\n"
                "config_file:%s\r\n"
                "io_threads_active:0\r\n",
                KV_REDIS_COMPAT_VERSION, KV_VERSION, u.sysname, u.release, u.machine,
                (int)sizeof(long) * 8,
#ifdef __GNUC__
                __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
                0, 0, 0,
#endif
                (int)getpid(), supervise_name(), s->run_id, s->cfg.port,
                (long long)tv.tv_sec * 1000000 + tv.tv_usec, (long long)up,
                (long long)(up / 86400), s->hz ? s->hz : s->cfg.hz, s->cfg.hz, exe,
                s->cfg.config_file ? s->cfg.config_file : "");
}

static void info_clients(server *s, kbuf *b)
{
    uint64_t connected = 0, blocked = 0, waiting = 0;
    size_t max_in = 0, max_out = 0;
    for (client *c = s->clients; c; c = c->next) {
        if (c->flags & CL_CLOSING)
            continue;
        connected++;
        blocked += (c->flags & CL_BLOCKED) != 0;
        waiting += c->nmarks != 0;
        if (kbuf_len(&c->query) > max_in)
            max_in = kbuf_len(&c->query);
        if (client_pending_bytes(c) > max_out)
            max_out = client_pending_bytes(c);
    }
    size_t wait_timeouts = 0; /* WAIT with a timeout (blocking.c counts the others) */
    for (size_t i = 0; i < s->nblocked; i++)
        wait_timeouts += s->blocked[i]->block_deadline_ms != 0;
    uint64_t trk_clients, trk_keys, trk_items, trk_prefixes;
    tracking_stats(s, &trk_clients, &trk_keys, &trk_items, &trk_prefixes);
    header(b, "Clients");
    kbuf_printf(b,
                "connected_clients:%" PRIu64 "\r\n"
                "cluster_connections:0\r\n"
                "maxclients:%d\r\n"
                "client_recent_max_input_buffer:%zu\r\n"
                "client_recent_max_output_buffer:%zu\r\n"
                "blocked_clients:%" PRIu64 "\r\n"
                "tracking_clients:%" PRIu64 "\r\n"
                "clients_in_timeout_table:%zu\r\n"
                "total_blocking_keys:%zu\r\n"
                "clients_waiting_commit:%" PRIu64 "\r\n",
                connected, s->cfg.maxclients, max_in, max_out, blocked, trk_clients,
                blocking_ntimeouts(s) + stream_block_ntimeouts(s) + wait_timeouts,
                blocking_nkeys(s) + stream_block_nkeys(s), waiting);
}

static void info_memory(server *s, kbuf *b)
{
    mem_overhead m;
    server_mem_overhead(s, &m);
    size_t used = m.total, peak = m.peak, rss = m.rss;
    struct sysinfo si;
    uint64_t total = sysinfo(&si) == 0 ? (uint64_t)si.totalram * si.mem_unit : 0;
    char h_used[32], h_rss[32], h_peak[32], h_total[32], h_max[32];
    human(h_used, sizeof h_used, used);
    human(h_rss, sizeof h_rss, rss);
    human(h_peak, sizeof h_peak, peak);
    human(h_total, sizeof h_total, total);
    human(h_max, sizeof h_max, s->cfg.maxmemory);
    script_stats sst;
    script_get_stats(&sst);
    char h_lua[32], h_vm[32], h_scripts[32];
    human(h_lua, sizeof h_lua, sst.lua_memory);
    human(h_vm, sizeof h_vm, sst.lua_memory + sst.functions_memory);
    human(h_scripts, sizeof h_scripts, sst.scripts_memory + sst.functions_code);
    header(b, "Memory");
    kbuf_printf(b,
                "used_memory:%zu\r\n"
                "used_memory_human:%s\r\n"
                "used_memory_rss:%zu\r\n"
                "used_memory_rss_human:%s\r\n"
                "used_memory_peak:%zu\r\n"
                "used_memory_peak_human:%s\r\n"
                "used_memory_peak_perc:%.2f%%\r\n"
                "used_memory_overhead:%zu\r\n"
                "used_memory_startup:%zu\r\n"
                "used_memory_dataset:%zu\r\n"
                "used_memory_dataset_perc:%.2f%%\r\n"
                "allocator_allocated:%zu\r\n"
                "allocator_active:%zu\r\n"
                "allocator_resident:%zu\r\n"
                "total_system_memory:%" PRIu64 "\r\n"
                "total_system_memory_human:%s\r\n"
                "used_memory_lua:%zu\r\n"
                "used_memory_vm_eval:%zu\r\n"
                "used_memory_lua_human:%s\r\n"
                "used_memory_scripts_eval:%zu\r\n"
                "number_of_cached_scripts:%zu\r\n"
                "number_of_functions:%zu\r\n"
                "number_of_libraries:%zu\r\n"
                "used_memory_vm_functions:%zu\r\n"
                "used_memory_vm_total:%zu\r\n"
                "used_memory_vm_total_human:%s\r\n"
                "used_memory_functions:%zu\r\n"
                "used_memory_scripts:%zu\r\n"
                "used_memory_scripts_human:%s\r\n"
                "maxmemory:%llu\r\n"
                "maxmemory_human:%s\r\n"
                "maxmemory_policy:%s\r\n"
                "allocator_frag_ratio:%.2f\r\n"
                "allocator_frag_bytes:%lld\r\n"
                "allocator_rss_ratio:%.2f\r\n"
                "allocator_rss_bytes:%lld\r\n"
                "rss_overhead_ratio:%.2f\r\n"
                "rss_overhead_bytes:%lld\r\n"
                "mem_fragmentation_ratio:%.2f\r\n"
                "mem_fragmentation_bytes:%lld\r\n"
                "mem_not_counted_for_evict:%zu\r\n"
                "mem_replication_backlog:%zu\r\n"
                "mem_total_replication_buffers:%zu\r\n"
                "mem_clients_slaves:%zu\r\n"
                "mem_clients_normal:%zu\r\n"
                "mem_cluster_links:0\r\n"
                "mem_aof_buffer:%zu\r\n"
                "mem_allocator:libc\r\n"
                "active_defrag_running:0\r\n"
                "lazyfree_pending_objects:%zu\r\n"
                "lazyfreed_objects:%zu\r\n",
                used, h_used, rss, h_rss, peak, h_peak, (double)m.peak_perc, m.overhead_total,
                m.startup, m.dataset, (double)m.dataset_perc, m.alloc_allocated, m.alloc_active,
                m.alloc_resident, total, h_total, sst.lua_memory, sst.lua_memory, h_lua,
                sst.scripts_memory, sst.scripts, sst.functions, sst.libraries, sst.functions_memory,
                sst.lua_memory + sst.functions_memory, h_vm, sst.functions_code,
                sst.scripts_memory + sst.functions_code, h_scripts, s->cfg.maxmemory, h_max,
                config_maxmemory_policy_name(&s->cfg),
                m.alloc_allocated ? (double)m.alloc_active / (double)m.alloc_allocated : 0.0,
                (long long)m.alloc_active - (long long)m.alloc_allocated,
                m.alloc_active ? (double)m.alloc_resident / (double)m.alloc_active : 0.0,
                (long long)m.alloc_resident - (long long)m.alloc_active,
                m.alloc_resident ? (double)rss / (double)m.alloc_resident : 0.0,
                (long long)rss - (long long)m.alloc_resident,
                used ? (double)rss / (double)used : 0.0, (long long)rss - (long long)used,
                m.not_counted, m.repl_backlog, m.clients_slaves, m.clients_slaves,
                m.clients_normal, m.aof_buffer, lazyfree_pending(), lazyfree_freed());
}

/* Redis's loading_* lines, while the node loads its data at startup. */
static void info_loading(server *s, kbuf *b)
{
    kbuf_printf(b,
                "loading_start_time:%lld\r\n"
                "loading_total_bytes:%" PRIu64 "\r\n"
                "loading_rdb_used_mem:%zu\r\n"
                "loading_loaded_bytes:%" PRIu64 "\r\n"
                "loading_loaded_perc:%.2f\r\n"
                "loading_eta_seconds:%lld\r\n",
                (long long)s->loading_start, s->loading_total, kv_used_memory(),
                s->loading_loaded, s->loading_perc, (long long)s->loading_eta);
}

static void info_persistence(server *s, kbuf *b)
{
    if (!s->eng || s->loading) {
        header(b, "Persistence");
        kbuf_append_str(b, "loading:1\r\nasync_loading:0\r\n");
        info_loading(s, b);
        return;
    }
    engine_stats st;
    engine_get_stats(s->eng, &st);
    const char *why = NULL;
    int failed = engine_failed(s->eng, &why) != 0;
    int nospace = !failed && engine_can_write(s->eng, 4096, NULL) != 0;
    const engine_recovery *rec = &s->recovery;
    static const char *const fsync_names[] = {"always", "everysec", "no"};
    int fs = s->cfg.appendfsync;
    header(b, "Persistence");
    kbuf_printf(b,
                "loading:0\r\n"
                "async_loading:0\r\n"
                "current_fork_perc:%.2f\r\n"
                "current_save_keys_processed:%" PRIu64 "\r\n"
                "current_save_keys_total:%" PRIu64 "\r\n",
                st.snapshot_keys_total ? 100.0 * (double)st.snapshot_keys_done /
                                             (double)st.snapshot_keys_total
                                       : 0.0,
                st.snapshot_keys_done, st.snapshot_keys_total);
    kbuf_printf(b,
                "rdb_changes_since_last_save:%" PRIu64 "\r\n"
                "rdb_bgsave_in_progress:%d\r\n"
                "rdb_last_save_time:%lld\r\n"
                "rdb_last_bgsave_status:%s\r\n"
                "rdb_last_bgsave_time_sec:%lld\r\n"
                "rdb_current_bgsave_time_sec:%lld\r\n"
                "rdb_saves:%" PRIu64 "\r\n"
                "aof_enabled:1\r\n"
                "aof_rewrite_in_progress:%d\r\n"
                "aof_last_bgrewrite_status:%s\r\n"
                "aof_last_write_status:%s\r\n",
                st.changes_since_save, st.bgsave_in_progress, (long long)st.last_save_time,
                st.last_bgsave_ok ? "ok" : "err",
                st.snapshots_taken ? (long long)(st.last_snapshot_ms / 1000) : -1LL,
                st.bgsave_in_progress ? (long long)(st.snapshot_elapsed_ms / 1000) : -1LL,
                st.snapshots_taken,
                /* the snapshot is what rewrites (compacts) the log: BGREWRITEAOF
                 * starts one, and tools wait on this field for it to end */
                st.bgsave_in_progress, st.last_bgsave_ok ? "ok" : "err",
                failed || nospace ? "err" : "ok");
    kbuf_printf(b,
                "wal_fsync:%s\r\n"
                "wal_status:%s%s\r\n"
                "wal_nospace:%d\r\n"
                "wal_no_spare_space:%d\r\n"
                "wal_segment_room_bytes:%" PRIu64 "\r\n"
                "wal_disk_free_bytes:%" PRIu64 "\r\n"
                "wal_disk_total_bytes:%" PRIu64 "\r\n"
                "wal_last_lsn:%" PRIu64 "\r\n"
                "wal_durable_lsn:%" PRIu64 "\r\n"
                "wal_first_lsn:%" PRIu64 "\r\n"
                "wal_segments:%" PRIu64 "\r\n"
                "wal_bytes:%" PRIu64 "\r\n"
                "wal_batches:%" PRIu64 "\r\n"
                "wal_syncs:%" PRIu64 "\r\n"
                "wal_last_sync_us:%" PRIu64 "\r\n"
                "wal_max_batch_records:%" PRIu64 "\r\n"
                "wal_gather_waits:%" PRIu64 "\r\n"
                "wal_loop_delays:%" PRIu64 "\r\n"
                "wal_inline_syncs:%" PRIu64 "\r\n"
                "wal_compactions:%" PRIu64 "\r\n"
                "wal_spare_ready:%d\r\n"
                "wal_stalled_ms:%" PRIu64 "\r\n"
                "wal_writes_refused_nospace:%" PRIu64 "\r\n",
                fs >= 0 && fs < 3 ? fsync_names[fs] : "?", failed ? "failed: " : "ok",
                failed ? why : "", nospace, st.wal.nospace, st.wal.segment_room,
                st.disk_free_bytes, st.disk_total_bytes, engine_last_lsn(s->eng),
                engine_durable_lsn(s->eng), st.wal.first_lsn, st.wal.segments, st.wal.bytes,
                st.wal.batches, st.wal.syncs, st.wal.last_sync_us, st.wal.max_batch_records,
                st.wal.gather_waits, st.wal.loop_delays, st.wal.inline_syncs,
                st.wal_compactions, st.wal.spare_ready, st.wal.stalled_ms,
                s->stats.writes_refused_nospace);
    kbuf_printf(b,
                "snapshot_in_progress:%d\r\n"
                "snapshot_count:%" PRIu64 "\r\n"
                "snapshot_last_lsn:%" PRIu64 "\r\n"
                "snapshot_last_keys:%" PRIu64 "\r\n"
                "snapshot_last_bytes:%" PRIu64 "\r\n"
                "snapshot_last_ms:%" PRIu64 "\r\n"
                "snapshot_last_error:%s\r\n"
                "recovery_snapshot_lsn:%" PRIu64 "\r\n"
                "recovery_snapshot_keys:%" PRIu64 "\r\n"
                "recovery_entries_replayed:%" PRIu64 "\r\n"
                "recovery_segments_scanned:%" PRIu64 "\r\n"
                "recovery_segments_skipped:%" PRIu64 "\r\n"
                "recovery_bytes_truncated:%" PRIu64 "\r\n"
                "recovery_broken_snapshots:%d\r\n"
                "recovery_ms:%" PRIu64 "\r\n",
                st.bgsave_in_progress, st.snapshots_taken, st.last_save_lsn,
                st.last_snapshot_keys, st.last_snapshot_bytes, st.last_snapshot_ms,
                st.last_error, rec->snapshot_lsn, rec->snapshot_keys, rec->wal.entries_replayed,
                rec->wal.segments_scanned, rec->wal.segments_skipped, rec->wal.bytes_truncated, rec->snapshots_broken,
                rec->total_ms);
}

static void info_stats(server *s, kbuf *b)
{
    const server_stats *t = &s->stats;
    uint64_t ops = 0;
    for (int i = 0; i < 16; i++)
        ops += t->ops_samples[i];
    uint64_t full = 0, pok = 0, perr = 0;
    if (s->repl && !s->loading)
        repl_sync_stats(s->repl, &full, &pok, &perr);
    /* Redis replicas' syncs count as Redis counts its replicas'. */
    full += s->stats.redis_sync_full;
    perr += s->stats.redis_sync_partial_err;
    uint64_t trk_clients, trk_keys, trk_items, trk_prefixes;
    tracking_stats(s, &trk_clients, &trk_keys, &trk_items, &trk_prefixes);
    header(b, "Stats");
    kbuf_printf(b,
                "total_connections_received:%" PRIu64 "\r\n"
                "total_commands_processed:%" PRIu64 "\r\n"
                "instantaneous_ops_per_sec:%" PRIu64 "\r\n"
                "total_net_input_bytes:%" PRIu64 "\r\n"
                "total_net_output_bytes:%" PRIu64 "\r\n"
                "rejected_connections:%" PRIu64 "\r\n"
                "sync_full:%" PRIu64 "\r\n"
                "sync_partial_ok:%" PRIu64 "\r\n"
                "sync_partial_err:%" PRIu64 "\r\n"
                "expired_keys:%" PRIu64 "\r\n"
                "evicted_keys:%" PRIu64 "\r\n"
                "evicted_clients:%" PRIu64 "\r\n"
                "total_eviction_exceeded_time:%" PRIu64 "\r\n"
                "current_eviction_exceeded_time:%" PRIu64 "\r\n"
                "keyspace_hits:%" PRIu64 "\r\n"
                "keyspace_misses:%" PRIu64 "\r\n"
                "pubsub_channels:%zu\r\n"
                "pubsub_patterns:%zu\r\n"
                "pubsubshard_channels:%zu\r\n"
                "migrate_cached_sockets:%zu\r\n"
                "tracking_total_keys:%" PRIu64 "\r\n"
                "tracking_total_items:%" PRIu64 "\r\n"
                "tracking_total_prefixes:%" PRIu64 "\r\n"
                "total_error_replies:%" PRIu64 "\r\n"
                "total_reads_processed:%" PRIu64 "\r\n"
                "total_writes_processed:%" PRIu64 "\r\n"
                "io_threaded_reads_processed:0\r\n"
                "io_threaded_writes_processed:0\r\n"
                "reply_buffer_shrinks:%" PRIu64 "\r\n"
                "reply_buffer_expands:%" PRIu64 "\r\n"
                "total_protocol_errors:%" PRIu64 "\r\n"
                "client_query_buffer_limit_disconnections:%" PRIu64 "\r\n"
                "client_output_buffer_limit_disconnections:%" PRIu64 "\r\n",
                t->total_connections, t->total_commands, ops / 16, t->net_input_bytes,
                t->net_output_bytes, t->rejected_connections, full, pok, perr, s->env.expired_keys,
                s->env.evicted_keys, t->evicted_clients, evict_exceeded_ms(&s->env, 1), evict_exceeded_ms(&s->env, 0),
                s->env.keyspace_hits, s->env.keyspace_misses,
                ps_count(&s->pubsub, PS_CHANNEL), ps_count(&s->pubsub, PS_PATTERN),
                ps_count(&s->pubsub, PS_SHARD), migrate_cached_sockets(s), trk_keys, trk_items,
                trk_prefixes, t->error_replies, t->reads_processed, t->writes_processed,
                t->reply_buffer_shrinks, t->reply_buffer_expands, t->protocol_errors,
                t->qbuf_disconnects,
                t->obuf_disconnects);
    if (s->repl && !s->loading)
        repl_info_stats(s->repl, b);
}

static void info_replication(server *s, kbuf *b)
{
    header(b, "Replication");
    if (!s->eng || s->loading) {
        kbuf_printf(b, "role:%s\r\nconnected_slaves:0\r\nmaster_repl_offset:0\r\n",
                    server_role_name(s));
        return;
    }
    if (s->repl) {
        repl_extra_replica *x;
        int nx = sync_stream_replicas(s, &x);
        repl_info(s->repl, b, x, nx);
        kv_free(x);
        kbuf_printf(b, "last_term:%" PRIu64 "\r\n", engine_last_term(s->eng));
        /* What readiness probes ask: may this node answer reads / writes
         * now (deploy/kvnode-probe.sh). */
        kbuf_printf(b, "serving_reads:%d\r\nserving_writes:%d\r\n",
                    s->serving && server_serving_reads(s),
                    s->serving && repl_writable(s->repl));
        return;
    }
    kbuf_printf(b, "role:%s\r\nconnected_slaves:0\r\nmaster_repl_offset:%" PRIu64 "\r\n",
                server_role_name(s), engine_last_lsn(s->eng));
}

static void tv_line(kbuf *b, const char *name, struct timeval tv)
{
    kbuf_printf(b, "%s:%ld.%06ld\r\n", name, (long)tv.tv_sec, (long)tv.tv_usec);
}

static void info_cpu(kbuf *b)
{
    struct rusage self, children, thread;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    getrusage(RUSAGE_THREAD, &thread);
    header(b, "CPU");
    tv_line(b, "used_cpu_sys", self.ru_stime);
    tv_line(b, "used_cpu_user", self.ru_utime);
    tv_line(b, "used_cpu_sys_children", children.ru_stime);
    tv_line(b, "used_cpu_user_children", children.ru_utime);
    tv_line(b, "used_cpu_sys_main_thread", thread.ru_stime);
    tv_line(b, "used_cpu_user_main_thread", thread.ru_utime);
}

static void info_commandstats(server *s, kbuf *b)
{
    header(b, "Commandstats");
    for (int i = 0; i < command_count(); i++) {
        const cmd_stat *st = &s->cmd_stats[i];
        if (!st->calls && !st->failed && !st->rejected)
            continue;
        kbuf_printf(b,
                    "cmdstat_%s:calls=%" PRIu64 ",usec=%" PRIu64
                    ",usec_per_call=%.2f,rejected_calls=%" PRIu64 ",failed_calls=%" PRIu64
                    "\r\n",
                    command_at(i)->name, st->calls, st->usec,
                    st->calls ? (double)st->usec / (double)st->calls : 0.0, st->rejected,
                    st->failed);
    }
}

static void info_errorstats(server *s, kbuf *b)
{
    header(b, "Errorstats");
    for (size_t i = 0; i < s->nerrstats; i++)
        kbuf_printf(b, "errorstat_%s:count=%" PRIu64 "\r\n", s->errstats[i].name,
                    s->errstats[i].count);
}

static void info_keyspace(server *s, kbuf *b)
{
    header(b, "Keyspace");
    for (int db = 0; s->dbs && !s->loading && db < s->ndbs; db++) {
        ks *k = s->dbs[db];
        if (ks_size(k))
            kbuf_printf(b, "db%d:keys=%zu,expires=%zu,avg_ttl=%lld\r\n", db, ks_size(k),
                        ks_expires(k), (long long)ks_avg_ttl(k));
    }
}

static void cmd_info(cmd_ctx *c)
{
    server *s = c->srv;
    int bits = parse_sections(c);
    kbuf b = KBUF_INIT;
    if (bits & S_SERVER)
        info_server(s, &b);
    if (bits & S_CLIENTS)
        info_clients(s, &b);
    if (bits & S_MEMORY)
        info_memory(s, &b);
    if (bits & S_PERSISTENCE)
        info_persistence(s, &b);
    if (bits & S_STATS)
        info_stats(s, &b);
    if (bits & S_REPLICATION)
        info_replication(s, &b);
    if (bits & S_CPU)
        info_cpu(&b);
    if (bits & S_MODULES)
        header(&b, "Modules");
    if (bits & S_COMMANDSTATS)
        info_commandstats(s, &b);
    if (bits & S_ERRORSTATS)
        info_errorstats(s, &b);
    if (bits & S_LATENCYSTATS) {
        header(&b, "Latencystats");
        latency_info(s, &b);
    }
    if (bits & S_CLUSTER) {
        header(&b, "Cluster");
        kbuf_append_str(&b, "cluster_enabled:0\r\n");
    }
    if (bits & S_KEYSPACE)
        info_keyspace(s, &b);
    reply_verbatim(&c->r, kbuf_len(&b) ? kbuf_data(&b) : "", kbuf_len(&b), "txt");
    kbuf_free(&b);
}

const kv_command cmds_info[] = {
    {"info", cmd_info, -1, CMD_STALE | CMD_NOBARRIER | CMD_LOADING, 0, 0, 0, "server",
     "Returns information and statistics about the server.", "1.0.0",
     "@slow @dangerous"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
