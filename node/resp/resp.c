/* resp.c — the client request parser (see resp.h).
 *
 * Owns the parse state of one connection and the unquoted bytes of inline
 * arguments. Must never read outside buf[0 .. len), allocate in proportion
 * to a length the client merely announced, or look at a byte twice across
 * calls (except the one '\r' whose follower has not arrived yet).
 *
 * State machine (one request at a time; positions relative to its start):
 *
 *     START ──'*'──▶ COUNT ──N>0──▶ BULK_LEN ──▶ BULK_DATA ──more──▶ BULK_LEN
 *       │              │ N<=0 (skipped)                │ last
 *       │other byte    ▼                               ▼
 *       └────────▶ INLINE ─────────line─────────▶ request done ──▶ START
 *
 *   START      nothing of the request seen; its first byte picks the kind.
 *   COUNT      reading "*<count>\r" (the byte after '\r' is skipped).
 *   BULK_LEN   reading "$<len>\r" at `line`.
 *   BULK_DATA  waiting until <len> bytes and two more are present at `line`.
 *   INLINE     looking for '\n'.
 *   FAILED     a protocol error was found; sticky until reset.
 * Any state may end in FAILED; a done request with no arguments (empty
 * line, *0, *-N) goes back to START within the same call. */
#include "resp.h"

#include "buf.h"
#include "mem.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

enum { ST_START, ST_COUNT, ST_BULK_LEN, ST_BULK_DATA, ST_INLINE, ST_FAILED };

/* The states' step functions return RESP_CMD, RESP_NEED, RESP_ERR, or this:
 * progress made, run the next state. */
#define STEP_MORE 2

/* Keep argv arrays and inline scratch up to these sizes between requests. */
#define ARGV_KEEP 1024
#define SCRATCH_KEEP ((size_t)64 * 1024)
#define ARGV_FIRST 8

typedef struct resp_span {
    size_t off; /* from the request start (multibulk) or scratch (inline) */
    size_t len;
} resp_span;

struct resp_parser {
    resp_limits lim;
    int unauth;
    int state;
    int is_inline;    /* the request being parsed / returned is inline */
    int line_blocked; /* a NUL hides the current line's end for good */
    size_t line;      /* start of the current line or bulk data */
    size_t scan;      /* where the search for the line end resumes */
    long long mb_left; /* bulks still expected */
    long long bulklen; /* length of the bulk being read */

    resp_span *argv;
    int argc;
    int argv_cap;
    size_t req_start;   /* where the returned request starts in the caller's buf */
    const char **ptrs;  /* resp_argv()'s arrays, argv_cap long */
    size_t *lens;
    kbuf scratch;       /* unquoted inline arguments */

    uint64_t work;
    char err[64];
};

/* ---- Limits and lifetime ---- */

void resp_limits_default(resp_limits *l)
{
    l->max_bulk_len = RESP_DEFAULT_MAX_BULK_LEN;
    l->max_multibulk_len = INT_MAX;
    l->max_inline = RESP_DEFAULT_MAX_INLINE;
}

void resp_parser_set_limits(resp_parser *p, const resp_limits *l)
{
    resp_limits d;
    if (!l) {
        resp_limits_default(&d);
        l = &d;
    }
    p->lim = *l;
    if (p->lim.max_bulk_len < 0)
        p->lim.max_bulk_len = 0;
    if (p->lim.max_bulk_len > LLONG_MAX / 2)
        p->lim.max_bulk_len = LLONG_MAX / 2;
    if (p->lim.max_multibulk_len < 0)
        p->lim.max_multibulk_len = 0;
    if (p->lim.max_multibulk_len > INT_MAX)
        p->lim.max_multibulk_len = INT_MAX;
}

resp_parser *resp_parser_new(const resp_limits *l)
{
    resp_parser *p = kv_calloc(1, sizeof *p);
    resp_parser_set_limits(p, l);
    kbuf_init(&p->scratch);
    p->state = ST_START;
    return p;
}

static void free_argv(resp_parser *p)
{
    kv_free(p->argv);
    kv_free(p->ptrs);
    kv_free(p->lens);
    p->argv = NULL;
    p->ptrs = NULL;
    p->lens = NULL;
    p->argv_cap = 0;
}

void resp_parser_free(resp_parser *p)
{
    if (!p)
        return;
    free_argv(p);
    kbuf_free(&p->scratch);
    kv_free(p);
}

