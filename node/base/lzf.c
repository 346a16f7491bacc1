/* lzf.c — LZF compression and decompression (see lzf.h).
 *
 * The compressor walks the input keeping, for each 3-byte hash, the last
 * position that had it (positions, not pointers: slot 0 means "none", and
 * position 0 is never used as a reference, as in liblzf where a reference
 * must lie strictly after the start). A match needs a reference within the
 * last 8192 bytes whose 3 bytes equal the current ones (it may end the
 * input); it is extended up to 264 bytes. That is liblzf 3.6, the library
 * Debian's redis-server 7.0.15 links (Redis's bundled copy also wants 5
 * bytes of input left, so its output can differ in the last bytes; both
 * decompress the same). After a match, the
 * two positions before the match's end are hashed (VERY_FAST), then the
 * scan goes on after it. Literal runs hold at most 32 bytes. */
#include "lzf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

#define HLOG 16
#define HSIZE (1u << HLOG)
#define MAX_LIT 32
#define MAX_OFF 8192
#define MAX_REF 264

static inline uint32_t first(const unsigned char *p)
{
    return ((uint32_t)p[0] << 8) | p[1];
}

static inline uint32_t next(uint32_t v, const unsigned char *p)
{
    return (v << 8) | p[2];
}

static inline uint32_t idx(uint32_t h)
{
    return ((h >> (3 * 8 - HLOG)) - h * 5) & (HSIZE - 1);
}

/* The hash table, per thread, all zeros between calls: a call empties
 * again the slots it wrote (listed while they are few, else the whole
 * table), so that a short string does not pay for clearing 256 KiB — what
 * a fresh table per call cost DUMP, RESTORE's checks and the RDB of a
 * full sync. Every call still starts from an empty table, so the output
 * depends on the input alone. */
#define TOUCH_MAX 512
static _Thread_local uint32_t htab_tls[HSIZE];

size_t lzf_compress(const void *in_data, size_t in_len, void *out_data, size_t out_len)
{
    const unsigned char *in = in_data;
    unsigned char *out = out_data;
    if (!in_len || !out_len)
        return 0;
    /* Slot values are position + 1; 0 is empty. */
    uint32_t *htab = htab_tls;
    uint32_t touched[TOUCH_MAX];
    size_t ntouched = 0;
    int clear_all = in_len > TOUCH_MAX; /* at most one slot written per input byte */
    size_t ip = 0, op = 0;
    size_t lit = 0;
    size_t result = 0;

    op++; /* start a literal run: its control byte is filled in later */
    uint32_t hval = in_len >= 2 ? first(in) : 0;
    while (in_len >= 3 && ip < in_len - 2) {
        hval = next(hval, in + ip);
        uint32_t *slot = &htab[idx(hval)];
        if (!clear_all)
            touched[ntouched++] = idx(hval);
        size_t ref_plus1 = *slot;
        *slot = (uint32_t)(ip + 1);
        size_t ref = ref_plus1 - 1;
        if (ref_plus1 > 1 /* a position > 0 */ && ref < ip && ip - ref - 1 < MAX_OFF &&
            in[ref] == in[ip] && in[ref + 1] == in[ip + 1] && in[ref + 2] == in[ip + 2]) {
            size_t off = ip - ref - 1;
            size_t len = 2;
            size_t maxlen = in_len - ip - len;
            if (maxlen > MAX_REF)
                maxlen = MAX_REF;

            out[op - lit - 1] = (unsigned char)(lit - 1); /* stop the literal run */
            op -= !lit;                                   /* or undo an empty one */
            if (op + 3 + 1 >= out_len)
                goto done;

            /* liblzf first compares 16 bytes unrolled when more than 16
             * may match (which can run past maxlen by up to 2), then goes
             * on one byte at a time up to maxlen. */
            int stopped = 0;
            if (maxlen > 16) {
                for (int k = 0; k < 16; k++) {
                    len++;
                    if (in[ref + len] != in[ip + len]) {
                        stopped = 1;
                        break;
                    }
                }
            }
            if (!stopped) {
                do
                    len++;
                while (len < maxlen && in[ref + len] == in[ip + len]);
            }

            len -= 2; /* now the match length - 1 */
            ip++;
            if (len < 7) {
                out[op++] = (unsigned char)((off >> 8) + (len << 5));
            } else {
                out[op++] = (unsigned char)((off >> 8) + (7 << 5));
                out[op++] = (unsigned char)(len - 7);
            }
            out[op++] = (unsigned char)off;
            lit = 0;
            op++; /* start a literal run */
            ip += len + 1;
            if (ip >= in_len - 2)
                break;
            /* Hash the two positions just before the new one. */
            ip -= 2;
            hval = first(in + ip);
            hval = next(hval, in + ip);
            htab[idx(hval)] = (uint32_t)(ip + 1);
            if (!clear_all)
                touched[ntouched++] = idx(hval);
            ip++;
            hval = next(hval, in + ip);
            htab[idx(hval)] = (uint32_t)(ip + 1);
            if (!clear_all)
                touched[ntouched++] = idx(hval);
            ip++;
        } else {
            if (op >= out_len)
                goto done;
            lit++;
            out[op++] = in[ip++];
            if (lit == MAX_LIT) {
                out[op - lit - 1] = (unsigned char)(lit - 1);
                lit = 0;
                op++;
            }
        }
    }
    if (op + 3 > out_len) /* at most 3 bytes can be missing here */
        goto done;
    while (ip < in_len) {
        lit++;
        out[op++] = in[ip++];
        if (lit == MAX_LIT) {
            out[op - lit - 1] = (unsigned char)(lit - 1);
            lit = 0;
            op++;
        }
    }
    out[op - lit - 1] = (unsigned char)(lit - 1); /* end the run */
    op -= !lit;
    result = op;
done:
    if (clear_all)
        memset(htab, 0, sizeof htab_tls);
    else
        for (size_t i = 0; i < ntouched; i++)
            htab[touched[i]] = 0;
    return result;
}

size_t lzf_decompress(const void *in_data, size_t in_len, void *out_data, size_t out_len)
{
    const unsigned char *in = in_data;
    unsigned char *out = out_data;
    size_t ip = 0, op = 0;
    while (ip < in_len) {
        unsigned ctrl = in[ip++];
        if (ctrl < (1 << 5)) {
            size_t n = ctrl + 1;
            if (op + n > out_len || ip + n > in_len)
                return 0;
            memcpy(out + op, in + ip, n);
            op += n;
            ip += n;
        } else {
            size_t len = ctrl >> 5;
            if (len == 7) {
                if (ip >= in_len)
                    return 0;
                len += in[ip++];
            }
            if (ip >= in_len)
                return 0;
            size_t back = ((size_t)(ctrl & 0x1f) << 8) + in[ip++] + 1;
            len += 2;
            if (op + len > out_len || back > op)
                return 0;
            /* Byte by byte: the source may overlap what is being written. */
            for (size_t k = 0; k < len; k++, op++)
                out[op] = out[op - back];
        }
    }
    return op;
}
