/* fuzz_frame.c — libFuzzer harness for the peer-port frame decoder: the
 * input is fed in pieces (sizes taken from its first byte) to a reader
 * bounded at 1 MiB; every decoded message is re-encoded and decoded again
 * and must give the same bytes. No crash, no leak, no unbounded growth. */
#include "frame.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    size_t piece = (size_t)(data[0] % 16) + 1;
    data++;
    size--;
    frame_reader r;
    frame_reader_init(&r, 1 << 20);
    size_t off = 0;
    int dead = 0;
    while (off < size && !dead) {
        size_t n = size - off < piece ? size - off : piece;
        frame_reader_feed(&r, data + off, n);
        off += n;
        Kv__PeerMessage *m;
        int rc;
        while ((rc = frame_next(&r, &m)) == 1) {
            kbuf a = KBUF_INIT, b = KBUF_INIT;
            frame_encode(m, &a);
            frame_reader r2;
            frame_reader_init(&r2, 0);
            frame_reader_feed(&r2, kbuf_data(&a), kbuf_len(&a));
            Kv__PeerMessage *m2;
            if (frame_next(&r2, &m2) != 1)
                abort();
            frame_encode(m2, &b);
            if (kbuf_len(&a) != kbuf_len(&b) || memcmp(kbuf_data(&a), kbuf_data(&b), kbuf_len(&a)))
                abort();
            kv__peer_message__free_unpacked(m2, NULL);
            kv__peer_message__free_unpacked(m, NULL);
            frame_reader_free(&r2);
            kbuf_free(&a);
            kbuf_free(&b);
        }
        if (rc < 0)
            dead = 1;
        /* The reader never holds more than one bounded frame plus a piece. */
        if (frame_reader_pending(&r) > (1u << 20) + 8 + 16)
            abort();
    }
    frame_reader_free(&r);
    return 0;
}
