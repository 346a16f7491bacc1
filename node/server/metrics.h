/* metrics.h — the Prometheus endpoint: GET /metrics over HTTP/1.1 on
 * metrics-bind:metrics-port (off while metrics-port is 0), served by the
 * event loop.
 *
 * metrics.c collects the figures (Redis's through redis_exporter's names
 * where the meaning is the same, kvnode's own as kvnode_*) into the text
 * format (prom.h); metrics_http.c is the small HTTP server. The server
 * never blocks: a request is read into a bounded buffer (the head must fit
 * METRICS_MAX_HEAD bytes), answered from memory in one write, and the
 * connection closed; a connection that has not sent a whole head within
 * METRICS_TIMEOUT_MS is closed, and at most METRICS_MAX_CONNS are open. */
#ifndef KV_METRICS_H
#define KV_METRICS_H

#include "buf.h"

#include <stddef.h>

#define METRICS_MAX_HEAD 8192
#define METRICS_MAX_TARGET 2048
#define METRICS_MAX_HEADERS 64
#define METRICS_TIMEOUT_MS 10000
#define METRICS_MAX_CONNS 64

typedef struct server server;

/* Listen when metrics-port is set. 0, or an error naming the address. */
int metrics_start(server *s, char *err, size_t errlen);
/* Close the listeners and every connection (shutdown). NULL-safe state. */
void metrics_stop(server *s);
/* Free what metrics_start allocated, once the loop has run the close
 * callbacks metrics_stop started. */
void metrics_free(server *s);

/* The whole exposition, appended to out. */
void metrics_collect(server *s, kbuf *out);

/* ---- the HTTP request parser (pure) ---- */
typedef struct http_req {
    int head;     /* HEAD: answer without a body */
    int complete; /* bytes of the head (including its blank line) */
} http_req;

/* Look at the request bytes received so far. Returns 0 while more are
 * needed, else the status to answer: 200 (GET or HEAD of /metrics, with or
 * without a query string), 404 (another path), 405 (another method), 400
 * (malformed: request line, header syntax, a body, HTTP/1.1 without Host),
 * 414 (target longer than METRICS_MAX_TARGET), 431 (head longer than
 * METRICS_MAX_HEAD or more than METRICS_MAX_HEADERS headers), 505 (not
 * HTTP/1.x). A bad request line is answered as soon as it is complete. */
int metrics_http_parse(const char *buf, size_t len, http_req *req);
/* The response for a status (and the exposition for 200) into out. */
void metrics_http_response(int status, int head, const char *body, size_t bodylen, kbuf *out);

#endif
