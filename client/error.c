/* error.c — kv_strerror, the one table of error descriptions. */
#include "internal.h"

const char *kv_strerror(int code)
{
    switch (code) {
    case KV_OK: return "success";
    case KV_ENOMEM: return "out of memory";
    case KV_EINVAL: return "invalid argument";
    case KV_ERANGE: return "buffer too small";
    case KV_EPROTO: return "protocol error";
    case KV_ETOOBIG: return "reply exceeds a reader limit";
    case KV_EADDR: return "cannot resolve address";
    case KV_ECONNECT: return "cannot connect";
    case KV_ETIMEDOUT: return "timed out";
    case KV_EIO: return "I/O error";
    case KV_ECLOSED: return "connection closed; nothing was sent";
    case KV_ECANCELED: return "canceled before it was sent";
    case KV_EUNKNOWN: return "outcome unknown: sent, but no reply was received";
    case KV_ENOPRIMARY: return "no primary found";
    case KV_EAUTH: return "authentication or handshake failed";
    case KV_EBUSY: return "replies still pending";
    default: return "unknown error";
    }
}
