/* metrics.c — what the Prometheus endpoint reports (see metrics.h).
 *
 * Names: Redis's figures under redis_exporter's names where the meaning is
 * the same (redis_up, redis_connected_clients, redis_commands_total{cmd},
 * redis_commands_duration_seconds_total{cmd}, redis_memory_used_bytes,
 * redis_keyspace_hits_total, redis_connected_slaves,
 * redis_master_repl_offset …), so dashboards and alerts written for Redis
 * work; kvnode's own as kvnode_* in base units (seconds, bytes), counters
 * ending in _total. Every figure is read from the server, the engine and
 * replication as they are now: nothing here keeps state. */
#include "metrics.h"

#include "latency.h"
#include "lazyfree.h"
#include "mem.h"
#include "prom.h"
#include "repl.h"
#include "server.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    return n == 2 ? (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

static double tv_sec(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void gauge_u64(kbuf *b, const char *name, const char *help, uint64_t v)
{
    prom_family(b, name, PROM_GAUGE, help);
    prom_sample_u64(b, name, NULL, NULL, v);
}

static void counter_f(kbuf *b, const char *name, const char *help, double v)
{
    prom_family(b, name, PROM_COUNTER, help);
    prom_sample(b, name, NULL, NULL, v);
}

/* ---- process, clients, memory, CPU ---- */

static void process_metrics(server *s, kbuf *b)
{
    struct utsname u;
    uname(&u);
    char os[400], port[16], pid[16];
    snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
    snprintf(port, sizeof port, "%d", s->cfg.port);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    prom_gauge(b, "redis_up", "Whether the node answers (always 1 when this is served).", 1);
    prom_family(b, "redis_instance_info", PROM_GAUGE, "Information about the node.");
    prom_labels l;
    prom_labels_init(&l);
    prom_label(&l, "role", server_role_name(s));
    prom_label(&l, "redis_version", KV_REDIS_COMPAT_VERSION);
    prom_label(&l, "kvnode_version", KV_VERSION);
    prom_label(&l, "redis_mode", "standalone");
    prom_label(&l, "os", os);
    prom_label(&l, "tcp_port", port);
    prom_label(&l, "run_id", s->run_id);
    prom_label(&l, "process_id", pid);
    prom_sample(b, "redis_instance_info", NULL, &l, 1);
    int64_t now = server_mstime();
    prom_gauge(b, "redis_start_time_seconds", "Start time of the node since the unix epoch.",
               (double)s->start_ms / 1000.0);
    gauge_u64(b, "redis_uptime_in_seconds", "Seconds since the node started.",
              (uint64_t)((now - s->start_ms) / 1000));
    gauge_u64(b, "redis_process_id", "Process id.", (uint64_t)getpid());

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
    gauge_u64(b, "redis_connected_clients", "Client connections.", connected);
    gauge_u64(b, "redis_blocked_clients", "Clients blocked (WAIT, BLPOP …).", blocked);
    gauge_u64(b, "redis_config_maxclients", "The maxclients setting.",
              (uint64_t)s->cfg.maxclients);
    gauge_u64(b, "redis_client_recent_max_input_buffer_bytes",
              "Largest client query buffer now.", max_in);
    gauge_u64(b, "redis_client_recent_max_output_buffer_bytes",
              "Largest client output backlog now.", max_out);
    gauge_u64(b, "kvnode_clients_waiting_commit",
              "Clients whose replies wait for entries to commit.", waiting);

    size_t used = kv_used_memory();
    if (used > s->stats.peak_memory)
        s->stats.peak_memory = used;
    size_t rss = rss_bytes();
    struct sysinfo si;
    uint64_t total = sysinfo(&si) == 0 ? (uint64_t)si.totalram * si.mem_unit : 0;
    gauge_u64(b, "redis_memory_used_bytes", "Bytes allocated by the node (used_memory).", used);
    gauge_u64(b, "redis_memory_used_rss_bytes", "Resident set size.", rss);
    gauge_u64(b, "redis_memory_used_peak_bytes", "Peak of used_memory.", s->stats.peak_memory);
    gauge_u64(b, "redis_memory_max_bytes", "maxmemory (0: no limit).", s->cfg.maxmemory);
    gauge_u64(b, "redis_total_system_memory_bytes", "Memory of the machine.", total);
    prom_gauge(b, "redis_mem_fragmentation_ratio", "used_memory_rss / used_memory.",
               used ? (double)rss / (double)used : 0.0);
    gauge_u64(b, "redis_lazyfree_pending_objects",
              "Objects handed to the lazyfree thread, not yet freed.", lazyfree_pending());
    counter_f(b, "redis_lazyfreed_objects_total",
              "Objects the lazyfree thread freed (since CONFIG RESETSTAT).",
              (double)lazyfree_freed());

    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    counter_f(b, "redis_cpu_sys_seconds_total", "System CPU used by the node.",
              tv_sec(self.ru_stime));
    counter_f(b, "redis_cpu_user_seconds_total", "User CPU used by the node.",
              tv_sec(self.ru_utime));
    counter_f(b, "redis_cpu_sys_children_seconds_total",
              "System CPU used by snapshot children.", tv_sec(children.ru_stime));
    counter_f(b, "redis_cpu_user_children_seconds_total", "User CPU used by snapshot children.",
              tv_sec(children.ru_utime));
}

/* ---- stats and commands ---- */

static void stats_metrics(server *s, kbuf *b)
{
    const server_stats *t = &s->stats;
    prom_counter(b, "redis_connections_received_total", "Connections accepted.",
                 t->total_connections);
    prom_counter(b, "redis_commands_processed_total", "Commands run.", t->total_commands);
    prom_counter(b, "redis_rejected_connections_total", "Connections refused (maxclients).",
                 t->rejected_connections);
    prom_counter(b, "redis_net_input_bytes_total", "Bytes read from clients.",
                 t->net_input_bytes);
    prom_counter(b, "redis_net_output_bytes_total", "Bytes written to clients.",
                 t->net_output_bytes);
    prom_counter(b, "redis_expired_keys_total", "Keys deleted because they expired.",
                 s->env.expired_keys);
    prom_counter(b, "redis_evicted_keys_total", "Keys evicted (maxmemory).", s->env.evicted_keys);
    prom_counter(b, "redis_keyspace_hits_total", "Key lookups that found the key.",
                 s->env.keyspace_hits);
    prom_counter(b, "redis_keyspace_misses_total", "Key lookups that missed.",
                 s->env.keyspace_misses);
    prom_counter(b, "kvnode_error_replies_total", "Error replies sent.", t->error_replies);
    prom_counter(b, "kvnode_protocol_errors_total", "Connections closed for a protocol error.",
                 t->protocol_errors);
    prom_counter(b, "kvnode_client_output_buffer_limit_disconnections_total",
                 "Clients closed for their output backlog.", t->obuf_disconnects);
    prom_counter(b, "kvnode_client_query_buffer_limit_disconnections_total",
                 "Clients closed for their query buffer.", t->qbuf_disconnects);
    gauge_u64(b, "redis_slowlog_length", "Entries in the slow log.", s->slowlog_len);
    gauge_u64(b, "redis_slowlog_last_id", "Id of the newest slow log entry.",
              s->slowlog_next_id ? s->slowlog_next_id - 1 : 0);

    static const struct {
        const char *name, *help;
        int field;
    } fams[] = {
        {"redis_commands_total", "Calls per command.", 0},
        {"redis_commands_duration_seconds_total", "Seconds spent per command.", 1},
        {"redis_commands_rejected_calls_total", "Calls refused before running, per command.", 2},
        {"redis_commands_failed_calls_total", "Calls that answered an error, per command.", 3},
    };
    for (size_t f = 0; f < sizeof fams / sizeof *fams; f++) {
        prom_family(b, fams[f].name, PROM_COUNTER, fams[f].help);
        for (int i = 0; i < command_count(); i++) {
            const cmd_stat *st = &s->cmd_stats[i];
            if (!st->calls && !st->failed && !st->rejected)
                continue;
            prom_labels l;
            prom_labels_init(&l);
            prom_label(&l, "cmd", command_at(i)->name);
            if (fams[f].field == 1)
                prom_sample(b, fams[f].name, NULL, &l, (double)st->usec / 1e6);
            else
                prom_sample_u64(b, fams[f].name, NULL, &l,
                                fams[f].field == 0   ? st->calls
                                : fams[f].field == 2 ? st->rejected
                                                     : st->failed);
        }
    }
}

/* Per-command latency percentiles (latency-tracking), as redis_exporter
 * exports INFO latencystats: a summary per command. */
static void latency_metrics(server *s, kbuf *b)
{
    prom_family(b, "redis_latency_percentiles_usec", PROM_SUMMARY,
                "Latency percentiles per command, in microseconds (latency-tracking).");
    if (!s->latency)
        return;
    for (int i = 0; i < command_count(); i++) {
        const lat_hist *h = s->latency[i];
        if (!h)
            continue;
        prom_labels l;
        prom_labels_init(&l);
        prom_label(&l, "cmd", command_at(i)->name);
        for (int j = 0; j < s->cfg.nlatpct; j++) {
            char q[64];
            snprintf(q, sizeof q, "%.6g", s->cfg.latpct[j] / 100.0);
            prom_labels lq = l;
            prom_label(&lq, "quantile", q);
            prom_sample(b, "redis_latency_percentiles_usec", NULL, &lq,
                        (double)lat_value_at_percentile(h, s->cfg.latpct[j]) / 1000.0);
        }
        prom_sample(b, "redis_latency_percentiles_usec", "_sum", &l,
                    (double)s->cmd_stats[i].usec);
        prom_sample_u64(b, "redis_latency_percentiles_usec", "_count", &l,
                        (uint64_t)h->total);
    }
}

/* ---- persistence: WAL, snapshots, recovery ---- */

static void persistence_metrics(server *s, kbuf *b)
{
    int64_t now = server_mstime();
    engine_stats st;
    engine_get_stats(s->eng, &st);
    const char *why;
    int failed = engine_failed(s->eng, &why) != 0;
    int nospace = !failed && engine_can_write(s->eng, 4096, NULL) != 0;
    const engine_recovery *rec = &s->recovery;

    gauge_u64(b, "redis_loading_dump_file", "1 while the node loads its data at startup.", 0);
    gauge_u64(b, "redis_rdb_changes_since_last_save", "Entries logged since the last snapshot.",
              st.changes_since_save);
    gauge_u64(b, "redis_rdb_bgsave_in_progress", "1 while a snapshot is being written.",
              (uint64_t)st.bgsave_in_progress);
    gauge_u64(b, "redis_rdb_last_save_timestamp_seconds",
              "Unix time of the last snapshot (of the start when there is none).",
              (uint64_t)st.last_save_time);
    gauge_u64(b, "redis_rdb_last_bgsave_status", "1 if the last snapshot succeeded.",
              (uint64_t)st.last_bgsave_ok);
    gauge_u64(b, "redis_aof_enabled", "The WAL is always on.", 1);
    gauge_u64(b, "redis_aof_last_bgrewrite_status",
              "1 if the last snapshot (which compacts the log) succeeded.",
              (uint64_t)st.last_bgsave_ok);
    gauge_u64(b, "redis_aof_last_write_status",
              "1 while the WAL accepts writes (0: failed, or refusing for lack of space).",
              (uint64_t)!(failed || nospace));

    gauge_u64(b, "kvnode_wal_failed", "1 once a WAL write or fsync failed (fail-stop).",
              (uint64_t)failed);
    gauge_u64(b, "kvnode_wal_nospace", "1 while writes are refused for lack of disk space.",
              (uint64_t)nospace);
    gauge_u64(b, "kvnode_wal_no_spare_space",
              "1 while no new WAL segment can be prepared for lack of disk space.",
              (uint64_t)st.wal.nospace);
    gauge_u64(b, "kvnode_wal_segment_room_bytes",
              "Bytes left for records in the current WAL segment.", st.wal.segment_room);
    gauge_u64(b, "kvnode_disk_free_bytes",
              "Bytes free for kvnode on the data directory's file system.",
              st.disk_free_bytes);
    gauge_u64(b, "kvnode_disk_size_bytes", "Size of the data directory's file system.",
              st.disk_total_bytes);
    gauge_u64(b, "kvnode_wal_bytes", "Bytes of records in the WAL segments on disk.",
              st.wal.bytes);
    gauge_u64(b, "kvnode_wal_segments", "WAL segment files on disk.", st.wal.segments);
    gauge_u64(b, "kvnode_wal_first_lsn", "First LSN still on disk.", st.wal.first_lsn);
    gauge_u64(b, "kvnode_wal_last_lsn", "Last LSN in the log.", engine_last_lsn(s->eng));
    gauge_u64(b, "kvnode_wal_durable_lsn", "Highest LSN durable under the fsync policy.",
              engine_durable_lsn(s->eng));
    prom_counter(b, "kvnode_wal_records_total", "Records appended since the start.",
                 st.wal.records);
    prom_counter(b, "kvnode_wal_batches_total", "Group-commit batches written.",
                 st.wal.batches);
    prom_counter(b, "kvnode_wal_compactions_total", "WAL compactions after snapshots.",
                 st.wal_compactions);
    prom_counter(b, "kvnode_wal_writes_refused_nospace_total",
                 "Writes refused because the disk is full.", s->stats.writes_refused_nospace);
    prom_gauge(b, "kvnode_wal_stalled_seconds",
               "How long the durable LSN has been stuck while records wait (0: not).",
               (double)st.wal.stalled_ms / 1000.0);
    prom_family(b, "kvnode_wal_fsync_duration_seconds", PROM_HISTOGRAM,
                "Duration of the WAL's fdatasync calls.");
    double bounds[WAL_SYNC_BUCKETS - 1];
    for (int i = 0; i < WAL_SYNC_BUCKETS - 1; i++)
        bounds[i] = (double)wal_sync_bucket_us[i] / 1e6;
    prom_histogram(b, "kvnode_wal_fsync_duration_seconds", NULL, bounds, st.wal.sync_hist,
                   WAL_SYNC_BUCKETS - 1, (double)st.wal.sync_us_total / 1e6);

    gauge_u64(b, "kvnode_snapshot_in_progress", "1 while a snapshot is being written.",
              (uint64_t)st.bgsave_in_progress);
    prom_counter(b, "kvnode_snapshots_total", "Snapshots written since the start.",
                 st.snapshots_taken);
    prom_gauge(b, "kvnode_snapshot_age_seconds",
               "Seconds since the last snapshot (since the start when there is none).",
               (double)(now / 1000 - st.last_save_time));
    prom_gauge(b, "kvnode_snapshot_last_duration_seconds",
               "Seconds the last snapshot took to write.",
               (double)st.last_snapshot_ms / 1000.0);
    gauge_u64(b, "kvnode_snapshot_last_size_bytes", "Size of the last snapshot.",
              st.last_snapshot_bytes);
    gauge_u64(b, "kvnode_snapshot_last_keys", "Keys in the last snapshot.",
              st.last_snapshot_keys);
    gauge_u64(b, "kvnode_snapshot_last_lsn", "LSN of the last snapshot.", st.last_save_lsn);

    prom_gauge(b, "kvnode_recovery_duration_seconds",
               "Seconds the last startup recovery took.", (double)rec->total_ms / 1000.0);
    prom_gauge(b, "kvnode_recovery_snapshot_load_seconds",
               "Of which loading the snapshot.", (double)rec->snapshot_ms / 1000.0);
    prom_gauge(b, "kvnode_recovery_wal_replay_seconds", "Of which reading and replaying the WAL.",
               (double)rec->replay_ms / 1000.0);
    gauge_u64(b, "kvnode_recovery_entries_replayed", "WAL entries replayed at startup.",
              rec->wal.entries_replayed);
    gauge_u64(b, "kvnode_recovery_bytes_truncated", "Bytes of torn WAL tail cut at startup.",
              rec->wal.bytes_truncated);
}

/* ---- replication and the cluster ---- */

static void replication_metrics(server *s, kbuf *b)
{
    repl_metrics m;
    repl_get_metrics(s->repl, &m);
    int leader = m.role == REPL_LEADER;
    gauge_u64(b, "redis_connected_slaves", "Replicas (other members) of this leader.",
              leader ? (uint64_t)m.replicas : 0);
    gauge_u64(b, "redis_master_repl_offset",
              "Replication offset, as INFO: the last LSN in the log on the leader, the last "
              "applied on a replica.",
              leader ? engine_last_lsn(s->eng) : m.applied_lsn);
    gauge_u64(b, "kvnode_commit_lsn", "Highest committed LSN known here.", m.commit_lsn);
    gauge_u64(b, "kvnode_applied_lsn", "Highest LSN applied to the keyspace.", m.applied_lsn);
    gauge_u64(b, "kvnode_term", "Current term.", m.term);
    prom_family(b, "kvnode_raft_role", PROM_GAUGE, "1 for this node's role, 0 for the others.");
    static const char *const roles[] = {"follower", "candidate", "leader"};
    for (int i = 0; i < 3; i++) {
        prom_labels l;
        prom_labels_init(&l);
        prom_label(&l, "role", roles[i]);
        prom_sample_u64(b, "kvnode_raft_role", NULL, &l, m.role == i);
    }
    gauge_u64(b, "kvnode_leader_known", "1 when this node knows who leads.",
              (uint64_t)m.leader_known);
    prom_gauge(b, "kvnode_lease_remaining_seconds", "Leader: time left on its lease.",
               (double)m.lease_remaining_ms / 1000.0);
    prom_gauge(b, "kvnode_leader_last_contact_seconds",
               "Follower: since the leader was last heard (-1: never; 0 on the leader).",
               m.last_contact_ms == UINT64_MAX ? -1.0 : (double)m.last_contact_ms / 1000.0);
    gauge_u64(b, "kvnode_cluster_members", "Members of the cluster.", (uint64_t)m.members);
    gauge_u64(b, "kvnode_cluster_voters", "Voting members of the cluster.", (uint64_t)m.voters);
    gauge_u64(b, "kvnode_good_replicas",
              "Leader: replicas heard from within the election timeout.",
              leader ? (uint64_t)m.good_replicas : 0);
    prom_counter(b, "kvnode_elections_started_total", "Elections this node started.",
                 m.elections_started);
    prom_counter(b, "kvnode_elections_won_total", "Elections this node won.", m.elections_won);
    prom_counter(b, "kvnode_prevotes_started_total", "Pre-votes this node started.",
                 m.prevotes_started);
    prom_counter(b, "kvnode_prevotes_denied_total", "Pre-votes this node lost.",
                 m.prevotes_denied);
    prom_counter(b, "kvnode_stepdowns_total", "Times this node stopped leading.", m.stepdowns);
    prom_counter(b, "kvnode_leadership_transfers_total",
                 "Leadership hand-overs completed by this node as leader.", m.transfers);
    prom_counter(b, "kvnode_snapshots_sent_total", "Snapshots shipped to followers.",
                 m.snapshots_sent);
    prom_counter(b, "kvnode_snapshots_received_total", "Snapshots installed from a leader.",
                 m.snapshots_received);
    prom_counter(b, "kvnode_log_truncations_total", "Divergent log suffixes cut.",
                 m.truncations);
    gauge_u64(b, "redis_replica_resyncs_full", "Full resynchronizations (snapshots sent).",
              m.snapshots_sent);
    gauge_u64(b, "redis_replica_partial_resync_accepted",
              "Followers caught up from their own log.", m.partial_syncs);
}

/* As redis_exporter: one sample per database INFO keyspace lists (the
 * non-empty ones), and db0 always. */
static void keyspace_metrics(server *s, kbuf *b)
{
    static const char *const fam[2] = {"redis_db_keys", "redis_db_keys_expiring"};
    static const char *const help[2] = {"Keys per database.", "Keys with a TTL per database."};
    for (int f = 0; f < 2; f++) {
        prom_family(b, fam[f], PROM_GAUGE, help[f]);
        for (int db = 0; db < s->ndbs; db++) {
            ks *k = s->dbs[db];
            if (db && !ks_size(k))
                continue;
            char name[16];
            snprintf(name, sizeof name, "db%d", db);
            prom_labels l;
            prom_labels_init(&l);
            prom_label(&l, "db", name);
            prom_sample_u64(b, fam[f], NULL, &l, f ? ks_expires(k) : ks_size(k));
        }
    }
}

/* While the node loads its data at startup: how far it is. */
static void loading_metrics(server *s, kbuf *b)
{
    gauge_u64(b, "redis_loading_dump_file", "1 while the node loads its data at startup.", 1);
    gauge_u64(b, "kvnode_loading_total_bytes", "Bytes to load (snapshot and WAL files).",
              s->loading_total);
    gauge_u64(b, "kvnode_loading_loaded_bytes", "Bytes loaded so far.", s->loading_loaded);
    prom_gauge(b, "kvnode_loading_eta_seconds", "Seconds left at the rate so far (-1: unknown).",
               (double)s->loading_eta);
}

void metrics_collect(server *s, kbuf *b)
{
    process_metrics(s, b);
    stats_metrics(s, b);
    latency_metrics(s, b);
    if (!s->eng || s->loading) {
        loading_metrics(s, b);
        return;
    }
    persistence_metrics(s, b);
    if (s->repl)
        replication_metrics(s, b);
    if (s->dbs)
        keyspace_metrics(s, b);
}