void resp_parser_set_unauth(resp_parser *p, int on)
{
    p->unauth = on != 0;
}

/* Start a new request: forget the previous one's arguments. */
static void begin_request(resp_parser *p)
{
    p->state = ST_START;
    p->argc = 0;
    p->is_inline = 0;
    p->line_blocked = 0;
    p->line = p->scan = 0;
    p->mb_left = 0;
    p->bulklen = -1;
    if (p->argv_cap > ARGV_KEEP)
        free_argv(p);
    kbuf_reset(&p->scratch);
    if (p->scratch.cap > SCRATCH_KEEP)
        kbuf_free(&p->scratch);
}

void resp_parser_reset(resp_parser *p)
{
    begin_request(p);
    p->err[0] = '\0';
}

/* ---- Helpers ---- */

static int fail(resp_parser *p, const char *msg)
{
    snprintf(p->err, sizeof p->err, "%s", msg);
    p->state = ST_FAILED;
    return RESP_ERR;
}

/* Room for one more argument; grows geometrically, and for a multibulk
 * request never past the count it announced (mb_left includes this one),
 * so an announced count costs nothing until its arguments come. */
static void push_arg(resp_parser *p, size_t off, size_t len)
{
    if (p->argc == p->argv_cap) {
        long long want = p->argv_cap ? (long long)p->argv_cap * 2 : ARGV_FIRST;
        long long most = p->is_inline ? INT_MAX : (long long)p->argc + p->mb_left;
        if (want > most)
            want = most;
        if (want > INT_MAX)
            want = INT_MAX;
        p->argv = kv_realloc(p->argv, (size_t)want * sizeof *p->argv);
        p->ptrs = kv_realloc(p->ptrs, (size_t)want * sizeof *p->ptrs);
        p->lens = kv_realloc(p->lens, (size_t)want * sizeof *p->lens);
        p->argv_cap = (int)want;
    }
    p->argv[p->argc].off = off;
    p->argv[p->argc].len = len;
    p->argc++;
}

/* Find the end of the line that starts at p->line, resuming at p->scan:
 * the first `eol` byte, unless a NUL comes first (Redis's strchr stops
 * there, so that line never ends). Returns its offset, or -1. */
static long long find_eol(resp_parser *p, const char *buf, size_t len, char eol)
{
    if (p->line_blocked || p->scan >= len)
        return -1;
    const char *from = buf + p->scan;
    size_t n = len - p->scan;
    const char *hit = memchr(from, eol, n);
    size_t upto = hit ? (size_t)(hit - from) : n;
    p->work += upto + (hit != NULL);
    if (memchr(from, '\0', upto)) {
        p->line_blocked = 1;
        return -1;
    }
    if (!hit) {
        p->scan = len;
        return -1;
    }
    p->scan = (size_t)(hit - buf);
    return (long long)p->scan;
}

/* ---- Inline requests (sdssplitargs) ---- */

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Split line[0 .. n) (no NUL inside) into p->argv over p->scratch, exactly
 * as Redis's sdssplitargs. Returns 0, or -1 for unbalanced quotes. */
