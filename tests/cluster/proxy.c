/* proxy.c — see proxy.h. One thread per proxy, a poll() loop over the
 * listener and every connection pair; bytes wait in per-direction queues of
 * chunks stamped with the time they may leave. */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FP_MAXCONN 64
#define FP_CHUNK 65536
#define FP_QUEUE_CAP (4u << 20) /* per direction: then stop reading */

typedef struct chunk {
    struct chunk *next;
    int64_t release_us;
    size_t len, off;
    char data[];
} chunk;

typedef struct pdir {
    chunk *head, *tail;
    size_t queued;
    int64_t last_release;
    int eof;      /* the source sent FIN */
    int shut;     /* FIN passed on to the destination */
} pdir;

typedef struct pconn {
    int fd[2]; /* 0: the peer (accepted), 1: the node (upstream) */
    int connecting;
    char from[32];
    pdir d[2]; /* d[i]: bytes read from fd[i], written to fd[1 - i] */
    int64_t stall_until;
    int64_t next_tick;
} pconn;

struct fr_proxy {
    pthread_t th;
    int started;
    char nspath[160];
    char ip[32];
    int lport, uport;
    uint64_t rng;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready; /* 1 listening, -1 failed */
    char err[200];
    atomic_int stop;
    fr_pfault fault; /* under mu */
    fr_pstats st;    /* under mu */
    int lfd;
    pconn *c[FP_MAXCONN];
    int nc;
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t prnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int prnd_in(uint64_t *s, int lo, int hi)
{
    return hi <= lo ? lo : lo + (int)(prnd(s) % (uint64_t)(hi - lo + 1));
}

static void dir_free(pdir *d)
{
    while (d->head) {
        chunk *n = d->head->next;
        free(d->head);
        d->head = n;
    }
    d->tail = NULL;
    d->queued = 0;
}

/* Close both sides; with RST when `reset` (SO_LINGER 0), as a lost
 * connection looks to its ends. */
static void conn_close(fr_proxy *p, int k, int reset)
{
    pconn *c = p->c[k];
    for (int i = 0; i < 2; i++) {
        if (c->fd[i] < 0)
            continue;
        if (reset) {
            struct linger lg = {1, 0};
            setsockopt(c->fd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(c->fd[i]);
        dir_free(&c->d[i]);
    }
    free(c);
    p->c[k] = p->c[--p->nc];
}

static int matches(const fr_pfault *f, const pconn *c)
{
    return f->mode != FP_NONE && (!f->from[0] || !strcmp(f->from, c->from));
}

static void do_accept(fr_proxy *p)
{
    for (;;) {
        struct sockaddr_in sa;
        socklen_t len = sizeof sa;
        int fd = accept4(p->lfd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (p->nc == FP_MAXCONN) {
            close(fd);
            continue;
        }
        int up = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (up < 0) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->uport)};
        inet_pton(AF_INET, p->ip, &to.sin_addr);
        int rc = connect(up, (struct sockaddr *)&to, sizeof to);
        if (rc < 0 && errno != EINPROGRESS) {
            close(fd);
            close(up);
            continue;
        }
        pconn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            close(up);
            continue;
        }
        c->fd[0] = fd;
        c->fd[1] = up;
        c->connecting = rc < 0;
        inet_ntop(AF_INET, &sa.sin_addr, c->from, sizeof c->from);
        c->next_tick = mono_us() + 100000;
        p->c[p->nc++] = c;
        pthread_mutex_lock(&p->mu);
        p->st.accepted++;
        pthread_mutex_unlock(&p->mu);
    }
}

/* Read what fd[i] has into d[i]. -1: the connection is over (error). */
static int pump_in(fr_proxy *p, pconn *c, int i, const fr_pfault *f, int64_t now)
{
    pdir *d = &c->d[i];
    while (!d->eof && d->queued < FP_QUEUE_CAP) {
        chunk *ch = malloc(sizeof *ch + FP_CHUNK);
        if (!ch)
            return -1;
        ssize_t n = read(c->fd[i], ch->data, FP_CHUNK);
        if (n < 0) {
            free(ch);
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        }
        if (n == 0) {
            free(ch);
            d->eof = 1;
            return 0;
        }
        int64_t rel = now;
        int delayed = matches(f, c) && f->mode == FP_DELAY;
        if (delayed)
            rel = now + (int64_t)prnd_in(&p->rng, f->lo_ms, f->hi_ms) * 1000;
        if (rel < d->last_release)
            rel = d->last_release; /* never overtake */
        d->last_release = rel;
        ch->next = NULL;
        ch->len = (size_t)n;
        ch->off = 0;
        ch->release_us = rel;
        if (d->tail)
            d->tail->next = ch;
        else
            d->head = ch;
        d->tail = ch;
        d->queued += (size_t)n;
        pthread_mutex_lock(&p->mu);
        p->st.bytes += n;
        if (delayed)
            p->st.delayed_bytes += n;
        pthread_mutex_unlock(&p->mu);
        if ((size_t)n < FP_CHUNK)
            return 0;
    }
    return 0;
}

/* Write what is due from d[i] to fd[1 - i]. -1: over. */
static int pump_out(pconn *c, int i, int64_t now)
{
    pdir *d = &c->d[i];
    int out = c->fd[1 - i];
    while (d->head && d->head->release_us <= now) {
        chunk *ch = d->head;
        ssize_t n = write(out, ch->data + ch->off, ch->len - ch->off);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        ch->off += (size_t)n;
        d->queued -= (size_t)n;
        if (ch->off < ch->len)
            return 0;
        d->head = ch->next;
        if (!d->head)
            d->tail = NULL;
        free(ch);
    }
    if (!d->head && d->eof && !d->shut) {
        shutdown(out, SHUT_WR);
        d->shut = 1;
    }
    return 0;
}

static void *proxy_main(void *arg)
{
    fr_proxy *p = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    int nsfd = open(p->nspath, O_RDONLY | O_CLOEXEC);
    int ok = nsfd >= 0 && setns(nsfd, CLONE_NEWNET) == 0;
    if (nsfd >= 0)
        close(nsfd);
    if (ok) {
        p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->lport)};
        inet_pton(AF_INET, p->ip, &sa.sin_addr);
        ok = p->lfd >= 0 &&
             setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
             bind(p->lfd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(p->lfd, 64) == 0;
    }
    pthread_mutex_lock(&p->mu);
    if (!ok)
        snprintf(p->err, sizeof p->err, "proxy %s:%d in %s: %s", p->ip, p->lport, p->nspath,
                 strerror(errno));
    p->ready = ok ? 1 : -1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (!ok)
        return NULL;

