/* resp.h — the client request parser: bytes in, commands out.
 *
 * Pure: no sockets, no replies, no command table. It accepts exactly what
 * Redis 7's networking.c accepts — multibulk requests (`*N\r\n$len\r\n…`)
 * and inline requests (one line split like sdssplitargs) — and fails with
 * exactly Redis's protocol error messages. The connection owner replies
 * "-ERR <resp_error()>\r\n" and closes the connection after a failure.
 *
 * Incremental: the parser keeps its position between calls, so a request
 * that arrives in many pieces is scanned once (a 500 MB bulk fed 16 KiB at
 * a time costs O(500 MB) in total, and its data bytes are never examined).
 *
 * Protocol (all positions are relative to the first byte the caller has
 * not consumed, so they survive the caller growing, moving or compacting
 * its buffer between calls):
 *
 *     for (;;) {
 *         size_t used;
 *         int rc = resp_parse(p, kbuf_data(q), kbuf_len(q), &used);
 *         if (rc == RESP_CMD) {
 *             ... resp_argc(p), resp_arg(p, kbuf_data(q), i, &len) ...
 *             kbuf_consume(q, used);        // once done with the arguments
 *         } else if (rc == RESP_NEED) {
 *             kbuf_consume(q, used);        // skipped empty requests
 *             break;                         // read more, call again
 *         } else {
 *             reply "-ERR " resp_error(p); close after the reply;
 *         }
 *     }
 *
 * After every call the caller drops `*consumed` bytes from the front — at
 * once after RESP_NEED, after it is done with the command after RESP_CMD —
 * and passes the bytes that follow, plus any new ones, next time. Between
 * calls it may append to and move its buffer freely, but must not change
 * the bytes it passed.
 *
 * Arguments of a multibulk request point into the caller's buffer; those of
 * an inline request (which may need unquoting) into the parser's own
 * scratch space. Either way they are valid until the next resp_parse,
 * resp_parser_reset or resp_parser_free, and (multibulk) while the caller
 * keeps those bytes unconsumed. They are not NUL-terminated.
 *
 * Faithful quirks of Redis 7 kept on purpose, since clients see them:
 *  - Line ends are found as Redis finds them: a multibulk or bulk length
 *    line ends at the first '\r', and the byte after it is skipped without
 *    being checked; the two bytes after a bulk's data are skipped unchecked.
 *    An inline line ends at '\n', minus one '\r' before it.
 *  - A NUL byte before the end of a length or inline line hides the line
 *    end (Redis uses strchr): that request can only fail, with "too big …"
 *    once more than max_inline bytes of it are pending.
 *  - The "too big …" errors depend on how bytes arrive: a line end that
 *    comes in the same piece as the byte that crosses max_inline is fine.
 *  - Empty inline lines, lines of blanks, `*0` and negative counts are
 *    requests with no arguments: skipped, never returned. */
#ifndef KV_RESP_H
#define KV_RESP_H

#include <stddef.h>
#include <stdint.h>

typedef struct resp_parser resp_parser;

enum {
    RESP_ERR = -1, /* protocol error: see resp_error(); sticky */
    RESP_NEED = 0, /* no complete request yet: read more */
    RESP_CMD = 1,  /* a request with argc >= 1 is ready */
};

typedef struct resp_limits {
    /* proto-max-bulk-len: a longer bulk is "invalid bulk length".
     * Default 512 MiB; at most LLONG_MAX / 2. */
    long long max_bulk_len;
    /* Most arguments in one multibulk request; more is "invalid multibulk
     * length". Default INT_MAX, as Redis 7; clamped to [0, INT_MAX]. */
    long long max_multibulk_len;
    /* PROTO_INLINE_MAX_SIZE: bytes an inline line, a multibulk count line
     * or a bulk length line may have pending without its end before the
     * request fails as too big. Default 64 KiB. */
    size_t max_inline;
} resp_limits;

#define RESP_DEFAULT_MAX_BULK_LEN (512LL * 1024 * 1024)
#define RESP_DEFAULT_MAX_INLINE ((size_t)64 * 1024)
/* Redis's limits for a client that still has to authenticate. */
#define RESP_UNAUTH_MAX_MULTIBULK 10
#define RESP_UNAUTH_MAX_BULK 16384

void resp_limits_default(resp_limits *l);

/* A parser with the given limits (NULL: defaults). Never NULL (mem.h). */
resp_parser *resp_parser_new(const resp_limits *l);
void resp_parser_free(resp_parser *p); /* NULL is fine */
/* Change the limits (CONFIG SET); they apply from the next length read. */
void resp_parser_set_limits(resp_parser *p, const resp_limits *l);
/* While on (requirepass set and the client not yet authenticated), apply
 * Redis's unauthenticated limits: more than 10 arguments fails with
 * "unauthenticated multibulk length", a bulk over 16384 bytes with
 * "unauthenticated bulk length". Off for a new parser. */
void resp_parser_set_unauth(resp_parser *p, int on);
/* Forget any partial request and error, and release scratch memory above
 * a small size. The caller discards its buffered bytes too. */
void resp_parser_reset(resp_parser *p);

/* Parse the next request from buf[0 .. len). See the protocol above.
 * *consumed is set on every return. */
int resp_parse(resp_parser *p, const char *buf, size_t len, size_t *consumed);

/* The request returned by the last RESP_CMD (meaningless after any other
 * result). */
int resp_argc(const resp_parser *p);
/* Argument i (0 <= i < argc) and its length. buf is the caller's pointer
 * to the same unconsumed bytes it passed to resp_parse (it may have moved). */
const char *resp_arg(const resp_parser *p, const char *buf, int i, size_t *len);
/* All arguments at once, as arrays of argc pointers and lengths owned by
 * the parser (valid as the arguments are). */
const char *const *resp_argv(resp_parser *p, const char *buf, const size_t **lens);
/* 1 if the last request was inline, 0 if multibulk. */
int resp_is_inline(const resp_parser *p);
/* After RESP_NEED: how many bytes the next call's buf must hold (counted
 * from its start, i.e. after dropping *consumed) before the pending request
 * can progress, when known — the end of a bulk's data — or 0. A caller may
 * reserve that much so a huge argument arrives without repeated growth. */
size_t resp_want(const resp_parser *p);

/* After RESP_NEED: how many bytes at the front of the unconsumed buffer
 * belong to the multibulk request under way and are parsed already (its
 * count and length lines and its complete arguments: what Redis has moved
 * out of its query buffer by then), and in *args_bytes the length of those
 * complete arguments (Redis's argv-mem). 0 for an inline request or none. */
size_t resp_pending_parsed(const resp_parser *p, size_t *args_bytes);

/* The message after RESP_ERR, without the "ERR " prefix, e.g.
 * "Protocol error: invalid bulk length". Valid until reset/free. */
const char *resp_error(const resp_parser *p);

/* Bytes examined plus calls made since creation: a measure of work done,
 * for tests that check the parser never rescans. */
uint64_t resp_parser_work(const resp_parser *p);

#endif
