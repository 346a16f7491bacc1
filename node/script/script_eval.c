/* script_eval.c — EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT
 * EXISTS / FLUSH / LOAD / KILL / HELP, as Redis 7.0's eval.c.
 *
 * The script cache maps a body's SHA1 (lowercase hex) to the compiled
 * function (kept in the EVAL interpreter's registry as "f_<sha>") and the
 * flags of its shebang. It is not durable and not replicated: only the
 * effects of a script are (see script.h). SCRIPT FLUSH drops the cache and
 * the whole interpreter, as Redis does. */
#include "script_int.h"

#include "dict.h"
#include "mem.h"
#include "sha1.h"

#include <lauxlib.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct ev_script {
    dict_node dn;
    char sha[40];
    int flags;
    size_t blen;
} ev_script;

static void script_key_of(const dict_node *n, const void **key, size_t *len)
{
    *key = ((const ev_script *)n)->sha;
    *len = 40;
}

static const dict_type script_type = {script_key_of};
static dict scripts;
static size_t scripts_mem;
static lua_State *ev_L;

static void free_script(dict_node *n, void *arg)
{
    (void)arg;
    kv_free(n);
}

void ev_init(void)
{
    dict_init(&scripts, &script_type);
    ev_L = sl_new(0);
}

static void ev_reset(void)
{
    dict_clear(&scripts, free_script, NULL);
    scripts_mem = 0;
    sl_free(ev_L);
    ev_L = sl_new(0);
}

void ev_shutdown(void)
{
    dict_clear(&scripts, free_script, NULL);
    sl_free(ev_L);
    ev_L = NULL;
}

void ev_stats(script_stats *st)
{
    st->lua_memory = sl_memory(ev_L);
    st->scripts = dict_size(&scripts);
    st->scripts_memory = scripts_mem;
}

