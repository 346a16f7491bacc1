/* net.c — blocking-with-deadline socket setup for kv_client.
 *
 * Sockets are created non-blocking and close-on-exec; "blocking" waits are
 * poll() calls bounded by a deadline, so no call here can hang past it.
 * Name resolution (getaddrinfo) cannot be interrupted; numeric addresses
 * skip the resolver entirely. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

/* Wait for a non-blocking connect on fd to finish. Returns 0 or a negative
 * code; *soerr receives the socket error for the message. */
static int wait_connected(int fd, int64_t deadline, int *soerr)
{
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    for (;;) {
        int rc = poll(&pfd, 1, kvc_poll_timeout(deadline));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            *soerr = errno;
            return KV_ECONNECT;
        }
        if (rc == 0) {
            *soerr = ETIMEDOUT;
            return KV_ETIMEDOUT;
        }
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        *soerr = err;
        return err ? KV_ECONNECT : 0;
    }
}

/* Start connecting fd to addr and wait. Returns 0 or a negative code. */
static int connect_fd(int fd, const struct sockaddr *addr, socklen_t alen, int64_t deadline,
                      int *soerr)
{
    for (;;) {
        if (connect(fd, addr, alen) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == EINPROGRESS || errno == EAGAIN)
            return wait_connected(fd, deadline, soerr);
        *soerr = errno;
        return KV_ECONNECT;
    }
}

int kvc_net_connect_tcp(const char *host, int port, int64_t deadline, char *err)
{
    if (host == NULL || port < 1 || port > 65535)
        return kvc_fail(err, KV_EINVAL, "connect: bad address");
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int grc = getaddrinfo(host, portstr, &hints, &res);
    if (grc != 0)
        return kvc_fail(err, KV_EADDR, "resolve %s: %s", host,
                        grc == EAI_SYSTEM ? strerror(errno) : gai_strerror(grc));
    int code = KV_ECONNECT, soerr = 0;
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (kvc_poll_timeout(deadline) == 0) {
            code = KV_ETIMEDOUT;
            soerr = ETIMEDOUT;
            break;
        }
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            soerr = errno;
            continue;
        }
        code = connect_fd(fd, ai->ai_addr, ai->ai_addrlen, deadline, &soerr);
        if (code == 0)
            break;
        close(fd);
        fd = -1;
        if (code == KV_ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        const char *fmt = strchr(host, ':') ? "connect [%s]:%d: %s" : "connect %s:%d: %s";
        return kvc_fail(err, code, fmt, host, port,
                        code == KV_ETIMEDOUT ? "Connection timed out" : strerror(soerr));
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    return fd;
}

int kvc_net_connect_unix(const char *path, int64_t deadline, char *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof sa.sun_path)
        return kvc_fail(err, KV_EINVAL, "connect: bad unix socket path");
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return kvc_fail(err, KV_ECONNECT, "socket: %s", strerror(errno));
    int soerr = 0;
    int code = connect_fd(fd, (struct sockaddr *)&sa, sizeof sa, deadline, &soerr);
    if (code < 0) {
        close(fd);
        return kvc_fail(err, code, "connect %s: %s", path,
                        code == KV_ETIMEDOUT ? "Connection timed out" : strerror(soerr));
    }
    return fd;
}
