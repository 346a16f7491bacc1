/* client_evict.c — maxmemory-clients, Redis 7.0's client eviction.
 *
 * Every client's memory (its structure plus the capacity of its query,
 * output and message buffers) is measured when its input has been handled
 * and on every clients cron tick; server.clients_mem is the sum of those
 * measurements. Once it passes the limit (bytes, or a percentage of
 * maxmemory), the clients using the most memory are closed, largest first,
 * until the rest fit — never one with CLIENT NO-EVICT on, whose memory
 * is not in the sum either (Redis's clientEvictionAllowed). Replication
 * links are not clients here, so they are never evicted, as in Redis.
 * Each eviction is logged and counted (INFO stats evicted_clients). */
#include "server.h"

#include "log.h"
#include "mem.h"

/* Each subscription: its node in the client's dict and its place in the
 * channel's member array (the name is the channel's, shared). */
#define PS_SUB_COST 64

size_t client_memory(const client *c)
{
    size_t subs = 0;
    for (int k = 0; k < PS_KINDS; k++)
        subs += ps_sub_count(&c->ps, k);
    /* Its buffers, and what Redis's getClientMemoryUsage also counts: the
     * MULTI queue, watched keys, subscriptions, tracking prefixes. */
    return kv_usable((void *)c) + c->query.cap + c->out.cap + c->sending.cap + c->ps_later.cap +
           c->mq_mem + c->watch_mem + subs * PS_SUB_COST + c->trk_pfx_mem;
}

void client_mem_update(client *c)
{
    if (c->flags & CL_CLOSING)
        return;
    /* A Redis replica is not a normal client (sync_stream_memory); a client
     * with CLIENT NO-EVICT on is left out of the sum, as Redis leaves it out
     * of its eviction buckets: it cannot make others go. */
    size_t m = c->sync || (c->flags & CL_NO_EVICT) ? 0 : client_memory(c);
    server *s = c->srv;
    s->clients_mem = s->clients_mem - c->mem_counted + m;
    c->mem_counted = m;
}

void client_mem_forget(client *c)
{
    c->srv->clients_mem -= c->mem_counted;
    c->mem_counted = 0;
}

size_t clients_mem_limit(const server *s)
{
    long long v = s->cfg.maxmemory_clients;
    if (v > 0)
        return (size_t)v;
    if (v < 0 && s->cfg.maxmemory)
        return (size_t)((long double)s->cfg.maxmemory * (long double)-v / 100.0L);
    return 0;
}

int clients_evict(server *s, client *cur)
{
    size_t limit = clients_mem_limit(s);
    if (!limit || s->clients_mem <= limit)
        return 0;
    int closed_cur = 0;
    while (s->clients_mem > limit) {
        client *victim = NULL;
        for (client *c = s->clients; c; c = c->next)
            if (!(c->flags & (CL_CLOSING | CL_NO_EVICT)) &&
                (!victim || c->mem_counted > victim->mem_counted))
                victim = c;
        if (!victim)
            break;
        kbuf b = KBUF_INIT;
        client_describe(victim, &b);
        log_notice("Evicting client: %.*s", (int)kbuf_len(&b), kbuf_data(&b));
        kbuf_free(&b);
        s->stats.evicted_clients++;
        if (victim == cur)
            closed_cur = 1;
        client_close(victim); /* takes its share out of clients_mem */
    }
    return closed_cur;
}
