/* cmd_command.c — COMMAND [COUNT | LIST | INFO | DOCS | GETKEYS | HELP]:
 * the command table as Redis 7 describes it to clients (redis-cli, cluster
 * clients, client libraries that probe for commands).
 *
 * Our tables know name, arity, flags, first/last/step keys, group, summary,
 * since and ACL categories; keyspecs_table.c has Redis 7.0's key specs and
 * cmddocs_table.c the rest of its documentation (complexity, doc flags,
 * deprecation, history, tips, arguments), both generated from Redis's
 * command definitions. A command of ours that Redis does not have
 * (KVCLUSTER) has none of those. */
#include "server.h"

#include "cmddocs.h"
#include "keyspecs.h"

#include "mem.h"
#include "reply.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#define MAX_SUBS 64

static void reply_categories(reply *r, const kv_command *cmd)
{
    reply_deferred d = reply_defer(r);
    long n = 0;
    char buf[32];
    uint32_t cats = acl_command_categories(cmd);
    for (int i = 0; i < acl_category_count(); i++) {
        if (cats & (1u << i)) {
            snprintf(buf, sizeof buf, "@%s", acl_category_name(i));
            reply_simple(r, buf);
            n++;
        }
    }
    reply_set_set_len(r, d, n);
}

/* Commands whose keys follow a numkeys argument (Redis's "movablekeys"
 * commands with a getkeys procedure): numkeys at argument `at`, and a
 * destination key at argument `dst` before the others (0: none). */
static const struct {
    const char *name;
    int at, dst;
} numkeys_cmds[] = {
    {"sintercard", 1, 0}, {"zunion", 1, 0},      {"zinter", 1, 0},
    {"zdiff", 1, 0},      {"zintercard", 1, 0},  {"zmpop", 1, 0},
    {"lmpop", 1, 0},      {"blmpop", 2, 0},      {"bzmpop", 2, 0},
    {"zunionstore", 2, 1}, {"zinterstore", 2, 1}, {"zdiffstore", 2, 1},
    {"eval", 2, 0},        {"evalsha", 2, 0},     {"eval_ro", 2, 0},
    {"evalsha_ro", 2, 0},  {"fcall", 2, 0},       {"fcall_ro", 2, 0},
};

static int numkeys_spec(const kv_command *cmd, int *at, int *dst)
{
    for (size_t i = 0; i < sizeof numkeys_cmds / sizeof *numkeys_cmds; i++) {
        if (!strcmp(cmd->name, numkeys_cmds[i].name)) {
            *at = numkeys_cmds[i].at;
            *dst = numkeys_cmds[i].dst;
            return 1;
        }
    }
    return 0;
}

/* Scripts may name no keys (Redis's CMD_NO_MANDATORY_KEYS): a numkeys that
 * names none is no error. */
static int no_mandatory_keys(const kv_command *cmd)
{
    return !strncmp(cmd->name, "eval", 4) || !strncmp(cmd->name, "fcall", 5);
}

/* XREAD / XREADGROUP: keys are the first half of what follows the STREAMS
 * option (Redis's xreadGetKeys). */
static int streams_keys_cmd(const kv_command *cmd)
{
    return !strcmp(cmd->name, "xread") || !strcmp(cmd->name, "xreadgroup");
}

/* The index of the STREAMS option and the key count, or -1 (no keys). */
static int word_is(const char *a, size_t alen, const char *w)
{
    return alen == strlen(w) && !strncasecmp(a, w, alen);
}

static int streams_keys(int argc, const char *const *argv, const size_t *lens, int *nkeys)
{
    int pos = -1;
    for (int i = 1; i < argc; i++) {
        if (word_is(argv[i], lens[i], "block") || word_is(argv[i], lens[i], "count")) {
            i++;
        } else if (word_is(argv[i], lens[i], "group")) {
            i += 2;
        } else if (word_is(argv[i], lens[i], "noack")) {
            continue;
        } else {
            if (word_is(argv[i], lens[i], "streams"))
                pos = i;
            break;
        }
    }
    /* Redis 7.0 answers from the key spec (keyword STREAMS, then half of
     * what follows, rounded down). */
    int num = pos < 0 ? 0 : argc - pos - 1;
    if (pos < 0 || num / 2 == 0)
        return -1;
    *nkeys = num / 2;
    return pos;
}

