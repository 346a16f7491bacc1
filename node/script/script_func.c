/* script_func.c — Redis 7.0 functions: FUNCTION LOAD / DELETE / FLUSH /
 * LIST / DUMP / RESTORE / STATS / KILL / HELP, FCALL and FCALL_RO.
 *
 * The libraries' code is the durable state, in the keyspace's aux records
 * "fn:<library name>" (ks_aux_*): snapshots carry it and the FUNCTION
 * write commands are logged as their argv, replayed by these same procs.
 * The functions interpreter is built from those records and rebuilt
 * whenever ks_aux_gen() says they changed under it (a snapshot load, a
 * replica's resync); a change made here updates both at once.
 *
 * Library names are case-sensitive, function names are not (Redis's dict
 * types). FUNCTION DUMP writes Redis's payload: per library the RDB opcode
 * FUNCTION2 (245) and the code as an RDB string, then the RDB version (10)
 * and a CRC64 (Jones) of all that, little-endian; RESTORE reads that
 * format, LZF-compressed and integer-encoded strings included, so payloads
 * move between kvnode and Redis 7.0 both ways. */
#include "script_int.h"

#include "crc64.h"
#include "log.h"
#include "lzf.h"
#include "mem.h"
#include "rdb.h"

#include <lauxlib.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct fn_info {
    char *name, *desc; /* desc NULL: none */
    size_t nlen, dlen;
    int flags;
    int ref; /* the callback in the interpreter's registry */
} fn_info;

typedef struct fn_lib {
    char *name, *code;
    size_t nlen, clen;
    fn_info *fns;
    int nfns, cap;
} fn_lib;

struct fn_load {
    fn_lib *lib;
};

/* An interpreter and the libraries loaded into it. */
typedef struct fn_state {
    lua_State *L;
    fn_lib **libs;
    int nlibs, cap;
} fn_state;

static fn_state cur;
static uint64_t built_gen;
static const ks *built_ks;
#define LOAD_TIMEOUT_MS 500
#define AUX_PREFIX "fn:"

static void lib_free(lua_State *L, fn_lib *lib)
{
    if (!lib)
        return;
    for (int i = 0; i < lib->nfns; i++) {
        if (L)
            luaL_unref(L, LUA_REGISTRYINDEX, lib->fns[i].ref);
        kv_free(lib->fns[i].name);
        kv_free(lib->fns[i].desc);
    }
    kv_free(lib->fns);
    kv_free(lib->name);
    kv_free(lib->code);
    kv_free(lib);
}

static void state_free(fn_state *st)
{
    for (int i = 0; i < st->nlibs; i++)
        lib_free(NULL, st->libs[i]);
    kv_free(st->libs);
    sl_free(st->L);
    memset(st, 0, sizeof *st);
}

static void state_init(fn_state *st)
{
    memset(st, 0, sizeof *st);
    st->L = sl_new(1);
}

