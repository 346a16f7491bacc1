/* script_ldb.c — SCRIPT DEBUG: Redis's Lua debugger (LDB), as Redis 7.0
 * has it (its eval.c), for EVAL scripts.
 *
 * A debugging session is one EVAL of a client in debug mode. eval_generic
 * asks the host to open it (ldb_start: a blocking I/O channel to that
 * client), wraps the EVAL's run in sl_ldb_begin / sl_ldb_end, and lets the
 * host close it (ldb_end); the client is closed after the EVAL's reply. While the
 * script runs, a line hook (ldb_hook) stops at every line when stepping,
 * at breakpoints, at redis.breakpoint(), and after busy-reply-threshold
 * (5 s when 0) without a stop; at a stop it sends the logs gathered so far
 * to the client as an array of simple strings and reads debugger commands
 * from it (ldb_repl) until one resumes the script. Everything the client
 * sees is written straight to its socket through the channel, never
 * through its reply buffer: the script holds the thread meanwhile, as in
 * Redis.
 *
 * Which process runs the session is the host's business: Redis forks for
 * SCRIPT DEBUG YES (the child debugs, its changes die with it) and runs
 * SYNC in the server itself (the server is blocked, changes are kept).
 * Replies, logs and their formats (the "<redis>", "<reply>", "<error>",
 * "<value>" … prefixes, the help text, the error strings) are Redis's,
 * since redis-cli --ldb parses them. */
#include "script_int.h"

#include "log.h"
#include "mem.h"

#include <lauxlib.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LDB_BREAKPOINTS_MAX 64
#define LDB_MAX_LEN_DEFAULT 256
#define LDB_MAX_VALUES_DEPTH (LUA_MINSTACK / 2)
#define LDB_CBUF_MAX (1u << 20)

typedef struct ldb_log {
    char *p;
    size_t n;
} ldb_log;

static struct {
    script_ldb_io io;
    int active;  /* a session is open */
    int step;    /* stop at the next line */
    int luabp;   /* redis.breakpoint() was called */
    int bp[LDB_BREAKPOINTS_MAX];
    int bpcount;
    int currentline;
    long maxlen; /* trim logged replies and values to this (0: never) */
    int maxlen_hint_sent;
    ldb_log *logs;
    size_t nlogs, caplogs;
    char **src; /* the script's lines */
    int lines;
    kbuf cbuf; /* what the client sent that is not a whole command yet */
    int64_t start_ms;
} ldb;

static int64_t ldb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/* The log                                                                   */
/* ------------------------------------------------------------------------ */

/* Take b's bytes as a log entry (b is left empty). */
static void log_kbuf(kbuf *b)
{
    if (ldb.nlogs == ldb.caplogs) {
        ldb.caplogs = ldb.caplogs ? ldb.caplogs * 2 : 32;
        ldb.logs = kv_realloc(ldb.logs, ldb.caplogs * sizeof *ldb.logs);
    }
    ldb.logs[ldb.nlogs].n = kbuf_len(b);
    ldb.logs[ldb.nlogs].p = kv_memdup(kbuf_data(b), kbuf_len(b) + 1);
    ldb.nlogs++;
    kbuf_reset(b);
}

static void ldb_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ldb_logf(const char *fmt, ...)
{
    kbuf b = KBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    kbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    log_kbuf(&b);
    kbuf_free(&b);
}

/* Redis's ldbLogWithMaxLen: an entry longer than maxlen is cut there and
 * ends " ..."; the first cut adds a hint. */
static void log_maxlen(kbuf *b)
{
    int trimmed = 0;
    if (ldb.maxlen && kbuf_len(b) > (size_t)ldb.maxlen) {
        kbuf_truncate(b, (size_t)ldb.maxlen);
        kbuf_append_str(b, " ...");
        trimmed = 1;
    }
    log_kbuf(b);
    if (trimmed && !ldb.maxlen_hint_sent) {
        ldb.maxlen_hint_sent = 1;
        ldb_logf("<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming.");
    }
}

