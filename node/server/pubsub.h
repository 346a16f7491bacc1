/* pubsub.h — the Pub/Sub registry: which subscriber listens to which
 * channel, pattern or shard channel, seen from both sides (a channel's
 * subscribers for PUBLISH, a subscriber's channels for UNSUBSCRIBE and
 * its counts).
 *
 * Pure bookkeeping, like Redis's server.pubsub_channels / pubsub_patterns /
 * pubsubshard_channels and client->pubsub_* dicts: no sockets, no replies,
 * no clients. A subscriber is a ps_sub the caller embeds in its own object
 * (owner points back at it). Names are binary-safe byte strings.
 *
 * Ownership: the registry allocates one node per distinct name and one per
 * (subscriber, name) pair; both are freed when the last reference goes.
 * A subscriber must be emptied (ps_unsubscribe_all for every kind) before
 * its memory goes away. Every operation is O(1) in the number of other
 * subscribers (a subscription knows its slot in the channel's array),
 * except ps_publish's pattern scan, which, as Redis's, matches every
 * subscribed pattern against the channel. */
#ifndef KV_PUBSUB_H
#define KV_PUBSUB_H

#include "dict.h"

#include <stddef.h>

/* Kinds of subscription: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE. */
enum { PS_CHANNEL = 0, PS_PATTERN = 1, PS_SHARD = 2, PS_KINDS = 3 };

typedef struct ps_registry {
    dict names[PS_KINDS]; /* name -> ps_chan (its subscribers) */
} ps_registry;

typedef struct ps_sub {
    dict names[PS_KINDS]; /* name -> ps_member (this subscriber's subscriptions) */
    void *owner;
} ps_sub;

void ps_registry_init(ps_registry *r);
/* Free every node; subscribers still holding subscriptions are left with
 * dangling state, so empty them first (or never use them again). */
void ps_registry_free(ps_registry *r);

void ps_sub_init(ps_sub *s, void *owner);

/* Add a subscription: 1 if new, 0 if s already had it. */
int ps_subscribe(ps_registry *r, ps_sub *s, int kind, const char *name, size_t len);
/* Remove one: 1 if s had it, 0 if not. */
int ps_unsubscribe(ps_registry *r, ps_sub *s, int kind, const char *name, size_t len);
/* Remove every subscription of a kind; fn (may be NULL) sees each name
 * once it has left s (ps_sub_count no longer counts it) while its bytes
 * are still valid. fn must not change the registry.
 * Returns how many were removed. */
size_t ps_unsubscribe_all(ps_registry *r, ps_sub *s, int kind,
                          void (*fn)(void *arg, const char *name, size_t len), void *arg);

/* Each subscription of s of a kind, until fn returns non-zero (which is
 * then returned; 0 when every one was seen). fn must not change s. */
int ps_sub_each(ps_sub *s, int kind, int (*fn)(void *arg, const char *name, size_t len),
                void *arg);
/* Subscriptions of s of a kind. */
size_t ps_sub_count(const ps_sub *s, int kind);
/* Distinct names with at least one subscriber (INFO pubsub_channels …,
 * PUBSUB NUMPAT). */
size_t ps_count(const ps_registry *r, int kind);
/* Subscribers of one name (PUBSUB NUMSUB / SHARDNUMSUB). */
size_t ps_numsub(ps_registry *r, int kind, const char *name, size_t len);
/* Every name of a kind, or those matching a glob pattern (pat NULL: all),
 * in no particular order (PUBSUB CHANNELS / SHARDCHANNELS). fn must not
 * change the registry. */
void ps_list(ps_registry *r, int kind, const char *pat, size_t plen,
             void (*fn)(void *arg, const char *name, size_t len), void *arg);

/* A message on a channel reaches: every subscriber of the channel (pat
 * NULL), then, unless shard, every subscriber of every pattern matching it
 * (pat set to that pattern). fn is called once per (subscriber, match),
 * as Redis counts receivers, and must not change the registry. Returns
 * the number of calls. */
typedef void (*ps_deliver_fn)(void *arg, ps_sub *s, const char *pat, size_t plen);
long ps_publish(ps_registry *r, int shard, const char *channel, size_t len, ps_deliver_fn fn,
                void *arg);

#endif
