/* check.h — the offline checker of a data directory (`kvnode --check-data`).
 *
 * Verifies every WAL segment and every snapshot of a data directory with the
 * same readers recovery uses (wal_scan_segment, snap_verify) and prints
 * what it finds, like redis-check-aof: per segment its LSN and term range,
 * record count, torn tails, invalid records followed by valid ones, LSN gaps
 * and missing segments; per snapshot its LSN, term, keys and whether it
 * verifies (or the block and offset that fails); whether the WAL reaches
 * back to the newest good snapshot; and a verdict line.
 *
 * Without repair nothing in the directory is changed. With repair (and
 * only while no other process holds the directory's LOCK, which the checker
 * then holds itself) it cuts the log at its first damage: the damaged
 * segment is copied to "<file>.broken" (or "<file>.broken-<time>[-n]" when
 * that exists: a copy is never overwritten) and truncated there, later
 * segments and damaged snapshots are renamed aside the same way, files and
 * the directory are fsynced, every change is printed, and the directory is
 * checked again. */
#ifndef KV_CHECK_H
#define KV_CHECK_H

#include <stdio.h>

enum { CHECK_CLEAN = 0, CHECK_DAMAGED = 1, CHECK_UNREADABLE = 2 };

/* Check (and with repair != 0, repair) the data directory dir, printing
 * the report to out. Returns CHECK_CLEAN, CHECK_DAMAGED (damage found; after
 * a repair: damage that remains) or CHECK_UNREADABLE (a file or the
 * directory cannot be read, or the repair could not run or failed). */
int store_check_data(const char *dir, int repair, FILE *out);

#endif
