/* snapinc.h — point-in-time snapshots without fork.
 *
 * Writes the image of databases dbs[0..ndbs) as they are when it starts,
 * while the event loop goes on serving and changing them: a walk over the
 * databases serializes a slice of keys per loop iteration (a uv_idle
 * handle: back to back while the loop has nothing else to do), and the
 * keyspace hands over every key that is about to change before the walk
 * reached it (ks_snap_begin, keyspace.h), so each key is written once, as
 * it was at the start. Nothing is copied up front and no page is shared
 * with a child: the memory it needs is the blocks waiting for the disk.
 *
 * Blocks are written by the thread pool at their offsets (a slow disk
 * never blocks the loop; the walk pauses while more than SNAPINC_MAX_PENDING
 * bytes wait, the keys handed over by changes are still taken); the file is
 * fsync'd last. One snapshot at a time (the keyspace's hand-over is process
 * wide). The caller publishes the file (rename) once done reports 0. */
#ifndef KV_SNAPINC_H
#define KV_SNAPINC_H

#include "keyspace.h"
#include "snapshot.h"

#include <stdint.h>
#include <uv.h>

#define SNAPINC_SLICE_US 250              /* walk time per loop iteration */
#define SNAPINC_MAX_PENDING (32u << 20)   /* bytes waiting for the disk */

typedef struct snapinc snapinc;

/* rc 0: the file at path is complete and fsync'd, *m describes it; else
 * a KVE_* code and a message (the file is removed). Called on the loop,
 * once, unless snapinc_abort came first; s is freed after it returns. */
typedef void (*snapinc_done_fn)(void *arg, int rc, const char *err, const snap_meta *m);

/* Start (the header and aux records are written at once) into *out.
 * loop NULL: no idle handle and no thread pool — the caller drives
 * snapinc_step and every write is synchronous (tests). 0, or a KVE_* code
 * with a message. */
int snapinc_start(snapinc **out, uv_loop_t *loop, ks *const *dbs, int ndbs, const char *path,
                  uint64_t lsn, uint64_t term, int key_delay_us, snapinc_done_fn done, void *arg,
                  char *err, size_t errlen);

/* Walk until max_keys keys were serialized or max_us passed (0: no
 * limit). Returns 1 once the walk is over (done has been called, or will
 * be once the writes in flight finish), else 0. */
int snapinc_step(snapinc *s, uint64_t max_keys, int64_t max_us);

/* Give up: nothing more is written, done is never called, the keyspace
 * stops handing keys over at once; s is freed when its last write
 * returns. The caller removes the file. */
void snapinc_abort(snapinc *s);

uint64_t snapinc_keys(const snapinc *s);  /* keys serialized so far */
uint64_t snapinc_bytes(const snapinc *s); /* bytes serialized so far */

#endif
