/* reply.h — the reply encoder: Redis 7's replies, byte for byte, into a
 * kbuf, in the connection's protocol version (RESP2, or RESP3 after
 * HELLO 3); and the number <-> string conversions whose acceptance rules
 * and formatting clients can see (string2ld, ld2string, string2d …).
 *
 * Owns nothing: a `reply` is a view of an output kbuf plus the protocol
 * version, cheap to make on the stack. Never fails (mem.h aborts on OOM),
 * never writes a CR or LF inside a simple string or an error (they become
 * spaces, as Redis's addReplyErrorFormat does), never flushes anything.
 *
 * RESP2 renderings of RESP3 types are Redis's: null -> $-1 (null array
 * -> *-1), map of n -> array of 2n, set/push -> array, double -> bulk
 * string, boolean -> integer 1/0, verbatim and big number -> bulk. */
#ifndef KV_REPLY_H
#define KV_REPLY_H

#include "buf.h"

#include <stddef.h>

typedef struct reply {
    kbuf *out;
    int resp; /* 2 or 3 */
} reply;

static inline reply reply_make(kbuf *out, int resp)
{
    reply r = {out, resp};
    return r;
}

/* ---- Scalars ---- */

/* "+<s>\r\n" */
void reply_simple(reply *r, const char *s);
void reply_simple_len(reply *r, const char *s, size_t n);
void reply_ok(reply *r); /* "+OK\r\n" */
/* "-<msg>\r\n"; msg carries its own code: "ERR syntax error",
 * "WRONGTYPE Operation …". */
void reply_error(reply *r, const char *msg);
void reply_error_len(reply *r, const char *msg, size_t n);
/* Format, then trim CR/LF at both ends and turn inner ones into spaces,
 * as Redis's addReplyErrorFormat; the result must carry its code. */
