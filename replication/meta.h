/* meta.h — the node's persistent identity and election state.
 *
 * File "meta" in the data directory, a few lines of text:
 *   node_id <40 hex chars>
 *   term <u64>
 *   voted_for <node id or ->
 *   following <host> <port>   (or "following -": not a replica)
 * written with temp -> fsync -> rename -> fsync(dir) before the node acts in
 * a new term or answers a vote (DESIGN.md §7). */
#ifndef KV_META_H
#define KV_META_H

#include <stddef.h>
#include <stdint.h>

typedef struct node_meta {
    char node_id[41];
    uint64_t term;
    char voted_for[41]; /* "" for none */
    char following[300]; /* "host port" of the primary it replicates, "" if none */
} node_meta;

/* Load dir/meta; a missing file yields a fresh identity (random node id,
 * or `want_id` if not empty) that is stored at once. 0 or KVE_*. */
int meta_load(const char *dir, const char *want_id, node_meta *m, char *err, size_t errlen);
/* Store m durably. 0 or KVE_*. */
int meta_store(const char *dir, const node_meta *m, char *err, size_t errlen);

#endif