    struct pollfd pf[1 + 2 * FP_MAXCONN];
    while (!p->stop) {
        fr_pfault f;
        pthread_mutex_lock(&p->mu);
        f = p->fault;
        pthread_mutex_unlock(&p->mu);
        int64_t now = mono_us();
        int64_t wake = now + 10000;
        /* Loss: stalls and resets, drawn every 100 ms per connection. */
        for (int k = 0; k < p->nc; k++) {
            pconn *c = p->c[k];
            if (now < c->next_tick)
                continue;
            c->next_tick = now + 100000;
            if (!matches(&f, c) || f.mode != FP_LOSS || c->connecting)
                continue;
            if ((int)(prnd(&p->rng) % 1000) < f.reset_pct) { /* per mille per tick */
                conn_close(p, k--, 1);
                pthread_mutex_lock(&p->mu);
                p->st.resets++;
                pthread_mutex_unlock(&p->mu);
                continue;
            }
            if (c->stall_until <= now && (int)(prnd(&p->rng) % 100) < f.stall_pct) {
                c->stall_until = now + (int64_t)prnd_in(&p->rng, 100, 1500) * 1000;
                pthread_mutex_lock(&p->mu);
                p->st.stalls++;
                pthread_mutex_unlock(&p->mu);
            }
        }
        int n = 0;
        pf[n++] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
        for (int k = 0; k < p->nc; k++) {
            pconn *c = p->c[k];
            short ev[2] = {0, 0};
            int stalled = c->stall_until > now;
            if (c->connecting) {
                ev[1] = POLLOUT;
            } else if (!stalled) {
                for (int i = 0; i < 2; i++) {
                    if (!c->d[i].eof && c->d[i].queued < FP_QUEUE_CAP)
                        ev[i] |= POLLIN;
                    if (c->d[i].head) {
                        if (c->d[i].head->release_us <= now)
                            ev[1 - i] |= POLLOUT;
                        else if (c->d[i].head->release_us < wake)
                            wake = c->d[i].head->release_us;
                    }
                }
            } else if (c->stall_until < wake) {
                wake = c->stall_until;
            }
            pf[n++] = (struct pollfd){.fd = c->fd[0], .events = ev[0]};
            pf[n++] = (struct pollfd){.fd = c->fd[1], .events = ev[1]};
        }
        int ms = (int)((wake - now + 999) / 1000);
        if (poll(pf, (nfds_t)n, ms < 0 ? 0 : ms) < 0 && errno != EINTR)
            break;
        now = mono_us();
        /* Connections first (indices match pf), the listener last. */
        for (int k = p->nc - 1; k >= 0; k--) {
            pconn *c = p->c[k];
            struct pollfd *a = &pf[1 + 2 * k], *b = &pf[2 + 2 * k];
            int dead = 0;
            if (c->connecting) {
                if (b->revents) {
                    int e = 0;
                    socklen_t l = sizeof e;
                    getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &e, &l);
                    if (e)
                        dead = 1;
                    else
                        c->connecting = 0;
                }
                if (a->revents & (POLLERR | POLLHUP))
                    dead = 1;
            } else if (c->stall_until > now) {
                /* Stalled: nothing moves, but a closed end ends it. */
                if ((a->revents | b->revents) & (POLLERR | POLLHUP | POLLNVAL))
                    dead = 1;
            } else {
                struct pollfd *fp[2] = {a, b};
                for (int i = 0; i < 2 && !dead; i++) {
                    if (fp[i]->revents & (POLLERR | POLLNVAL))
                        dead = 1;
                    else if ((fp[i]->revents & POLLHUP) && c->d[i].eof)
                        dead = 1; /* closed both ways: nothing more to do */
                    else if (fp[i]->revents & (POLLIN | POLLHUP))
                        dead = pump_in(p, c, i, &f, now) < 0;
                }
                for (int i = 0; i < 2 && !dead; i++)
                    dead = pump_out(c, i, now) < 0;
                if (c->d[0].shut && c->d[1].shut)
                    dead = 2; /* both ways closed cleanly */
            }
            if (dead)
                conn_close(p, k, dead == 1);
        }
        if (pf[0].revents & POLLIN)
            do_accept(p);
    }
    while (p->nc)
        conn_close(p, p->nc - 1, 1);
    close(p->lfd);
    return NULL;
}

