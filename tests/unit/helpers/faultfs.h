/* faultfs.h — a kv_fs table for tests: injects errors and short writes, and
 * simulates power loss by undoing everything that was not made durable.
 *
 * Durability model (like a journaling file system with no reordering
 * guarantees beyond POSIX): file data written since the file's last
 * fsync/fdatasync is lost at a crash; a create, rename or unlink is lost
 * unless its directory was fsynced afterwards. */
#ifndef KV_FAULTFS_H
#define KV_FAULTFS_H

#include <stddef.h>

enum { FF_OPEN, FF_WRITE, FF_FSYNC, FF_RENAME, FF_UNLINK, FF_TRUNCATE, FF_READ, FF_LIST, FF_NOPS };

/* Route kvfs through faultfs (with no faults armed) / back to POSIX. */
void faultfs_install(void);
void faultfs_uninstall(void);
/* Arm: the nth call (1-based, counted from now) of op fails with errno e;
 * if sticky, every later call of op fails too. */
void faultfs_fail(int op, int nth, int e, int sticky);
/* The same, counting only calls on paths that contain `match`. */
void faultfs_fail_path(int op, const char *match, int nth, int e, int sticky);
/* Arm: the nth write (from now) writes only max bytes and reports that. */
void faultfs_short_write(int nth, size_t max);
/* Gate: the next call of op on a path containing `match` ("" = any)
 * blocks until faultfs_gate_open(). faultfs_gate_waiting() is 1 while a
 * call is held there, so a test can poll for "the thread is inside
 * fdatasync" and act at exactly that moment. */
void faultfs_gate(int op, const char *match);
int faultfs_gate_waiting(void);
void faultfs_gate_open(void);
/* Random delays: each later call of op sleeps up to max_us microseconds
 * with probability pct/100, drawn from a PRNG seeded with seed (0: off). */
void faultfs_delay(int op, unsigned max_us, unsigned pct, unsigned long long seed);
/* The same, each delay drawn from min_us..max_us. */
void faultfs_delay_range(int op, unsigned min_us, unsigned max_us, unsigned pct,
                         unsigned long long seed);
/* Keep the undo log that faultfs_crash needs (1, the default after
 * install), or not (0: faults and delays only, for long runs that end in a
 * real kill -9 rather than a simulated power loss). */
void faultfs_track_undo(int on);
/* Disarm every fault (gates are opened, delays stopped). */
void faultfs_clear(void);
/* Calls of op seen since install. */
unsigned long faultfs_count(int op);
/* Simulated power loss: undo every non-durable change, then fail every
 * further call with EIO until faultfs_recover() (the "machine" is off). */
void faultfs_crash(void);
/* Power back on: calls work again, undo history forgotten. */
void faultfs_recover(void);

#endif
