/* slowlog.c — the slow log: the newest slowlog-max-len commands that took
 * longer than slowlog-log-slower-than microseconds, as Redis keeps it. */
#include "server.h"

#include "mem.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define SLOWLOG_MAX_ARGC 32
#define SLOWLOG_MAX_ARGLEN 128

static void free_entry(slowlog_entry *e)
{
    for (int i = 0; i < e->argc; i++)
        kv_free(e->argv[i]);
    kv_free(e->argv);
    kv_free(e->lens);
    memset(e, 0, sizeof *e);
}

void slowlog_push(server *s, client *cl, int argc, const char *const *argv,
                  const size_t *lens, int64_t duration_us)
{
    size_t max = (size_t)s->cfg.slowlog_max_len;
    if (!max) {
        /* Redis adds the entry then trims to the (now zero) length. */
        slowlog_reset(s);
        return;
    }
    if (s->slowlog_cap != max) {
        /* (Re)size the ring to slowlog-max-len, keeping the newest. */
        slowlog_entry *ring = kv_calloc(max, sizeof *ring);
        size_t keep = s->slowlog_len < max ? s->slowlog_len : max;
        for (size_t i = 0; i < s->slowlog_len; i++) {
            slowlog_entry *old = &s->slowlog[(s->slowlog_head + i) % s->slowlog_cap];
            if (i < s->slowlog_len - keep)
                free_entry(old);
            else
                ring[i - (s->slowlog_len - keep)] = *old;
        }
        kv_free(s->slowlog);
        s->slowlog = ring;
        s->slowlog_len = keep;
        s->slowlog_head = 0;
        s->slowlog_cap = max;
    }
    slowlog_entry *e;
    if (s->slowlog_len < s->slowlog_cap) {
        e = &s->slowlog[(s->slowlog_head + s->slowlog_len) % s->slowlog_cap];
        s->slowlog_len++;
    } else {
        e = &s->slowlog[s->slowlog_head];
        free_entry(e);
        s->slowlog_head = (s->slowlog_head + 1) % s->slowlog_cap;
    }
    e->id = s->slowlog_next_id++;
    e->time = (int64_t)time(NULL);
    e->duration_us = duration_us;
    e->orig_argc = argc;
    int n = argc > SLOWLOG_MAX_ARGC ? SLOWLOG_MAX_ARGC : argc;
    e->argc = n;
    e->argv = kv_malloc((size_t)n * sizeof *e->argv);
    e->lens = kv_malloc((size_t)n * sizeof *e->lens);
    char *red = kv_calloc((size_t)argc + 1, 1);
    const kv_command *cmd = argc ? command_lookup(argv[0], lens[0]) : NULL;
    if (cmd)
        command_redact(cmd, argc, argv, lens, red);
    for (int i = 0; i < n; i++) {
        char buf[SLOWLOG_MAX_ARGLEN + 64];
        size_t l = lens[i];
        if (red[i] && !(i == n - 1 && argc > n)) {
            e->argv[i] = kv_memdup("(redacted)", 10);
            e->lens[i] = 10;
            continue;
        }
        if (i == n - 1 && argc > n) {
            l = (size_t)snprintf(buf, sizeof buf, "... (%d more arguments)", argc - n + 1);
            e->argv[i] = kv_memdup(buf, l);
        } else if (l > SLOWLOG_MAX_ARGLEN) {
            memcpy(buf, argv[i], SLOWLOG_MAX_ARGLEN);
            l = SLOWLOG_MAX_ARGLEN + (size_t)snprintf(buf + SLOWLOG_MAX_ARGLEN, 64,
                                                      "... (%zu more bytes)",
                                                      lens[i] - SLOWLOG_MAX_ARGLEN);
            e->argv[i] = kv_memdup(buf, l);
        } else {
            e->argv[i] = kv_memdup(argv[i], l);
        }
        e->lens[i] = l;
    }
    kv_free(red);
    snprintf(e->addr, sizeof e->addr, "%s", cl ? cl->addr : "");
    snprintf(e->name, sizeof e->name, "%s", cl && cl->name ? cl->name : "");
}

void slowlog_reset(server *s)
{
    for (size_t i = 0; i < s->slowlog_len; i++)
        free_entry(&s->slowlog[(s->slowlog_head + i) % s->slowlog_cap]);
    s->slowlog_len = 0;
    s->slowlog_head = 0;
}

void slowlog_free(server *s)
{
    if (s->slowlog)
        slowlog_reset(s);
    kv_free(s->slowlog);
    s->slowlog = NULL;
    s->slowlog_cap = 0;
}

const slowlog_entry *slowlog_get(const server *s, size_t i)
{
    /* i = 0 is the newest */
    if (i >= s->slowlog_len)
        return NULL;
    return &s->slowlog[(s->slowlog_head + s->slowlog_len - 1 - i) % s->slowlog_cap];
}
