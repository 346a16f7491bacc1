/* ldb.c — the server's side of SCRIPT DEBUG (the Lua debugger lives in
 * node/script/script_ldb.c): the command, the debugging sessions' channel
 * to their client, and the forked sessions' children.
 *
 * SCRIPT DEBUG YES|SYNC|NO sets the client's debug mode; its next EVAL is
 * a debugging session, after which the client is closed (Redis's
 * semantics, which redis-cli --ldb relies on).
 *
 *   SYNC  The session runs in this process: the event loop waits for the
 *         debugging client (as Redis's server does), and what the script
 *         wrote stays, logged and replicated as any EVAL's writes. A
 *         primary debugged for longer than its lease loses it: the cluster
 *         elects another primary, as it would for any stalled process.
 *   YES   The process forks. The child runs the session on the client's
 *         socket and exits; whatever the script did dies with it: nothing
 *         it does reaches the WAL, a replica or another client (client_flush
 *         writes nothing in such a child, and the request never finishes
 *         there). The parent gives the client up and goes on serving.
 *
 * The channel is the client's socket, used directly and blocking (poll):
 * the debugger's output is not a reply and bypasses the reply buffer. */
#include "server.h"

#include "lazyfree.h"
#include "log.h"
#include "mem.h"
#include "script.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long one write of the debugger's output may wait for the client to
 * read (Redis's connSendTimeout of 5 s for the session). */
#define LDB_SEND_TIMEOUT_MS 5000

static int chan_fd = -1;
static size_t reply_from; /* where the EVAL's reply starts in the client's output */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long chan_read(void *arg, char *buf, size_t n)
{
    int fd = *(int *)arg;
    for (;;) {
        ssize_t r = read(fd, buf, n);
        if (r >= 0)
            return (long)r;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        /* The debugger waits for its user, however long: as Redis's. */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            return -1;
    }
}

static void chan_write(void *arg, const char *buf, size_t n)
{
    int fd = *(int *)arg;
    int64_t deadline = mono_ms() + LDB_SEND_TIMEOUT_MS;
    while (n) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w > 0) {
            buf += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return; /* the next read sees the connection gone */
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
            return;
    }
}

/* ------------------------------------------------------------------------ */
/* SCRIPT DEBUG                                                              */
/* ------------------------------------------------------------------------ */

static void cmd_script_debug(cmd_ctx *c)
{
    client *cl = c->cl;
    /* Replies of earlier commands still unsent: a pipeline (Redis's
     * clientHasPendingReplies). */
    if (!cl || kbuf_len(&cl->out) || kbuf_len(&cl->sending) || cl->writing) {
        reply_error(&c->r, "ERR SCRIPT DEBUG must be called outside a pipeline");
        return;
    }
    if (arg_is_c(c, 2, "no")) {
        cl->flags &= ~(CL_LUA_DEBUG | CL_LUA_DEBUG_SYNC);
    } else if (arg_is_c(c, 2, "yes")) {
        cl->flags = (cl->flags | CL_LUA_DEBUG) & ~CL_LUA_DEBUG_SYNC;
    } else if (arg_is_c(c, 2, "sync")) {
        cl->flags |= CL_LUA_DEBUG | CL_LUA_DEBUG_SYNC;
    } else {
        reply_error(&c->r, "ERR Use SCRIPT DEBUG YES/SYNC/NO");
        return;
    }
    reply_ok(&c->r);
}

