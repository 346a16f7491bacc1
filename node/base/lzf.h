/* lzf.h — the LZF compression format (liblzf 3.6, as Redis uses it for
 * strings in RDB files and DUMP payloads).
 *
 * Format: a sequence of runs, each starting with a control byte:
 *   000LLLLL <L+1 literal bytes>           L+1 in 1..32
 *   LLLooooo oooooooo                      back reference, length L+2 (L 1..6)
 *   111ooooo LLLLLLLL oooooooo             back reference, length L+9
 * where the offset is ((ooooo << 8) | oooooooo) + 1 bytes back from the
 * current output position.
 *
 * lzf_compress makes the same choices as Redis's lzf_c.c built with Redis's
 * settings (a 65536-slot hash table, VERY_FAST, no ULTRA_FAST), so a value
 * kvnode DUMPs compresses to the bytes redis-server would write. (Redis does
 * not clear its hash table between calls, so on rare inputs it may find an
 * extra back reference through a stale slot; its output then differs from
 * this one, and both decompress to the same bytes.) */
#ifndef KV_LZF_H
#define KV_LZF_H

#include <stddef.h>

/* Compress in_len bytes into at most out_len bytes of out. Returns the
 * compressed length, or 0 if the result does not fit (or in_len or out_len
 * is 0). Never writes past out + out_len. */
size_t lzf_compress(const void *in, size_t in_len, void *out, size_t out_len);
/* Decompress; returns the decompressed length, or 0 if the input is
 * malformed (a reference before the start of the output, a run past the
 * end of the input) or the output would not fit in out_len bytes. Never
 * reads or writes outside the two buffers. */
size_t lzf_decompress(const void *in, size_t in_len, void *out, size_t out_len);

#endif
