/* err.h — the server's error codes.
 *
 * Every fallible internal call returns 0 or a negative KVE_* code. Where a
 * caller needs more than the code, the callee also fills a caller-supplied
 * message buffer ("load snapshot snap-…: block 12: crc mismatch"), adding its
 * own context in front of what the layer below said. */
#ifndef KV_ERR_H
#define KV_ERR_H

#include <stddef.h>

enum {
    KVE_OK = 0,
    KVE_NOMEM = -1,    /* allocation failed */
    KVE_IO = -2,       /* read/write/fsync failed (errno in the message) */
    KVE_NOSPC = -3,    /* no space left on device */
    KVE_CORRUPT = -4,  /* on-disk data failed verification */
    KVE_INVAL = -5,    /* bad argument or configuration */
    KVE_LOCKED = -6,   /* data dir held by another process */
    KVE_FAILED = -7,   /* component is in its fail-stop state */
    KVE_NOTFOUND = -8, /* no such file / entry */
    KVE_PROTO = -9,    /* protocol violation by a peer */
    KVE_TOOBIG = -10,  /* input larger than a configured bound */
    KVE_BUSY = -11,    /* operation already in progress */
    KVE_AGAIN = -12,   /* not now; try later */
    KVE_CLOSED = -13,  /* component shut down */
};

/* The end of the process after a fatal internal error (out of memory, a
 * broken invariant): abort(), for a core dump, or exit(1) when
 * use-exit-on-panic is set (Redis's hidden option, for test runs under
 * tools that treat an abort as a crash of their own). */
void kv_set_exit_on_panic(int on);
__attribute__((noreturn)) void kv_abort(void);

/* A static, human-readable name for a KVE_* code. Never NULL. */
const char *kve_str(int code);

/* Format into buf (always NUL-terminated when len > 0). Returns code, so
 * `return kve_fmt(buf, len, KVE_IO, "write %s: %s", path, strerror(errno));`
 * reads naturally. buf may be NULL. */
int kve_fmt(char *buf, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefix existing text in buf with more context: "ctx: <old text>". */
int kve_wrap(char *buf, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