const kv_command cmds_script_debug[] = {
    {"script|debug", cmd_script_debug, 3, CMD_NOBARRIER | CMD_NOSCRIPT, 0, 0, 0, "scripting",
     "Set the debug mode for executed scripts.", "3.2.0", "@slow @scripting"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

/* ------------------------------------------------------------------------ */
/* Sessions (the script host's ldb_* callbacks)                              */
/* ------------------------------------------------------------------------ */

int ldb_wanted(server *s, cmd_ctx *caller)
{
    /* Not for an EVAL inside EXEC: a transaction is not forked in two. */
    return caller->cl && (caller->cl->flags & CL_LUA_DEBUG) && !s->in_exec;
}

static void add_child(server *s, pid_t pid)
{
    if (s->nldb_children == s->capldb_children) {
        s->capldb_children = s->capldb_children ? s->capldb_children * 2 : 4;
        s->ldb_children =
            kv_realloc(s->ldb_children, s->capldb_children * sizeof *s->ldb_children);
    }
    s->ldb_children[s->nldb_children++] = pid;
}

/* The forked child: only this thread exists now, and this process must
 * write nothing but the session, to nobody but its client. */
static void become_child(server *s)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* a session dies with its server */
    /* libuv's handlers would report these signals to the parent's loop
     * through the pipe both processes share. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    log_set_role('C');
    s->ldb_child = 1;
    lazyfree_forked_child();
    log_warn("Redis forked for debugging eval");
}

int ldb_start(server *s, cmd_ctx *caller, script_ldb_io *io)
{
    client *cl = caller->cl;
    uv_os_fd_t fd;
    if (uv_fileno(&cl->h.handle, &fd) != 0) {
        reply_error(&caller->r, "ERR can't run EVAL in debugging mode: no socket");
        return 0;
    }
    if (!(cl->flags & CL_LUA_DEBUG_SYNC)) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            reply_errorf(&caller->r, "ERR Fork() failed: can't run EVAL in debugging mode: %s",
                         strerror(errno));
            return 0;
        }
        if (pid > 0) {
            /* The child has the client now. */
            add_child(s, pid);
            cl->flags &= ~(CL_LUA_DEBUG | CL_LUA_DEBUG_SYNC);
            client_close_after_reply(cl);
            return 0;
        }
        become_child(s);
    } else {
        log_warn("Redis synchronous debugging eval session started");
        client_flush(cl); /* what went before goes first */
    }
    chan_fd = (int)fd;
    reply_from = kbuf_len(&cl->out);
    io->arg = &chan_fd;
    io->read = chan_read;
    io->write = chan_write;
    return 1;
}

void ldb_end(server *s, cmd_ctx *caller)
{
    client *cl = caller->cl;
    if (s->ldb_child) {
        /* The EVAL's reply, then the end of this process. */
        chan_write(&chan_fd, kbuf_data(&cl->out) + reply_from, kbuf_len(&cl->out) - reply_from);
        log_warn("Lua debugging session child exiting");
        _exit(0);
    }
    log_warn("Redis synchronous debugging eval session ended");
    cl->flags &= ~(CL_LUA_DEBUG | CL_LUA_DEBUG_SYNC);
    /* The end of the session: the connection closes after the reply. */
    client_close_after_reply(cl);
    chan_fd = -1;
}

/* ------------------------------------------------------------------------ */
/* Children                                                                  */
/* ------------------------------------------------------------------------ */

static void reap(server *s, int block)
{
    for (size_t i = 0; i < s->nldb_children;) {
        pid_t pid = s->ldb_children[i];
        int st;
        pid_t r = waitpid(pid, &st, block ? 0 : WNOHANG);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == pid || r < 0) {
            if (r == pid && WIFSIGNALED(st))
                log_verbose("Lua debugging session %d ended by signal %d", (int)pid,
                            WTERMSIG(st));
            s->ldb_children[i] = s->ldb_children[--s->nldb_children];
            continue;
        }
        i++;
    }
}

static void on_sigchld(uv_signal_t *h, int sig)
{
    (void)sig;
    reap(h->data, 0);
}

void ldb_init(server *s)
{
    uv_signal_init(s->loop, &s->sig_chld);
    s->sig_chld.data = s;
    uv_signal_start(&s->sig_chld, on_sigchld, SIGCHLD);
}

void ldb_shutdown(server *s)
{
    for (size_t i = 0; i < s->nldb_children; i++) {
        log_warn("Killing debugging session %ld", (long)s->ldb_children[i]);
        kill(s->ldb_children[i], SIGKILL);
    }
    reap(s, 1);
    kv_free(s->ldb_children);
    s->ldb_children = NULL;
    s->capldb_children = 0;
    if (s->sig_chld.data)
        uv_close((uv_handle_t *)&s->sig_chld, NULL);
}