static void flush_logs(void)
{
    for (size_t i = 0; i < ldb.nlogs; i++)
        kv_free(ldb.logs[i].p);
    ldb.nlogs = 0;
}

/* Send the log as an array of simple strings (CR and LF become spaces)
 * and empty it. Write errors are left to the next read. */
static void send_logs(void)
{
    kbuf b = KBUF_INIT;
    kbuf_printf(&b, "*%zu\r\n", ldb.nlogs);
    for (size_t i = 0; i < ldb.nlogs; i++) {
        char *p = ldb.logs[i].p;
        for (size_t j = 0; j < ldb.logs[i].n; j++)
            if (p[j] == '\r' || p[j] == '\n')
                p[j] = ' ';
        kbuf_putc(&b, '+');
        kbuf_append(&b, p, ldb.logs[i].n);
        kbuf_append(&b, "\r\n", 2);
    }
    flush_logs();
    ldb.io.write(ldb.io.arg, kbuf_data(&b), kbuf_len(&b));
    kbuf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Sessions                                                                  */
/* ------------------------------------------------------------------------ */

void sl_ldb_begin(const script_ldb_io *io, const char *src, size_t len)
{
    flush_logs();
    ldb.io = *io;
    ldb.active = 1;
    ldb.step = 1;
    ldb.luabp = 0;
    ldb.bpcount = 0;
    ldb.currentline = 0;
    ldb.maxlen = LDB_MAX_LEN_DEFAULT;
    ldb.maxlen_hint_sent = 0;
    kbuf_reset(&ldb.cbuf);
    /* The source, split into lines, without the newlines at its end. */
    while (len && (src[len - 1] == '\n' || src[len - 1] == '\r'))
        len--;
    int lines = 1;
    for (size_t i = 0; i < len; i++)
        if (src[i] == '\n')
            lines++;
    ldb.src = kv_malloc((size_t)lines * sizeof *ldb.src);
    ldb.lines = 0;
    size_t from = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || src[i] == '\n') {
            char *line = kv_malloc(i - from + 1);
            memcpy(line, src + from, i - from);
            line[i - from] = '\0';
            ldb.src[ldb.lines++] = line;
            from = i + 1;
        }
    }
}

void sl_ldb_end(void)
{
    if (!ldb.active)
        return;
    ldb_logf("<endsession>");
    send_logs();
    for (int i = 0; i < ldb.lines; i++)
        kv_free(ldb.src[i]);
    kv_free(ldb.src);
    ldb.src = NULL;
    ldb.lines = 0;
    ldb.active = 0;
    ldb.step = 0;
    kbuf_free(&ldb.cbuf);
}

int script_ldb_active(void)
{
    return ldb.active;
}

int sl_ldb_logging(void)
{
    return ldb.active && ldb.step;
}

/* ------------------------------------------------------------------------ */
/* Source, breakpoints, values                                               */
/* ------------------------------------------------------------------------ */

static const char *source_line(int line)
{
    int idx = line - 1;
    if (idx < 0 || idx >= ldb.lines)
        return "<out of range source code line>";
    return ldb.src[idx];
}

static int is_breakpoint(int line)
{
    for (int j = 0; j < ldb.bpcount; j++)
        if (ldb.bp[j] == line)
            return 1;
    return 0;
}

static int add_breakpoint(int line)
{
    if (line <= 0 || line > ldb.lines)
        return 0;
    if (!is_breakpoint(line) && ldb.bpcount != LDB_BREAKPOINTS_MAX) {
        ldb.bp[ldb.bpcount++] = line;
        return 1;
    }
    return 0;
}

