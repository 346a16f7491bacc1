/* cmd_config.c — CONFIG GET / SET / RESETSTAT / REWRITE / HELP over the
 * option table of config.c, with Redis 7's rules: GET takes several glob
 * patterns matched (case-insensitively) against names and aliases; SET
 * takes several name/value pairs and is atomic — every name is checked,
 * then every value set, and if one fails the ones already set get their
 * old values back; only then is each change applied to the running server
 * (server_apply_config). */
#include "server.h"

#include "lazyfree.h"
#include "log.h"
#include "mem.h"
#include "reply.h"
#include "repl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- GET ---- */

typedef struct cfg_match {
    const char *name; /* as it is shown: the matched name or alias, or the argument */
    size_t len;
    const cfg_option *o;
} cfg_match;

typedef struct match_set {
    cfg_match *m;
    int n, cap;
} match_set;

static int match_has(const match_set *s, const char *name, size_t len)
{
    for (int i = 0; i < s->n; i++)
        if (s->m[i].len == len && !strncasecmp(s->m[i].name, name, len))
            return 1;
    return 0;
}

static void match_add(match_set *s, const char *name, size_t len, const cfg_option *o)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->m = kv_realloc(s->m, (size_t)s->cap * sizeof *s->m);
    }
    s->m[s->n].name = name;
    s->m[s->n].len = len;
    s->m[s->n].o = o;
    s->n++;
}

/* config_find for a counted (not NUL-terminated) argument. */
static const cfg_option *find_opt(const char *p, size_t n)
{
    char name[128];
    if (n >= sizeof name || memchr(p, '\0', n))
        return NULL;
    memcpy(name, p, n);
    name[n] = '\0';
    return config_find(name);
}

static int has_glob(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == '*' || p[i] == '?' || p[i] == '[')
            return 1;
    return 0;
}

static void config_get_cmd(cmd_ctx *c)
{
    match_set set = {0};
    for (int i = 2; i < c->argc; i++) {
        const char *pat = c->argv[i];
        size_t plen = c->lens[i];
        if (!has_glob(pat, plen)) {
            /* An exact name (or alias) is shown as it was asked. */
            if (match_has(&set, pat, plen))
                continue;
            const cfg_option *o = find_opt(pat, plen);
            if (o)
                match_add(&set, pat, plen, o);
            continue;
        }
        /* Names and aliases match on their own, as in Redis 7 where an
         * alias is an entry of the config dict. */
        for (const cfg_option *o = cfg_options; o->name; o++) {
            if (o->hidden)
                continue; /* only by its exact name */
            const char *names[4] = {o->name, o->alias, o->alias2, o->alias3};
            for (int k = 0; k < 4; k++) {
                if (!names[k])
                    continue;
                size_t nl = strlen(names[k]);
                if (!match_has(&set, names[k], nl) && kv_match(pat, plen, names[k], nl, 1))
                    match_add(&set, names[k], nl, o);
            }
        }
    }
    reply_map(&c->r, set.n);
    char buf[4096];
    for (int i = 0; i < set.n; i++) {
        reply_bulk(&c->r, set.m[i].name, set.m[i].len);
        size_t n = config_format(&c->srv->cfg, set.m[i].o, buf, sizeof buf);
        reply_bulk(&c->r, buf, n);
    }
    kv_free(set.m);
}

/* ---- SET ---- */

static void set_error(cmd_ctx *c, const char *arg, size_t len, const char *why)
{
    reply_errorf(&c->r, "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s",
                 (int)len, arg, why);
}

/* Redis 7.0's own immutable configs: CONFIG SET refuses them whatever the
 * value, as Redis does. */
static int redis_immutable(const cfg_option *o)
{
    static const char *const names[] = {"daemonize",
                                        "databases",
                                        "logfile",
                                        "pidfile",
                                        "unixsocket",
                                        "unixsocketperm",
                                        "tcp-backlog",
                                        "replicaof",
                                        "always-show-logo",
                                        "rdbchecksum",
                                        "set-proc-title",
                                        "appendfilename",
                                        "appenddirname",
                                        "disable-thp",
                                        "enable-debug-command",
                                        "enable-module-command",
                                        "enable-protected-configs",
                                        NULL};
    for (int i = 0; names[i]; i++)
        if (!strcmp(o->name, names[i]))
            return 1;
    return 0;
}

/* Whether v is the value o already has (parsed and written back as CONFIG
 * GET shows it, so "16mb" and "16777216" are the same). */
static int same_value(const kv_config *cur, const cfg_option *o, const char *v, size_t n)
{
    kv_config tmp;
    config_init(&tmp);
    char *copy = kv_memdup(v, n);
    const char *cv = copy;
    char err[256], a[4096], b[4096];
    int same = 0;
    if (config_set(&tmp, o, 1, &cv, 1, err, sizeof err) == 0) {
        size_t la = config_format(&tmp, o, a, sizeof a);
        size_t lb = config_format(cur, o, b, sizeof b);
        same = la == lb && !memcmp(a, b, la);
    }
    kv_free(copy);
    config_free(&tmp);
    return same;
}