/* SORT and SORT_RO: movablekeys too (their GET/BY patterns name keys);
 * COMMAND GETKEYS gives the sorted key, and for SORT the key after the
 * last STORE, found as Redis's sortGetKeys finds it. */
static int is_sort(const kv_command *cmd)
{
    return !strcmp(cmd->name, "sort") || !strcmp(cmd->name, "sort_ro");
}

/* GEORADIUS and GEORADIUSBYMEMBER: the source key, then the key after the
 * first STORE and the one after the first STOREDIST from argument `from`
 * on (Redis 7.0's keyword key specs). 0 for other commands. */
static int store_keyword_spec(const kv_command *cmd, int *from)
{
    if (!strcmp(cmd->name, "georadius"))
        *from = 6;
    else if (!strcmp(cmd->name, "georadiusbymember"))
        *from = 5;
    else
        return 0;
    return 1;
}

static int keyword_key(int argc, const char *const *argv, const size_t *lens, int from,
                       const char *kw)
{
    size_t n = strlen(kw);
    for (int i = from; i < argc; i++)
        if (lens[i] == n && !strncasecmp(argv[i], kw, n))
            return i + 1 < argc ? i + 1 : 0;
    return 0;
}

static void reply_flags(reply *r, const kv_command *cmd)
{
    static const struct {
        uint32_t flag;
        const char *name;
    } names[] = {/* Redis 7.0's order (addReplyCommandFlags) */
                 {CMD_WRITE, "write"},
                 {CMD_READONLY, "readonly"},
                 {CMD_DENYOOM, "denyoom"},
                 {CMD_ADMIN, "admin"},
                 {CMD_PUBSUB, "pubsub"},
                 {CMD_NOSCRIPT, "noscript"},
                 {CMD_BLOCKING, "blocking"},
                 {CMD_LOADING, "loading"},
                 {CMD_STALE, "stale"},
                 {CMD_SKIP_MONITOR, "skip_monitor"},
                 {CMD_SKIP_SLOWLOG, "skip_slowlog"},
                 {CMD_ASKING, "asking"},
                 {CMD_FAST, "fast"},
                 {CMD_NOAUTH, "no_auth"},
                 {CMD_NO_MANDATORY_KEYS, "no_mandatory_keys"},
                 {CMD_NO_ASYNC_LOADING, "no_async_loading"},
                 {CMD_NOT_IN_MULTI, "no_multi"}};
    int at, dst, movable = numkeys_spec(cmd, &at, &dst) || is_sort(cmd) ||
                              store_keyword_spec(cmd, &at) || streams_keys_cmd(cmd) ||
                              !strcmp(cmd->name, "migrate");
    int busy = (cmd->flags & CMD_ALLOW_BUSY) != 0;
    long n = movable + busy;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        n += (cmd->flags & names[i].flag) != 0;
    reply_set(r, n);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (cmd->flags & names[i].flag)
            reply_simple(r, names[i].name);
    if (movable)
        reply_simple(r, "movablekeys");
    if (busy)
        reply_simple(r, "allow_busy");
}

/* One of Redis's key specs, as COMMAND INFO shows it. */
static void reply_spec(reply *r, const key_spec *s)
{
    reply_map(r, s->notes ? 4 : 3);
    if (s->notes) {
        reply_bulk_cstr(r, "notes");
        reply_bulk_cstr(r, s->notes);
    }
    reply_bulk_cstr(r, "flags");
    keyspec_reply_flags(r, s->flags);
    reply_bulk_cstr(r, "begin_search");
    reply_map(r, 2);
    reply_bulk_cstr(r, "type");
    if (s->bs_type == KSB_INDEX) {
        reply_bulk_cstr(r, "index");
        reply_bulk_cstr(r, "spec");
        reply_map(r, 1);
        reply_bulk_cstr(r, "index");
        reply_int(r, s->bs_index);
    } else if (s->bs_type == KSB_KEYWORD) {
        reply_bulk_cstr(r, "keyword");
        reply_bulk_cstr(r, "spec");
        reply_map(r, 2);
        reply_bulk_cstr(r, "keyword");
        reply_bulk_cstr(r, s->bs_keyword);
        reply_bulk_cstr(r, "startfrom");
        reply_int(r, s->bs_startfrom);
    } else {
        reply_bulk_cstr(r, "unknown");
        reply_bulk_cstr(r, "spec");
        reply_map(r, 0);
    }
    reply_bulk_cstr(r, "find_keys");
    reply_map(r, 2);
    reply_bulk_cstr(r, "type");
    if (s->fk_type == KSK_RANGE) {
        reply_bulk_cstr(r, "range");
        reply_bulk_cstr(r, "spec");
        reply_map(r, 3);
        reply_bulk_cstr(r, "lastkey");
        reply_int(r, s->fk_a);
        reply_bulk_cstr(r, "keystep");
        reply_int(r, s->fk_b);
        reply_bulk_cstr(r, "limit");
        reply_int(r, s->fk_c);
    } else if (s->fk_type == KSK_KEYNUM) {
        reply_bulk_cstr(r, "keynum");
        reply_bulk_cstr(r, "spec");
        reply_map(r, 3);
        reply_bulk_cstr(r, "keynumidx");
        reply_int(r, s->fk_a);
        reply_bulk_cstr(r, "firstkey");
        reply_int(r, s->fk_b);
        reply_bulk_cstr(r, "keystep");
        reply_int(r, s->fk_c);
    } else {
        reply_bulk_cstr(r, "unknown");
        reply_bulk_cstr(r, "spec");
        reply_map(r, 0);
    }
}

