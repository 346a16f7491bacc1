/* reader.c — the RESP2/RESP3 reply parser: bytes in, kv_reply trees out.
 *
 * Owns: the input buffer, the stack of aggregates being filled, the bulk
 * string being received. Never touches a socket and never blocks.
 *
 * Grammar (each line ends in CRLF):
 *   +<text>  -<text>  :<int>  ,<double>  #t|#f  _  (<bignum>
 *   $<n> <n bytes>     (=: verbatim "fmt:<payload>", !: blob error)
 *   $-1 and *-1        (RESP2 null)
 *   *<n> ~<n> ><n>     n elements follow
 *   %<n> |<n>          n key/value pairs follow (| is an attribute: it
 *                      decorates the value after it and is not counted as
 *                      an element of the enclosing aggregate)
 *
 * RESP3 streamed strings and aggregates ("$?", "*?" with ";" chunks and
 * "." terminators) are not accepted: no Redis command sends them, and a "?"
 * length is reported as a protocol error.
 *
 * Parsing is incremental: get() consumes complete tokens and keeps its
 * place, so input may be split at any byte. Bulk payloads are copied out of
 * the input buffer into the reply as they arrive, and every allocation
 * grows with the bytes actually received: a peer announcing *1000000000 or
 * $500000000 costs nothing until it sends the data, and the limits reject
 * what is too big, too deep or too long before it is buffered. */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The longest line of a non-string type (":", "$", "*", "#", "_", ...).
 * Doubles get a little more room: "%.17g" never needs more than 24. */
#define NUM_LINE_MAX 64
#define DOUBLE_LINE_MAX 512

/* ---- State ---- */

/* One aggregate being filled. The aggregate is owned by its frame until it
 * is complete and moves into its parent (or out of kv_reader_get). */
typedef struct frame {
    kv_reply *agg;
    size_t want;       /* elements expected (2n for maps and attributes) */
    size_t cap;        /* slots allocated in agg->element */
    kv_reply *attr;    /* attribute read at this level, waiting for a value */
} frame;

struct kv_reader {
    kv_reader_limits lim;
    kvc_buf in;        /* unconsumed input is in.data[in.off .. in.len) */
    size_t scan;       /* CRLF search resumes at in.data[scan] */

    frame *stack;      /* stack[0] is the top level: agg == NULL */
    size_t depth;      /* frames in use, ≥ 1 */
    size_t stack_cap;

    kv_reply *bulk;    /* string reply receiving its payload, or NULL */
    size_t bulk_want;  /* payload bytes announced */
    size_t bulk_cap;   /* bytes allocated for bulk->str (payload + NUL) */

    kv_reply *done;    /* a complete top-level reply */
    int err;
    char errmsg[KVC_ERRMSG_MAX];
};

/* ---- Helpers ---- */