/* The peer listener does not move with the client one: where peer-port
 * or peer-bind follow port or bind (their defaults), they take the values
 * the node started with, so that CONFIG REWRITE and a restart keep the
 * peer address the cluster knows. */
static void pin_peer_listener(server *s, const cfg_option *const *opts, char *const *old, int n)
{
    for (int i = 0; i < n; i++) {
        if (!opts[i])
            continue;
        const char *name = NULL, *value = old[i];
        char port[16];
        if (!strcmp(opts[i]->name, "port") && s->cfg.peer_port == 0 && atoi(old[i]) > 0) {
            snprintf(port, sizeof port, "%d", atoi(old[i]) + 10000);
            name = "peer-port";
            value = port;
        } else if (!strcmp(opts[i]->name, "bind") &&
                   (!s->cfg.peer_bind || !s->cfg.peer_bind[0])) {
            name = "peer-bind";
        }
        const cfg_option *p = name ? find_opt(name, strlen(name)) : NULL;
        char ignore[256];
        if (p)
            config_set(&s->cfg, p, 1, &value, 1, ignore, sizeof ignore);
    }
}

/* A failed CONFIG SET: the first n options get their old values back. */
static void restore_values(server *s, const cfg_option *const *opts, char *const *old,
                           const size_t *old_len, int n)
{
    for (int j = 0; j < n; j++) {
        if (!opts[j])
            continue;
        const char *ov = old[j];
        char ignore[256];
        config_set(&s->cfg, opts[j], 1, &ov, 1, ignore, sizeof ignore);
        if (!strcmp(opts[j]->name, "requirepass"))
            config_set_requirepass(&s->cfg, old[j], old_len[j]);
    }
}

static void config_set_cmd(cmd_ctx *c)
{
    if (c->argc % 2) {
        reply_err_syntax(&c->r);
        return;
    }
    server *s = c->srv;
    int n = (c->argc - 2) / 2;
    const cfg_option **opts = kv_calloc((size_t)n, sizeof *opts);
    char **old = kv_calloc((size_t)n, sizeof *old);
    size_t *old_len = kv_calloc((size_t)n, sizeof *old_len);
    int unknown = -1, bad = -1;
    const char *why = NULL;
    /* Names first: unknown, immutable, duplicate. */
    for (int i = 0; i < n; i++) {
        int a = 2 + 2 * i;
        const cfg_option *o = find_opt(c->argv[a], c->lens[a]);
        if (!o) {
            if (bad < 0 && unknown < 0)
                unknown = a;
            continue;
        }
        if (bad >= 0 || unknown >= 0)
            continue;
        if (o->protect && !protected_allowed(s->cfg.enable_protected_configs, c->cl)) {
            why = "can't set protected config";
            bad = a;
            continue;
        }
        if (!o->runtime) {
            /* One kvnode cannot change while it runs (Redis can change
             * bind, port and dir; the others are kvnode's own): set to the
             * value it has, it changes nothing and succeeds, as the same
             * CONFIG SET does on Redis (tools re-apply whole configs). */
            if (redis_immutable(o) || !same_value(&s->cfg, o, c->argv[a + 1], c->lens[a + 1])) {
                why = "can't set immutable config";
                bad = a;
            }
            continue;
        }
        /* A name given twice; an alias and its name are two configs in
         * Redis 7 (both set, in order). */
        for (int j = 0; j < i; j++) {
            if (c->lens[2 + 2 * j] == c->lens[a] &&
                !strncasecmp(c->argv[2 + 2 * j], c->argv[a], c->lens[a])) {
                why = "duplicate parameter";
                bad = a;
                break;
            }
        }
        opts[i] = o;
    }
    if (unknown >= 0) {
        reply_errorf(&c->r, "ERR Unknown option or number of arguments for CONFIG SET - '%.*s'",
                     (int)c->lens[unknown], c->argv[unknown]);
        goto done;
    }
    if (bad >= 0) {
        set_error(c, c->argv[bad], c->lens[bad], why);
        goto done;
    }
    /* Then values, keeping the old ones to restore if one fails. */
    char buf[4096], err[256];
    for (int i = 0; i < n; i++) {
        if (!opts[i])
            continue; /* immutable, and already that value */
        size_t l = config_format(&s->cfg, opts[i], buf, sizeof buf);
        old[i] = kv_memdup(buf, l);
        old_len[i] = l;
    }
    for (int i = 0; i < n; i++) {
        int a = 3 + 2 * i;
        if (!opts[i])
            continue;
        char *v = kv_memdup(c->argv[a], c->lens[a]);
        const char *cv = v;
        err[0] = '\0';
        int rc = config_set(&s->cfg, opts[i], 1, &cv, 0, err, sizeof err);
        kv_free(v);
        /* requirepass keeps all its bytes, NULs included. */
        if (rc == 0 && !strcmp(opts[i]->name, "requirepass"))
            config_set_requirepass(&s->cfg, c->argv[a], c->lens[a]);
        if (rc < 0) {
            restore_values(s, opts, old, old_len, i + 1);
            /* Named as the config is (its name or the alias used). */
            const char *nm = opts[i]->name;
            const char *names[3] = {opts[i]->alias, opts[i]->alias2, opts[i]->alias3};
            for (int k = 0; k < 3; k++)
                if (names[k] && strlen(names[k]) == c->lens[a - 1] &&
                    !strncasecmp(c->argv[a - 1], names[k], c->lens[a - 1]))
                    nm = names[k];
            set_error(c, nm, strlen(nm), err);
            goto done;
        }
    }
    /* Moving the listeners is the one apply that can fail (Redis's
     * updatePort / updateBind): it goes first, and on failure every value
     * goes back, the old listeners included. */
    int listen_arg = -1, port_changed = 0;
    for (int i = 0; i < n; i++) {
        if (!opts[i] || (strcmp(opts[i]->name, "port") && strcmp(opts[i]->name, "bind")))
            continue;
        size_t l = config_format(&s->cfg, opts[i], buf, sizeof buf);
        if (l == old_len[i] && !memcmp(buf, old[i], l))
            continue;
        if (listen_arg < 0)
            listen_arg = 2 + 2 * i;
        port_changed |= !strcmp(opts[i]->name, "port");
    }
    if (listen_arg >= 0 && server_relisten(s, err, sizeof err) < 0) {
        restore_values(s, opts, old, old_len, n);
        if (server_relisten(s, err, sizeof err) < 0)
            log_warn("CONFIG SET: could not listen again where it did before: %s", err);
        int bind = c->lens[listen_arg] == 4 && !strncasecmp(c->argv[listen_arg], "bind", 4);
        set_error(c, c->argv[listen_arg], c->lens[listen_arg],
                  bind ? "Failed to bind to specified addresses."
                       : "Unable to listen on this port. Check server logs.");
        goto done;
    }
    if (listen_arg >= 0)
        pin_peer_listener(s, opts, old, n);
    if (port_changed && s->repl)
        repl_set_client_port(s->repl, s->cfg.port);
    for (int i = 0; i < n; i++)
        if (opts[i])
            server_apply_config(s, opts[i]);
    reply_ok(&c->r);
done:
    for (int i = 0; i < n; i++)
        kv_free(old[i]);
    kv_free(old);
    kv_free(old_len);
    kv_free(opts);
}