/* Redis's key specs for its commands (keyspecs.h); kvnode's own commands
 * with keys get one spec from their key positions. */
static void reply_key_specs(reply *r, const kv_command *cmd)
{
    const keyspec_cmd *kc = keyspec_find(cmd->name);
    if (kc) {
        reply_set(r, kc->n);
        for (int i = 0; i < kc->n; i++)
            reply_spec(r, &kc->specs[i]);
        return;
    }
    if (cmd->first_key <= 0) {
        reply_set(r, 0);
        return;
    }
    reply_set(r, 1);
    reply_map(r, 3);
    reply_bulk_cstr(r, "flags");
    reply_set(r, 1);
    reply_simple(r, (cmd->flags & CMD_WRITE) ? "RW" : "RO");
    reply_bulk_cstr(r, "begin_search");
    reply_map(r, 2);
    reply_bulk_cstr(r, "type");
    reply_bulk_cstr(r, "index");
    reply_bulk_cstr(r, "spec");
    reply_map(r, 1);
    reply_bulk_cstr(r, "index");
    reply_int(r, cmd->first_key);
    reply_bulk_cstr(r, "find_keys");
    reply_map(r, 2);
    reply_bulk_cstr(r, "type");
    reply_bulk_cstr(r, "range");
    reply_bulk_cstr(r, "spec");
    reply_map(r, 3);
    reply_bulk_cstr(r, "lastkey");
    reply_int(r, cmd->last_key < 0 ? cmd->last_key : cmd->last_key - cmd->first_key);
    reply_bulk_cstr(r, "keystep");
    reply_int(r, cmd->key_step);
    reply_bulk_cstr(r, "limit");
    reply_int(r, 0);
}

static void reply_info(reply *r, const kv_command *cmd)
{
    if (!cmd) {
        reply_null(r);
        return;
    }
    reply_array(r, 10);
    reply_bulk_cstr(r, cmd->name);
    reply_int(r, cmd->arity);
    reply_flags(r, cmd);
    /* First/last/step: ours, or (commands whose "keys" are not keys to us:
     * SPUBLISH's shard channels) Redis's legacy range from its one key spec. */
    int first = cmd->first_key, last = cmd->last_key, step = cmd->key_step;
    const keyspec_cmd *kc = first == 0 ? keyspec_find(cmd->name) : NULL;
    if (kc && kc->n == 1 && kc->specs[0].bs_type == KSB_INDEX &&
        kc->specs[0].fk_type == KSK_RANGE) {
        first = kc->specs[0].bs_index;
        last = kc->specs[0].fk_a >= 0 ? first + kc->specs[0].fk_a : kc->specs[0].fk_a;
        step = kc->specs[0].fk_b;
    }
    reply_int(r, first);
    reply_int(r, last);
    reply_int(r, step);
    reply_categories(r, cmd);
    const cmd_doc *d = cmddoc_find(cmd->name);
    reply_set(r, d ? d->ntips : 0);
    for (int i = 0; d && i < d->ntips; i++)
        reply_bulk_cstr(r, d->tips[i]);
    reply_key_specs(r, cmd);
    const kv_command *subs[MAX_SUBS];
    int n = command_subs(cmd, subs, MAX_SUBS);
    if (n > MAX_SUBS)
        n = MAX_SUBS;
    reply_array(r, n);
    for (int i = 0; i < n; i++)
        reply_info(r, subs[i]);
}