fr_proxy *fp_start(const char *nspath, const char *ip, int listen_port, int upstream_port,
                   uint64_t seed, char *err, size_t errlen)
{
    fr_proxy *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(p->nspath, sizeof p->nspath, "%s", nspath);
    snprintf(p->ip, sizeof p->ip, "%s", ip);
    p->lport = listen_port;
    p->uport = upstream_port;
    p->rng = seed ? seed : 1;
    p->lfd = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->th, NULL, proxy_main, p) != 0) {
        snprintf(err, errlen, "pthread_create failed");
        free(p);
        return NULL;
    }
    p->started = 1;
    pthread_mutex_lock(&p->mu);
    while (!p->ready)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    if (p->ready < 0) {
        snprintf(err, errlen, "%s", p->err);
        fp_stop(p);
        return NULL;
    }
    return p;
}

void fp_set(fr_proxy *p, const fr_pfault *f)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->fault = *f;
    pthread_mutex_unlock(&p->mu);
}

void fp_stats(fr_proxy *p, fr_pstats *out)
{
    memset(out, 0, sizeof *out);
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    pthread_mutex_unlock(&p->mu);
}

void fp_stop(fr_proxy *p)
{
    if (!p)
        return;
    if (p->started) {
        p->stop = 1;
        pthread_join(p->th, NULL);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