static int split_inline(resp_parser *p, const char *line, size_t n)
{
    /* Reading line[n] as NUL, as sdssplitargs reads its C string. */
#define AT(k) ((k) < n ? (unsigned char)line[k] : 0u)
    kbuf *s = &p->scratch;
    kbuf_reserve(s, n + 1); /* unquoting never lengthens the line */
    size_t i = 0;
    for (;;) {
        while (i < n && is_blank(AT(i)))
            i++;
        if (i >= n)
            return 0;
        size_t start = kbuf_len(s);
        int inq = 0, insq = 0, done = 0;
        while (!done) {
            unsigned char c = AT(i);
            if (inq) {
                if (c == '\\' && AT(i + 1) == 'x' && hex_val(AT(i + 2)) >= 0 &&
                    hex_val(AT(i + 3)) >= 0) {
                    kbuf_putc(s, (char)(hex_val(AT(i + 2)) * 16 + hex_val(AT(i + 3))));
                    i += 3;
                } else if (c == '\\' && AT(i + 1)) {
                    char e;
                    i++;
                    switch (AT(i)) {
                    case 'n': e = '\n'; break;
                    case 'r': e = '\r'; break;
                    case 't': e = '\t'; break;
                    case 'b': e = '\b'; break;
                    case 'a': e = '\a'; break;
                    default: e = (char)AT(i); break;
                    }
                    kbuf_putc(s, e);
                } else if (c == '"') {
                    /* A closing quote must be followed by a blank or the end. */
                    if (AT(i + 1) && !is_blank(AT(i + 1)))
                        return -1;
                    done = 1;
                } else if (!c) {
                    return -1;
                } else {
                    kbuf_putc(s, (char)c);
                }
            } else if (insq) {
                if (c == '\\' && AT(i + 1) == '\'') {
                    i++;
                    kbuf_putc(s, '\'');
                } else if (c == '\'') {
                    if (AT(i + 1) && !is_blank(AT(i + 1)))
                        return -1;
                    done = 1;
                } else if (!c) {
                    return -1;
                } else {
                    kbuf_putc(s, (char)c);
                }
            } else {
                switch (c) {
                case ' ':
                case '\n':
                case '\r':
                case '\t':
                case '\0':
                    done = 1;
                    break;
                case '"':
                    inq = 1;
                    break;
                case '\'':
                    insq = 1;
                    break;
                default:
                    kbuf_putc(s, (char)c);
                    break;
                }
            }
            if (c)
                i++;
        }
        push_arg(p, start, kbuf_len(s) - start);
    }
#undef AT
}

/* INLINE: returns RESP_CMD when the line is complete (argc may be 0), with
 * *reqlen the bytes it used; RESP_NEED or RESP_ERR otherwise. */
static int parse_inline(resp_parser *p, const char *buf, size_t len, size_t *reqlen)
{
    long long nl = find_eol(p, buf, len, '\n');
    if (nl < 0) {
        if (len > p->lim.max_inline)
            return fail(p, "Protocol error: too big inline request");
        return RESP_NEED;
    }
    size_t end = (size_t)nl;
    if (end > 0 && buf[end - 1] == '\r')
        end--;
    p->work += end;
    if (split_inline(p, buf, end) < 0)
        return fail(p, "Protocol error: unbalanced quotes in request");
    *reqlen = (size_t)nl + 1;
    return RESP_CMD;
}

/* ---- Multibulk requests ---- */

/* COUNT: "*<n>\r?" at offset 0. */
static int parse_count(resp_parser *p, const char *buf, size_t len, size_t *reqlen)
{
    long long cr = find_eol(p, buf, len, '\r');
    if (cr < 0) {
        if (len > p->lim.max_inline)
            return fail(p, "Protocol error: too big mbulk count string");
        return RESP_NEED;
    }
    if ((size_t)cr + 1 >= len) /* the byte after '\r' has not arrived */
        return RESP_NEED;
    long long n;
    if (!kv_string2ll(buf + 1, (size_t)cr - 1, &n) || n > p->lim.max_multibulk_len)
        return fail(p, "Protocol error: invalid multibulk length");
    if (n > RESP_UNAUTH_MAX_MULTIBULK && p->unauth)
        return fail(p, "Protocol error: unauthenticated multibulk length");
    p->line = p->scan = (size_t)cr + 2;
    if (n <= 0) {
        *reqlen = p->line;
        return RESP_CMD;
    }
    p->mb_left = n;
    p->state = ST_BULK_LEN;
    return STEP_MORE;
}

/* BULK_LEN: "$<len>\r?" at p->line. */
static int parse_bulk_len(resp_parser *p, const char *buf, size_t len)
{
    long long cr = find_eol(p, buf, len, '\r');
    if (cr < 0) {
        if (len - p->line > p->lim.max_inline)
            return fail(p, "Protocol error: too big bulk count string");
        return RESP_NEED;
    }
    if ((size_t)cr + 1 >= len)
        return RESP_NEED;
    char c = buf[p->line];
    if (c != '$') {
        /* Redis maps CR and LF in error messages to spaces. */
        char msg[48];
        snprintf(msg, sizeof msg, "Protocol error: expected '$', got '%c'",
                 c == '\r' || c == '\n' ? ' ' : c);
        return fail(p, msg);
    }
    long long n;
    size_t at = p->line + 1;
    if (!kv_string2ll(buf + at, (size_t)cr - at, &n) || n < 0 || n > p->lim.max_bulk_len)
        return fail(p, "Protocol error: invalid bulk length");
    if (n > RESP_UNAUTH_MAX_BULK && p->unauth)
        return fail(p, "Protocol error: unauthenticated bulk length");
    p->line = (size_t)cr + 2;
    p->bulklen = n;
    p->state = ST_BULK_DATA;
    return STEP_MORE;
}

