/* meta.h — the node's persistent identity and election state.
 *
 * File "meta" in the data directory, one item per line:
 *   node_id <1-40 of [A-Za-z0-9_-]>
 *   term <u64>
 *   voted_for <node id or ->
 *   commit <u64>                 the commit watermark (a lower bound)
 *   cluster <id or ->            the cluster this node belongs to
 *   config_lsn <u64>             the WAL entry of the membership below
 *   member <id> voter|learner <peer host:port> <client host:port or ->
 *   following <host> <port>      the node a run-time REPLICAOF named, while this
 *                                node, its data dropped, is not yet a member of
 *                                that node's cluster (a restart joins it again);
 *                                in wave-1 files, whom a replica followed
 * written with temp -> fsync -> rename -> fsync(dir) before the node acts on
 * what changed (DESIGN.md §7). A file without "commit" (wave 1) means every
 * logged entry was committed. */
#ifndef KV_META_H
#define KV_META_H

#include "core.h"

#include <stddef.h>
#include <stdint.h>

typedef struct node_meta {
    char node_id[41];
    rc_meta rc;          /* term, vote, commit watermark, membership */
    int has_commit;      /* the file had a commit line */
    char following[300]; /* "host port" to join at startup (see above), or "" */
} node_meta;

/* Load dir/meta. A missing file yields a fresh identity (random node id,
 * or `want_id` if not empty), not yet stored (*fresh = 1). 0 or KVE_*. */
int meta_load(const char *dir, const char *want_id, node_meta *m, int *fresh, char *err,
              size_t errlen);
/* Store m durably (blocking: the binding calls it on the thread pool). */
int meta_store(const char *dir, const node_meta *m, char *err, size_t errlen);

#endif
