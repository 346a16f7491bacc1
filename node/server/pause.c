/* pause.c — CLIENT PAUSE / CLIENT UNPAUSE: the pause in effect, the
 * clients whose requests wait for it, and the timer that ends it.
 *
 * As Redis 7.0 (networking.c pauseClients, processCommand, blocked.c
 * BLOCKED_POSTPONE):
 *  - PAUSE timeout [WRITE|ALL]: a pause in effect is merged with the new
 *    one: the stricter type (ALL over WRITE) and the later end both stay,
 *    so a shorter or weaker pause never shortens or weakens one in effect.
 *    A timeout of 0 (or one that ends in the past) pauses nothing new.
 *  - A paused request is not refused but postponed: under ALL every
 *    command, under WRITE those that write or may replicate (PUBLISH,
 *    PFCOUNT, scripts without no-writes, an EXEC of such commands), after
 *    all of the dispatcher's other checks (dispatch.c). It stays in the
 *    client's query buffer, the client counts as blocked (CLIENT LIST
 *    flag b, INFO blocked_clients) and reads nothing more; when the pause
 *    ends (its time, or UNPAUSE) every postponed client, oldest first, is
 *    handed to blocking.c's resume list, which dispatches its request
 *    again from the start: it may be refused then, or postponed again by
 *    a new pause.
 *  - While paused nothing changes the dataset by itself: no active expiry,
 *    no eviction, and reads treat expired keys as missing without
 *    deleting them (env.client_pause, db.c, cmd_memory.c).
 *  - CLIENT UNBLOCK does not end a postponement (it answers 0).
 * A replica applying its primary's stream is never paused: that path does
 * not go through the dispatcher (dispatch_apply).
 *
 * States of a client here:
 *
 *   running --request paused--> postponed (CL_BLOCKED|CL_POSTPONED, listed)
 *   postponed --pause ends--> resuming (on blocking.c's resume list)
 *   resuming --its request dispatched again--> running | postponed
 *   postponed --connection closes--> gone (pause_forget)
 */
#include "server.h"

#include "mem.h"
#include "reply.h"

#include <limits.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* The postponed list                                                        */
/* ------------------------------------------------------------------------ */

static void pp_remove(server *s, client *c)
{
    if (c->pprev)
        c->pprev->pnext = c->pnext;
    else
        s->postponed_head = c->pnext;
    if (c->pnext)
        c->pnext->pprev = c->pprev;
    else
        s->postponed_tail = c->pprev;
    c->pprev = c->pnext = NULL;
    s->npostponed--;
}

int pause_postpones(const server *s, uint32_t flags)
{
    if (s->pause_type == PAUSE_ALL)
        return 1;
    return s->pause_type == PAUSE_WRITE && (flags & (CMD_WRITE | CMD_MAY_REPLICATE));
}

void pause_postpone(server *s, client *cl, const kv_command *cmd)
{
    /* CLIENT LIST shows the command it waits in, as Redis sets lastcmd
     * before its checks. */
    cl->last_cmd = cmd->name;
    cl->flags |= CL_BLOCKED | CL_POSTPONED;
    cl->pnext = NULL;
    cl->pprev = s->postponed_tail;
    if (s->postponed_tail)
        s->postponed_tail->pnext = cl;
    else
        s->postponed_head = cl;
    s->postponed_tail = cl;
    s->npostponed++;
}

void pause_forget(server *s, client *cl)
{
    if (cl->flags & CL_POSTPONED) {
        pp_remove(s, cl);
        cl->flags &= ~(CL_POSTPONED | CL_BLOCKED);
    }
}

/* Every postponed client, oldest first, dispatches its request again
 * after the current command (or timer callback). */
static void resume_all(server *s)
{
    while (s->postponed_head) {
        client *c = s->postponed_head;
        pp_remove(s, c);
        c->flags &= ~(CL_POSTPONED | CL_BLOCKED);
        blocking_resume_later(s, c);
    }
}

/* ------------------------------------------------------------------------ */
/* The pause and its timer                                                   */
/* ------------------------------------------------------------------------ */

static void on_pause_timer(uv_timer_t *t);

static void set_pause(server *s, int type, int64_t end)
{
    int old = s->pause_type;
    s->pause_type = type;
    s->pause_end = type == PAUSE_OFF ? 0 : end;
    s->env.client_pause = type;
    if (type != PAUSE_OFF) {
        if (!s->pause_timer) {
            s->pause_timer = kv_malloc(sizeof *s->pause_timer);
            uv_timer_init(s->loop, s->pause_timer);
            s->pause_timer->data = s;
        }
        int64_t wait = end - server_mstime();
        uv_timer_start(s->pause_timer, on_pause_timer, wait > 0 ? (uint64_t)wait : 0, 0);
    } else if (s->pause_timer) {
        uv_timer_stop(s->pause_timer);
    }
    /* A weaker pause (none) lets every postponed client try again; those
     * still paused are postponed again, at the end of the list. */
    if (type < old)
        resume_all(s);
}

static void on_pause_timer(uv_timer_t *t)
{
    server *s = t->data;
    if (s->pause_type == PAUSE_OFF)
        return;
    if (server_mstime() < s->pause_end) {
        set_pause(s, s->pause_type, s->pause_end); /* woke early: wait again */
        return;
    }
    set_pause(s, PAUSE_OFF, 0);
    blocking_after_command(s);
}

static void free_timer(uv_handle_t *h)
{
    kv_free(h);
}

void pause_close(server *s)
{
    if (s->pause_timer) {
        uv_timer_stop(s->pause_timer);
        uv_close((uv_handle_t *)s->pause_timer, free_timer);
        s->pause_timer = NULL;
    }
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                  */
/* ------------------------------------------------------------------------ */

/* CLIENT PAUSE timeout [WRITE|ALL]: the mode is checked before the
 * timeout, which is Redis's getTimeoutFromObjectOrReply in milliseconds
 * (the end wraps as Redis's long long sum would: an end in the past
 * pauses nothing new). */
void client_pause_cmd(cmd_ctx *c)
{
    if (c->argc > 4) {
        reply_err_subcommand_syntax(&c->r, "client", 6, c->argv[1], c->lens[1]);
        return;
    }
    int type = PAUSE_ALL;
    if (c->argc == 4) {
        if (arg_is_c(c, 3, "write")) {
            type = PAUSE_WRITE;
        } else if (!arg_is_c(c, 3, "all")) {
            reply_error(&c->r, "ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    }
    long long ms;
    if (!kv_string2ll(c->argv[2], c->lens[2], &ms)) {
        reply_error(&c->r, "ERR timeout is not an integer or out of range");
        return;
    }
    if (ms < 0) {
        reply_error(&c->r, "ERR timeout is negative");
        return;
    }
    server *s = c->srv;
    int64_t now = server_mstime();
    int64_t end = ms > 0 ? (int64_t)((uint64_t)ms + (uint64_t)now) : 0;
    if (s->pause_type != PAUSE_OFF) {
        if (s->pause_type > type)
            type = s->pause_type;
        if (s->pause_end > end)
            end = s->pause_end;
    }
    if (end > now)
        set_pause(s, type, end);
    else if (s->pause_type != PAUSE_OFF)
        set_pause(s, PAUSE_OFF, 0);
    reply_ok(&c->r);
}

void client_unpause_cmd(cmd_ctx *c)
{
    if (c->srv->pause_type != PAUSE_OFF)
        set_pause(c->srv, PAUSE_OFF, 0);
    reply_ok(&c->r);
}
