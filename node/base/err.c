/* err.c — error code names and message formatting helpers. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *kve_str(int code)
{
    switch (code) {
    case KVE_OK: return "ok";
    case KVE_NOMEM: return "out of memory";
    case KVE_IO: return "I/O error";
    case KVE_NOSPC: return "no space left on device";
    case KVE_CORRUPT: return "data corrupted";
    case KVE_INVAL: return "invalid argument";
    case KVE_LOCKED: return "data directory locked by another process";
    case KVE_FAILED: return "stopped after an unrecoverable error";
    case KVE_NOTFOUND: return "not found";
    case KVE_PROTO: return "protocol error";
    case KVE_TOOBIG: return "too big";
    case KVE_BUSY: return "busy";
    case KVE_AGAIN: return "try again";
    case KVE_CLOSED: return "closed";
    }
    return "unknown error";
}

int kve_fmt(char *buf, size_t len, int code, const char *fmt, ...)
{
    if (buf && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, len, fmt, ap);
        va_end(ap);
    }
    return code;
}

int kve_wrap(char *buf, size_t len, int code, const char *fmt, ...)
{
    if (!buf || !len)
        return code;
    char old[1024];
    snprintf(old, sizeof old, "%s", buf);
    char ctx[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    if (old[0])
        snprintf(buf, len, "%s: %s", ctx, old);
    else
        snprintf(buf, len, "%s: %s", ctx, kve_str(code));
    return code;
}

static int exit_on_panic;

void kv_set_exit_on_panic(int on)
{
    exit_on_panic = on;
}

void kv_abort(void)
{
    if (exit_on_panic)
        exit(1);
    abort();
}