/* BULK_DATA: bulklen bytes at p->line, then two bytes skipped unchecked. */
static int parse_bulk_data(resp_parser *p, size_t len, size_t *reqlen)
{
    size_t need = (size_t)p->bulklen + 2;
    if (len < p->line || len - p->line < need)
        return RESP_NEED;
    push_arg(p, p->line, (size_t)p->bulklen);
    p->line += need;
    p->scan = p->line;
    p->bulklen = -1;
    if (--p->mb_left == 0) {
        *reqlen = p->line;
        return RESP_CMD;
    }
    p->state = ST_BULK_LEN;
    return STEP_MORE;
}

/* Advance the request that starts at buf[0] as far as the bytes allow.
 * RESP_CMD: done (argc may be 0), *reqlen bytes long. */
static int step(resp_parser *p, const char *buf, size_t len, size_t *reqlen)
{
    int rc = STEP_MORE;
    while (rc == STEP_MORE) {
        switch (p->state) {
        case ST_START:
            if (len == 0)
                return RESP_NEED;
            p->line = p->scan = 0;
            p->is_inline = buf[0] != '*';
            p->state = p->is_inline ? ST_INLINE : ST_COUNT;
            break;
        case ST_INLINE:
            rc = parse_inline(p, buf, len, reqlen);
            break;
        case ST_COUNT:
            rc = parse_count(p, buf, len, reqlen);
            break;
        case ST_BULK_LEN:
            rc = parse_bulk_len(p, buf, len);
            break;
        case ST_BULK_DATA:
            rc = parse_bulk_data(p, len, reqlen);
            break;
        default:
            return RESP_ERR;
        }
    }
    return rc;
}

/* ---- Parsing ---- */

int resp_parse(resp_parser *p, const char *buf, size_t len, size_t *consumed)
{
    *consumed = 0;
    p->work++;
    if (p->state == ST_FAILED)
        return RESP_ERR;
    if (p->state == ST_START)
        begin_request(p);
    size_t base = 0; /* start of the current request in buf */
    for (;;) {
        size_t reqlen = 0;
        int rc = step(p, buf + base, len - base, &reqlen);
        if (rc == RESP_CMD && p->argc == 0) {
            base += reqlen; /* nothing to run: skip it */
            begin_request(p);
            continue;
        }
        if (rc == RESP_CMD) {
            p->req_start = base;
            p->state = ST_START;
            *consumed = base + reqlen;
            return RESP_CMD;
        }
        *consumed = base;
        return rc;
    }
}

size_t resp_pending_parsed(const resp_parser *p, size_t *args_bytes)
{
    size_t a = 0;
    int pending = p->state == ST_COUNT || p->state == ST_BULK_LEN || p->state == ST_BULK_DATA;
    for (int i = 0; pending && i < p->argc; i++)
        a += p->argv[i].len;
    if (args_bytes)
        *args_bytes = a;
    return pending ? p->line : 0;
}

int resp_argc(const resp_parser *p)
{
    return p->argc;
}

int resp_is_inline(const resp_parser *p)
{
    return p->is_inline;
}

const char *resp_arg(const resp_parser *p, const char *buf, int i, size_t *len)
{
    const resp_span *a = &p->argv[i];
    *len = a->len;
    if (p->is_inline)
        return p->scratch.ptr ? kbuf_data(&p->scratch) + a->off : "";
    return buf + p->req_start + a->off;
}

const char *const *resp_argv(resp_parser *p, const char *buf, const size_t **lens)
{
    for (int i = 0; i < p->argc; i++)
        p->ptrs[i] = resp_arg(p, buf, i, &p->lens[i]);
    *lens = p->lens;
    return p->ptrs;
}

size_t resp_want(const resp_parser *p)
{
    if (p->state != ST_BULK_DATA)
        return 0;
    return p->line + (size_t)p->bulklen + 2;
}

const char *resp_error(const resp_parser *p)
{
    return p->err;
}

uint64_t resp_parser_work(const resp_parser *p)
{
    return p->work;
}
