/* stream_util.h — helpers shared by the stream command files
 * (cmd_stream.c, cmd_stream_cg.c): ID parsing as Redis's
 * streamGenericParseIDOrReply, replying entries, and logging effects. */
#ifndef KV_STREAM_UTIL_H
#define KV_STREAM_UTIL_H

#include "cmd.h"
#include "tstream.h"

#define XERR_INVALID_ID "ERR Invalid stream ID specified as stream command argument"

/* Parse argument i as a stream ID. missing_seq fills a bare "<ms>";
 * strict refuses "-" and "+"; seq_given (may be NULL) accepts "<ms>-*"
 * and reports whether the sequence was given. reply: send the error.
 * 0 or -1. */
int xparse_id(cmd_ctx *c, int i, sid *id, uint64_t missing_seq, int strict, int *seq_given,
              int send_reply);
/* An interval end as Redis's streamParseIntervalIDOrReply: "(" excludes.
 * *ex reports it. 0 or -1 (replied). */
int xparse_interval(cmd_ctx *c, int i, sid *id, int *ex, uint64_t missing_seq);

void xreply_id(cmd_ctx *c, sid id);
/* One entry as [id, [f, v, ...]] from an iterator positioned on it. */
void xreply_entry(cmd_ctx *c, stream_iter *it, sid id, size_t np);
/* Entries in [start, end] (count 0: all); returns how many. */
size_t xreply_range(cmd_ctx *c, kv_stream *s, sid start, sid end, size_t count, int rev);
/* The single entry id, if it exists; 1 if replied. */
int xreply_one(cmd_ctx *c, kv_stream *s, sid id);

/* The stream at argument i: NULL if missing; *wrong and WRONGTYPE replied
 * if another type. */
kobj *xlookup(cmd_ctx *c, int i, int write, int *wrong);

/* Log one effect command built from C strings / byte strings. */
typedef struct xargv {
    int argc;
    const char *argv[24];
    size_t lens[24];
    char bufs[6][SID_MAXSTR];
    int nbufs;
} xargv;
void xa_init(xargv *a);
void xa_add(xargv *a, const char *s, size_t n);
void xa_cstr(xargv *a, const char *s);
void xa_id(xargv *a, sid id);
void xa_ll(xargv *a, long long v);
void xa_log(cmd_ctx *c, xargv *a);

/* Redis's streamPropagateXCLAIM: XCLAIM <key> <group> <consumer> 0 <id>
 * TIME <ms> RETRYCOUNT <n> FORCE JUSTID LASTID <group last id>. */
void xlog_claim(cmd_ctx *c, const char *key, size_t klen, stream_group *g, stream_nack *n);
/* Redis's streamPropagateGroupID: XGROUP SETID <key> <group> <last id>
 * ENTRIESREAD <n>. */
void xlog_setid(cmd_ctx *c, const char *key, size_t klen, stream_group *g);
/* XGROUP CREATECONSUMER <key> <group> <consumer>. */
void xlog_createconsumer(cmd_ctx *c, const char *key, size_t klen, stream_group *g,
                         stream_consumer *sc);

/* Find or create (announcing "xgroup-createconsumer") a consumer; *created
 * says which. Refreshes its seen-time. */
stream_consumer *xconsumer(cmd_ctx *c, stream_group *g, const char *key, size_t klen,
                           const char *name, size_t nlen, int *created);

/* The group-lag reply (Redis's streamReplyWithCGLag). */
void xreply_lag(cmd_ctx *c, kv_stream *s, stream_group *g);

/* The group commands (cmd_stream_cg.c), listed in cmd_stream.c's table. */
void cmd_xgroup(cmd_ctx *c);
void xgroup_help(cmd_ctx *c);
void cmd_xack(cmd_ctx *c);
void cmd_xpending(cmd_ctx *c);
void cmd_xclaim(cmd_ctx *c);
void cmd_xautoclaim(cmd_ctx *c);

#endif