static void sha1_hex(const char *s, size_t n, char out[41])
{
    sha1_ctx c;
    uint8_t d[20];
    sha1_init(&c);
    sha1_update(&c, s, n);
    sha1_final(&c, d);
    for (int i = 0; i < 20; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void lower_sha(const char *in, char out[41])
{
    for (int i = 0; i < 40; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[40] = '\0';
}

/* Redis's evalExtractShebangFlags: flags (SF_EVAL_COMPAT without a
 * shebang) and the shebang's length; -1 with the message in err. */
static int parse_shebang(const char *body, size_t blen, int *flags, size_t *sblen, char *err,
                         size_t errlen)
{
    *flags = SF_EVAL_COMPAT;
    *sblen = 0;
    if (blen < 2 || body[0] != '#' || body[1] != '!')
        return 0;
    const char *end = memchr(body, '\n', blen);
    /* strchr: the body is a C string for Redis, cut at a NUL. */
    const char *nul = memchr(body, '\0', blen);
    if (!end || (nul && nul < end)) {
        snprintf(err, errlen, "Invalid script shebang");
        return -1;
    }
    *sblen = (size_t)(end - body);
    *flags = 0;
    /* Split the line on blanks (sdssplitargs without quoting). */
    const char *p = body, *e = end;
    int part = 0;
    while (p < e) {
        while (p < e && isspace((unsigned char)*p))
            p++;
        if (p >= e)
            break;
        const char *w = p;
        while (p < e && !isspace((unsigned char)*p))
            p++;
        size_t wl = (size_t)(p - w);
        if (part++ == 0) {
            if (wl != 5 || memcmp(w, "#!lua", 5)) {
                snprintf(err, errlen, "Unexpected engine in script shebang: %.*s", (int)wl, w);
                return -1;
            }
            continue;
        }
        if (wl < 6 || memcmp(w, "flags=", 6)) {
            snprintf(err, errlen, "Unknown lua shebang option: %.*s", (int)wl, w);
            return -1;
        }
        const char *f = w + 6, *fe = p;
        /* sdssplitlen on ",": an empty value gives no flags. */
        while (f < fe) {
            const char *comma = memchr(f, ',', (size_t)(fe - f));
            const char *ce = comma ? comma : fe;
            int bit = sf_parse(f, (size_t)(ce - f));
            if (!bit) {
                snprintf(err, errlen, "Unexpected flag in script shebang: %.*s", (int)(ce - f),
                         f);
                return -1;
            }
            *flags |= bit;
            f = comma ? comma + 1 : fe;
        }
    }
    return 0;
}

/* Redis's luaCreateFunction: the cached script for body, compiling and
 * caching it if new; NULL after replying the error to c. */
static ev_script *create_script(cmd_ctx *c, const char *body, size_t blen)
{
    char sha[41];
    sha1_hex(body, blen, sha);
    ev_script *s = (ev_script *)dict_find(&scripts, sha, 40);
    if (s)
        return s;
    int flags;
    size_t sblen;
    char err[300];
    if (parse_shebang(body, blen, &flags, &sblen, err, sizeof err) < 0) {
        reply_errorf(&c->r, "ERR %s", err);
        return NULL;
    }
    if (luaL_loadbuffer(ev_L, body + sblen, blen - sblen, "@user_script")) {
        reply_errorf(&c->r, "ERR Error compiling script (new function): %s",
                     lua_tostring(ev_L, -1));
        lua_pop(ev_L, 1);
        return NULL;
    }
    char fname[43] = "f_";
    memcpy(fname + 2, sha, 41);
    lua_setfield(ev_L, LUA_REGISTRYINDEX, fname);
    s = kv_calloc(1, sizeof *s);
    memcpy(s->sha, sha, 40);
    s->flags = flags;
    s->blen = blen;
    dict_add(&scripts, &s->dn);
    scripts_mem += blen;
    return s;
}

uint32_t ev_command_flags(int evalsha, const char *arg, size_t n, uint32_t flags)
{
    char sha[41];
    if (evalsha) {
        if (n != 40)
            return flags | CMD_READONLY;
        lower_sha(arg, sha);
    } else {
        sha1_hex(arg, n, sha);
    }
    ev_script *s = (ev_script *)dict_find(&scripts, sha, 40);
    int sflags;
    if (s) {
        sflags = s->flags;
    } else {
        size_t sblen;
        char err[300];
        if (evalsha || parse_shebang(arg, n, &sflags, &sblen, err, sizeof err) < 0)
            return flags | CMD_READONLY;
    }
    return sc_flags_to_cmd(flags, sflags);
}

static void eval_run(cmd_ctx *c, int evalsha, int ro);

/* SCRIPT DEBUG: an EVAL of a client in debug mode is a debugging session
 * (Redis's evalGenericCommandWithDebugging), which begins before the
 * EVAL's own checks, as Redis's. */
static void eval_debugged(cmd_ctx *c, int ro)
{
    script_ldb_io io;
    if (!sc_host.ldb_start(sc_host.arg, c, &io))
        return;
    sl_ldb_begin(&io, c->argv[1], c->lens[1]);
    eval_run(c, 0, ro);
    sl_ldb_end();
    sc_host.ldb_end(sc_host.arg, c);
}

static void eval_generic(cmd_ctx *c, int evalsha, int ro)
{
    if (evalsha && c->lens[1] != 40) {
        reply_error(&c->r, "NOSCRIPT No matching script. Please use EVAL.");
        return;
    }
    if (c->cl && sc_host.ldb_wanted && sc_host.ldb_wanted(sc_host.arg, c)) {
        if (evalsha)
            reply_error(&c->r, "ERR Please use EVAL instead of EVALSHA for debugging");
        else
            eval_debugged(c, ro);
        return;
    }
    eval_run(c, evalsha, ro);
}

static void eval_run(cmd_ctx *c, int evalsha, int ro)
{
    long long numkeys;
    if (arg_ll(c, 2, &numkeys) < 0)
        return;
    if (numkeys > c->argc - 3) {
        reply_error(&c->r, "ERR Number of keys can't be greater than number of args");
        return;
    }
    if (numkeys < 0) {
        reply_error(&c->r, "ERR Number of keys can't be negative");
        return;
    }
    ev_script *s;
    if (evalsha) {
        char sha[41];
        lower_sha(c->argv[1], sha);
        s = (ev_script *)dict_find(&scripts, sha, 40);
        if (!s) {
            reply_error(&c->r, "NOSCRIPT No matching script. Please use EVAL.");
            return;
        }
    } else if (!(s = create_script(c, c->argv[1], c->lens[1]))) {
        return;
    }
    char sha[41];
    memcpy(sha, s->sha, 40);
    sha[40] = '\0';
    run_ctx rc;
    if (sc_prepare(c, s->flags, ro, &rc, sha) < 0)
        return;
    rc.flags |= RUN_EVAL_MODE;
    lua_State *L = ev_L;
    char fname[43] = "f_";
    memcpy(fname + 2, sha, 41);
    lua_getfield(L, LUA_REGISTRYINDEX, fname);
    sl_set_keys_argv(L, c->argv + 3, c->lens + 3, (int)numkeys, c->argc - 3 - (int)numkeys);
    sl_call(L, &rc, 0);
}

void sc_eval(cmd_ctx *c)
{
    eval_generic(c, 0, 0);
}

void sc_evalsha(cmd_ctx *c)
{
    eval_generic(c, 1, 0);
}

void sc_eval_ro(cmd_ctx *c)
{
    eval_generic(c, 0, 1);
}

void sc_evalsha_ro(cmd_ctx *c)
{
    eval_generic(c, 1, 1);
}

/* ------------------------------------------------------------------------ */
/* SCRIPT                                                                    */
/* ------------------------------------------------------------------------ */

void sc_script_exists(cmd_ctx *c)
{
    reply_array(&c->r, c->argc - 2);
    /* Redis's script dict compares SHAs case-insensitively. */
    for (int j = 2; j < c->argc; j++) {
        char sha[41];
        if (c->lens[j] == 40)
            lower_sha(c->argv[j], sha);
        reply_int(&c->r, c->lens[j] == 40 && dict_find(&scripts, sha, 40) ? 1 : 0);
    }
}

void sc_script_flush(cmd_ctx *c)
{
    if (!(c->argc == 2 || (c->argc == 3 && (arg_is_c(c, 2, "sync") || arg_is_c(c, 2, "async"))))) {
        reply_error(&c->r, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    ev_reset();
    reply_ok(&c->r);
}

void sc_script_load(cmd_ctx *c)
{
    ev_script *s = create_script(c, c->argv[2], c->lens[2]);
    if (s)
        reply_bulk(&c->r, s->sha, 40);
}

void sc_script_kill(cmd_ctx *c)
{
    sc_kill(c, 1);
}


void sc_script_help(cmd_ctx *c)
{
    static const char *const help[] = {
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    };
    sc_reply_help(c, help, sizeof help / sizeof *help);
}
