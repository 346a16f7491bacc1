/* frame.c — see frame.h. */
#include "frame.h"

#include "crc32c.h"
#include "endian.h"

#include <stdio.h>
#include <string.h>



void frame_encode(const Kv__PeerMessage *m, kbuf *out)
{
    size_t n = kv__peer_message__get_packed_size(m);
    kbuf_reserve(out, FRAME_HDR + n);
    uint8_t *p = (uint8_t *)kbuf_tail(out);
    kv__peer_message__pack(m, p + FRAME_HDR);
    le_put32(p, (uint32_t)n);
    le_put32(p + 4, crc32c(0, p + FRAME_HDR, n));
    kbuf_commit(out, FRAME_HDR + n);
}

void frame_reader_init(frame_reader *r, size_t max)
{
    memset(r, 0, sizeof *r);
    r->max = max ? max : FRAME_MAX_DEFAULT;
}

void frame_reader_free(frame_reader *r)
{
    kbuf_free(&r->in);
}

void frame_reader_feed(frame_reader *r, const void *p, size_t n)
{
    kbuf_append(&r->in, p, n);
}

size_t frame_reader_pending(const frame_reader *r)
{
    return kbuf_len(&r->in);
}

int frame_next(frame_reader *r, Kv__PeerMessage **msg)
{
    *msg = NULL;
    size_t have = kbuf_len(&r->in);
    if (have < FRAME_HDR)
        return 0;
    const uint8_t *p = (const uint8_t *)kbuf_data(&r->in);
    uint32_t n = le_get32(p);
    if (n > r->max) {
        snprintf(r->err, sizeof r->err, "frame of %u bytes exceeds the limit of %zu", n, r->max);
        return -1;
    }
    if (have < FRAME_HDR + n)
        return 0;
    if (crc32c(0, p + FRAME_HDR, n) != le_get32(p + 4)) {
        snprintf(r->err, sizeof r->err, "frame checksum mismatch");
        return -1;
    }
    Kv__PeerMessage *m = kv__peer_message__unpack(NULL, n, p + FRAME_HDR);
    kbuf_consume(&r->in, FRAME_HDR + n);
    if (!m) {
        snprintf(r->err, sizeof r->err, "frame payload is not a valid PeerMessage");
        return -1;
    }
    if (m->msg_case == KV__PEER_MESSAGE__MSG__NOT_SET) {
        kv__peer_message__free_unpacked(m, NULL);
        snprintf(r->err, sizeof r->err, "frame carries no message");
        return -1;
    }
    *msg = m;
    return 1;
}