static int fail(kv_reader *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(kv_reader *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
    va_end(ap);
    r->err = code;
    return code;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* Parse a whole line as a signed 64-bit integer ("+5", "-5", "5"). */
static int parse_ll(const char *s, size_t n, long long *out)
{
    size_t i = 0;
    int neg = 0;
    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return -1;
    unsigned long long v = 0;
    const unsigned long long lim = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (lim - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = neg ? (long long)(0 - v) : (long long)v;
    return 0;
}

/* Parse a RESP3 double: decimal / exponent notation, inf, -inf, nan. */
static int parse_double(const char *s, size_t n, double *out)
{
    if ((n == 3 && memcmp(s, "inf", 3) == 0) || (n == 4 && memcmp(s, "+inf", 4) == 0)) {
        *out = INFINITY;
        return 0;
    }
    if (n == 4 && memcmp(s, "-inf", 4) == 0) {
        *out = -INFINITY;
        return 0;
    }
    if (n == 3 && (memcmp(s, "nan", 3) == 0 || memcmp(s, "NaN", 3) == 0)) {
        *out = NAN;
        return 0;
    }
    if (n == 0 || n >= DOUBLE_LINE_MAX)
        return -1;
    int digits = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch >= '0' && ch <= '9')
            digits = 1;
        else if (ch != '+' && ch != '-' && ch != '.' && ch != 'e' && ch != 'E')
            return -1;
    }
    if (!digits)
        return -1;
    char tmp[DOUBLE_LINE_MAX];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    pthread_once(&c_locale_once, c_locale_init);
    char *end;
    errno = 0;
    double d = c_locale ? strtod_l(tmp, &end, c_locale) : strtod(tmp, &end);
    if (end != tmp + n)
        return -1;
    *out = d;
    return 0;
}

/* Longest line (without CRLF) accepted for a type byte. */
static size_t line_max(const kv_reader *r, char type)
{
    switch (type) {
    case '+': case '-': case '(':
        return r->lim.max_bulk;
    case ',':
        return DOUBLE_LINE_MAX;
    default:
        return NUM_LINE_MAX;
    }
}

static void free_state(kv_reader *r)
{
    for (size_t i = 0; i < r->depth; i++) {
        kv_reply_free(r->stack[i].agg);
        kv_reply_free(r->stack[i].attr);
        r->stack[i].agg = NULL;
        r->stack[i].attr = NULL;
    }
    r->depth = 1;
    kv_reply_free(r->bulk);
    r->bulk = NULL;
    kv_reply_free(r->done);
    r->done = NULL;
}

/* ---- Building the tree ---- */

/* A value is complete: attach the pending attribute of its level, then move
 * it into the enclosing aggregate — completing that one too when it is full
 * — or make it the finished top-level reply. */
static int complete(kv_reader *r, kv_reply *v)
{
    for (;;) {
        frame *f = &r->stack[r->depth - 1];
        if (v->type == KV_REPLY_ATTR) {
            if (f->attr) {
                kv_reply_free(v);
                return fail(r, KV_EPROTO, "protocol error: two attributes in a row");
            }
            f->attr = v;
            return 0;
        }
        v->attr = f->attr;
        f->attr = NULL;
        if (f->agg == NULL) {
            r->done = v;
            return 0;
        }
        kv_reply *a = f->agg;
        if (a->elements == f->cap) {
            size_t ncap = f->cap ? f->cap * 2 : 8;
            if (ncap > f->want)
                ncap = f->want;
            kv_reply **el = kvc_realloc(a->element, ncap * sizeof *el);
            if (el == NULL) {
                kv_reply_free(v);
                return fail(r, KV_ENOMEM, "out of memory");
            }
            a->element = el;
            f->cap = ncap;
        }
        a->element[a->elements++] = v;
        if (a->elements < f->want)
            return 0;
        f->agg = NULL;
        r->depth--;
        v = a;
    }
}

static int begin_aggregate(kv_reader *r, kv_reply_type type, const char *line, size_t n,
                           char tb)
{
    long long count;
    if (parse_ll(line, n, &count) < 0)
        return fail(r, KV_EPROTO, "protocol error: bad aggregate length '%.*s' after '%c'",
                    (int)n, line, tb);
    if (count == -1 && type == KV_REPLY_ARRAY) {
        kv_reply *v = kvc_reply_new(KV_REPLY_NIL);
        return v ? complete(r, v) : fail(r, KV_ENOMEM, "out of memory");
    }
    if (count < 0)
        return fail(r, KV_EPROTO, "protocol error: negative aggregate length %lld after '%c'",
                    count, tb);
    int pairs = type == KV_REPLY_MAP || type == KV_REPLY_ATTR;
    unsigned long long want = (unsigned long long)count;
    if (want > r->lim.max_elements || (pairs && want > r->lim.max_elements / 2))
        return fail(r, KV_ETOOBIG, "reply too big: aggregate of %lld %s exceeds max_elements %zu",
                    count, pairs ? "pairs" : "elements", r->lim.max_elements);
    if (pairs)
        want *= 2;
    if (r->depth > r->lim.max_depth)
        return fail(r, KV_ETOOBIG, "reply too big: nesting deeper than max_depth %zu",
                    r->lim.max_depth);
    kv_reply *v = kvc_reply_new(type);
    if (v == NULL)
        return fail(r, KV_ENOMEM, "out of memory");
    if (want == 0)
        return complete(r, v);
    if (r->depth == r->stack_cap) {
        size_t ncap = r->stack_cap * 2;
        frame *s = kvc_realloc(r->stack, ncap * sizeof *s);
        if (s == NULL) {
            kv_reply_free(v);
            return fail(r, KV_ENOMEM, "out of memory");
        }
        r->stack = s;
        r->stack_cap = ncap;
    }
    r->stack[r->depth++] = (frame){.agg = v, .want = (size_t)want};
    return 0;
}

static int begin_bulk(kv_reader *r, kv_reply_type type, const char *line, size_t n, char tb)
{
    long long len;
    if (parse_ll(line, n, &len) < 0)
        return fail(r, KV_EPROTO, "protocol error: bad string length '%.*s' after '%c'",
                    (int)n, line, tb);
    if (len == -1 && tb == '$') {
        kv_reply *v = kvc_reply_new(KV_REPLY_NIL);
        return v ? complete(r, v) : fail(r, KV_ENOMEM, "out of memory");
    }
    if (len < 0)
        return fail(r, KV_EPROTO, "protocol error: negative string length %lld after '%c'",
                    len, tb);
    if ((unsigned long long)len > r->lim.max_bulk)
        return fail(r, KV_ETOOBIG, "reply too big: string of %lld bytes exceeds max_bulk %zu",
                    len, r->lim.max_bulk);
    if (tb == '=' && len < 4)
        return fail(r, KV_EPROTO, "protocol error: verbatim string of %lld bytes has no format",
                    len);
    kv_reply *v = kvc_reply_new(type);
    if (v == NULL)
        return fail(r, KV_ENOMEM, "out of memory");
    /* Start small; grow with what arrives (see take_bulk). */
    size_t cap = (size_t)len + 1 < 4096 ? (size_t)len + 1 : 4096;
    v->str = kvc_malloc(cap);
    if (v->str == NULL) {
        kv_reply_free(v);
        return fail(r, KV_ENOMEM, "out of memory");
    }
    r->bulk = v;
    r->bulk_want = (size_t)len;
    r->bulk_cap = cap;
    return 0;
}

/* Move payload bytes from the input into the bulk in progress. Returns 1
 * when the bulk is complete, 0 when more input is needed, < 0 on error. */
static int take_bulk(kv_reader *r)
{
    kv_reply *v = r->bulk;
    size_t need = r->bulk_want - v->len;
    size_t have = kvc_buf_avail(&r->in);
    size_t n = have < need ? have : need;
    if (n > 0) {
        if (v->len + n + 1 > r->bulk_cap) {
            size_t ncap = r->bulk_cap * 2;
            if (ncap < v->len + n + 1)
                ncap = v->len + n + 1;
            if (ncap > r->bulk_want + 1)
                ncap = r->bulk_want + 1;
            char *s = kvc_realloc(v->str, ncap);
            if (s == NULL)
                return fail(r, KV_ENOMEM, "out of memory");
            v->str = s;
            r->bulk_cap = ncap;
        }
        memcpy(v->str + v->len, r->in.data + r->in.off, n);
        v->len += n;
        kvc_buf_consume(&r->in, n);
        r->scan = r->in.off;
    }
    if (v->len < r->bulk_want || kvc_buf_avail(&r->in) < 2)
        return 0;
    if (r->in.data[r->in.off] != '\r' || r->in.data[r->in.off + 1] != '\n')
        return fail(r, KV_EPROTO, "protocol error: string of %zu bytes not followed by CRLF",
                    r->bulk_want);
    kvc_buf_consume(&r->in, 2);
    r->scan = r->in.off;
    v->str[v->len] = '\0';
    if (v->type == KV_REPLY_VERB) {
        if (v->str[3] != ':')
            return fail(r, KV_EPROTO, "protocol error: verbatim string without 'fmt:' prefix");
        memcpy(v->vtype, v->str, 3);
        v->vtype[3] = '\0';
        v->len -= 4;
        memmove(v->str, v->str + 4, v->len + 1);
    }
    return 1;
}

/* A string-valued line (+, -, () becomes a reply. */
static int line_string(kv_reader *r, kv_reply_type type, const char *line, size_t n)
{
    kv_reply *v = kvc_reply_new(type);
    if (v == NULL || (v->str = kvc_malloc(n + 1)) == NULL) {
        kv_reply_free(v);
        return fail(r, KV_ENOMEM, "out of memory");
    }
    memcpy(v->str, line, n);
    v->str[n] = '\0';
    v->len = n;
    return complete(r, v);
}

static int is_bignum(const char *s, size_t n)
{
    size_t i = (n > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    if (i == n)
        return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Handle one complete line: its type byte tb and n bytes of text. */
static int process_line(kv_reader *r, char tb, const char *line, size_t n)
{
    kv_reply *v;
    switch (tb) {
    case '+':
        return line_string(r, KV_REPLY_STATUS, line, n);
    case '-':
        return line_string(r, KV_REPLY_ERROR, line, n);
    case '(':
        if (!is_bignum(line, n))
            return fail(r, KV_EPROTO, "protocol error: bad big number '%.*s'",
                        (int)(n < 64 ? n : 64), line);
        return line_string(r, KV_REPLY_BIGNUM, line, n);
    case ':': {
        long long ll;
        if (parse_ll(line, n, &ll) < 0)
            return fail(r, KV_EPROTO, "protocol error: bad integer '%.*s'", (int)n, line);
        if ((v = kvc_reply_new(KV_REPLY_INTEGER)) == NULL)
            return fail(r, KV_ENOMEM, "out of memory");
        v->integer = ll;
        return complete(r, v);
    }
    case ',': {
        double d;
        if (parse_double(line, n, &d) < 0)
            return fail(r, KV_EPROTO, "protocol error: bad double '%.*s'",
                        (int)(n < 64 ? n : 64), line);
        if ((v = kvc_reply_new(KV_REPLY_DOUBLE)) == NULL || (v->str = kvc_malloc(n + 1)) == NULL) {
            kv_reply_free(v);
            return fail(r, KV_ENOMEM, "out of memory");
        }
        v->dval = d;
        memcpy(v->str, line, n);
        v->str[n] = '\0';
        v->len = n;
        return complete(r, v);
    }
    case '#':
        if (n != 1 || (line[0] != 't' && line[0] != 'f'))
            return fail(r, KV_EPROTO, "protocol error: bad boolean '%.*s'", (int)n, line);
        if ((v = kvc_reply_new(KV_REPLY_BOOL)) == NULL)
            return fail(r, KV_ENOMEM, "out of memory");
        v->integer = line[0] == 't';
        return complete(r, v);
    case '_':
        if (n != 0)
            return fail(r, KV_EPROTO, "protocol error: null with payload '%.*s'", (int)n, line);
        if ((v = kvc_reply_new(KV_REPLY_NIL)) == NULL)
            return fail(r, KV_ENOMEM, "out of memory");
        return complete(r, v);
    case '$':
        return begin_bulk(r, KV_REPLY_STRING, line, n, tb);
    case '=':
        return begin_bulk(r, KV_REPLY_VERB, line, n, tb);
    case '!':
        return begin_bulk(r, KV_REPLY_ERROR, line, n, tb);
    case '*':
        return begin_aggregate(r, KV_REPLY_ARRAY, line, n, tb);
    case '%':
        return begin_aggregate(r, KV_REPLY_MAP, line, n, tb);
    case '~':
        return begin_aggregate(r, KV_REPLY_SET, line, n, tb);
    case '>':
        return begin_aggregate(r, KV_REPLY_PUSH, line, n, tb);
    case '|':
        return begin_aggregate(r, KV_REPLY_ATTR, line, n, tb);
    default:
        return fail(r, KV_EPROTO, "protocol error: bad reply type byte 0x%02x",
                    (unsigned char)tb);
    }
}

/* Find the next CRLF-terminated line. Returns 1 with the line's bounds, 0
 * if it is not all there yet, < 0 if it is already too long. */
static int next_line(kv_reader *r, const char **line, size_t *n)
{
    const char *base = r->in.data;
    size_t start = r->in.off, end = r->in.len;
    char tb = base[start];
    size_t lmax = line_max(r, tb);
    if (r->scan < start + 1 || r->scan > end)
        r->scan = start + 1;
    const char *p = NULL;
    if (end > r->scan)
        p = memchr(base + r->scan, '\n', end - r->scan);
    while (p && (p == base + start + 1 || p[-1] != '\r'))
        p = (p + 1 < base + end) ? memchr(p + 1, '\n', (size_t)(base + end - (p + 1))) : NULL;
    if (p == NULL) {
        r->scan = end;
        /* start+1 .. end may still lose one byte, a '\r' awaiting '\n'. */
        if (end - start - 1 > lmax + 1)
            goto too_long;
        return 0;
    }
    *line = base + start + 1;
    *n = (size_t)(p - 1 - *line);
    if (*n > lmax)
        goto too_long;
    return 1;
too_long:
    if (tb == '+' || tb == '-' || tb == '(')
        return fail(r, KV_ETOOBIG, "reply too big: line after '%c' exceeds max_bulk %zu", tb,
                    lmax);
    return fail(r, KV_EPROTO, "protocol error: line after '%c' longer than %zu bytes", tb,
                lmax);
}

/* ---- API ---- */

void kv_reader_limits_init(kv_reader_limits *l)
{
    l->max_bulk = KV_DEFAULT_MAX_BULK;
    l->max_elements = KV_DEFAULT_MAX_ELEMENTS;
    l->max_depth = KV_DEFAULT_MAX_DEPTH;
    l->max_buffer = KV_DEFAULT_MAX_BUFFER;
}

kv_reader *kv_reader_new(const kv_reader_limits *limits)
{
    kv_reader *r = kvc_calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    kv_reader_limits_init(&r->lim);
    if (limits) {
        if (limits->max_bulk)
            r->lim.max_bulk = limits->max_bulk;
        if (limits->max_elements)
            r->lim.max_elements = limits->max_elements;
        if (limits->max_depth)
            r->lim.max_depth = limits->max_depth;
        if (limits->max_buffer)
            r->lim.max_buffer = limits->max_buffer;
    }
    r->stack_cap = 8;
    r->stack = kvc_calloc(r->stack_cap, sizeof *r->stack);
    if (r->stack == NULL) {
        free(r);
        return NULL;
    }
    r->depth = 1;
    return r;
}

void kv_reader_free(kv_reader *r)
{
    if (r == NULL)
        return;
    free_state(r);
    free(r->stack);
    kvc_buf_free(&r->in);
    free(r);
}

int kv_reader_feed(kv_reader *r, const void *buf, size_t len)
{
    if (r->err)
        return r->err;
    if (len == 0)
        return 0;
    size_t held = kvc_buf_avail(&r->in);
    if (len > r->lim.max_buffer || held > r->lim.max_buffer - len)
        return fail(r, KV_ETOOBIG, "reply too big: %zu unconsumed input bytes exceed max_buffer %zu",
                    held + len, r->lim.max_buffer);
    /* Keep the CRLF scan position relative to the unconsumed bytes. */
    size_t scan_rel = r->scan > r->in.off ? r->scan - r->in.off : 0;
    if (scan_rel > held)
        scan_rel = held;
    if (kvc_buf_append(&r->in, buf, len) < 0)
        return fail(r, KV_ENOMEM, "out of memory");
    r->scan = r->in.off + scan_rel;
    return 0;
}

int kv_reader_get(kv_reader *r, kv_reply **reply)
{
    *reply = NULL;
    if (r->err)
        return r->err;
    int rc = 0;
    while (r->done == NULL) {
        if (r->bulk) {
            rc = take_bulk(r);
            if (rc <= 0)
                break;
            kv_reply *v = r->bulk;
            r->bulk = NULL;
            if ((rc = complete(r, v)) < 0)
                break;
            continue;
        }
        if (kvc_buf_avail(&r->in) == 0)
            break;
        char tb = r->in.data[r->in.off];
        if (memchr("+-:,#_($=!*%~>|", tb, 15) == NULL) {
            rc = fail(r, KV_EPROTO, "protocol error: bad reply type byte 0x%02x",
                      (unsigned char)tb);
            break;
        }
        const char *line = NULL;
        size_t n = 0;
        rc = next_line(r, &line, &n);
        if (rc <= 0)
            break;
        size_t used = n + 3;
        rc = process_line(r, tb, line, n);
        if (rc < 0)
            break;
        kvc_buf_consume(&r->in, used);
        r->scan = r->in.off;
    }
    if (rc < 0) {
        free_state(r);
        kvc_buf_free(&r->in);
        r->scan = 0;
        return rc;
    }
    *reply = r->done;
    r->done = NULL;
    return 0;
}

const char *kv_reader_errmsg(const kv_reader *r)
{
    return r->err ? r->errmsg : "";
}
