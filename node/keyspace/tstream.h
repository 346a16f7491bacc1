/* tstream.h — the stream value type (Redis 7.0's t_stream.c data model).
 *
 * A stream is a sequence of entries ordered by ID (ms-seq, two u64s), each
 * an ordered list of (field, value) pairs, plus the metadata Redis keeps:
 * last generated ID, first live ID, entries added ever, the largest ID
 * ever deleted, and consumer groups.
 *
 * Entries live in nodes: a sorted array of nodes, each a packed byte
 * buffer of up to stream_node_max_entries entries / stream_node_max_bytes
 * bytes (Redis's listpack nodes in a radix tree; the same limits decide
 * when a new node starts, so approximate trimming (~) removes the same
 * whole nodes Redis would). An entry is
 *   u8 flags (1: deleted), varint ms - node.master.ms, varint seq,
 *   varint nfields, nfields x (varint flen, field, varint vlen, value)
 * and each node keeps the offset of each entry for reverse iteration.
 * Deleting an entry marks it (as Redis); a node whose entries are all
 * deleted is freed. Appends only ever go to the tail.
 *
 * Consumer groups are kept sorted by name (byte order, as Redis's rax), and
 * within a group consumers by name and the pending entries list (PEL) by
 * ID: sorted arrays with binary search, so XINFO and XPENDING list them in
 * Redis's order. A nack (pending entry) is shared by the group PEL and its
 * consumer's PEL, as in Redis.
 *
 * Knows nothing about commands, clocks or the WAL; memory from mem.h.
 * Views (field pointers) stay valid until the stream is next modified. */
#ifndef KV_TSTREAM_H
#define KV_TSTREAM_H

#include <stddef.h>
#include <stdint.h>

extern size_t stream_node_max_bytes;   /* CONFIG stream-node-max-bytes (4096) */
extern size_t stream_node_max_entries; /* CONFIG stream-node-max-entries (100) */

typedef struct sid {
    uint64_t ms, seq;
} sid;