/* An argument list as Redis's addReplyCommandArgList. */
static void reply_args(reply *r, const cmd_arg *args, int n)
{
    static const char *const flag_names[] = {"optional", "multiple", "multiple_token"};
    reply_array(r, n);
    for (int i = 0; i < n; i++) {
        const cmd_arg *a = &args[i];
        int nested = a->type == CAT_ONEOF || a->type == CAT_BLOCK;
        reply_map(r, 2 + (a->key_spec_index != -1) + (a->token != NULL) + (a->summary != NULL) +
                         (a->since != NULL) + (a->deprecated_since != NULL) + (a->flags != 0) +
                         nested);
        reply_bulk_cstr(r, "name");
        reply_bulk_cstr(r, a->name);
        reply_bulk_cstr(r, "type");
        reply_bulk_cstr(r, cmddoc_arg_type(a->type));
        if (a->key_spec_index != -1) {
            reply_bulk_cstr(r, "key_spec_index");
            reply_int(r, a->key_spec_index);
        }
        static const struct {
            const char *field;
            size_t off;
        } strs[] = {
            {"token", offsetof(cmd_arg, token)},
            {"summary", offsetof(cmd_arg, summary)},
            {"since", offsetof(cmd_arg, since)},
            {"deprecated_since", offsetof(cmd_arg, deprecated_since)},
        };
        for (size_t j = 0; j < sizeof strs / sizeof *strs; j++) {
            const char *v = *(const char *const *)((const char *)a + strs[j].off);
            if (v) {
                reply_bulk_cstr(r, strs[j].field);
                reply_bulk_cstr(r, v);
            }
        }
        if (a->flags) {
            reply_bulk_cstr(r, "flags");
            reply_set(r, __builtin_popcount(a->flags));
            for (int b = 0; b < 3; b++)
                if (a->flags & (1u << b))
                    reply_simple(r, flag_names[b]);
        }
        if (nested) {
            reply_bulk_cstr(r, "arguments");
            reply_args(r, a->subargs, a->nsubargs);
        }
    }
}

static void reply_docs(reply *r, const kv_command *cmd)
{
    const kv_command *subs[MAX_SUBS];
    int n = command_subs(cmd, subs, MAX_SUBS);
    if (n > MAX_SUBS)
        n = MAX_SUBS;
    /* Redis's own words where it has the command; ours otherwise. */
    const cmd_doc *d = cmddoc_find(cmd->name);
    const char *summary = d ? d->summary : cmd->summary;
    const char *since = d ? d->since : cmd->since;
    const char *group = d ? d->group : cmd->group ? cmd->group : "generic";
    int extra = 0;
    if (d)
        extra = (d->complexity != NULL) + (d->doc_flags != 0) + (d->deprecated_since != NULL) +
                (d->replaced_by != NULL) + (d->nhistory > 0) + (d->nargs > 0);
    reply_map(r, 1 + (summary != NULL) + (since != NULL) + extra + (n > 0));
    if (summary) {
        reply_bulk_cstr(r, "summary");
        reply_bulk_cstr(r, summary);
    }
    if (since) {
        reply_bulk_cstr(r, "since");
        reply_bulk_cstr(r, since);
    }
    reply_bulk_cstr(r, "group");
    reply_bulk_cstr(r, group);
    if (d && d->complexity) {
        reply_bulk_cstr(r, "complexity");
        reply_bulk_cstr(r, d->complexity);
    }
    if (d && d->doc_flags) {
        reply_bulk_cstr(r, "doc_flags");
        reply_set(r, __builtin_popcount(d->doc_flags));
        if (d->doc_flags & CDF_DEPRECATED)
            reply_simple(r, "deprecated");
        if (d->doc_flags & CDF_SYSCMD)
            reply_simple(r, "syscmd");
    }
    if (d && d->deprecated_since) {
        reply_bulk_cstr(r, "deprecated_since");
        reply_bulk_cstr(r, d->deprecated_since);
    }
    if (d && d->replaced_by) {
        reply_bulk_cstr(r, "replaced_by");
        reply_bulk_cstr(r, d->replaced_by);
    }
    if (d && d->nhistory > 0) {
        reply_bulk_cstr(r, "history");
        reply_set(r, d->nhistory);
        for (int i = 0; i < d->nhistory; i++) {
            reply_array(r, 2);
            reply_bulk_cstr(r, d->history[i].since);
            reply_bulk_cstr(r, d->history[i].changes);
        }
    }
    if (d && d->nargs > 0) {
        reply_bulk_cstr(r, "arguments");
        reply_args(r, d->args, d->nargs);
    }
    if (n > 0) {
        reply_bulk_cstr(r, "subcommands");
        reply_map(r, n);
        for (int i = 0; i < n; i++) {
            reply_bulk_cstr(r, subs[i]->name);
            reply_docs(r, subs[i]);
        }
    }
}