static int del_breakpoint(int line)
{
    for (int j = 0; j < ldb.bpcount; j++) {
        if (ldb.bp[j] == line) {
            ldb.bpcount--;
            memmove(ldb.bp + j, ldb.bp + j + 1, (size_t)(ldb.bpcount - j) * sizeof ldb.bp[0]);
            return 1;
        }
    }
    return 0;
}

static void log_source_line(int lnum)
{
    int bp = is_breakpoint(lnum), current = ldb.currentline == lnum;
    const char *prefix = current && bp ? "->#" : current ? "-> " : bp ? "  #" : "   ";
    ldb_logf("%s%-3d %s", prefix, lnum, source_line(lnum));
}

static void list_source(int around, int context)
{
    for (int j = 1; j <= ldb.lines; j++) {
        if (around != 0 && abs(around - j) > context)
            continue;
        log_source_line(j);
    }
}

/* Redis's ldbCatStackValueRec: the value at idx in a readable form. */
static void cat_value(kbuf *b, lua_State *L, int idx, int level)
{
    if (level++ == LDB_MAX_VALUES_DEPTH) {
        kbuf_append_str(b, "<max recursion level reached! Nested table?>");
        return;
    }
    int t = lua_type(L, idx);
    switch (t) {
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        kbuf_append_repr(b, s, n);
        break;
    }
    case LUA_TBOOLEAN:
        kbuf_append_str(b, lua_toboolean(L, idx) ? "true" : "false");
        break;
    case LUA_TNUMBER:
        kbuf_printf(b, "%g", (double)lua_tonumber(L, idx));
        break;
    case LUA_TNIL:
        kbuf_append_str(b, "nil");
        break;
    case LUA_TTABLE: {
        /* Both forms at once (an array's, and one with keys); which one is
         * known at the end. */
        int expected = 1, is_array = 1;
        kbuf arr = KBUF_INIT, map = KBUF_INIT;
        lua_pushnil(L);
        while (lua_next(L, idx - 1)) {
            if (is_array &&
                (lua_type(L, -2) != LUA_TNUMBER || lua_tonumber(L, -2) != expected))
                is_array = 0;
            cat_value(&arr, L, -1, level);
            kbuf_append(&arr, "; ", 2);
            kbuf_putc(&map, '[');
            cat_value(&map, L, -2, level);
            kbuf_append(&map, "]=", 2);
            cat_value(&map, L, -1, level);
            kbuf_append(&map, "; ", 2);
            lua_pop(L, 1);
            expected++;
        }
        kbuf *use = is_array ? &arr : &map;
        if (kbuf_len(use))
            kbuf_truncate(use, kbuf_len(use) - 2);
        kbuf_putc(b, '{');
        kbuf_append(b, kbuf_data(use), kbuf_len(use));
        kbuf_putc(b, '}');
        kbuf_free(&arr);
        kbuf_free(&map);
        break;
    }
    case LUA_TFUNCTION:
    case LUA_TUSERDATA:
    case LUA_TTHREAD:
    case LUA_TLIGHTUSERDATA: {
        const char *name = t == LUA_TFUNCTION   ? "function"
                           : t == LUA_TUSERDATA ? "userdata"
                           : t == LUA_TTHREAD   ? "thread"
                                                : "light-userdata";
        kbuf_printf(b, "\"%s@%p\"", name, lua_topointer(L, idx));
        break;
    }
    default:
        kbuf_append_str(b, "\"<unknown-lua-type>\"");
        break;
    }
}

