/* listen.c — see listen.h. */
#include "listen.h"

#include <stdlib.h>
#include <string.h>

int kv_tcp_listen(uv_loop_t *loop, uv_tcp_t *t, const char *addr, int port, int backlog,
                  uv_connection_cb cb, void *data)
{
    uv_tcp_init(loop, t);
    t->data = data;
    int optional = addr[0] == '-';
    if (optional)
        addr++;
    struct sockaddr_storage ss;
    int v6 = strchr(addr, ':') != NULL;
    int rc = v6 ? uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&ss)
                : uv_ip4_addr(addr, port, (struct sockaddr_in *)&ss);
    if (rc < 0)
        return UV_EINVAL;
    rc = uv_tcp_bind(t, (struct sockaddr *)&ss, v6 ? UV_TCP_IPV6ONLY : 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)t, backlog, cb);
    if ((rc == UV_EADDRNOTAVAIL && optional) || rc == UV_ENOPROTOOPT || rc == UV_EPROTONOSUPPORT ||
        rc == UV_EAFNOSUPPORT)
        return KV_LISTEN_SKIPPED;
    return rc;
}

int kv_split_hostport(const char *addr, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr)
        return -1;
    const char *h = addr;
    size_t hl = (size_t)(colon - addr);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p <= 0 || p > 65535)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}