/* ---- RESETSTAT / REWRITE / HELP ---- */

static void config_resetstat_cmd(cmd_ctx *c)
{
    server *s = c->srv;
    memset(&s->stats, 0, sizeof s->stats);
    server_reset_errors(s);
    s->env.keyspace_hits = s->env.keyspace_misses = s->env.expired_keys = 0;
    s->env.evicted_keys = 0;
    s->env.eviction_exceeded_us = 0;
    s->stats.ops_last_ms = server_mstime();
    memset(s->cmd_stats, 0, (size_t)command_count() * sizeof *s->cmd_stats);
    latency_reset(s);
    lazyfree_reset_stats();
    reply_ok(&c->r);
}

static void config_rewrite_cmd(cmd_ctx *c)
{
    char err[512];
    char *users = acl_config_lines(c->srv);
    int rc = config_rewrite(&c->srv->cfg, users, 0, err, sizeof err);
    kv_free(users);
    if (rc < 0) {
        log_warn("CONFIG REWRITE failed: %s", err);
        reply_errorf(&c->r, "ERR %s", err);
        return;
    }
    log_notice("CONFIG REWRITE executed with success.");
    reply_ok(&c->r);
}

static void config_help_cmd(cmd_ctx *c)
{
    static const char *const lines[] = {
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        NULL,
    };
    admin_reply_help(c, "CONFIG", lines);
}

#define CONFIG_FLAGS (CMD_ADMIN | CMD_STALE | CMD_NOBARRIER)

const kv_command cmds_config[] = {
    {"config", command_container, -2, CMD_NOBARRIER, 0, 0, 0, "server",
     "A container for server configuration commands.", "2.0.0", "@slow"},
    {"config|get", config_get_cmd, -3, CONFIG_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0, "server",
     "Returns the effective values of configuration parameters.", "2.0.0",
     "@admin @slow @dangerous"},
    {"config|set", config_set_cmd, -4, CONFIG_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0, "server",
     "Sets configuration parameters in-flight.", "2.0.0", "@admin @slow @dangerous"},
    {"config|resetstat", config_resetstat_cmd, 2, CONFIG_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0, "server",
     "Resets the server's statistics.", "2.0.0", "@admin @slow @dangerous"},
    {"config|rewrite", config_rewrite_cmd, 2, CONFIG_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0, "server",
     "Persists the effective configuration to file.", "2.8.0", "@admin @slow @dangerous"},
    {"config|help", config_help_cmd, 2, CMD_STALE | CMD_NOBARRIER | CMD_LOADING, 0, 0, 0, "server",
     "Returns helpful text about the different subcommands.", "5.0.0", "@slow"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
