/* cmd_sort.c — SORT and SORT_RO, as Redis 7.0's sort.c.
 *
 * SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC]
 *      [ALPHA] [STORE destination]
 *
 * Options are parsed first (LIMIT's integers, then "syntax error"; SORT_RO
 * knows no STORE), then the key must be a list, set or sorted set
 * (WRONGTYPE; a missing key sorts as an empty list). A BY pattern without
 * '*' means "do not sort": lists and sorted sets keep their order (DESC
 * reverses it, LIMIT takes the range directly), sets come in their own
 * order — except with STORE, where the set is sorted ALPHA so the stored
 * list does not depend on it. As Redis, SORT converts a listpack sorted set
 * to a skiplist.
 *
 * Patterns (lookupKeyByPattern): "#" is the element itself; otherwise the
 * first '*' (in the pattern read as a C string) is replaced by the element
 * and the key read: a string, or with "->field" after the '*' a hash's
 * field. Anything else is missing: NULL for GET, weight 0 (or "less than
 * everything" under ALPHA) for BY.
 *
 * Numeric sorting reads weights with strtod on the C string: trailing
 * bytes, a NaN or an out-of-range value make the whole command answer
 * "One or more scores can't be converted into double" (after sorting, so
 * even with STORE nothing is stored). Equal weights order elements by
 * their bytes. ALPHA compares bytes: as C strings (strcoll in the C
 * locale) when replying, whole (memcmp, then length) with STORE. Sorting
 * is stable (glibc's qsort is a merge sort), so elements with equal ALPHA
 * weights keep their order; Redis sorts BY + LIMIT with a partial
 * quicksort instead, whose order among equal weights can differ.
 *
 * STORE replaces the destination with a list (any type and TTL goes; an
 * empty result deletes it) and answers its length. Logged effect: "DEL
 * dest" when it existed, then "RPUSH dest <elements>" — the result itself,
 * so replay does not depend on set iteration order or on which weight keys
 * had expired. Events: "new" when created, "sortstore"; "del" when an
 * empty result deleted it. */
#include "cmd.h"

#include "mem.h"
#include "reply.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct sort_item {
    char *s; /* the element (kv_memdup: NUL-terminated) */
    size_t n;
    double score;
    char *cmp; /* ALPHA + BY: the weight (NULL: missing) */
    size_t cmplen;
} sort_item;

typedef struct sort_spec {
    int desc, alpha, bypattern, store;
} sort_spec;

/* Redis's lookupKeyByPattern. Returns 1 and a view of the value, or 0. */
static int lookup_pattern(cmd_ctx *c, const char *pat, size_t plen, const char *sub, size_t slen,
                          const char **v, size_t *vlen)
{
    if (plen >= 1 && pat[0] == '#' && (plen == 1 || pat[1] == '\0')) {
        *v = sub;
        *vlen = slen;
        return 1;
    }
    size_t clen = strnlen(pat, plen); /* strchr stops at a NUL */
    const char *star = memchr(pat, '*', clen);
    if (!star)
        return 0;
    /* strstr(star + 1, "->") on the C string, with something after it. */
    const char *field = NULL;
    size_t fieldlen = 0;
    for (const char *q = star + 1; q + 1 < pat + clen; q++) {
        if (q[0] == '-' && q[1] == '>') {
            if (q + 2 < pat + clen) {
                field = q + 2;
                fieldlen = plen - (size_t)(field - pat);
            }
            break;
        }
    }
    size_t prefix = (size_t)(star - pat);
    size_t postfix = plen - prefix - 1 - (field ? fieldlen + 2 : 0);
    size_t klen = prefix + slen + postfix;
    char stackbuf[256];
    char *key = klen <= sizeof stackbuf ? stackbuf : kv_malloc(klen);
    memcpy(key, pat, prefix);
    memcpy(key + prefix, sub, slen);
    memcpy(key + prefix + slen, star + 1, postfix);
    kobj *o = db_read(c, key, klen);
    if (key != stackbuf)
        kv_free(key);
    if (!o)
        return 0;
    if (field) {
        if (kobj_type(o) != KT_HASH)
            return 0;
        return hash_get(kobj_hash(o), field, fieldlen, v, vlen) ? 1 : 0;
    }
    if (kobj_type(o) != KT_STRING)
        return 0;
    *v = kobj_str(o, vlen);
    return 1;
}