static int toplevel_count(void)
{
    int n = 0;
    for (int i = 0; i < command_count(); i++)
        n += !command_is_sub(command_at(i));
    return n;
}

/* ---- COMMAND (no subcommand) / INFO ---- */

static void reply_all_info(cmd_ctx *c)
{
    reply_array(&c->r, toplevel_count());
    for (int i = 0; i < command_count(); i++)
        if (!command_is_sub(command_at(i)))
            reply_info(&c->r, command_at(i));
}

static void command_info_cmd(cmd_ctx *c)
{
    if (c->argc == 2) {
        reply_all_info(c);
        return;
    }
    reply_array(&c->r, c->argc - 2);
    for (int i = 2; i < c->argc; i++)
        reply_info(&c->r, command_lookup_full(c->argv[i], c->lens[i]));
}

static void command_docs_cmd(cmd_ctx *c)
{
    if (c->argc == 2) {
        reply_map(&c->r, toplevel_count());
        for (int i = 0; i < command_count(); i++) {
            const kv_command *cmd = command_at(i);
            if (command_is_sub(cmd))
                continue;
            reply_bulk_cstr(&c->r, cmd->name);
            reply_docs(&c->r, cmd);
        }
        return;
    }
    reply_deferred d = reply_defer(&c->r);
    long n = 0;
    for (int i = 2; i < c->argc; i++) {
        const kv_command *cmd = command_lookup_full(c->argv[i], c->lens[i]);
        if (!cmd)
            continue;
        reply_bulk_cstr(&c->r, cmd->name);
        reply_docs(&c->r, cmd);
        n++;
    }
    reply_set_map_len(&c->r, d, n);
}

static void command_count_cmd(cmd_ctx *c)
{
    reply_int(&c->r, toplevel_count());
}

/* ---- LIST [FILTERBY MODULE m | ACLCAT cat | PATTERN p] ---- */

enum { FILTER_NONE, FILTER_MODULE, FILTER_ACLCAT, FILTER_PATTERN };