/* Log the value at the top of L's stack after prefix (not popped). */
static void log_stack_value(lua_State *L, const char *prefix)
{
    kbuf b = KBUF_INIT;
    kbuf_append_str(&b, prefix);
    cat_value(&b, L, -1, 0);
    log_maxlen(&b);
    kbuf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Replies in a readable form (Redis's ldbRedisProtocolToHuman)              */
/* ------------------------------------------------------------------------ */

typedef struct human {
    const char *p, *end;
} human;

/* The line at h (without CRLF), h moved past it. */
static const char *h_line(human *h, size_t *n)
{
    const char *s = h->p;
    const char *cr = s;
    while (cr + 1 < h->end && !(cr[0] == '\r' && cr[1] == '\n'))
        cr++;
    if (cr + 1 >= h->end)
        cr = h->end;
    *n = (size_t)(cr - s);
    h->p = cr + 2 <= h->end ? cr + 2 : h->end;
    return s;
}

static long long h_num(human *h)
{
    size_t n;
    const char *s = h_line(h, &n);
    char tmp[32];
    if (n >= sizeof tmp)
        n = sizeof tmp - 1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return strtoll(tmp, NULL, 10);
}

static void h_value(kbuf *o, human *h);

static void h_items(kbuf *o, human *h, long long n, const char *sep)
{
    for (long long j = 0; j < n && h->p < h->end; j++) {
        h_value(o, h);
        if (j != n - 1)
            kbuf_append_str(o, sep);
    }
}

static void h_value(kbuf *o, human *h)
{
    if (h->p >= h->end)
        return;
    char t = *h->p;
    const char *start = h->p;
    h->p++;
    size_t n;
    const char *s;
    long long len;
    switch (t) {
    case ':':
    case '(':
        s = h_line(h, &n);
        kbuf_append(o, s, n);
        break;
    case '$':
    case '=':
        len = h_num(h);
        if (len < 0) {
            kbuf_append_str(o, "NULL");
        } else {
            size_t avail = (size_t)(h->end - h->p);
            size_t take = (size_t)len < avail ? (size_t)len : avail;
            kbuf_append_repr(o, h->p, take);
            h->p += take;
            h->p = (size_t)(h->end - h->p) >= 2 ? h->p + 2 : h->end;
        }
        break;
    case '+':
    case '-':
        h_line(h, &n);
        kbuf_append_repr(o, start, n + 1);
        break;
    case '*':
    case '>':
        len = h_num(h);
        if (len < 0) {
            kbuf_append_str(o, "NULL");
            break;
        }
        kbuf_putc(o, '[');
        h_items(o, h, len, ",");
        kbuf_putc(o, ']');
        break;
    case '~':
        len = h_num(h);
        kbuf_append_str(o, "~(");
        h_items(o, h, len, ",");
        kbuf_putc(o, ')');
        break;
    case '%':
        len = h_num(h);
        kbuf_putc(o, '{');
        for (long long j = 0; j < len && h->p < h->end; j++) {
            h_value(o, h);
            kbuf_append_str(o, " => ");
            h_value(o, h);
            if (j != len - 1)
                kbuf_putc(o, ',');
        }
        kbuf_putc(o, '}');
        break;
    case '_':
        h_line(h, &n);
        kbuf_append_str(o, "(null)");
        break;
    case '#':
        s = h_line(h, &n);
        kbuf_append_str(o, n && s[0] == 't' ? "#true" : "#false");
        break;
    case ',':
        s = h_line(h, &n);
        kbuf_append_str(o, "(double) ");
        kbuf_append(o, s, n);
        break;
    default:
        h->p = h->end; /* not a reply a script can get */
        break;
    }
}

void sl_ldb_log_reply(const char *p, size_t n)
{
    kbuf b = KBUF_INIT;
    kbuf_append_str(&b, "<reply> ");
    human h = {p, p + n};
    h_value(&b, &h);
    log_maxlen(&b);
    kbuf_free(&b);
}

void sl_ldb_log_call(int argc, const char *const *argv, const size_t *lens)
{
    kbuf b = KBUF_INIT;
    kbuf_append_str(&b, "<redis>");
    for (int j = 0; j < argc; j++) {
        if (j == 10) {
            kbuf_printf(&b, " ... (%d more)", argc - j - 1);
            break;
        }
        kbuf_putc(&b, ' ');
        kbuf_append(&b, argv[j], lens[j]);
    }
    log_kbuf(&b);
    kbuf_free(&b);
}

void sl_ldb_log_error(const char *s, size_t n)
{
    ldb_logf("<error> %.*s", (int)n, s);
}

/* ------------------------------------------------------------------------ */
/* Debugger commands                                                         */
/* ------------------------------------------------------------------------ */

static void cmd_print(lua_State *L, const char *name)
{
    lua_Debug ar;
    for (int l = 0; lua_getstack(L, l, &ar) != 0; l++) {
        const char *var;
        for (int i = 1; (var = lua_getlocal(L, &ar, i)) != NULL; i++) {
            if (!strcmp(name, var)) {
                log_stack_value(L, "<value> ");
                lua_pop(L, 1);
                return;
            }
            lua_pop(L, 1);
        }
    }
    if (!strcmp(name, "ARGV") || !strcmp(name, "KEYS")) {
        lua_getglobal(L, name);
        log_stack_value(L, "<value> ");
        lua_pop(L, 1);
    } else {
        ldb_logf("No such variable.");
    }
}

static void cmd_print_all(lua_State *L)
{
    lua_Debug ar;
    int vars = 0;
    if (lua_getstack(L, 0, &ar) != 0) {
        const char *name;
        for (int i = 1; (name = lua_getlocal(L, &ar, i)) != NULL; i++) {
            if (!strstr(name, "(*temporary)")) {
                kbuf prefix = KBUF_INIT;
                kbuf_printf(&prefix, "<value> %s = ", name);
                log_stack_value(L, kbuf_data(&prefix));
                kbuf_free(&prefix);
                vars++;
            }
            lua_pop(L, 1);
        }
    }
    if (!vars)
        ldb_logf("No local variables in the current context.");
}

static void cmd_break(int argc, char **argv, const size_t *lens)
{
    if (argc == 1) {
        if (ldb.bpcount == 0) {
            ldb_logf("No breakpoints set. Use 'b <line>' to add one.");
            return;
        }
        ldb_logf("%d breakpoints set:", ldb.bpcount);
        for (int j = 0; j < ldb.bpcount; j++)
            log_source_line(ldb.bp[j]);
        return;
    }
    for (int j = 1; j < argc; j++) {
        long long line; /* Redis's string2l: the whole argument, no spaces */
        if (!kv_string2ll(argv[j], lens[j], &line) || line < INT_MIN || line > INT_MAX) {
            ldb_logf("Invalid argument:'%s'", argv[j]);
        } else if (line == 0) {
            ldb.bpcount = 0;
            ldb_logf("All breakpoints removed.");
        } else if (line > 0) {
            if (ldb.bpcount == LDB_BREAKPOINTS_MAX)
                ldb_logf("Too many breakpoints set.");
            else if (add_breakpoint((int)line))
                list_source((int)line, 1);
            else
                ldb_logf("Wrong line number.");
        } else {
            if (del_breakpoint((int)-line))
                ldb_logf("Breakpoint removed.");
            else
                ldb_logf("No breakpoint in the specified line.");
        }
    }
}

static void cmd_eval(lua_State *L, int argc, char **argv, const size_t *lens)
{
    kbuf code = KBUF_INIT, expr = KBUF_INIT;
    for (int j = 1; j < argc; j++) {
        if (j > 1)
            kbuf_putc(&code, ' ');
        kbuf_append(&code, argv[j], lens[j]);
    }
    kbuf_append_str(&expr, "return ");
    kbuf_append(&expr, kbuf_data(&code), kbuf_len(&code));
    /* As an expression first, then as a statement. */
    int failed = luaL_loadbuffer(L, kbuf_data(&expr), kbuf_len(&expr), "@ldb_eval");
    if (failed) {
        lua_pop(L, 1);
        failed = luaL_loadbuffer(L, kbuf_data(&code), kbuf_len(&code), "@ldb_eval");
    }
    kbuf_free(&code);
    kbuf_free(&expr);
    if (failed || lua_pcall(L, 0, 1, 0)) {
        ldb_logf("<error> %s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "(error object)");
        lua_pop(L, 1);
        return;
    }
    log_stack_value(L, "<retval> ");
    lua_pop(L, 1);
}

/* redis.call with stepping on, so that the call and its reply are logged. */
static void cmd_redis(lua_State *L, int argc, char **argv, const size_t *lens)
{
    if (!lua_checkstack(L, argc + 1)) {
        sl_ldb_log_reply("max lua stack reached", 21);
        return;
    }
    lua_getglobal(L, "redis");
    lua_pushstring(L, "call");
    lua_gettable(L, -2);
    for (int j = 1; j < argc; j++)
        lua_pushlstring(L, argv[j], lens[j]);
    ldb.step = 1;
    lua_pcall(L, argc - 1, 1, 0);
    ldb.step = 0;
    lua_pop(L, 2);
}

static void cmd_trace(lua_State *L)
{
    lua_Debug ar;
    int level = 0;
    while (lua_getstack(L, level, &ar)) {
        lua_getinfo(L, "Snl", &ar);
        if (strstr(ar.short_src, "user_script") != NULL) {
            ldb_logf("%s %s:", level == 0 ? "In" : "From", ar.name ? ar.name : "top level");
            log_source_line(ar.currentline);
        }
        level++;
    }
    if (level == 0)
        ldb_logf("<error> Can't retrieve Lua stack.");
}

static void cmd_maxlen(int argc, char **argv)
{
    if (argc == 2) {
        long v = atoi(argv[1]);
        ldb.maxlen_hint_sent = 1; /* the user knows about the command */
        if (v != 0 && v <= 60)
            v = 60;
        ldb.maxlen = v;
    }
    if (ldb.maxlen)
        ldb_logf("<value> replies are truncated at %d bytes.", (int)ldb.maxlen);
    else
        ldb_logf("<value> replies are unlimited.");
}

static const char *const help[] = {
    "Redis Lua debugger help:",
    "[h]elp               Show this help.",
    "[s]tep               Run current line and stop again.",
    "[n]ext               Alias for step.",
    "[c]ontinue           Run till next breakpoint.",
    "[l]ist               List source code around current line.",
    "[l]ist [line]        List source code around [line].",
    "                     line = 0 means: current position.",
    "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
    "                     to show before/after [line].",
    "[w]hole              List all source code. Alias for 'list 1 1000000'.",
    "[p]rint              Show all the local variables.",
    "[p]rint <var>        Show the value of the specified variable.",
    "                     Can also show global vars KEYS and ARGV.",
    "[b]reak              Show all breakpoints.",
    "[b]reak <line>       Add a breakpoint to the specified line.",
    "[b]reak -<line>      Remove breakpoint from the specified line.",
    "[b]reak 0            Remove all breakpoints.",
    "[t]race              Show a backtrace.",
    "[e]val <code>        Execute some Lua code (in a different callframe).",
    "[r]edis <cmd>        Execute a Redis command.",
    "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
    "                     Specifying zero as <len> means unlimited.",
    "[a]bort              Stop the execution of the script. In sync",
    "                     mode dataset changes will be retained.",
    "",
    "Debugger functions you can call from Lua scripts:",
    "redis.debug()        Produce logs in the debugger console.",
    "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
    "                     next line of code.",
};

/* ------------------------------------------------------------------------ */
/* The REPL                                                                  */
/* ------------------------------------------------------------------------ */

static void free_argv(char **argv, size_t *lens, int argc)
{
    for (int i = 0; i < argc; i++)
        kv_free(argv[i]);
    kv_free(argv);
    kv_free(lens);
}

/* Redis's ldbReplParseCommand, as forgiving as it: a whole command at the
 * front of cbuf (1 to 1024 arguments, each 1 to 1024 bytes), or NULL when
 * more bytes are needed; *err set when it cannot be one. */
static char **parse_command(int *argcp, size_t **lensp, const char **err)
{
    size_t n = kbuf_len(&ldb.cbuf);
    if (!n)
        return NULL;
    char *copy = kv_malloc(n + 1);
    memcpy(copy, kbuf_data(&ldb.cbuf), n);
    copy[n] = '\0';
    char *p = copy, **argv = NULL;
    size_t *lens = NULL;
    int argc = 0;
    p = strchr(p, '*');
    if (!p)
        goto protoerr;
    char *plen = p + 1;
    p = strstr(p, "\r\n");
    if (!p)
        goto keep_reading;
    *p = '\0';
    p += 2;
    *argcp = atoi(plen);
    if (*argcp <= 0 || *argcp > 1024)
        goto protoerr;
    argv = kv_malloc((size_t)*argcp * sizeof *argv);
    lens = kv_malloc((size_t)*argcp * sizeof *lens);
    while (argc < *argcp) {
        if (*p == '\0')
            goto keep_reading;
        if (*p != '$')
            goto protoerr;
        plen = p + 1;
        p = strstr(p, "\r\n");
        if (!p)
            goto keep_reading;
        *p = '\0';
        p += 2;
        int slen = atoi(plen);
        if (slen <= 0 || slen > 1024)
            goto protoerr;
        if ((size_t)(p + slen + 2 - copy) > n)
            goto keep_reading;
        argv[argc] = kv_malloc((size_t)slen + 1);
        memcpy(argv[argc], p, (size_t)slen);
        argv[argc][slen] = '\0';
        lens[argc++] = (size_t)slen;
        p += slen;
        if (p[0] != '\r' || p[1] != '\n')
            goto protoerr;
        p += 2;
    }
    kv_free(copy);
    *lensp = lens;
    return argv;
protoerr:
    *err = "protocol error";
keep_reading:
    free_argv(argv, lens, argc);
    kv_free(copy);
    return NULL;
}

static int is(const char *a, const char *s1, const char *s2)
{
    return !strcasecmp(a, s1) || !strcasecmp(a, s2);
}

/* Raise err as the script's error (the table form Redis's luaPushError
 * makes), ending the script. */
static void raise_error(lua_State *L, const char *err)
{
    sl_push_error(L, err, strlen(err));
    lua_error(L);
}

/* Read and run debugger commands until one resumes the script. Returns 0,
 * or -1 when the client is gone (the script then goes on without stops). */
static int ldb_repl(lua_State *L)
{
    for (;;) {
        char **argv;
        size_t *lens = NULL;
        int argc = 0;
        const char *err = NULL;
        while ((argv = parse_command(&argc, &lens, &err)) == NULL) {
            if (err)
                raise_error(L, err);
            char buf[1024];
            long nread = ldb.io.read(ldb.io.arg, buf, sizeof buf);
            if (nread <= 0) {
                ldb.step = 0;
                ldb.bpcount = 0;
                return -1;
            }
            kbuf_append(&ldb.cbuf, buf, (size_t)nread);
            if (kbuf_len(&ldb.cbuf) > LDB_CBUF_MAX) {
                kbuf_free(&ldb.cbuf);
                raise_error(L, "max client buffer reached");
            }
        }
        kbuf_reset(&ldb.cbuf);
        int resume = 0;
        const char *c = argv[0];
        if (is(c, "h", "help")) {
            for (size_t i = 0; i < sizeof help / sizeof help[0]; i++)
                ldb_logf("%s", help[i]);
            send_logs();
        } else if (is(c, "s", "step") || is(c, "n", "next")) {
            ldb.step = 1;
            resume = 1;
        } else if (is(c, "c", "continue")) {
            resume = 1;
        } else if (is(c, "t", "trace")) {
            cmd_trace(L);
            send_logs();
        } else if (is(c, "m", "maxlen")) {
            cmd_maxlen(argc, argv);
            send_logs();
        } else if (is(c, "b", "break")) {
            cmd_break(argc, argv, lens);
            send_logs();
        } else if (is(c, "e", "eval")) {
            cmd_eval(L, argc, argv, lens);
            send_logs();
        } else if (is(c, "a", "abort")) {
            free_argv(argv, lens, argc);
            raise_error(L, "script aborted for user request");
        } else if (argc > 1 && is(c, "r", "redis")) {
            cmd_redis(L, argc, argv, lens);
            send_logs();
        } else if (is(c, "p", "print")) {
            if (argc == 2)
                cmd_print(L, argv[1]);
            else
                cmd_print_all(L);
            send_logs();
        } else if (is(c, "l", "list")) {
            int around = ldb.currentline, ctx = 5;
            if (argc > 1) {
                int num = atoi(argv[1]);
                if (num > 0)
                    around = num;
            }
            if (argc > 2)
                ctx = atoi(argv[2]);
            list_source(around, ctx);
            send_logs();
        } else if (is(c, "w", "whole")) {
            list_source(1, 1000000);
            send_logs();
        } else {
            ldb_logf("<error> Unknown Redis Lua debugger command or wrong number of arguments.");
            send_logs();
        }
        free_argv(argv, lens, argc);
        if (resume)
            return 0;
    }
}

/* The hook of a debugged script: every line, and every 100,000
 * instructions (for the timeout). */
static void ldb_hook(lua_State *L, lua_Debug *ar)
{
    lua_getstack(L, 0, ar);
    lua_getinfo(L, "Sl", ar);
    ldb.currentline = ar->currentline;
    int bp = is_breakpoint(ldb.currentline) || ldb.luabp;
    int timeout = 0;
    if (strstr(ar->short_src, "user_script") == NULL)
        return; /* not the script's own code (ldb_eval …) */
    if (ar->event == LUA_HOOKCOUNT && ldb.step == 0 && bp == 0) {
        long long limit = sc_run && sc_run->busy_ms > 0 ? sc_run->busy_ms : 5000;
        if (ldb_now_ms() - ldb.start_ms < limit)
            return;
        timeout = 1;
        ldb.step = 1;
    }
    if (!ldb.step && !bp)
        return;
    const char *reason = bp ? (ldb.luabp ? "redis.breakpoint() called" : "break point")
                         : timeout ? "timeout reached, infinite loop?"
                                   : "step over";
    ldb.step = 0;
    ldb.luabp = 0;
    ldb_logf("* Stopped at %d, stop reason = %s", ldb.currentline, reason);
    log_source_line(ldb.currentline);
    send_logs();
    if (ldb_repl(L) < 0 && timeout) {
        /* The client is gone while the script loops: end it, or the
         * process would stay blocked for good. */
        raise_error(L, "timeout during Lua debugging with client closing connection");
    }
    ldb.start_ms = ldb_now_ms();
}

void sl_ldb_install(lua_State *co)
{
    ldb.start_ms = ldb_now_ms();
    lua_sethook(co, ldb_hook, LUA_MASKLINE | LUA_MASKCOUNT, 100000);
}

int sl_ldb_breakpoint(lua_State *L)
{
    if (ldb.active) {
        ldb.luabp = 1;
        lua_pushboolean(L, 1);
    } else {
        lua_pushboolean(L, 0);
    }
    return 1;
}

int sl_ldb_debug(lua_State *L)
{
    if (!ldb.active)
        return 0;
    int argc = lua_gettop(L);
    kbuf b = KBUF_INIT;
    kbuf_printf(&b, "<debug> line %d: ", ldb.currentline);
    while (argc--) {
        cat_value(&b, L, -1 - argc, 0);
        if (argc != 0)
            kbuf_append(&b, ", ", 2);
    }
    log_kbuf(&b);
    kbuf_free(&b);
    return 0;
}