/* Redis's compareStringObjects (binary) and strcoll in the C locale. */
static int cmp_binary(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t min = alen < blen ? alen : blen;
    int r = memcmp(a, b, min);
    if (r)
        return r;
    return alen < blen ? -1 : alen > blen;
}

static int cmp_coll(const char *a, const char *b)
{
    return strcmp(a, b);
}

static int sort_cmp(const sort_item *x, const sort_item *y, const sort_spec *sp)
{
    int r;
    if (!sp->alpha) {
        if (x->score > y->score)
            r = 1;
        else if (x->score < y->score)
            r = -1;
        else
            r = cmp_binary(x->s, x->n, y->s, y->n);
    } else if (sp->bypattern) {
        if (!x->cmp || !y->cmp)
            r = x->cmp == y->cmp ? 0 : !x->cmp ? -1 : 1;
        else
            r = sp->store ? cmp_binary(x->cmp, x->cmplen, y->cmp, y->cmplen)
                          : cmp_coll(x->cmp, y->cmp);
    } else {
        r = sp->store ? cmp_binary(x->s, x->n, y->s, y->n) : cmp_coll(x->s, y->s);
    }
    return sp->desc ? -r : r;
}

/* Stable merge sort of v[0..n) using tmp[0..n). */
static void merge_sort(sort_item *v, sort_item *tmp, size_t n, const sort_spec *sp)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(v, tmp, h, sp);
    merge_sort(v + h, tmp, n - h, sp);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = sort_cmp(&v[j], &v[i], sp) < 0 ? v[j++] : v[i++];
    while (i < h)
        tmp[k++] = v[i++];
    /* The rest of the right half is already in place. */
    memcpy(v, tmp, k * sizeof *v);
}

/* strtod on the C string, with Redis's checks. */
static int parse_weight(const char *s, size_t n, double *out)
{
    char stackbuf[128];
    char *buf = n < sizeof stackbuf ? stackbuf : kv_malloc(n + 1);
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    int ok = end[0] == '\0' && errno != ERANGE && !isnan(d);
    if (buf != stackbuf)
        kv_free(buf);
    *out = d;
    return ok;
}

static void item_add(sort_item *v, size_t *j, const char *s, size_t n)
{
    v[*j].s = kv_memdup(s, n);
    v[*j].n = n;
    v[*j].score = 0;
    v[*j].cmp = NULL;
    v[*j].cmplen = 0;
    (*j)++;
}

/* The result of a STORE: replace dest (argument i) with the list l (taken),
 * or delete it when l is empty; log the effect. */
static void sort_store(cmd_ctx *c, int i, kv_list *l)
{
    const char *key = c->argv[i];
    size_t klen = c->lens[i];
    int existed = db_write(c, key, klen) != NULL;
    size_t n = list_len(l);
    if (existed) {
        ks_delete(c->k, key, klen);
        db_modified(c, key, klen);
        const char *argv[2] = {"DEL", key};
        size_t lens[2] = {3, klen};
        cmd_propagate(c, 2, argv, lens);
    }
    if (!n) {
        list_free(l);
        if (existed)
            cmd_notify(c, NOTIFY_GENERIC, "del", key, klen);
        return;
    }
    const char **argv = kv_malloc((n + 2) * sizeof *argv);
    size_t *lens = kv_malloc((n + 2) * sizeof *lens);
    argv[0] = "RPUSH";
    lens[0] = 5;
    argv[1] = key;
    lens[1] = klen;
    for (size_t k = 0; k < n; k++)
        list_get(l, k, &argv[k + 2], &lens[k + 2]);
    cmd_propagate(c, (int)(n + 2), argv, lens);
    kv_free(argv);
    kv_free(lens);
    ks_add_list_value(c->k, key, klen, l);
    db_modified(c, key, klen);
    if (!existed)
        cmd_notify_new(c, key, klen);
    cmd_notify(c, NOTIFY_LIST, "sortstore", key, klen);
}

