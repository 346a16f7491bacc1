/* history.h — the operations a fault run records and the checkers read.
 *
 * Every operation a client issues is one fr_op: what it asked, when it was
 * invoked and when it completed (monotonic µs), and how it ended. An
 * operation whose outcome the client cannot know (a timeout, a dropped
 * connection after the command was written) is UNKNOWN, never FAIL: FAIL
 * means the server refused it before executing it. Values written are unique
 * integers (the client writes their decimal form), so a read names exactly
 * the writes it saw. */
#ifndef KV_FR_HISTORY_H
#define KV_FR_HISTORY_H

#include <stddef.h>
#include <stdint.h>

typedef enum fr_kind {
    FR_GET,     /* register read: rvalue (-1: nil) */
    FR_SET,     /* register write of value */
    FR_CAS,     /* SET key value IFEQ expect: applied (1) or not (0) in rvalue */
    FR_APPEND,  /* RPUSH key value: rvalue = the list's length after it */
    FR_LREAD,   /* LRANGE key 0 -1: rlist */
    FR_TXN,     /* MULTI RPUSH key value; LRANGE key 0 -1 EXEC: rvalue, rlist */
    FR_SADD,    /* SADD key value */
    FR_SREAD,   /* SMEMBERS key: rlist */
} fr_kind;

typedef enum fr_status { FR_OK, FR_FAIL, FR_UNKNOWN } fr_status;

typedef struct fr_op {
    int client;
    int replica;        /* read from a replica (session checks only) */
    uint64_t session;   /* replica reads: one connection */
    fr_kind kind;
    fr_status st;
    int64_t key;
    int64_t value;      /* written value */
    int64_t expect;     /* FR_CAS: the value compared with (-1: nil) */
    int64_t rvalue;     /* see fr_kind */
    int64_t *rlist;     /* read lists and sets, malloc'd */
    size_t nrlist;
    int64_t t_invoke, t_complete; /* µs, monotonic; unknown: completes at
                                     INT64_MAX for the checkers */
} fr_op;

#define FR_NEVER INT64_MAX

#endif
