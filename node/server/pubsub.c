/* pubsub.c — the Pub/Sub registry (see pubsub.h).
 *
 * Two kinds of node:
 *
 *   ps_chan    one per distinct (kind, name), in registry->names[kind];
 *              holds its subscribers as an array of ps_member pointers.
 *   ps_member  one per (subscriber, kind, name), in sub->names[kind];
 *              knows its channel and its index in the channel's array,
 *              so removing it is a swap with the last element.
 *
 * A ps_member's key is its channel's name (no second copy). A ps_chan is
 * freed when its last member goes, so an idle registry holds nothing —
 * PUBSUB CHANNELS never lists a channel nobody listens to. */
#include "pubsub.h"

#include "cmd.h" /* kv_match */
#include "mem.h"

#include <string.h>

typedef struct ps_member ps_member;

typedef struct ps_chan {
    dict_node dn;
    ps_member **members;
    size_t n, cap;
    size_t len;
    char name[];
} ps_chan;

struct ps_member {
    dict_node dn;
    ps_sub *sub;
    ps_chan *ch;
    size_t idx; /* in ch->members */
};

static void chan_key(const dict_node *n, const void **key, size_t *len)
{
    const ps_chan *c = (const ps_chan *)n;
    *key = c->name;
    *len = c->len;
}

static void member_key(const dict_node *n, const void **key, size_t *len)
{
    const ps_member *m = (const ps_member *)n;
    *key = m->ch->name;
    *len = m->ch->len;
}

static const dict_type chan_type = {chan_key};
static const dict_type member_type = {member_key};

void ps_registry_init(ps_registry *r)
{
    for (int k = 0; k < PS_KINDS; k++)
        dict_init(&r->names[k], &chan_type);
}

static void free_chan(dict_node *n, void *arg)
{
    (void)arg;
    ps_chan *c = (ps_chan *)n;
    for (size_t i = 0; i < c->n; i++)
        kv_free(c->members[i]);
    kv_free(c->members);
    kv_free(c);
}

void ps_registry_free(ps_registry *r)
{
    for (int k = 0; k < PS_KINDS; k++)
        dict_clear(&r->names[k], free_chan, NULL);
}

void ps_sub_init(ps_sub *s, void *owner)
{
    for (int k = 0; k < PS_KINDS; k++)
        dict_init(&s->names[k], &member_type);
    s->owner = owner;
}

int ps_subscribe(ps_registry *r, ps_sub *s, int kind, const char *name, size_t len)
{
    if (dict_find(&s->names[kind], name, len))
        return 0;
    ps_chan *c = (ps_chan *)dict_find(&r->names[kind], name, len);
    if (!c) {
        c = kv_calloc(1, sizeof *c + len + 1);
        c->len = len;
        memcpy(c->name, name, len);
        dict_add(&r->names[kind], &c->dn);
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4;
        c->members = kv_realloc(c->members, c->cap * sizeof *c->members);
    }
    ps_member *m = kv_calloc(1, sizeof *m);
    m->sub = s;
    m->ch = c;
    m->idx = c->n;
    c->members[c->n++] = m;
    dict_add(&s->names[kind], &m->dn);
    return 1;
}

/* Take m out of its channel (freeing the channel if it was the last) and
 * free m. m must already be out of its subscriber's dict. */
static void member_drop(ps_registry *r, int kind, ps_member *m)
{
    ps_chan *c = m->ch;
    ps_member *last = c->members[--c->n];
    c->members[m->idx] = last;
    last->idx = m->idx;
    kv_free(m);
    if (!c->n) {
        dict_remove(&r->names[kind], c->name, c->len);
        kv_free(c->members);
        kv_free(c);
    }
}

int ps_unsubscribe(ps_registry *r, ps_sub *s, int kind, const char *name, size_t len)
{
    ps_member *m = (ps_member *)dict_remove(&s->names[kind], name, len);
    if (!m)
        return 0;
    member_drop(r, kind, m);
    if (!dict_size(&s->names[kind]))
        dict_clear(&s->names[kind], NULL, NULL); /* its table too */
    return 1;
}

size_t ps_unsubscribe_all(ps_registry *r, ps_sub *s, int kind,
                          void (*fn)(void *arg, const char *name, size_t len), void *arg)
{
    size_t n = 0;
    dict *d = &s->names[kind];
    dict_iter it;
    dict_iter_init(&it, d);
    for (dict_node *dn; (dn = dict_iter_next(&it));) {
        ps_member *m = (ps_member *)dn;
        dict_remove(d, m->ch->name, m->ch->len);
        if (fn)
            fn(arg, m->ch->name, m->ch->len);
        member_drop(r, kind, m);
        n++;
    }
    dict_iter_done(&it);
    /* Give the emptied table back. */
    dict_clear(d, NULL, NULL);
    return n;
}

int ps_sub_each(ps_sub *s, int kind, int (*fn)(void *arg, const char *name, size_t len),
                void *arg)
{
    dict_iter it;
    dict_iter_init(&it, &s->names[kind]);
    dict_node *n;
    int stop = 0;
    while (!stop && (n = dict_iter_next(&it))) {
        const ps_member *m = (const ps_member *)n;
        stop = fn(arg, m->ch->name, m->ch->len);
    }
    dict_iter_done(&it);
    return stop;
}

size_t ps_sub_count(const ps_sub *s, int kind)
{
    return dict_size(&s->names[kind]);
}

size_t ps_count(const ps_registry *r, int kind)
{
    return dict_size(&r->names[kind]);
}

size_t ps_numsub(ps_registry *r, int kind, const char *name, size_t len)
{
    ps_chan *c = (ps_chan *)dict_find(&r->names[kind], name, len);
    return c ? c->n : 0;
}

void ps_list(ps_registry *r, int kind, const char *pat, size_t plen,
             void (*fn)(void *arg, const char *name, size_t len), void *arg)
{
    dict_iter it;
    dict_iter_init(&it, &r->names[kind]);
    for (dict_node *dn; (dn = dict_iter_next(&it));) {
        ps_chan *c = (ps_chan *)dn;
        if (!pat || kv_match(pat, plen, c->name, c->len, 0))
            fn(arg, c->name, c->len);
    }
    dict_iter_done(&it);
}

long ps_publish(ps_registry *r, int shard, const char *channel, size_t len, ps_deliver_fn fn,
                void *arg)
{
    long receivers = 0;
    ps_chan *c = (ps_chan *)dict_find(&r->names[shard ? PS_SHARD : PS_CHANNEL], channel, len);
    if (c) {
        for (size_t i = 0; i < c->n; i++, receivers++)
            fn(arg, c->members[i]->sub, NULL, 0);
    }
    if (shard || !dict_size(&r->names[PS_PATTERN]))
        return receivers;
    dict_iter it;
    dict_iter_init(&it, &r->names[PS_PATTERN]);
    for (dict_node *dn; (dn = dict_iter_next(&it));) {
        ps_chan *p = (ps_chan *)dn;
        if (!kv_match(p->name, p->len, channel, len, 0))
            continue;
        for (size_t i = 0; i < p->n; i++, receivers++)
            fn(arg, p->members[i]->sub, p->name, p->len);
    }
    dict_iter_done(&it);
    return receivers;
}
