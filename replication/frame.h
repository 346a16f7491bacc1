/* frame.h — peer-port framing: length-prefixed, CRC-checked protobuf.
 *
 * Frame: u32 little-endian payload length | u32 CRC32C(payload) | payload,
 * the payload being one packed kv.PeerMessage (proto/peer.proto). The
 * reader is pure (bytes in, messages out), bounded by a maximum frame size
 * that is checked before anything is buffered for the frame, so a hostile
 * peer cannot make a node allocate more than that per connection. */
#ifndef KV_FRAME_H
#define KV_FRAME_H

#include "buf.h"
#include "peer.pb-c.h"

#include <stddef.h>
#include <stdint.h>

#define FRAME_HDR 8u
#define FRAME_MAX_DEFAULT (64u << 20)

/* Append one frame holding m to out. */
void frame_encode(const Kv__PeerMessage *m, kbuf *out);

typedef struct frame_reader {
    kbuf in;          /* bytes received and not yet consumed */
    size_t max;       /* largest payload accepted */
    char err[160];    /* why the last frame_next failed */
} frame_reader;

void frame_reader_init(frame_reader *r, size_t max);
void frame_reader_free(frame_reader *r);
/* Feed received bytes. */
void frame_reader_feed(frame_reader *r, const void *p, size_t n);
/* Next message: 1 and *msg (free with kv__peer_message__free_unpacked(m,
 * NULL)), 0 when more bytes are needed, -1 on a bad frame (too big, CRC
 * mismatch, not a PeerMessage, no message set) with r->err set. After -1
 * the stream cannot be trusted: close the connection. */
int frame_next(frame_reader *r, Kv__PeerMessage **msg);
/* Bytes the reader would accept without further growth checks. */
size_t frame_reader_pending(const frame_reader *r);

#endif