static int name_ok(const char *s, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

static fn_lib *find_lib(fn_state *st, const char *name, size_t n, int *at)
{
    for (int i = 0; i < st->nlibs; i++) {
        if (st->libs[i]->nlen == n && !memcmp(st->libs[i]->name, name, n)) {
            if (at)
                *at = i;
            return st->libs[i];
        }
    }
    return NULL;
}

static fn_info *find_fn(fn_state *st, const char *name, size_t n, const fn_lib *skip)
{
    for (int i = 0; i < st->nlibs; i++) {
        fn_lib *l = st->libs[i];
        if (l == skip)
            continue;
        for (int j = 0; j < l->nfns; j++)
            if (l->fns[j].nlen == n && !strncasecmp(l->fns[j].name, name, n))
                return &l->fns[j];
    }
    return NULL;
}

/* Insert lib keeping the libraries in name order. */
static void link_lib(fn_state *st, fn_lib *lib)
{
    if (st->nlibs == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 8;
        st->libs = kv_realloc(st->libs, (size_t)st->cap * sizeof *st->libs);
    }
    int at = 0;
    while (at < st->nlibs) {
        fn_lib *o = st->libs[at];
        size_t m = o->nlen < lib->nlen ? o->nlen : lib->nlen;
        int c = memcmp(o->name, lib->name, m);
        if (c > 0 || (!c && o->nlen > lib->nlen))
            break;
        at++;
    }
    memmove(st->libs + at + 1, st->libs + at, (size_t)(st->nlibs - at) * sizeof *st->libs);
    st->libs[at] = lib;
    st->nlibs++;
}

static void unlink_lib(fn_state *st, int at)
{
    memmove(st->libs + at, st->libs + at + 1, (size_t)(st->nlibs - at - 1) * sizeof *st->libs);
    st->nlibs--;
}

int fn_register(fn_load *ld, const char *name, size_t nlen, const char *desc, size_t dlen,
                int flags, int ref, char *err, size_t errlen)
{
    fn_lib *lib = ld->lib;
    if (!name_ok(name, nlen)) {
        /* Redis 7.0 says "Library" here too. */
        snprintf(err, errlen, "Library names can only contain letters, numbers, or "
                              "underscores(_) and must be at least one character long");
        return -1;
    }
    for (int i = 0; i < lib->nfns; i++) {
        if (lib->fns[i].nlen == nlen && !strncasecmp(lib->fns[i].name, name, nlen)) {
            snprintf(err, errlen, "Function already exists in the library");
            return -1;
        }
    }
    if (lib->nfns == lib->cap) {
        lib->cap = lib->cap ? lib->cap * 2 : 4;
        lib->fns = kv_realloc(lib->fns, (size_t)lib->cap * sizeof *lib->fns);
    }
    fn_info *f = &lib->fns[lib->nfns++];
    f->name = kv_memdup(name, nlen);
    f->nlen = nlen;
    f->desc = desc ? kv_memdup(desc, dlen) : NULL;
    f->dlen = dlen;
    f->flags = flags;
    f->ref = ref;
    return 0;
}

/* ---- creating a library (functionsCreateWithLibraryCtx) ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t load_deadline;

static void load_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (mono_ms() > load_deadline) {
        lua_sethook(L, load_hook, LUA_MASKLINE, 0);
        sl_push_error(L, "FUNCTION LOAD timeout", 21);
        lua_error(L);
    }
}

/* Parse the "#!<engine> name=<lib>" line. 0, or -1 with err. */
static int parse_meta(const char *code, size_t clen, char **name, size_t *nlen, size_t *sblen,
                      char *err, size_t errlen)
{
    *name = NULL;
    if (clen < 2 || code[0] != '#' || code[1] != '!') {
        snprintf(err, errlen, "Missing library metadata");
        return -1;
    }
    const char *end = memchr(code, '\n', clen);
    const char *nul = memchr(code, '\0', clen);
    if (!end || (nul && nul < end)) {
        snprintf(err, errlen, "Invalid library metadata");
        return -1;
    }
    *sblen = (size_t)(end - code);
    /* Split as Redis's sdssplitargs: quotes may start anywhere in a word
     * ("name=\"foo\"" is name=foo), double quotes take \n \r \t \b \a \\
     * \" and \xHH escapes, single quotes \'; a closing quote must end the
     * word. */
    const char *p = code, *e = end;
    int part = 0;
    char eng[64] = "";
    kbuf word = KBUF_INIT;
    while (p < e) {
        while (p < e && isspace((unsigned char)*p))
            p++;
        if (p >= e)
            break;
        kbuf_reset(&word);
        int inq = 0, insq = 0, done = 0;
        while (!done) {
            if (p >= e) {
                if (inq || insq) {
                    snprintf(err, errlen, "Invalid library metadata");
                    goto fail;
                }
                break;
            }
            char ch = *p;
            if (inq) {
                if (ch == '\\' && p + 3 < e && p[1] == 'x' && isxdigit((unsigned char)p[2]) &&
                    isxdigit((unsigned char)p[3])) {
                    char hex[3] = {p[2], p[3], 0};
                    kbuf_putc(&word, (char)strtol(hex, NULL, 16));
                    p += 3;
                } else if (ch == '\\' && p + 1 < e) {
                    p++;
                    char c2 = *p == 'n'   ? '\n'
                              : *p == 'r' ? '\r'
                              : *p == 't' ? '\t'
                              : *p == 'b' ? '\b'
                              : *p == 'a' ? '\a'
                                          : *p;
                    kbuf_putc(&word, c2);
                } else if (ch == '"') {
                    if (p + 1 < e && !isspace((unsigned char)p[1])) {
                        snprintf(err, errlen, "Invalid library metadata");
                        goto fail;
                    }
                    done = 1;
                } else {
                    kbuf_putc(&word, ch);
                }
            } else if (insq) {
                if (ch == '\\' && p + 1 < e && p[1] == '\'') {
                    p++;
                    kbuf_putc(&word, '\'');
                } else if (ch == '\'') {
                    if (p + 1 < e && !isspace((unsigned char)p[1])) {
                        snprintf(err, errlen, "Invalid library metadata");
                        goto fail;
                    }
                    done = 1;
                } else {
                    kbuf_putc(&word, ch);
                }
            } else if (isspace((unsigned char)ch)) {
                done = 1;
            } else if (ch == '"') {
                inq = 1;
            } else if (ch == '\'') {
                insq = 1;
            } else {
                kbuf_putc(&word, ch);
            }
            if (p < e)
                p++;
        }
        const char *w = kbuf_len(&word) ? kbuf_data(&word) : "";
        size_t wl = kbuf_len(&word);
        if (part++ == 0) {
            snprintf(eng, sizeof eng, "%.*s", (int)(wl >= 2 ? wl - 2 : 0), wl >= 2 ? w + 2 : "");
            continue;
        }
        if (wl >= 5 && !strncasecmp(w, "name=", 5)) {
            if (*name) {
                snprintf(err, errlen,
                         "Invalid metadata value, name argument was given multiple times");
                goto fail;
            }
            *name = kv_memdup(w + 5, wl - 5);
            *nlen = wl - 5;
            continue;
        }
        snprintf(err, errlen, "Invalid metadata value given: %.*s", (int)wl, w);
        goto fail;
    }
    kbuf_free(&word);
    if (!*name) {
        snprintf(err, errlen, "Library name was not given");
        return -1;
    }
    if (!name_ok(*name, *nlen)) {
        snprintf(err, errlen, "Library names can only contain letters, numbers, or "
                              "underscores(_) and must be at least one character long");
        goto fail;
    }
    if (strcasecmp(eng, "lua")) {
        snprintf(err, errlen, "Engine '%s' not found", eng);
        goto fail;
    }
    return 0;
fail:
    kbuf_free(&word);
    kv_free(*name);
    *name = NULL;
    return -1;
}

/* Create library `code` in st (replacing a library of the same name if
 * replace). timeout_ms 0: none. 0, or -1 with err (st unchanged). */
static int lib_create(fn_state *st, const char *code, size_t clen, int replace, int timeout_ms,
                      char *err, size_t errlen)
{
    char *name = NULL;
    size_t nlen = 0, sblen = 0;
    if (parse_meta(code, clen, &name, &nlen, &sblen, err, errlen) < 0)
        return -1;
    int old_at = -1;
    fn_lib *old = find_lib(st, name, nlen, &old_at);
    if (old && !replace) {
        snprintf(err, errlen, "Library '%.*s' already exists", (int)nlen, name);
        kv_free(name);
        return -1;
    }
    fn_lib *lib = kv_calloc(1, sizeof *lib);
    lib->name = name;
    lib->nlen = nlen;
    lib->code = kv_memdup(code, clen);
    lib->clen = clen;
    lua_State *L = st->L;
    if (luaL_loadbuffer(L, code + sblen, clen - sblen, "@user_function")) {
        snprintf(err, errlen, "Error compiling function: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        lib_free(L, lib);
        return -1;
    }
    fn_load ld = {lib};
    sl_set_loading(L, &ld);
    if (timeout_ms) {
        load_deadline = mono_ms() + timeout_ms;
        lua_sethook(L, load_hook, LUA_MASKCOUNT, 100000);
    }
    run_ctx *saved = sc_run;
    sc_run = NULL;
    int rc = lua_pcall(L, 0, 0, 0);
    sc_run = saved;
    if (timeout_ms)
        lua_sethook(L, NULL, 0, 0);
    sl_set_loading(L, NULL);
    if (rc) {
        const char *msg = NULL;
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            msg = lua_tostring(L, -1);
            snprintf(err, errlen, "Error registering functions: %s", msg ? msg : "(null)");
            lua_pop(L, 1);
        } else {
            msg = lua_tostring(L, -1);
            snprintf(err, errlen, "Error registering functions: ERR %s", msg ? msg : "(null)");
        }
        lua_pop(L, 1);
        lib_free(L, lib);
        return -1;
    }
    if (!lib->nfns) {
        snprintf(err, errlen, "No functions registered");
        lib_free(L, lib);
        return -1;
    }
    for (int i = 0; i < lib->nfns; i++) {
        if (find_fn(st, lib->fns[i].name, lib->fns[i].nlen, old)) {
            snprintf(err, errlen, "Function %.*s already exists", (int)lib->fns[i].nlen,
                     lib->fns[i].name);
            lib_free(L, lib);
            return -1;
        }
    }
    if (old) {
        unlink_lib(st, old_at);
        lib_free(L, old);
    }
    link_lib(st, lib);
    return 0;
}

/* ---- keeping the interpreter in step with the aux records ---- */

static void aux_name(const char *name, size_t n, kbuf *out)
{
    kbuf_reset(out);
    kbuf_append_str(out, AUX_PREFIX);
    kbuf_append(out, name, n);
}

static void sync_state(const ks *k)
{
    if (cur.L && built_gen == ks_aux_gen())
        return;
    state_free(&cur);
    state_init(&cur);
    size_t n = ks_aux_count(k);
    for (size_t i = 0; i < n; i++) {
        const char *name, *val;
        size_t nlen, vlen;
        ks_aux_at(k, i, &name, &nlen, &val, &vlen);
        if (nlen < 3 || memcmp(name, AUX_PREFIX, 3))
            continue;
        char err[512];
        if (lib_create(&cur, val, vlen, 0, 0, err, sizeof err) < 0)
            log_write(LOG_WARNING, "function library '%.*s' does not load: %s", (int)nlen - 3,
                      name + 3, err);
    }
    built_gen = ks_aux_gen();
    built_ks = k;
}

/* After a change made here: write the aux records of st's libraries
 * (replacing all of them) and make st the current state. */
static void commit_state(ks *k, fn_state *st)
{
    if (st != &cur) {
        state_free(&cur);
        cur = *st;
    }
    kbuf nm = KBUF_INIT;
    /* Delete the records of libraries that are gone, write the others. */
    for (size_t i = ks_aux_count(k); i-- > 0;) {
        const char *name, *val;
        size_t nlen, vlen;
        ks_aux_at(k, i, &name, &nlen, &val, &vlen);
        if (nlen >= 3 && !memcmp(name, AUX_PREFIX, 3) && !find_lib(&cur, name + 3, nlen - 3, NULL))
            ks_aux_del(k, name, nlen);
    }
    for (int i = 0; i < cur.nlibs; i++) {
        fn_lib *l = cur.libs[i];
        aux_name(l->name, l->nlen, &nm);
        size_t vlen;
        const char *v = ks_aux_get(k, kbuf_data(&nm), kbuf_len(&nm), &vlen);
        if (!v || vlen != l->clen || memcmp(v, l->code, vlen))
            ks_aux_set(k, kbuf_data(&nm), kbuf_len(&nm), l->code, l->clen);
    }
    kbuf_free(&nm);
    built_gen = ks_aux_gen();
    built_ks = k;
}

void fn_init(void)
{
    state_init(&cur);
    built_ks = NULL;
}

void fn_shutdown(void)
{
    state_free(&cur);
}

void fn_stats(script_stats *st)
{
    st->functions_memory = sl_memory(cur.L);
    st->libraries = (size_t)cur.nlibs;
    for (int i = 0; i < cur.nlibs; i++) {
        st->functions += (size_t)cur.libs[i]->nfns;
        st->functions_code += cur.libs[i]->clen;
    }
}

uint32_t fn_command_flags(const char *name, size_t nlen, uint32_t flags)
{
    if (built_ks)
        sync_state(built_ks);
    fn_info *f = find_fn(&cur, name, nlen, NULL);
    if (!f)
        return flags | CMD_READONLY;
    return sc_flags_to_cmd(flags, f->flags);
}

/* The command logs itself (its argv) and counts as a change. */
static void logged(cmd_ctx *c)
{
    c->dirty++;
    cmd_propagate(c, c->argc, c->argv, c->lens);
}

/* ------------------------------------------------------------------------ */
/* FCALL                                                                     */
/* ------------------------------------------------------------------------ */

static void fcall_generic(cmd_ctx *c, int ro)
{
    sync_state(c->k);
    fn_info *f = find_fn(&cur, c->argv[1], c->lens[1], NULL);
    if (!f) {
        reply_error(&c->r, "ERR Function not found");
        return;
    }
    long long numkeys;
    if (!kv_string2ll(c->argv[2], c->lens[2], &numkeys)) {
        reply_error(&c->r, "ERR Bad number of keys provided");
        return;
    }
    if (numkeys > c->argc - 3) {
        reply_error(&c->r, "ERR Number of keys can't be greater than number of args");
        return;
    }
    if (numkeys < 0) {
        reply_error(&c->r, "ERR Number of keys can't be negative");
        return;
    }
    char *fname = kv_malloc(f->nlen + 1);
    memcpy(fname, f->name, f->nlen);
    fname[f->nlen] = '\0';
    run_ctx rc;
    if (sc_prepare(c, f->flags, ro, &rc, fname) == 0) {
        lua_State *L = cur.L;
        lua_rawgeti(L, LUA_REGISTRYINDEX, f->ref);
        sl_push_array(L, c->argv + 3, c->lens + 3, (int)numkeys);
        sl_push_array(L, c->argv + 3 + numkeys, c->lens + 3 + numkeys,
                      c->argc - 3 - (int)numkeys);
        sl_call(L, &rc, 2);
    }
    kv_free(fname);
}

void sc_fcall(cmd_ctx *c)
{
    fcall_generic(c, 0);
}

void sc_fcall_ro(cmd_ctx *c)
{
    fcall_generic(c, 1);
}

/* ------------------------------------------------------------------------ */
/* FUNCTION LOAD / DELETE / FLUSH / LIST / STATS / KILL / HELP               */
/* ------------------------------------------------------------------------ */

void sc_function_load(cmd_ctx *c)
{
    sync_state(c->k);
    int replace = 0, i = 2;
    while (i < c->argc - 1) {
        if (arg_is_c(c, i, "replace")) {
            replace = 1;
            i++;
            continue;
        }
        reply_errorf(&c->r, "ERR Unknown option given: %.*s", (int)strnlen(c->argv[i], c->lens[i]),
                     c->argv[i]);
        return;
    }
    if (i >= c->argc) {
        reply_error(&c->r, "ERR Function code is missing");
        return;
    }
    char err[1024];
    if (lib_create(&cur, c->argv[i], c->lens[i], replace, c->replay ? 0 : LOAD_TIMEOUT_MS, err,
                   sizeof err) < 0) {
        reply_errorf(&c->r, "ERR %s", err);
        return;
    }
    /* The name: parse_meta succeeded, so find the library by its code. */
    fn_lib *lib = NULL;
    for (int j = 0; j < cur.nlibs; j++)
        if (cur.libs[j]->clen == c->lens[i] && !memcmp(cur.libs[j]->code, c->argv[i], c->lens[i]))
            lib = cur.libs[j];
    commit_state(c->k, &cur);
    logged(c);
    reply_bulk(&c->r, lib->name, lib->nlen);
}

void sc_function_delete(cmd_ctx *c)
{
    sync_state(c->k);
    int at;
    fn_lib *lib = find_lib(&cur, c->argv[2], c->lens[2], &at);
    if (!lib) {
        reply_error(&c->r, "ERR Library not found");
        return;
    }
    unlink_lib(&cur, at);
    lib_free(cur.L, lib);
    commit_state(c->k, &cur);
    logged(c);
    reply_ok(&c->r);
}

void sc_function_flush(cmd_ctx *c)
{
    if (c->argc > 3) {
        reply_err_subcommand_syntax(&c->r, c->argv[0], c->lens[0], c->argv[1], c->lens[1]);
        return;
    }
    if (c->argc == 3 && !arg_is_c(c, 2, "sync") && !arg_is_c(c, 2, "async")) {
        reply_error(&c->r, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    fn_state empty;
    state_init(&empty);
    commit_state(c->k, &empty);
    logged(c);
    reply_ok(&c->r);
}

static void reply_lib(cmd_ctx *c, const fn_lib *l, int withcode)
{
    reply *r = &c->r;
    reply_map(r, withcode ? 4 : 3);
    reply_bulk_cstr(r, "library_name");
    reply_bulk(r, l->name, l->nlen);
    reply_bulk_cstr(r, "engine");
    reply_bulk_cstr(r, "LUA");
    reply_bulk_cstr(r, "functions");
    reply_array(r, l->nfns);
    for (int i = 0; i < l->nfns; i++) {
        const fn_info *f = &l->fns[i];
        reply_map(r, 3);
        reply_bulk_cstr(r, "name");
        reply_bulk(r, f->name, f->nlen);
        reply_bulk_cstr(r, "description");
        if (f->desc)
            reply_bulk(r, f->desc, f->dlen);
        else
            reply_null(r);
        reply_bulk_cstr(r, "flags");
        const char *names[8];
        int n = sf_names(f->flags, names);
        reply_set(r, n);
        for (int j = 0; j < n; j++)
            reply_simple(r, names[j]);
    }
    if (withcode) {
        reply_bulk_cstr(r, "library_code");
        reply_bulk(r, l->code, l->clen);
    }
}

void sc_function_list(cmd_ctx *c)
{
    sync_state(c->k);
    int withcode = 0;
    const char *pat = NULL;
    size_t plen = 0;
    for (int i = 2; i < c->argc; i++) {
        if (!withcode && arg_is_c(c, i, "withcode")) {
            withcode = 1;
            continue;
        }
        if (!pat && arg_is_c(c, i, "libraryname")) {
            if (i >= c->argc - 1) {
                reply_error(&c->r, "ERR library name argument was not given");
                return;
            }
            i++;
            pat = c->argv[i];
            plen = c->lens[i];
            continue;
        }
        reply_errorf(&c->r, "ERR Unknown argument %.*s", (int)strnlen(c->argv[i], c->lens[i]),
                     c->argv[i]);
        return;
    }
    long n = 0;
    for (int i = 0; i < cur.nlibs; i++)
        if (!pat || kv_match(pat, plen, cur.libs[i]->name, cur.libs[i]->nlen, 1))
            n++;
    reply_array(&c->r, n);
    for (int i = 0; i < cur.nlibs; i++)
        if (!pat || kv_match(pat, plen, cur.libs[i]->name, cur.libs[i]->nlen, 1))
            reply_lib(c, cur.libs[i], withcode);
}

void sc_function_stats(cmd_ctx *c)
{
    sync_state(c->k);
    reply *r = &c->r;
    reply_map(r, 2);
    reply_bulk_cstr(r, "running_script");
    parked *p = sc_parked;
    if (!p || (p->rc.flags & RUN_EVAL_MODE)) {
        reply_null(r);
    } else {
        reply_map(r, 3);
        reply_bulk_cstr(r, "name");
        reply_bulk_cstr(r, p->funcname);
        reply_bulk_cstr(r, "command");
        reply_array(r, p->argc);
        for (int i = 0; i < p->argc; i++)
            reply_bulk(r, p->argv[i], p->lens[i]);
        reply_bulk_cstr(r, "duration_ms");
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        reply_int(r, (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - p->rc.start_ms);
    }
    reply_bulk_cstr(r, "engines");
    reply_map(r, 1);
    reply_bulk_cstr(r, "LUA");
    reply_map(r, 2);
    reply_bulk_cstr(r, "libraries_count");
    reply_int(r, cur.nlibs);
    reply_bulk_cstr(r, "functions_count");
    long long nf = 0;
    for (int i = 0; i < cur.nlibs; i++)
        nf += cur.libs[i]->nfns;
    reply_int(r, nf);
}

void sc_function_kill(cmd_ctx *c)
{
    sc_kill(c, 0);
}


void sc_function_help(cmd_ctx *c)
{
    static const char *const help[] = {
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME "
        "argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored "
        "using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a "
        "restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, "
        "abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, "
        "replace the old",
        "      libraries with the new libraries (notice that even on this option there is a "
        "chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Prints this help.",
    };
    sc_reply_help(c, help, sizeof help / sizeof *help);
}

/* ------------------------------------------------------------------------ */
/* FUNCTION DUMP / RESTORE                                                   */
/* ------------------------------------------------------------------------ */

#define RDB_OPCODE_FUNCTION 246
#define RDB_OPCODE_FUNCTION2 245


void script_functions_rdb(const ks *k, kbuf *out)
{
    sync_state(k);
    for (int i = 0; i < cur.nlibs; i++)
        rdb_file_function(out, cur.libs[i]->code, cur.libs[i]->clen);
}

void sc_function_dump(cmd_ctx *c)
{
    sync_state(c->k);
    /* rdbSaveFunctions' bytes (codes as RDB strings, LZF-compressed when
     * that pays, as Redis), the RDB version and the CRC-64. */
    kbuf b = KBUF_INIT;
    for (int i = 0; i < cur.nlibs; i++)
        rdb_file_function(&b, cur.libs[i]->code, cur.libs[i]->clen);
    kbuf_putc(&b, RDB_VERSION & 0xff);
    kbuf_putc(&b, (RDB_VERSION >> 8) & 0xff);
    uint64_t crc = crc64(0, kbuf_data(&b), kbuf_len(&b));
    for (int s = 0; s < 64; s += 8)
        kbuf_putc(&b, (char)((crc >> s) & 0xff));
    reply_bulk(&c->r, kbuf_data(&b), kbuf_len(&b));
    kbuf_free(&b);
}

typedef struct rdbr {
    const unsigned char *p, *end;
} rdbr;

/* RDB length (or encoding, *enc set). -1 on a short read. */
static int rdb_len(rdbr *r, uint64_t *len, int *enc)
{
    *enc = 0;
    if (r->p >= r->end)
        return -1;
    unsigned char b = *r->p++;
    int type = (b & 0xC0) >> 6;
    if (type == 3) {
        *enc = 1;
        *len = b & 0x3F;
    } else if (type == 0) {
        *len = b & 0x3F;
    } else if (type == 1) {
        if (r->p >= r->end)
            return -1;
        *len = ((uint64_t)(b & 0x3F) << 8) | *r->p++;
    } else if (b == 0x80 || b == 0x81) {
        int n = b == 0x80 ? 4 : 8;
        if (r->end - r->p < n)
            return -1;
        *len = 0;
        for (int i = 0; i < n; i++)
            *len = (*len << 8) | *r->p++;
    } else {
        return -1;
    }
    return 0;
}

/* An RDB string into out. -1 if malformed. */
static int rdb_string(rdbr *r, kbuf *out)
{
    uint64_t len;
    int enc;
    kbuf_reset(out);
    if (rdb_len(r, &len, &enc) < 0)
        return -1;
    if (!enc) {
        if ((uint64_t)(r->end - r->p) < len)
            return -1;
        kbuf_append(out, r->p, len);
        r->p += len;
        return 0;
    }
    if (len <= 2) { /* 8, 16, 32-bit integers */
        int n = 1 << len;
        if (r->end - r->p < n)
            return -1;
        int64_t v = 0;
        for (int i = n - 1; i >= 0; i--)
            v = (v << 8) | r->p[i];
        if (n == 1)
            v = (int8_t)v;
        else if (n == 2)
            v = (int16_t)v;
        else
            v = (int32_t)v;
        r->p += n;
        kbuf_printf(out, "%lld", (long long)v);
        return 0;
    }
    if (len == 3) { /* LZF */
        uint64_t clen, ulen;
        if (rdb_len(r, &clen, &enc) < 0 || enc || rdb_len(r, &ulen, &enc) < 0 || enc)
            return -1;
        if ((uint64_t)(r->end - r->p) < clen || ulen > (1ull << 32))
            return -1;
        kbuf_reserve(out, ulen + 1);
        if (lzf_decompress(r->p, clen, kbuf_tail(out), ulen) != ulen)
            return -1;
        kbuf_commit(out, ulen);
        r->p += clen;
        return 0;
    }
    return -1;
}

/* Build a state holding the libraries of a (then b) codes; 0, or -1 with
 * err. Each list: n codes. */
typedef struct code_list {
    kbuf *codes;
    int n, cap;
} code_list;

static void cl_add(code_list *l, const char *p, size_t n)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->codes = kv_realloc(l->codes, (size_t)l->cap * sizeof *l->codes);
    }
    kbuf_init(&l->codes[l->n]);
    kbuf_append(&l->codes[l->n++], p, n);
}

static void cl_free(code_list *l)
{
    for (int i = 0; i < l->n; i++)
        kbuf_free(&l->codes[i]);
    kv_free(l->codes);
}

void sc_function_restore(cmd_ctx *c)
{
    sync_state(c->k);
    if (c->argc > 4) {
        reply_err_subcommand_syntax(&c->r, c->argv[0], c->lens[0], c->argv[1], c->lens[1]);
        return;
    }
    enum { APPEND, REPLACE, FLUSH } policy = APPEND;
    if (c->argc == 4) {
        if (arg_is_c(c, 3, "append"))
            policy = APPEND;
        else if (arg_is_c(c, 3, "replace"))
            policy = REPLACE;
        else if (arg_is_c(c, 3, "flush"))
            policy = FLUSH;
        else {
            reply_error(&c->r, "ERR Wrong restore policy given, value should be either FLUSH, "
                               "APPEND or REPLACE.");
            return;
        }
    }
    const unsigned char *data = (const unsigned char *)c->argv[2];
    size_t len = c->lens[2];
    /* Redis's verifyDumpPayload (DEBUG SET-SKIP-CHECKSUM-VALIDATION too);
     * replayed, it was checked when it ran. */
    if (len < 10 || (!c->replay && rdb_verify(data, len) != RDB_OK)) {
        reply_error(&c->r, "ERR DUMP payload version or checksum are wrong");
        return;
    }
    /* 1. The payload's libraries on their own. */
    fn_state in;
    state_init(&in);
    code_list payload = {0};
    rdbr r = {data, data + len - 10};
    kbuf code = KBUF_INIT;
    char err[1024] = "";
    while (r.p < r.end) {
        int type = *r.p++;
        if (type != RDB_OPCODE_FUNCTION && type != RDB_OPCODE_FUNCTION2) {
            snprintf(err, sizeof err, "given type is not a function");
            goto out;
        }
        if (type == RDB_OPCODE_FUNCTION) {
            snprintf(err, sizeof err, "Pre-GA function format not supported");
            goto out;
        }
        if (rdb_string(&r, &code) < 0) {
            snprintf(err, sizeof err, "Failed loading library payload");
            goto out;
        }
        if (lib_create(&in, kbuf_data(&code), kbuf_len(&code), 0, 0, err, sizeof err) < 0)
            goto out;
        cl_add(&payload, kbuf_data(&code), kbuf_len(&code));
    }
    /* 2. Join with the current libraries. */
    fn_state next;
    state_init(&next);
    if (policy != FLUSH) {
        for (int i = 0; i < in.nlibs; i++) {
            if (find_lib(&cur, in.libs[i]->name, in.libs[i]->nlen, NULL) && policy == APPEND) {
                snprintf(err, sizeof err, "Library %.*s already exists", (int)in.libs[i]->nlen,
                         in.libs[i]->name);
                state_free(&next);
                goto out;
            }
        }
        for (int i = 0; i < cur.nlibs; i++) {
            if (find_lib(&in, cur.libs[i]->name, cur.libs[i]->nlen, NULL))
                continue; /* replaced */
            if (lib_create(&next, cur.libs[i]->code, cur.libs[i]->clen, 0, 0, err, sizeof err) <
                0) {
                state_free(&next);
                goto out;
            }
        }
    }
    for (int i = 0; i < payload.n; i++) {
        if (lib_create(&next, kbuf_data(&payload.codes[i]), kbuf_len(&payload.codes[i]), 0, 0,
                       err, sizeof err) < 0) {
            state_free(&next);
            goto out;
        }
    }
    commit_state(c->k, &next);
    logged(c);
out:
    if (err[0])
        reply_errorf(&c->r, "ERR %s", err);
    else
        reply_ok(&c->r);
    state_free(&in);
    cl_free(&payload);
    kbuf_free(&code);
}
