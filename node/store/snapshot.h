/* snapshot.h — point-in-time images of the keyspace.
 *
 * Owns the snap-*.snap files of a data directory: writing one from a
 * keyspace, verifying and loading one, publishing (temp -> fsync -> rename
 * -> fsync dir), keeping the newest N. It does not decide when to take a
 * snapshot or fork (the engine does) and never touches the WAL. See
 * snapshot.c for the byte layout. */
#ifndef KV_SNAPSHOT_H
#define KV_SNAPSHOT_H

#include "keyspace.h"
#include "progress.h"

#include <stddef.h>
#include <stdint.h>

#define SNAP_HDR_SIZE 64u
#define SNAP_BLOCK_HDR 16u
#define SNAP_FOOTER_SIZE 32u
#define SNAP_BLOCK_TARGET (1u << 20) /* flush a block once it reaches 1 MiB */

typedef struct snap_meta {
    uint64_t lsn;        /* last WAL entry the image includes */
    uint64_t term;       /* term of that entry */
    uint64_t keys;       /* entries (keys) in the file */
    uint64_t blocks;
    uint64_t bytes;      /* file size */
    int64_t created_ms;  /* wall clock when written */
} snap_meta;

/* "<dir>/snap-<lsn, 20 digits>.snap" and the temp name "<…>.snap.tmp". */
void snap_path(char *out, size_t n, const char *dir, uint64_t lsn);
void snap_tmp_path(char *out, size_t n, const char *dir, uint64_t lsn);

/* Write databases dbs[0..ndbs) to `path` (created/truncated) as a snapshot
 * at (lsn, term), and fsync it. The keyspaces must not change meanwhile
 * (call it in a fork child, or with the loop stopped). On error the partial
 * file is removed. 0 or a KVE_* code with a message. */
int snap_write(ks *const *dbs, int ndbs, const char *path, uint64_t lsn, uint64_t term,
               snap_meta *out, char *err, size_t errlen);

/* Writing an image a key at a time, in any order of keys and databases
 * (the incremental snapshot, snapinc.c): the bytes go to sink(arg, p, n,
 * off) in file order (off increasing), in whole blocks; the sink returns 0
 * or a negative errno, which stops the stream. Open writes the header and
 * the aux records of dbs[0]; the header's count of database 0's keys is
 * ks_size(dbs[0]) now, so exactly the keys it has now must be added for
 * database 0. Written blocks are counted on job (if not NULL). */
typedef int (*snap_sink)(void *arg, const void *p, size_t n, uint64_t off);
typedef struct snap_stream snap_stream;
snap_stream *snap_stream_open(ks *const *dbs, int ndbs, uint64_t lsn, uint64_t term,
                              snap_sink sink, void *arg, progress_job *job);
/* Add one key of database db (only reads o). 0 or the sink's error. */
int snap_stream_key(snap_stream *s, int db, kobj *o);
uint64_t snap_stream_bytes(const snap_stream *s); /* serialized so far */
uint64_t snap_stream_keys(const snap_stream *s);  /* keys added so far */
/* finish: the last block and the footer go to the sink and *out (if not
 * NULL) describes the image; 0 or the first sink error. !finish: abandon
 * (nothing more is written). Frees s either way. */
int snap_stream_close(snap_stream *s, int finish, snap_meta *out);

/* Start the writeback of bytes [off, off + n) of fd just written (a hint,
 * as Redis's rdb-save-incremental-fsync): the image's final fsync then
 * does not push the whole file at once in front of the WAL's syncs. */
void snap_writeback(int fd, uint64_t off, size_t n);

/* Rename `tmp` to its final name for `lsn` in dir and fsync dir. */
int snap_publish(const char *dir, const char *tmp, uint64_t lsn, char *err, size_t errlen);

/* Verify a snapshot file (every block CRC, the footer and the whole-file
 * checksum) without loading it. */
int snap_verify(const char *path, snap_meta *out, char *err, size_t errlen);

/* Read only the header (LSN, term, creation time) of a snapshot file. */
int snap_read_header(const char *path, snap_meta *out, char *err, size_t errlen);

/* Load a snapshot file into EMPTY databases dbs[0..ndbs) (the aux records
 * are replaced by the file's). On error they
 * hold a partial image: the caller clears them. A key of a database >=
 * ndbs fails with KVE_INVAL (the node is configured with fewer databases
 * than the writer: not damage). */
int snap_load(const char *path, ks *const *dbs, int ndbs, snap_meta *out, char *err,
              size_t errlen);

/* LSNs of the snapshots in dir (listed through the file table), newest
 * first (a plain malloc'd array the caller free()s: this runs on the
 * thread pool too). Returns the count (0 if none), or a negative KVE_*
 * code. */
int snap_list(const char *dir, uint64_t **lsns);

/* Load the newest snapshot of dir that verifies into the empty databases
 * dbs[0..ndbs). A snapshot that fails is renamed "<name>.broken" (counted
 * in *broken), the databases cleared, and the next older one tried. With no
 * usable snapshot, out->lsn = 0 and the databases are empty: returns 0.
 * I/O errors and KVE_INVAL (too few databases) stop the search: returned. */
int snap_load_latest(const char *dir, ks *const *dbs, int ndbs, snap_meta *out, int *broken,
                     char *err, size_t errlen);

/* Delete all but the newest `keep` snapshots, and the newest one at or
 * below also_at_or_below (a replicated node's commit point: when newer
 * snapshots hold entries not committed yet, that one is the newest a
 * follower may be sent). Returns the LSN of the oldest snapshot kept (0 if
 * none). */
uint64_t snap_retain(const char *dir, int keep, uint64_t also_at_or_below);

/* Remove leftover snap-*.tmp files (a crash mid-write). */
void snap_remove_temps(const char *dir);

#endif
