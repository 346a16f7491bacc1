/* keyspecs.c — looking up and applying Redis 7.0's key specifications
 * (see keyspecs.h; the table itself is keyspecs_table.c). */
#include "keyspecs.h"

#include "buf.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

int name_table_find(const void *table, int n, size_t stride, const char *name)
{
    char low[128];
    size_t len = strlen(name);
    if (len >= sizeof low)
        return -1;
    for (size_t i = 0; i <= len; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const char *at = *(const char *const *)((const char *)table + (size_t)mid * stride);
        int c = strcmp(at, low);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

const keyspec_cmd *keyspec_find(const char *name)
{
    int i = name_table_find(keyspec_cmds, keyspec_ncmds, sizeof *keyspec_cmds, name);
    return i < 0 ? NULL : &keyspec_cmds[i];
}

void keyspec_reply_flags(reply *r, unsigned flags)
{
    static const char *const names[] = {"RO",     "RW",     "OW",      "RM",
                                        "access", "update", "insert",  "delete",
                                        "not_key", "incomplete", "variable_flags"};
    long n = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        n += (flags >> i) & 1u;
    reply_set(r, n);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if ((flags >> i) & 1u)
            reply_simple(r, names[i]);
}

/* The argument a keyword spec starts after: searched forwards from
 * startfrom to the end, or backwards from argc + startfrom to 1; 0 when
 * the keyword is not there. */
static int keyword_begin(const key_spec *s, int argc, const char *const *argv,
                         const size_t *lens)
{
    size_t kl = strlen(s->bs_keyword);
    int fwd = s->bs_startfrom > 0;
    int i = fwd ? s->bs_startfrom : argc + s->bs_startfrom;
    for (; fwd ? i < argc : i >= 1; i += fwd ? 1 : -1) {
        if (i < 1 || i >= argc)
            break;
        if (lens[i] == kl && !strncasecmp(argv[i], s->bs_keyword, kl))
            return i + 1;
    }
    return 0;
}

int keyspec_keys(const keyspec_cmd *kc, int argc, const char *const *argv, const size_t *lens,
                 int *pos, unsigned *flags, int max)
{
    int n = 0;
    for (int j = 0; j < kc->n; j++) {
        const key_spec *s = &kc->specs[j];
        if (s->flags & KSF_NOT_KEY)
            continue;
        int first, last, step;
        if (s->bs_type == KSB_INDEX) {
            first = s->bs_index;
        } else if (s->bs_type == KSB_KEYWORD) {
            first = keyword_begin(s, argc, argv, lens);
            if (!first)
                continue; /* no keyword: this spec finds nothing */
        } else {
            return -1;
        }
        if (s->fk_type == KSK_RANGE) {
            step = s->fk_b;
            if (s->fk_a >= 0)
                last = first + s->fk_a;
            else if (!s->fk_c)
                last = argc + s->fk_a;
            else
                last = first + ((argc - first) / s->fk_c + s->fk_a);
        } else if (s->fk_type == KSK_KEYNUM) {
            step = s->fk_c;
            int at = first + s->fk_a;
            long long k;
            if (at >= argc || !kv_string2ll(argv[at], lens[at], &k) || k < 0 || k > argc)
                return -1;
            first += s->fk_b;
            last = first + (int)k - 1;
        } else {
            return -1;
        }
        if (last >= argc || last < first || first >= argc)
            return -1;
        for (int i = first; i <= last; i += step > 0 ? step : 1) {
            if (n == max)
                return -1;
            pos[n] = i;
            flags[n] = s->flags;
            n++;
        }
        if (s->flags & KSF_INCOMPLETE)
            return -1;
    }
    return n;
}