static void command_list_cmd(cmd_ctx *c)
{
    int filter = FILTER_NONE;
    const char *arg = NULL;
    size_t alen = 0;
    for (int i = 2; i < c->argc; i++) {
        if (arg_is(c, i, "FILTERBY") && c->argc - 1 - i == 2) {
            if (arg_is(c, i + 1, "MODULE"))
                filter = FILTER_MODULE;
            else if (arg_is(c, i + 1, "ACLCAT"))
                filter = FILTER_ACLCAT;
            else if (arg_is(c, i + 1, "PATTERN"))
                filter = FILTER_PATTERN;
            else {
                reply_err_syntax(&c->r);
                return;
            }
            arg = c->argv[i + 2];
            alen = c->lens[i + 2];
            i += 2;
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    int cat = filter == FILTER_ACLCAT ? acl_category_by_name(arg, alen) : -1;
    reply_deferred d = reply_defer(&c->r);
    long n = 0;
    for (int i = 0; i < command_count(); i++) {
        const kv_command *cmd = command_at(i);
        if (command_is_sub(cmd))
            continue;
        const kv_command *subs[MAX_SUBS + 1];
        subs[0] = cmd;
        int ns = command_subs(cmd, subs + 1, MAX_SUBS);
        if (ns > MAX_SUBS)
            ns = MAX_SUBS;
        for (int j = 0; j <= ns; j++) {
            const kv_command *x = subs[j];
            int ok = filter == FILTER_NONE ||
                     (filter == FILTER_ACLCAT && cat >= 0 &&
                      (acl_command_categories(x) & (1u << cat))) ||
                     (filter == FILTER_PATTERN &&
                      kv_match(arg, alen, x->name, strlen(x->name), 1));
            if (ok) {
                reply_bulk_cstr(&c->r, x->name);
                n++;
            }
        }
    }
    reply_set_array_len(&c->r, d, n);
}

/* ---- Keys of a call (GETKEYS, client-side caching) ---- */

static int arity_fits(const kv_command *cmd, int argc)
{
    return !((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity);
}

int command_keys(const kv_command *cmd, int argc, const char *const *argv, const size_t *lens,
                 void (*fn)(void *arg, int i), void *arg)
{
    int at, dst;
    if (streams_keys_cmd(cmd)) {
        int nkeys, pos = streams_keys(argc, argv, lens, &nkeys);
        if (pos < 0)
            return -1;
        for (int i = pos + 1; fn && i <= pos + nkeys; i++)
            fn(arg, i);
        return nkeys;
    }
    if (numkeys_spec(cmd, &at, &dst)) {
        long long n;
        if (at >= argc || !kv_string2ll(argv[at], lens[at], &n) || n < 1 || n > argc - at - 1)
            return no_mandatory_keys(cmd) ? 0 : -1;
        if (fn && dst)
            fn(arg, dst);
        for (int i = at + 1; fn && i <= at + (int)n; i++)
            fn(arg, i);
        return (int)n + (dst ? 1 : 0);
    }
    if (!strcmp(cmd->name, "migrate")) {
        if (argc < 4)
            return -1;
        /* Redis's migrateGetKeys: argument 3, or what follows KEYS (skipping
         * AUTH's and AUTH2's values); KEYS with a non-empty key: none. */
        int first = 3, num = 1;
        for (int i = 6; i < argc; i++) {
            if (word_is(argv[i], lens[i], "keys")) {
                if (lens[3] > 0)
                    return -1;
                first = i + 1;
                num = argc - first;
                break;
            }
            if (word_is(argv[i], lens[i], "auth"))
                i += 1;
            else if (word_is(argv[i], lens[i], "auth2"))
                i += 2;
        }
        if (num == 0) {
            /* KEYS last: Redis 7.0 answers from the first key spec. */
            first = 3;
            num = 1;
        }
        for (int i = first; fn && i < first + num; i++)
            fn(arg, i);
        return num;
    }
    if (is_sort(cmd)) {
        int store = 0;
        if (!strcmp(cmd->name, "sort")) {
            static const struct {
                const char *name;
                int skip;
            } skips[] = {{"limit", 2}, {"get", 1}, {"by", 1}};
            for (int i = 2; i < argc; i++) {
                for (size_t j = 0; j < sizeof skips / sizeof *skips; j++) {
                    if (strlen(skips[j].name) == lens[i] &&
                        !strncasecmp(argv[i], skips[j].name, lens[i])) {
                        i += skips[j].skip;
                        break;
                    } else if (lens[i] == 5 && !strncasecmp(argv[i], "store", 5) &&
                               i + 1 < argc) {
                        store = i + 1;
                        break;
                    }
                }
            }
        }
        if (argc < 2)
            return -1;
        if (fn) {
            fn(arg, 1);
            if (store)
                fn(arg, store);
        }
        return store ? 2 : 1;
    }
    if (cmd->first_key <= 0)
        return -2;
    int from;
    if (store_keyword_spec(cmd, &from)) {
        int st = keyword_key(argc, argv, lens, from, "store");
        int sd = keyword_key(argc, argv, lens, from, "storedist");
        if (argc < 2)
            return -1;
        if (fn) {
            fn(arg, 1);
            if (st)
                fn(arg, st);
            if (sd)
                fn(arg, sd);
        }
        return 1 + (st > 0) + (sd > 0);
    }
    int first = cmd->first_key;
    int last = cmd->last_key >= 0 ? cmd->last_key : argc + cmd->last_key;
    int step = cmd->key_step > 0 ? cmd->key_step : 1;
    if (last >= argc || last < first || first >= argc)
        return -1;
    for (int i = first; fn && i <= last; i += step)
        fn(arg, i);
    return (last - first) / step + 1;
}

/* ---- GETKEYS / GETKEYSANDFLAGS <command> [args …] ---- */

/* Key positions collected from command_keys. */
typedef struct getkeys_ctx {
    int *pos;
    int n, max;
} getkeys_ctx;

static void getkeys_one(void *arg, int i)
{
    getkeys_ctx *g = arg;
    if (g->n < g->max)
        g->pos[g->n++] = i;
}

/* Whether every spec says where the keys are and what is done with them. */
static int specs_complete(const keyspec_cmd *kc)
{
    for (int i = 0; i < kc->n; i++) {
        const key_spec *s = &kc->specs[i];
        if ((s->flags & (KSF_INCOMPLETE | KSF_VARIABLE_FLAGS)) || s->bs_type == KSB_UNKNOWN ||
            s->fk_type == KSK_UNKNOWN)
            return 0;
    }
    return 1;
}

/* The flags of the key at position p, where Redis's specs cannot tell
 * them (its getkeys procedures for SET, BITFIELD, SORT, SORT_RO and
 * MIGRATE); -1 for the other commands. */
static long proc_key_flags(const kv_command *cmd, int argc, const char *const *argv,
                           const size_t *lens, int p)
{
    if (!strcmp(cmd->name, "set")) {
        for (int i = 3; i < argc; i++)
            if (word_is(argv[i], lens[i], "get"))
                return KSF_RW | KSF_ACCESS | KSF_UPDATE;
        return KSF_OW | KSF_UPDATE;
    }
    if (!strcmp(cmd->name, "bitfield")) {
        /* Read-only while it is GETs (and OVERFLOWs) only; anything else,
         * a syntax error included, counts as a write. */
        int readonly = 1;
        for (int i = 2; i < argc && readonly; i++) {
            int rem = argc - i - 1;
            if (word_is(argv[i], lens[i], "get") && rem >= 2)
                i += 2;
            else if (word_is(argv[i], lens[i], "overflow") && rem >= 1)
                i += 1;
            else
                readonly = 0;
        }
        return readonly ? KSF_RO | KSF_ACCESS : KSF_RW | KSF_ACCESS | KSF_UPDATE;
    }
    if (!strcmp(cmd->name, "sort_ro"))
        return KSF_RO | KSF_ACCESS;
    if (!strcmp(cmd->name, "sort"))
        return p == 1 ? KSF_RO | KSF_ACCESS : KSF_OW | KSF_UPDATE;
    if (!strcmp(cmd->name, "migrate"))
        return KSF_RW | KSF_ACCESS | KSF_DELETE;
    return -1;
}

/* The flags of the key at position p when the specs did not find the
 * keys: from the getkeys procedures, else from the first spec (of kc, NULL
 * for none; the commands that get here have one), else from the command's
 * write flag (kvnode's own commands). */
static unsigned key_flags(const kv_command *cmd, const keyspec_cmd *kc, int argc,
                          const char *const *argv, const size_t *lens, int p)
{
    long f = proc_key_flags(cmd, argc, argv, lens, p);
    if (f >= 0)
        return (unsigned)f;
    if (kc)
        return kc->specs[0].flags;
    return (cmd->flags & CMD_WRITE) ? KSF_RW : KSF_RO;
}

int command_keys_flags(const kv_command *cmd, int argc, const char *const *argv,
                       const size_t *lens, int *pos, unsigned *fl, int max)
{
    /* Redis 7.0 takes the keys from the key specs when they are complete
     * (no INCOMPLETE, VARIABLE_FLAGS or unknown spec) and fit the
     * arguments, and otherwise from its getkeys procedures, which
     * command_keys reproduces. */
    const keyspec_cmd *kc = keyspec_find(cmd->name);
    int at, dst;
    int movable = streams_keys_cmd(cmd) || numkeys_spec(cmd, &at, &dst) || is_sort(cmd);
    if (!movable && cmd->first_key <= 0 && !kc)
        return -2;
    int n = -1;
    if (kc && specs_complete(kc))
        n = keyspec_keys(kc, argc, argv, lens, pos, fl, max);
    if (n > 0)
        return n;
    n = command_keys(cmd, argc, argv, lens, NULL, NULL);
    if (n < 0)
        return n;
    getkeys_ctx g = {pos, 0, max};
    command_keys(cmd, argc, argv, lens, getkeys_one, &g);
    for (int i = 0; i < g.n; i++)
        fl[i] = key_flags(cmd, kc, argc, argv, lens, pos[i]);
    return g.n;
}

static void getkeys_generic(cmd_ctx *c, int with_flags)
{
    int argc = c->argc - 2;
    const char *const *argv = c->argv + 2;
    const size_t *lens = c->lens + 2;
    const kv_command *cmd = command_lookup(argv[0], lens[0]);
    if (cmd && argc > 1 && command_subs(cmd, NULL, 0) > 0)
        cmd = command_lookup_sub(cmd, argv[1], lens[1]);
    if (!cmd) {
        reply_error(&c->r, "ERR Invalid command specified");
        return;
    }
    const keyspec_cmd *kc = keyspec_find(cmd->name);
    int at, dst;
    int movable = streams_keys_cmd(cmd) || numkeys_spec(cmd, &at, &dst) || is_sort(cmd);
    if (!movable && cmd->first_key <= 0 && !kc) {
        reply_error(&c->r, "ERR The command has no key arguments");
        return;
    }
    if (!arity_fits(cmd, argc)) {
        reply_error(&c->r, "ERR Invalid number of arguments specified for command");
        return;
    }
    int max = argc > 0 ? argc : 1;
    int *pos = kv_malloc((size_t)max * sizeof *pos);
    unsigned *fl = kv_malloc((size_t)max * sizeof *fl);
    int n = command_keys_flags(cmd, argc, argv, lens, pos, fl, max);
    if (n < 0) {
        reply_error(&c->r, n == -2 ? "ERR The command has no key arguments"
                                   : "ERR Invalid arguments specified for command");
    } else {
        reply_array(&c->r, n);
        for (int i = 0; i < n; i++) {
            if (with_flags)
                reply_array(&c->r, 2);
            reply_bulk(&c->r, argv[pos[i]], lens[pos[i]]);
            if (with_flags)
                keyspec_reply_flags(&c->r, fl[i]);
        }
    }
    kv_free(pos);
    kv_free(fl);
}

static void command_getkeys_cmd(cmd_ctx *c)
{
    getkeys_generic(c, 0);
}

static void command_getkeysandflags_cmd(cmd_ctx *c)
{
    getkeys_generic(c, 1);
}

static void command_help_cmd(cmd_ctx *c)
{
    static const char *const lines[] = {
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
        NULL,
    };
    admin_reply_help(c, "COMMAND", lines);
}

/* COMMAND alone describes every command; otherwise a container. */
static void cmd_command(cmd_ctx *c)
{
    if (c->argc == 1)
        reply_all_info(c);
    else
        command_container(c);
}

#define COMMAND_FLAGS (CMD_STALE | CMD_NOBARRIER)

const kv_command cmds_command[] = {
    {"command", cmd_command, -1, COMMAND_FLAGS | CMD_LOADING, 0, 0, 0, "server",
     "Returns detailed information about all commands.", "2.8.13", "@slow @connection"},
    {"command|count", command_count_cmd, 2, COMMAND_FLAGS | CMD_LOADING, 0, 0, 0, "server",
     "Returns a count of commands.", "2.8.13", "@slow @connection"},
    {"command|list", command_list_cmd, -2, COMMAND_FLAGS | CMD_LOADING, 0, 0, 0, "server",
     "Returns a list of command names.", "7.0.0", "@slow @connection"},
    {"command|info", command_info_cmd, -2, COMMAND_FLAGS | CMD_LOADING, 0, 0, 0, "server",
     "Returns information about one, multiple or all commands.", "2.8.13",
     "@slow @connection"},
    {"command|docs", command_docs_cmd, -2, COMMAND_FLAGS | CMD_LOADING, 0, 0, 0, "server",
     "Returns documentary information about one, multiple or all commands.", "7.0.0",
     "@slow @connection"},
    {"command|getkeys", command_getkeys_cmd, -4, COMMAND_FLAGS | CMD_LOADING, 0, 0, 0, "server",
     "Extracts the key names from an arbitrary command.", "2.8.13", "@slow @connection"},
    {"command|getkeysandflags", command_getkeysandflags_cmd, -4, COMMAND_FLAGS | CMD_LOADING, 0, 0,
     0, "server", "Extracts the key names and access flags for an arbitrary command.", "7.0.0",
     "@slow @connection"},
    {"command|help", command_help_cmd, 2, COMMAND_FLAGS | CMD_LOADING, 0, 0, 0, "server",
     "Returns helpful text about the different subcommands.", "5.0.0", "@slow @connection"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
