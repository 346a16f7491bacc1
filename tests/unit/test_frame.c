/* test_frame.c — peer frames and the HMAC that authenticates peers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "crc32c.h"
#include "hmac.h"

/* ---- Helpers ---- */

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

/* A heartbeat: an Append with no records. */
static Kv__PeerMessage *heartbeat(uint64_t term, uint64_t commit)
{
    static Kv__Append hb;
    static Kv__PeerMessage m;
    kv__append__init(&hb);
    hb.term = term;
    hb.commit_lsn = commit;
    kv__peer_message__init(&m);
    m.msg_case = KV__PEER_MESSAGE__MSG_APPEND;
    m.append = &hb;
    return &m;
}

/* ---- Tests ---- */

/* SHA-256 and HMAC-SHA256 match FIPS 180-4 and RFC 4231 vectors. */
static void test_sha256_hmac_vectors(void **state)
{
    (void)state;
    uint8_t d[32];
    char h[65];
    sha256("abc", 3, d);
    hex(d, 32, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256("", 0, d);
    hex(d, 32, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256(m, strlen(m), d);
    hex(d, 32, h);
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* RFC 4231 test case 2: key "Jefe", data split across both parts. */
    hmac_sha256("Jefe", 4, "what do ya want ", 16, "for nothing?", 12, d);
    hex(d, 32, h);
    assert_string_equal(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* RFC 4231 test case 6: a 131-byte key is hashed first. */
    uint8_t key[131];
    memset(key, 0xaa, sizeof key);
    const char *data = "Test Using Larger Than Block-Size Key - Hash Key First";
    hmac_sha256(key, sizeof key, data, strlen(data), NULL, 0, d);
    hex(d, 32, h);
    assert_string_equal(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    uint8_t e[32];
    memcpy(e, d, 32);
    assert_true(hmac_equal(d, e));
    e[31] ^= 1;
    assert_false(hmac_equal(d, e));
}

/* Frames round-trip whole and split at every byte. */
static void test_frame_roundtrip_every_split(void **state)
{
    (void)state;
    kbuf out = KBUF_INIT;
    frame_encode(heartbeat(7, 42), &out);
    frame_encode(heartbeat(8, 43), &out);
    size_t total = kbuf_len(&out);
    for (size_t cut = 0; cut <= total; cut++) {
        frame_reader r;
        frame_reader_init(&r, 0);
        Kv__PeerMessage *msg;
        frame_reader_feed(&r, kbuf_data(&out), cut);
        int got = 0;
        while (frame_next(&r, &msg) == 1) {
            assert_int_equal(msg->append->term, 7 + got);
            kv__peer_message__free_unpacked(msg, NULL);
            got++;
        }
        frame_reader_feed(&r, kbuf_data(&out) + cut, total - cut);
        while (frame_next(&r, &msg) == 1) {
            assert_int_equal(msg->append->commit_lsn, 42 + got);
            kv__peer_message__free_unpacked(msg, NULL);
            got++;
        }
        assert_int_equal(got, 2);
        assert_int_equal(frame_reader_pending(&r), 0);
        frame_reader_free(&r);
    }
    kbuf_free(&out);
}

/* Oversized, corrupted and meaningless frames are refused with a reason,
 * and an oversized one before any of its payload arrives. */
static void test_bad_frames(void **state)
{
    (void)state;
    frame_reader r;
    Kv__PeerMessage *msg;
    /* A header announcing 1 GiB: refused at once. */
    frame_reader_init(&r, 1 << 20);
    uint8_t big[8] = {0, 0, 0, 0x40, 0, 0, 0, 0};
    frame_reader_feed(&r, big, sizeof big);
    assert_int_equal(frame_next(&r, &msg), -1);
    assert_non_null(strstr(r.err, "exceeds"));
    frame_reader_free(&r);
    /* Every single-bit flip of a valid frame is caught (length flips may
     * just make it incomplete, or too big). */
    kbuf out = KBUF_INIT;
    frame_encode(heartbeat(3, 9), &out);
    size_t n = kbuf_len(&out);
    for (size_t bit = 0; bit < n * 8; bit++) {
        uint8_t buf[64];
        memcpy(buf, kbuf_data(&out), n);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        frame_reader_init(&r, 1 << 20);
        frame_reader_feed(&r, buf, n);
        int rc = frame_next(&r, &msg);
        assert_true(rc <= 0);
        frame_reader_free(&r);
    }
    kbuf_free(&out);
    /* A valid CRC over bytes that are not a PeerMessage, and an empty one. */
    uint8_t junk[8 + 3] = {3, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff};
    uint32_t c = crc32c(0, junk + 8, 3);
    memcpy(junk + 4, &c, 4);
    frame_reader_init(&r, 0);
    frame_reader_feed(&r, junk, sizeof junk);
    assert_int_equal(frame_next(&r, &msg), -1);
    frame_reader_free(&r);
    uint8_t empty[8] = {0};
    frame_reader_init(&r, 0);
    frame_reader_feed(&r, empty, sizeof empty);
    assert_int_equal(frame_next(&r, &msg), -1);
    assert_non_null(strstr(r.err, "no message"));
    frame_reader_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_hmac_vectors),
        cmocka_unit_test(test_frame_roundtrip_every_split),
        cmocka_unit_test(test_bad_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