void reply_errorf(reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ":<v>\r\n" */
void reply_int(reply *r, long long v);
/* "$<n>\r\n<bytes>\r\n" */
void reply_bulk(reply *r, const void *p, size_t n);
void reply_bulk_cstr(reply *r, const char *s); /* NULL -> null */
void reply_bulk_ll(reply *r, long long v);      /* decimal, as a bulk */
void reply_empty_bulk(reply *r);                /* "$0\r\n\r\n" */
/* RESP2 "$-1\r\n", RESP3 "_\r\n". */
void reply_null(reply *r);
/* RESP2 "*-1\r\n", RESP3 "_\r\n" (Redis's addReplyNullArray). */
void reply_null_array(reply *r);
/* RESP2 ":1"/":0", RESP3 "#t"/"#f". */
void reply_bool(reply *r, int v);
/* Redis's addReplyDouble: RESP2 a bulk of "%.17g" (or "inf"/"-inf"),
 * RESP3 ",%.17g". NaN is "nan" in both (RESP3's spelling; glibc would
 * print "-nan" for a NaN with its sign bit set). */
void reply_double(reply *r, double d);
/* Redis's addReplyHumanLongDouble: kv_ld2string(HUMAN) as a RESP2 bulk,
 * or after ',' in RESP3. */
void reply_human_ld(reply *r, long double d);
/* RESP3 "=<n+4>\r\n<ext>:<bytes>\r\n", ext padded/truncated to 3 bytes
 * ("txt", "mkd"); RESP2 a plain bulk. */
void reply_verbatim(reply *r, const void *p, size_t n, const char *ext);
/* RESP3 "(<digits>\r\n"; RESP2 a bulk. */
void reply_bignum(reply *r, const char *digits, size_t n);

/* ---- Aggregates: the header; the caller then adds the elements ---- */

void reply_array(reply *r, long n);  /* "*n" */
void reply_empty_array(reply *r);    /* "*0\r\n" */
void reply_map(reply *r, long n);    /* n pairs: RESP3 "%n", RESP2 "*2n" */
void reply_set(reply *r, long n);    /* RESP3 "~n", RESP2 "*n" */
void reply_push(reply *r, long n);   /* RESP3 ">n", RESP2 "*n" */
/* RESP3 attribute "|n" (n pairs); RESP2 has no attributes and drops the
 * header — the caller must not send the pairs either. Returns 1 if sent. */
int reply_attribute(reply *r, long n);

/* ---- Deferred lengths (Redis's addReplyDeferredLen) ----
 * Reserve the header of an aggregate whose size is known only after its
 * elements are written; then set it exactly once. The handle is an offset
 * into r->out's data: valid while nothing is consumed from its front. */
typedef size_t reply_deferred;
reply_deferred reply_defer(reply *r);
void reply_set_array_len(reply *r, reply_deferred d, long n);
void reply_set_map_len(reply *r, reply_deferred d, long n); /* pairs */
void reply_set_set_len(reply *r, reply_deferred d, long n);
void reply_set_push_len(reply *r, reply_deferred d, long n);

/* ---- Common Redis errors ---- */

#define KV_ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define KV_ERR_SYNTAX "ERR syntax error"
#define KV_ERR_NOTINT "ERR value is not an integer or out of range"
#define KV_ERR_NOTFLOAT "ERR value is not a valid float"
#define KV_ERR_OVERFLOW "ERR increment or decrement would overflow"
#define KV_ERR_NANINF "ERR increment would produce NaN or Infinity"
#define KV_ERR_NOSUCHKEY "ERR no such key"
#define KV_ERR_OUTOFRANGE "ERR index out of range"
#define KV_ERR_HASH_NOTINT "ERR hash value is not an integer"
#define KV_ERR_HASH_NOTFLOAT "ERR hash value is not a float"
#define KV_ERR_BULK_TOO_BIG "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
#define KV_ERR_NOAUTH "NOAUTH Authentication required."
#define KV_ERR_READONLY "READONLY You can't write against a read only replica."

void reply_err_wrongtype(reply *r);
void reply_err_syntax(reply *r);
void reply_err_notint(reply *r);
void reply_err_notfloat(reply *r);
/* "ERR wrong number of arguments for '<name>' command"; name is the
 * command's table name, lower case ("get", "config|set"). */
void reply_err_arity(reply *r, const char *name);
/* Redis 7's unknown-command error: "ERR unknown command '<argv0>', with
 * args beginning with: '<a1>' '<a2>' " — argv[0] cut at 128 bytes, the
 * quoted args at 128 bytes in total, each one read as a C string (cut at
 * its first NUL), CR and LF shown as spaces. */
void reply_err_unknown_command(reply *r, int argc, const char *const *argv,
                               const size_t *lens);
/* "ERR unknown subcommand '<sub>'. Try <CMD> HELP." (sub cut at 128). */
void reply_err_unknown_subcommand(reply *r, const char *cmd, size_t cmdlen,
                                  const char *sub, size_t sublen);
/* "ERR unknown subcommand or wrong number of arguments for '<sub>'. Try
 * <CMD> HELP." (Redis's addReplySubcommandSyntaxError). */
void reply_err_subcommand_syntax(reply *r, const char *cmd, size_t cmdlen,
                                 const char *sub, size_t sublen);

/* ---- Numbers as Redis reads and writes them ---- */

/* Redis's MAX_LONG_DOUBLE_CHARS: room for any long double in HUMAN form. */
#define KV_LD_STR_MAX (5 * 1024)

/* Redis's string2ld, used by INCRBYFLOAT/HINCRBYFLOAT: strtold over the
 * bytes as a C string, rejecting "", a leading blank, trailing garbage,
 * NaN, overflow and underflow to zero; "inf" and hex floats are accepted.
 * Like Redis, the string ends at its first NUL. 1 and *out, or 0. */
int kv_string2ld(const char *s, size_t slen, long double *out);
/* Redis's string2d (ZADD scores and the like): the same rules with strtod. */
int kv_string2d(const char *s, size_t slen, double *out);

enum { KV_LD_HUMAN, KV_LD_AUTO };
/* Redis's ld2string. HUMAN (INCRBYFLOAT, HINCRBYFLOAT results): "%.17Lf"
 * with trailing zeros and a bare '.' removed, "-0" as "0"; AUTO: "%.17Lg".
 * inf is "inf"/"-inf". Writes a NUL; returns the length, or 0 if it does
 * not fit in len (KV_LD_STR_MAX always fits). */
size_t kv_ld2string(char *buf, size_t len, long double v, int mode);

#endif
