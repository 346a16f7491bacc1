/* fuzz_resp.c — libFuzzer harness for the request parser (node/resp/resp.c).
 *
 * Input: byte 0 seeds how the stream is cut into reads, byte 1 picks the
 * limits, the rest is the byte stream a client sends. The stream is fed as
 * a connection would (append to a kbuf, parse until RESP_NEED, consume),
 * once in pieces and once whole, and these must hold:
 *  - nothing is read outside the buffer (ASan), consumed <= buffered;
 *  - a multibulk argument lies inside the bytes its request consumed, and
 *    the lengths of any request's arguments sum to at most those bytes;
 *  - every request re-encoded as multibulk parses back to the same
 *    arguments, consuming exactly the encoding;
 *  - both feedings give the same requests and the same outcome, except
 *    that a "too big" error (which depends on arrival, as in Redis) may
 *    come earlier: then the requests before it are a prefix of the other's;
 *  - work stays linear: at most two units per call and per byte. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- Helpers ---- */

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                    \
        }                                                                               \
    } while (0)

/* What one feeding produced: every request, length-prefixed, and how it
 * ended. */
typedef struct run {
    kbuf log;
    size_t cmds;
    size_t prefix_end[256]; /* log length after each of the first requests */
    int failed;
    int too_big;
    char err[80];
} run;

static void check_reencode(int argc, const char *const *argv, const size_t *lens)
{
    kbuf enc = KBUF_INIT;
    kbuf_printf(&enc, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        kbuf_printf(&enc, "$%zu\r\n", lens[i]);
        kbuf_append(&enc, argv[i], lens[i]);
        kbuf_append(&enc, "\r\n", 2);
    }
    resp_parser *p = resp_parser_new(NULL);
    size_t used;
    CHECK(resp_parse(p, kbuf_data(&enc), kbuf_len(&enc), &used) == RESP_CMD);
    CHECK(used == kbuf_len(&enc));
    CHECK(resp_argc(p) == argc);
    CHECK(resp_is_inline(p) == 0);
    for (int i = 0; i < argc; i++) {
        size_t n;
        const char *a = resp_arg(p, kbuf_data(&enc), i, &n);
        CHECK(n == lens[i]);
        CHECK(n == 0 || memcmp(a, argv[i], n) == 0);
    }
    CHECK(resp_parse(p, kbuf_data(&enc) + used, 0, &used) == RESP_NEED);
    resp_parser_free(p);
    kbuf_free(&enc);
}

static void record(run *r, resp_parser *p, const char *buf, size_t used)
{
    const size_t *lens;
    const char *const *argv = resp_argv(p, buf, &lens);
    int argc = resp_argc(p);
    CHECK(argc >= 1);
    size_t sum = 0;
    for (int i = 0; i < argc; i++) {
        sum += lens[i];
        if (!resp_is_inline(p))
            CHECK(argv[i] >= buf && argv[i] + lens[i] <= buf + used);
    }
    CHECK(sum <= used);
    check_reencode(argc, argv, lens);
    kbuf_append_u64(&r->log, (uint64_t)argc);
    for (int i = 0; i < argc; i++) {
        kbuf_putc(&r->log, ':');
        kbuf_append_u64(&r->log, lens[i]);
        kbuf_putc(&r->log, ':');
        kbuf_append(&r->log, argv[i], lens[i]);
    }
    kbuf_putc(&r->log, ';');
    if (r->cmds < sizeof r->prefix_end / sizeof r->prefix_end[0])
        r->prefix_end[r->cmds] = kbuf_len(&r->log);
    r->cmds++;
}

/* Feed `in` to a fresh parser in pieces from a small PRNG (seed 0: whole). */
static void feed(run *r, const uint8_t *in, size_t n, unsigned seed, const resp_limits *lim,
                 int unauth)
{
    resp_parser *p = resp_parser_new(lim);
    resp_parser_set_unauth(p, unauth);
    kbuf q = KBUF_INIT;
    uint32_t x = seed * 2654435761u + 1;
    uint64_t calls = 0;
    size_t at = 0;
    while (at < n && !r->failed) {
        size_t piece = n - at;
        if (seed) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            size_t cap = (x & 3) == 0 ? 1 : (x & 3) == 1 ? 7 : 64;
            piece = 1 + (x >> 8) % cap;
            if (piece > n - at)
                piece = n - at;
        }
        kbuf_append(&q, in + at, piece);
        at += piece;
        for (;;) {
            /* A fresh allocation of exactly the pending bytes per call: any
             * read past them is caught, and the buffer moves every time. */
            size_t used, len = kbuf_len(&q);
            char *exact = malloc(len ? len : 1);
            if (len)
                memcpy(exact, kbuf_data(&q), len);
            int rc = resp_parse(p, exact, len, &used);
            calls++;
            CHECK(used <= len);
            if (rc == RESP_CMD)
                record(r, p, exact, used);
            free(exact);
            if (rc == RESP_CMD) {
                kbuf_consume(&q, used);
            } else if (rc == RESP_NEED) {
                kbuf_consume(&q, used);
                break;
            } else {
                CHECK(rc == RESP_ERR);
                r->failed = 1;
                snprintf(r->err, sizeof r->err, "%s", resp_error(p));
                r->too_big = strstr(r->err, "too big") != NULL;
                CHECK(strncmp(r->err, "Protocol error: ", 16) == 0);
                break;
            }
        }
    }
    CHECK(resp_parser_work(p) <= 2 * calls + 2 * (uint64_t)n + 16);
    kbuf_free(&q);
    resp_parser_free(p);
}

static size_t log_upto(const run *r, size_t k)
{
    return k == 0 ? 0 : r->prefix_end[k - 1];
}

/* ---- Harness ---- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned seed = data[0] ? data[0] : 1;
    uint8_t lsel = data[1];
    const uint8_t *in = data + 2;
    size_t n = size - 2;

    resp_limits lim;
    resp_limits_default(&lim);
    if (lsel & 0x80) {
        lim.max_inline = 4 + (lsel & 0x1f);
        lim.max_bulk_len = (lsel & 0x20) ? 5 : 1000;
        lim.max_multibulk_len = (lsel & 0x40) ? 3 : 1000;
    }
    int unauth = (lsel & 0x03) == 0x03;

    run a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    feed(&a, in, n, seed, &lim, unauth);
    feed(&b, in, n, 0, &lim, unauth);

    if (!a.too_big && !b.too_big) {
        CHECK(a.failed == b.failed);
        CHECK(strcmp(a.err, b.err) == 0);
        CHECK(a.cmds == b.cmds);
        CHECK(kbuf_len(&a.log) == kbuf_len(&b.log));
        CHECK(kbuf_len(&a.log) == 0 ||
              memcmp(kbuf_data(&a.log), kbuf_data(&b.log), kbuf_len(&a.log)) == 0);
    } else {
        /* The feeding that failed early returned a prefix of the other's. */
        const run *s = a.cmds <= b.cmds ? &a : &b;
        const run *l = s == &a ? &b : &a;
        CHECK(s->too_big || s->cmds == l->cmds);
        size_t k = s->cmds < 256 ? s->cmds : 256;
        size_t m = log_upto(s, k);
        CHECK(m == log_upto(l, k));
        CHECK(m == 0 || memcmp(kbuf_data(&s->log), kbuf_data(&l->log), m) == 0);
    }
    kbuf_free(&a.log);
    kbuf_free(&b.log);
    return 0;
}
