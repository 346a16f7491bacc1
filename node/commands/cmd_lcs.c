/* cmd_lcs.c — LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN],
 * as Redis 7.0.15's lcsCommand (t_string.c).
 *
 * Order of checks: both keys are read, a non-string is "The specified keys
 * must contain string values" (before any option); then the options
 * (MINMATCHLEN's integer, a negative one counting as 0, else "syntax
 * error"); LEN with IDX is refused; then the dynamic-programming table of
 * (len1 + 1) x (len2 + 1) 32-bit cells must fit in proto-max-bulk-len and
 * in memory. A missing key is the empty string.
 *
 * Replies: the LCS string; with LEN its length; with IDX a map (RESP2: a
 * flat array) "matches" -> ranges from the end of the strings backward,
 * each [[start1, end1], [start2, end2]] (plus the match length with
 * WITHMATCHLEN), only those at least MINMATCHLEN long, then "len" -> the
 * LCS length. The walk back through the table prefers moving in the second
 * string on ties, as Redis does, so the same ranges come out. Read only:
 * nothing is logged. */
#include "cmd.h"

#include "reply.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void cmd_lcs(cmd_ctx *c)
{
    kobj *oa = db_read(c, c->argv[1], c->lens[1]);
    kobj *ob = db_read(c, c->argv[2], c->lens[2]);
    if ((oa && kobj_type(oa) != KT_STRING) || (ob && kobj_type(ob) != KT_STRING)) {
        reply_error(&c->r, "ERR The specified keys must contain string values");
        return;
    }
    int getlen = 0, getidx = 0, withmatchlen = 0;
    long long minmatchlen = 0;
    for (int j = 3; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is_c(c, j, "IDX")) {
            getidx = 1;
        } else if (arg_is_c(c, j, "LEN")) {
            getlen = 1;
        } else if (arg_is_c(c, j, "WITHMATCHLEN")) {
            withmatchlen = 1;
        } else if (arg_is_c(c, j, "MINMATCHLEN") && more) {
            if (arg_ll(c, j + 1, &minmatchlen) < 0)
                return;
            if (minmatchlen < 0)
                minmatchlen = 0;
            j++;
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    if (getlen && getidx) {
        reply_error(&c->r, "ERR If you want both the length and indexes, please just use IDX.");
        return;
    }
    size_t la = 0, lb = 0;
    const char *a = oa ? kobj_str(oa, &la) : "";
    const char *b = ob ? kobj_str(ob, &lb) : "";
    if (la >= UINT32_MAX - 1 || lb >= UINT32_MAX - 1) {
        reply_error(&c->r, "ERR String too long for LCS");
        return;
    }
    uint32_t alen = (uint32_t)la, blen = (uint32_t)lb;
    unsigned long long cells = (unsigned long long)(alen + 1) * (blen + 1);
    unsigned long long bytes = cells * sizeof(uint32_t);
    uint32_t *lcs = NULL;
    if (bytes < SIZE_MAX && bytes / cells == sizeof(uint32_t)) {
        if (bytes > (unsigned long long)c->env->proto_max_bulk_len) {
            reply_error(&c->r, "ERR Insufficient memory, transient memory for LCS exceeds "
                               "proto-max-bulk-len");
            return;
        }
        /* Transient and possibly large: a failed allocation is an error
         * reply, as Redis's ztrymalloc, not an abort. */
        lcs = malloc((size_t)bytes);
    }
    if (!lcs) {
        reply_error(&c->r, "ERR Insufficient memory, failed allocating transient memory for LCS");
        return;
    }
#define LCS(i, j) lcs[(size_t)(j) + (size_t)(i) * ((size_t)blen + 1)]
    for (uint32_t i = 0; i <= alen; i++) {
        for (uint32_t j = 0; j <= blen; j++) {
            if (i == 0 || j == 0)
                LCS(i, j) = 0;
            else if (a[i - 1] == b[j - 1])
                LCS(i, j) = LCS(i - 1, j - 1) + 1;
            else {
                uint32_t l1 = LCS(i - 1, j), l2 = LCS(i, j - 1);
                LCS(i, j) = l1 > l2 ? l1 : l2;
            }
        }
    }
    uint32_t total = LCS(alen, blen);
    uint32_t idx = total;
    int compute = getidx || !getlen;
    char *result = compute ? malloc(total ? total : 1) : NULL;
    uint32_t astart = alen, aend = 0, bstart = 0, bend = 0; /* astart == alen: no range */
    reply_deferred d = 0;
    long ranges = 0;
    if (getidx) {
        reply_map(&c->r, 2);
        reply_bulk_cstr(&c->r, "matches");
        d = reply_defer(&c->r);
    }
    uint32_t i = alen, j = blen;
    while (compute && i > 0 && j > 0) {
        int emit = 0;
        if (a[i - 1] == b[j - 1]) {
            result[idx - 1] = a[i - 1];
            if (astart == alen) {
                astart = aend = i - 1;
                bstart = bend = j - 1;
            } else if (astart == i && bstart == j) {
                astart--;
                bstart--;
            } else {
                emit = 1;
            }
            if (astart == 0 || bstart == 0)
                emit = 1;
            idx--;
            i--;
            j--;
        } else {
            if (LCS(i - 1, j) > LCS(i, j - 1))
                i--;
            else
                j--;
            if (astart != alen)
                emit = 1;
        }
        uint32_t matchlen = aend - astart + 1;
        if (emit) {
            if (getidx && (minmatchlen == 0 || matchlen >= minmatchlen)) {
                reply_array(&c->r, 2 + withmatchlen);
                reply_array(&c->r, 2);
                reply_int(&c->r, astart);
                reply_int(&c->r, aend);
                reply_array(&c->r, 2);
                reply_int(&c->r, bstart);
                reply_int(&c->r, bend);
                if (withmatchlen)
                    reply_int(&c->r, matchlen);
                ranges++;
            }
            astart = alen;
        }
    }
#undef LCS
    if (getidx) {
        reply_set_array_len(&c->r, d, ranges);
        reply_bulk_cstr(&c->r, "len");
        reply_int(&c->r, total);
    } else if (getlen) {
        reply_int(&c->r, total);
    } else {
        reply_bulk(&c->r, result, total);
    }
    free(result);
    free(lcs);
}

const kv_command cmds_lcs[] = {
    {"lcs", cmd_lcs, -3, CMD_READONLY, 1, 2, 1, "string", "Find longest common substring",
     "7.0.0", "@read @string @slow"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