static inline int sid_cmp(sid a, sid b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

/* a+1 / a-1; 0 on overflow / underflow (a unchanged). */
int sid_incr(sid *a);
int sid_decr(sid *a);
#define SID_MAXSTR 44
/* "ms-seq" into buf (at least SID_MAXSTR); returns the length. */
int sid_fmt(char *buf, sid id);

typedef struct kv_stream kv_stream;
typedef struct stream_group stream_group;
typedef struct stream_consumer stream_consumer;

typedef struct stream_nack {
    sid id;
    int64_t delivery_time; /* unix ms of the last delivery */
    uint64_t delivery_count;
    stream_consumer *consumer;
} stream_nack;

/* A sorted array of nacks by ID, with a movable head so acknowledging in
 * order is O(1). */
typedef struct stream_pel {
    stream_nack **v;
    size_t head, n, cap; /* live items are v[head .. head+n) */
} stream_pel;

struct stream_consumer {
    char *name;
    size_t nlen;
    int64_t seen_time;
    stream_pel pel; /* shares the nacks of the group PEL */
};

struct stream_group {
    char *name;
    size_t nlen;
    sid last_id;
    long long entries_read; /* -1: unknown (SCG_INVALID_ENTRIES_READ) */
    stream_pel pel;         /* owns the nacks */
    stream_consumer **consumers; /* sorted by name */
    size_t nconsumers, capconsumers;
};

kv_stream *stream_new(void);
void stream_free(kv_stream *s); /* NULL is fine */
kv_stream *stream_dup(const kv_stream *s);
size_t stream_mem(const kv_stream *s);

uint64_t stream_len(const kv_stream *s);
sid stream_last_id(const kv_stream *s);
void stream_set_last_id(kv_stream *s, sid id);
sid stream_first_id(const kv_stream *s); /* 0-0 when empty */
uint64_t stream_entries_added(const kv_stream *s);
void stream_set_entries_added(kv_stream *s, uint64_t n);
sid stream_max_deleted(const kv_stream *s);
void stream_set_max_deleted(kv_stream *s, sid id);
size_t stream_nodes(const kv_stream *s); /* for XINFO radix-tree-keys */

/* Append an entry with id (> last ID; the caller checks) and npairs
 * (field, value) pairs in fv/fvlen (2*npairs items). Sets last ID and
 * counts entries_added. */
void stream_append(kv_stream *s, sid id, size_t npairs, const char *const *fv,
                   const size_t *fvlen);
/* Mark an entry deleted: 1 if it was live. Updates length and first ID
 * (not max_deleted: the command decides). */
int stream_delete(kv_stream *s, sid id);

/* Trim as Redis's streamTrim: strategy MAXLEN (keep maxlen) or MINID
 * (drop IDs < minid); approx removes whole nodes only; limit caps the
 * entries removed (0: none). Returns the entries removed. */
enum { STRIM_NONE = 0, STRIM_MAXLEN = 1, STRIM_MINID = 2 };
int64_t stream_trim(kv_stream *s, int strategy, uint64_t maxlen, sid minid, int approx,
                    int64_t limit);

/* Iterate live entries with start <= id <= end, forwards or backwards.
 * The stream must not change during iteration. */
typedef struct stream_iter {
    const kv_stream *s;
    sid start, end;
    int rev;
    size_t node;      /* current node index */
    long pos;         /* entry index in node */
    const uint8_t *p; /* fields of the current entry */
    const uint8_t *mf; /* its field names, in the node's first entry (or NULL) */
    size_t left;      /* pairs left to read */
} stream_iter;
void stream_iter_init(stream_iter *it, const kv_stream *s, sid start, sid end, int rev);
/* 1 with the next entry's ID and pair count, or 0 at the end. */
int stream_iter_next(stream_iter *it, sid *id, size_t *npairs);
/* The next (field, value) pair of the current entry. */
void stream_iter_pair(stream_iter *it, const char **f, size_t *flen, const char **v,
                      size_t *vlen);
/* Does the live entry id exist? */
int stream_has(const kv_stream *s, sid id);

/* ---- nodes, for serializers (rdb.c) ----
 * A node is one of Redis's stream listpacks: its master ID (the radix
 * tree key), the entries stored in it (count, deleted ones included) and
 * the live ones. */
void stream_node_info(const kv_stream *s, size_t i, sid *master, uint32_t *count,
                      uint32_t *live);
/* Entry j of node i, deleted or not: its ID and pair count, and whether it
 * has the node's master fields (Redis's SAMEFIELDS: the node's first entry
 * always has). The pairs are then read with stream_iter_pair(it, ...). */
void stream_node_entry(const kv_stream *s, size_t i, uint32_t j, stream_iter *it, sid *id,
                       size_t *npairs, int *deleted, int *same);
/* The first live ID (0-0 if none), whatever the recorded first ID says. */
sid stream_first_live(const kv_stream *s);

/* Building a stream node by node, as a payload laid it out. The caller
 * has checked everything: IDs strictly increasing across the stream, each
 * node's first entry at its master ID. stream_load_node starts a node
 * whose master fields are fv's field names (npairs pairs);
 * stream_load_entry appends to the last node; stream_load_meta sets the
 * counters at the end. */
void stream_load_node(kv_stream *s, sid master, size_t npairs, const char *const *fv,
                      const size_t *fvlen);
void stream_load_entry(kv_stream *s, sid id, int deleted, size_t npairs, const char *const *fv,
                       const size_t *fvlen);
void stream_load_meta(kv_stream *s, uint64_t length, sid last_id, sid first_id, sid max_deleted,
                      uint64_t entries_added);

/* ---- consumer groups ---- */
size_t stream_ngroups(const kv_stream *s);
stream_group *stream_group_at(const kv_stream *s, size_t i);
stream_group *stream_group_find(const kv_stream *s, const char *name, size_t nlen);
/* NULL if it exists already. */
stream_group *stream_group_create(kv_stream *s, const char *name, size_t nlen, sid last_id,
                                  long long entries_read);
void stream_group_destroy(kv_stream *s, stream_group *g);

stream_consumer *group_consumer_find(stream_group *g, const char *name, size_t nlen);
/* NULL if it exists already. */
stream_consumer *group_consumer_create(stream_group *g, const char *name, size_t nlen,
                                       int64_t now_ms);
/* Delete a consumer and its pending entries; returns how many were pending. */
size_t group_consumer_delete(stream_group *g, stream_consumer *c);

/* PEL access. */
stream_nack *pel_find(const stream_pel *p, sid id);
size_t pel_len(const stream_pel *p);
stream_nack *pel_at(const stream_pel *p, size_t i);
/* First index with id >= from. */
size_t pel_lower_bound(const stream_pel *p, sid from);
/* Add a new nack for id to the group and consumer PELs (the id must not
 * be pending). */
stream_nack *group_pel_add(stream_group *g, stream_consumer *c, sid id, int64_t now_ms);
/* Remove the nack (from both PELs) and free it. */
void group_pel_remove(stream_group *g, stream_nack *n);
/* Move a nack to consumer c. */
void group_pel_move(stream_nack *n, stream_consumer *c);

/* Redis's streamEstimateDistanceFromFirstEverEntry and
 * streamRangeHasTombstones: the consumer-group lag machinery. */
int stream_range_has_tombstones(const kv_stream *s, sid start, sid end);
long long stream_estimate_distance(const kv_stream *s, sid id);

#endif
