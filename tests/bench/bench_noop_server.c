/* bench_noop_server — a server that does nothing: the benchmark client's
 * ceiling.
 *
 *   bench_noop_server PORT [--spin]
 *
 * Listens on 127.0.0.1:PORT and answers every RESP request "+OK" (CONFIG,
 * which redis-benchmark sends at start, with an empty pair) without
 * looking at it. One thread and epoll, as Redis's loop: read every socket
 * that is ready, then write every reply. With --spin it never sleeps in
 * epoll_wait (it polls with a zero timeout, burning its core), so the
 * client never pays for waking it.
 *
 * compare_all.sh runs redis-benchmark against it next to redis-server and
 * kvnode: on a machine of 2 cores, where the client and the server share
 * them, how fast a server answers unpipelined requests is bounded by what
 * the client can send, and by how often each side must wake the other —
 * not only by the server's own work. This server does the least work
 * possible, so its row shows what the client allows. Not a test; it
 * asserts nothing.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF (64 * 1024)

typedef struct conn {
    int fd;
    size_t ilen, olen;
    char in[BUF], out[BUF];
} conn;

/* Length of the one complete request at the front of p (a RESP array of
 * bulk strings), 0 when more bytes are needed, -1 when it is not RESP. The
 * first argument's name, when it is "config", sets *config. */
static long request_len(const char *p, size_t n, int *config)
{
    const char *end = p + n, *q = p;
    if (q == end)
        return 0;
    if (*q != '*')
        return -1;
    const char *nl = memchr(q, '\n', (size_t)(end - q));
    if (!nl)
        return 0;
    long argc = strtol(q + 1, NULL, 10);
    q = nl + 1;
    for (long i = 0; i < argc; i++) {
        if (q == end)
            return 0;
        if (*q != '$')
            return -1;
        nl = memchr(q, '\n', (size_t)(end - q));
        if (!nl)
            return 0;
        long len = strtol(q + 1, NULL, 10);
        q = nl + 1;
        if (len < 0 || end - q < len + 2)
            return 0;
        if (i == 0)
            *config = len == 6 && !strncasecmp(q, "config", 6);
        q += len + 2;
    }
    return q - p;
}

/* Answers every complete request in c->in; returns -1 on a protocol
 * error or a reply that does not fit. */
static int answer(conn *c)
{
    static const char ok[] = "+OK\r\n", pair[] = "*2\r\n$0\r\n\r\n$0\r\n\r\n";
    size_t pos = 0;
    for (;;) {
        int config = 0;
        long n = request_len(c->in + pos, c->ilen - pos, &config);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        const char *r = config ? pair : ok;
        size_t rl = config ? sizeof pair - 1 : sizeof ok - 1;
        if (c->olen + rl > BUF)
            return -1;
        memcpy(c->out + c->olen, r, rl);
        c->olen += rl;
        pos += (size_t)n;
    }
    memmove(c->in, c->in + pos, c->ilen - pos);
    c->ilen -= pos;
    return c->ilen == BUF ? -1 : 0;
}

static void drop(int ep, conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [--spin]\n", argv[0]);
        return 2;
    }
    int spin = argc > 2 && !strcmp(argv[2], "--spin");
    int one = 1;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((unsigned short)atoi(argv[1])),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 511) < 0) {
        perror("listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event evs[512];
    conn *ready[512];
    for (;;) {
        int n = epoll_wait(ep, evs, 512, spin ? 0 : -1), nready = 0;
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (!c) {
                int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
                if (fd < 0)
                    continue;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c = calloc(1, sizeof *c);
                if (!c) {
                    close(fd);
                    continue;
                }
                c->fd = fd;
                struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                continue;
            }
            ssize_t r = read(c->fd, c->in + c->ilen, BUF - c->ilen);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0 || (c->ilen += (size_t)r, answer(c) < 0)) {
                drop(ep, c);
                continue;
            }
            if (c->olen)
                ready[nready++] = c;
        }
        /* The replies, after every read of this pass. A client that does
         * not read its replies is dropped (this server never buffers). */
        for (int i = 0; i < nready; i++) {
            conn *c = ready[i];
            ssize_t w = write(c->fd, c->out, c->olen);
            if (w != (ssize_t)c->olen)
                drop(ep, c);
            else
                c->olen = 0;
        }
    }
}
