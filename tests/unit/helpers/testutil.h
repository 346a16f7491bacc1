/* testutil.h — small fixtures shared by the unit tests. */
#ifndef KV_TESTUTIL_H
#define KV_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* A fresh directory under $TMPDIR (or /tmp); the caller frees the
 * returned path (malloc) after tu_rmrf. */
char *tu_mkdtemp(const char *tag);
/* rm -rf path (only paths made by tu_mkdtemp). */
void tu_rmrf(const char *path);
/* Run the loop until pred(arg) is true or ms pass. Returns 1 if pred held. */
int tu_run_until(uv_loop_t *loop, int (*pred)(void *arg), void *arg, int ms);
/* Poll pred(arg) every millisecond, without a loop, until it holds or ms
 * pass (for conditions another thread brings about); returns its last
 * value. Callers assert it. */
int tu_poll_until(int (*pred)(void *arg), void *arg, int ms);
/* Run the loop until no handle is active (bounded: ms). */
void tu_drain(uv_loop_t *loop, int ms);
/* Count files in dir whose name starts with prefix and ends with suffix. */
int tu_count_files(const char *dir, const char *prefix, const char *suffix);
/* Size of a file, or -1. */
long long tu_file_size(const char *path);
/* Whether the kernel may back memory with transparent huge pages (THP
 * "always" or "madvise", not "never"). */
int tu_thp_possible(void);
/* Deterministic PRNG (xorshift64*). */
uint64_t tu_rand(uint64_t *state);

#endif