static void sort_generic(cmd_ctx *c, int readonly)
{
    sort_spec sp = {0, 0, 0, 0};
    long long limit_start = 0, limit_count = -1;
    int dontsort = 0, store = 0, by = 0;
    int *gets = kv_malloc((size_t)c->argc * sizeof *gets);
    int ngets = 0;
    int full_access = !c->env->full_read_access ||
                      c->env->full_read_access(c->env->full_read_access_arg, c);
    for (int j = 2; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (arg_is_c(c, j, "asc")) {
            sp.desc = 0;
        } else if (arg_is_c(c, j, "desc")) {
            sp.desc = 1;
        } else if (arg_is_c(c, j, "alpha")) {
            sp.alpha = 1;
        } else if (arg_is_c(c, j, "limit") && left >= 2) {
            if (arg_ll(c, j + 1, &limit_start) < 0 || arg_ll(c, j + 2, &limit_count) < 0) {
                kv_free(gets);
                return;
            }
            j += 2;
        } else if (!readonly && arg_is_c(c, j, "store") && left >= 1) {
            store = j + 1;
            j++;
        } else if (arg_is_c(c, j, "by") && left >= 1) {
            by = j + 1;
            dontsort = memchr(c->argv[by], '*', strnlen(c->argv[by], c->lens[by])) == NULL;
            if (!dontsort && !full_access) {
                reply_error(&c->r,
                            "ERR BY option of SORT denied due to insufficient ACL permissions.");
                kv_free(gets);
                return;
            }
            j++;
        } else if (arg_is_c(c, j, "get") && left >= 1) {
            if (!full_access) {
                reply_error(&c->r,
                            "ERR GET option of SORT denied due to insufficient ACL permissions.");
                kv_free(gets);
                return;
            }
            gets[ngets++] = j + 1;
            j++;
        } else {
            reply_err_syntax(&c->r);
            kv_free(gets);
            return;
        }
    }

    kobj *o = db_read(c, c->argv[1], c->lens[1]);
    int type = o ? kobj_type(o) : KT_LIST;
    if (o && type != KT_LIST && type != KT_SET && type != KT_ZSET) {
        reply_err_wrongtype(&c->r);
        kv_free(gets);
        return;
    }
    /* A set sorted by nothing comes out in ALPHA order when stored or called
     * from a script, so that replicas and the WAL see the same result. */
    if (dontsort && type == KT_SET && (store || c->in_script)) {
        dontsort = 0;
        sp.alpha = 1;
        by = 0;
    }
    if (o && type == KT_ZSET)
        zset_convert_to_skiplist(kobj_zset(o));

    long vectorlen = 0;
    if (o)
        vectorlen = (long)(type == KT_LIST  ? list_len(kobj_list(o))
                           : type == KT_SET ? set_len(kobj_set(o))
                                            : zset_len(kobj_zset(o)));
    long start = limit_start < 0 ? 0 : limit_start > vectorlen ? vectorlen : (long)limit_start;
    long count = limit_count < -1 ? -1 : limit_count > vectorlen ? vectorlen : (long)limit_count;
    long end = count < 0 ? vectorlen - 1 : start + count - 1;
    if (start >= vectorlen) {
        start = vectorlen - 1;
        end = vectorlen - 2;
    }
    if (end >= vectorlen)
        end = vectorlen - 1;
    if ((type == KT_ZSET || type == KT_LIST) && dontsort && (start != 0 || end != vectorlen - 1))
        vectorlen = end - start + 1;

    sort_item *v = kv_malloc((size_t)(vectorlen > 0 ? vectorlen : 1) * sizeof *v);
    size_t j = 0;
    if (o && (type == KT_LIST || type == KT_ZSET) && dontsort) {
        /* Directly the range [start, end], from the tail under DESC. */
        if (end >= start) {
            size_t len = type == KT_LIST ? list_len(kobj_list(o)) : zset_len(kobj_zset(o));
            size_t first = sp.desc ? len - (size_t)start - 1 : (size_t)start;
            if (type == KT_LIST) {
                kv_list *l = kobj_list(o);
                for (long k = 0; k < vectorlen; k++) {
                    const char *p;
                    size_t n;
                    list_get(l, sp.desc ? first - (size_t)k : first + (size_t)k, &p, &n);
                    item_add(v, &j, p, n);
                }
            } else {
                zset_iter it;
                zset_iter_init(&it, kobj_zset(o), first, sp.desc);
                const char *m;
                size_t n;
                double score;
                for (long k = 0; k < vectorlen && zset_iter_next(&it, &m, &n, &score); k++)
                    item_add(v, &j, m, n);
            }
            end -= start;
            start = 0;
        }
    } else if (o && type == KT_LIST) {
        kv_list *l = kobj_list(o);
        for (long k = 0; k < vectorlen; k++) {
            const char *p;
            size_t n;
            list_get(l, (size_t)k, &p, &n);
            item_add(v, &j, p, n);
        }
    } else if (o && type == KT_SET) {
        set_iter it;
        const char *m;
        size_t n;
        set_iter_init(&it, kobj_set(o));
        while (set_iter_next(&it, &m, &n))
            item_add(v, &j, m, n);
        set_iter_done(&it);
    } else if (o) {
        zset_iter it;
        zset_iter_init(&it, kobj_zset(o), 0, 0);
        const char *m;
        size_t n;
        double score;
        while (zset_iter_next(&it, &m, &n, &score))
            item_add(v, &j, m, n);
    }

    int conversion_error = 0;
    if (!dontsort) {
        for (size_t k = 0; k < j; k++) {
            const char *w = v[k].s;
            size_t wl = v[k].n;
            if (by && !lookup_pattern(c, c->argv[by], c->lens[by], v[k].s, v[k].n, &w, &wl))
                continue;
            if (sp.alpha) {
                if (by) {
                    v[k].cmp = kv_memdup(w, wl);
                    v[k].cmplen = wl;
                }
            } else if (!parse_weight(w, wl, &v[k].score)) {
                conversion_error = 1;
            }
        }
        sp.bypattern = by != 0;
        sp.store = store != 0;
        sort_item *tmp = kv_malloc((j ? j : 1) * sizeof *tmp);
        merge_sort(v, tmp, j, &sp);
        kv_free(tmp);
    }

    long outputlen = ngets ? ngets * (end - start + 1) : end - start + 1;
    if (conversion_error) {
        reply_error(&c->r, "ERR One or more scores can't be converted into double");
    } else if (!store) {
        reply_array(&c->r, outputlen);
        for (long k = start; k <= end; k++) {
            if (!ngets)
                reply_bulk(&c->r, v[k].s, v[k].n);
            for (int g = 0; g < ngets; g++) {
                const char *val;
                size_t vl;
                if (lookup_pattern(c, c->argv[gets[g]], c->lens[gets[g]], v[k].s, v[k].n, &val,
                                   &vl))
                    reply_bulk(&c->r, val, vl);
                else
                    reply_null(&c->r);
            }
        }
    } else {
        kv_list *l = list_new();
        for (long k = start; k <= end; k++) {
            if (!ngets)
                list_push(l, LIST_TAIL, v[k].s, v[k].n);
            for (int g = 0; g < ngets; g++) {
                const char *val;
                size_t vl;
                if (!lookup_pattern(c, c->argv[gets[g]], c->lens[gets[g]], v[k].s, v[k].n, &val,
                                    &vl))
                    val = "", vl = 0;
                list_push(l, LIST_TAIL, val, vl);
            }
        }
        sort_store(c, store, l);
        reply_int(&c->r, outputlen);
    }

    for (size_t k = 0; k < j; k++) {
        kv_free(v[k].s);
        kv_free(v[k].cmp);
    }
    kv_free(v);
    kv_free(gets);
}

static void cmd_sort(cmd_ctx *c)
{
    sort_generic(c, 0);
}

static void cmd_sort_ro(cmd_ctx *c)
{
    sort_generic(c, 1);
}

const kv_command cmds_sort[] = {
    {"sort", cmd_sort, -2, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "generic",
     "Sort the elements in a list, set or sorted set", "1.0.0",
     "@write @set @sortedset @list @slow @dangerous"},
    {"sort_ro", cmd_sort_ro, -2, CMD_READONLY, 1, 1, 1, "generic",
     "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", "7.0.0",
     "@read @set @sortedset @list @slow @dangerous"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
