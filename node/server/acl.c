/* acl.c — users, selectors, permission checks, the ACL log and the ACL
 * command, with Redis 7.0's rules, replies and error texts (acl.h).
 *
 * A user has flags (on/off, nopass, sanitize-payload), SHA-256 hashes of
 * its passwords, and selectors: the root one (rules given outside
 * parentheses) and any number of "(…)" ones. A command is allowed when one
 * selector allows the command and every key and channel it names. A
 * selector's commands are a bitmap over the command table's indexes
 * (subcommands have their own) plus one bit that only +@all sets ("future
 * commands"), which decides whether its description starts from +@all or
 * -@all. */
#include "acl.h"

#include "err.h"
#include "keyspecs.h"
#include "log.h"
#include "mem.h"
#include "reply.h"
#include "server.h"
#include "sha256.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#define ACL_BITS 1024
#define ACL_WORDS (ACL_BITS / 64)
#define ACL_FUTURE (ACL_BITS - 1) /* set by +@all only */
#define HASH_LEN 64
#define LOG_GROUP_MS 60000

enum { SEL_ROOT = 1, SEL_ALLKEYS = 2, SEL_ALLCOMMANDS = 4, SEL_ALLCHANNELS = 8 };
enum { U_ON = 1, U_OFF = 2, U_NOPASS = 4, U_SKIP_SANITIZE = 8, U_SANITIZE = 16 };
enum { KP_READ = 1, KP_WRITE = 2, KP_ALL = 3 };

/* Redis's category order (ACL CAT, descriptions). */
static const char *const categories[] = {
    "keyspace", "read",     "write",     "set",        "sortedset",   "list",     "hash",
    "string",   "bitmap",   "hyperloglog", "geo",      "stream",      "pubsub",   "admin",
    "fast",     "slow",     "blocking",  "dangerous",  "connection",  "transaction", "scripting",
};
#define NCATS ((int)(sizeof categories / sizeof *categories))

/* The user flags in the order descriptions list them. */
static const struct {
    const char *name;
    unsigned flag;
} user_flags[] = {
    {"on", U_ON},
    {"off", U_OFF},
    {"nopass", U_NOPASS},
    {"skip-sanitize-payload", U_SKIP_SANITIZE},
    {"sanitize-payload", U_SANITIZE},
};
#define NUSERFLAGS ((int)(sizeof user_flags / sizeof *user_flags))

typedef struct acl_pat {
    char *p;
    size_t n;
    int flags; /* KP_* (channels: unused) */
} acl_pat;

typedef struct acl_sel {
    unsigned flags;
    uint64_t cmds[ACL_WORDS];
    char ***firstargs; /* by command index: NULL-terminated arrays, or NULL */
    acl_pat *keys;
    int nkeys;
    acl_pat *chans;
    int nchans;
} acl_sel;

struct acl_user {
    char *name;
    size_t nlen;
    unsigned flags;
    char (*pw)[HASH_LEN + 1];
    int npw;
    acl_sel **sel; /* sel[0] is the root selector */
    int nsel;
    char *desc;    /* ACL LIST's description, cached until a change */
};

typedef struct acl_entry {
    uint64_t count;
    int reason, context;
    char *object;
    size_t olen;
    char *user;
    size_t ulen;
    int64_t ctime;
    char *cinfo;
} acl_entry;

struct acl_state {
    acl_user **users; /* sorted by name, bytewise (Redis's radix tree order) */
    int nusers, cap;
    acl_user *dflt;
    acl_entry **log; /* newest first */
    int nlog, caplog;
};

/* Per command index: its categories (bit i: categories[i]). */
static uint32_t *cat_of;
static int ncmds;

static void init_tables(void)
{
    if (cat_of)
        return;
    ncmds = command_count();
    if (ncmds >= ACL_FUTURE) {
        log_warn("ACL: %d commands do not fit the %d-bit command bitmaps", ncmds, ACL_BITS);
        kv_abort();
    }
    cat_of = kv_calloc((size_t)ncmds, sizeof *cat_of);
    for (int i = 0; i < ncmds; i++) {
        const char *p = command_at(i)->acl ? command_at(i)->acl : "";
        while (*p) {
            while (*p == ' ')
                p++;
            const char *w = p;
            while (*p && *p != ' ')
                p++;
            int c = *w == '@' ? acl_category_by_name(w + 1, (size_t)(p - w - 1)) : -1;
            if (c >= 0)
                cat_of[i] |= 1u << c;
        }
    }
}

int acl_category_by_name(const char *name, size_t len)
{
    for (int c = 0; c < NCATS; c++)
        if (strlen(categories[c]) == len && !strncasecmp(name, categories[c], len))
            return c;
    return -1;
}

static int category_by_name(const char *name)
{
    return acl_category_by_name(name, strlen(name));
}

int acl_category_count(void)
{
    return NCATS;
}

const char *acl_category_name(int i)
{
    return categories[i];
}

uint32_t acl_command_categories(const kv_command *cmd)
{
    init_tables();
    return cat_of[command_index(cmd)];
}

static int has_spaces(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)p[i]) || !p[i])
            return 1;
    return 0;
}

static int valid_hash(const char *p, size_t n)
{
    if (n != HASH_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= 'a' && p[i] <= 'f') || (p[i] >= '0' && p[i] <= '9')))
            return 0;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Selectors                                                                 */
/* ------------------------------------------------------------------------ */

static acl_sel *sel_new(unsigned flags, int pubsub_default)
{
    acl_sel *s = kv_calloc(1, sizeof *s);
    s->flags = flags | (pubsub_default ? SEL_ALLCHANNELS : 0);
    return s;
}

static void firstargs_reset_one(acl_sel *s, int id)
{
    if (!s->firstargs || !s->firstargs[id])
        return;
    for (char **a = s->firstargs[id]; *a; a++)
        kv_free(*a);
    kv_free(s->firstargs[id]);
    s->firstargs[id] = NULL;
}

static void firstargs_reset(acl_sel *s)
{
    if (!s->firstargs)
        return;
    for (int i = 0; i < ncmds; i++)
        firstargs_reset_one(s, i);
    kv_free(s->firstargs);
    s->firstargs = NULL;
}

static void firstargs_add(acl_sel *s, int id, const char *sub)
{
    if (!s->firstargs)
        s->firstargs = kv_calloc((size_t)ncmds, sizeof *s->firstargs);
    int n = 0;
    if (s->firstargs[id])
        for (; s->firstargs[id][n]; n++)
            if (!strcasecmp(s->firstargs[id][n], sub))
                return;
    s->firstargs[id] = kv_realloc(s->firstargs[id], (size_t)(n + 2) * sizeof(char *));
    s->firstargs[id][n] = kv_memdup(sub, strlen(sub));
    s->firstargs[id][n + 1] = NULL;
}

static void pats_free(acl_pat *p, int n)
{
    for (int i = 0; i < n; i++)
        kv_free(p[i].p);
    kv_free(p);
}

static void sel_free(acl_sel *s)
{
    if (!s)
        return;
    pats_free(s->keys, s->nkeys);
    pats_free(s->chans, s->nchans);
    firstargs_reset(s);
    kv_free(s);
}

static void pats_clear(acl_pat **p, int *n)
{
    pats_free(*p, *n);
    *p = NULL;
    *n = 0;
}

static acl_pat *pats_copy(const acl_pat *p, int n)
{
    if (!n)
        return NULL;
    acl_pat *c = kv_malloc((size_t)n * sizeof *c);
    for (int i = 0; i < n; i++) {
        c[i] = p[i];
        c[i].p = kv_memdup(p[i].p, p[i].n);
    }
    return c;
}

static acl_sel *sel_copy(const acl_sel *src)
{
    acl_sel *s = kv_calloc(1, sizeof *s);
    s->flags = src->flags;
    memcpy(s->cmds, src->cmds, sizeof s->cmds);
    s->keys = pats_copy(src->keys, src->nkeys);
    s->nkeys = src->nkeys;
    s->chans = pats_copy(src->chans, src->nchans);
    s->nchans = src->nchans;
    if (src->firstargs)
        for (int i = 0; i < ncmds; i++)
            if (src->firstargs[i])
                for (char **a = src->firstargs[i]; *a; a++)
                    firstargs_add(s, i, *a);
    return s;
}

static int bit_get(const acl_sel *s, int id)
{
    return (s->cmds[id / 64] >> (id % 64)) & 1;
}

static void bit_set(acl_sel *s, int id, int on)
{
    if (on) {
        s->cmds[id / 64] |= 1ull << (id % 64);
    } else {
        s->cmds[id / 64] &= ~(1ull << (id % 64));
        s->flags &= ~(unsigned)SEL_ALLCOMMANDS;
    }
}

/* Allow or deny a command: a container with all its subcommands. */
static void change_perm(acl_sel *s, const kv_command *cmd, int allow)
{
    int id = command_index(cmd);
    bit_set(s, id, allow);
    firstargs_reset_one(s, id);
    const kv_command *subs[128];
    int n = command_subs(cmd, subs, 128);
    for (int i = 0; i < n && i < 128; i++)
        bit_set(s, command_index(subs[i]), allow);
}

static void set_category(acl_sel *s, int cat, int allow)
{
    for (int i = 0; i < ncmds; i++)
        if (cat_of[i] & (1u << cat))
            change_perm(s, command_at(i), allow);
}

static void count_category(const acl_sel *s, int cat, unsigned long *on, unsigned long *off)
{
    *on = *off = 0;
    for (int i = 0; i < ncmds; i++) {
        if (!(cat_of[i] & (1u << cat)))
            continue;
        if (bit_get(s, i))
            (*on)++;
        else
            (*off)++;
    }
}

/* Redis's ACLLookupCommand: "name" or "container|sub" (any case). */
static const kv_command *lookup_rule_cmd(const char *name)
{
    const char *bar = strchr(name, '|');
    if (!bar)
        return command_lookup(name, strlen(name));
    if (strchr(bar + 1, '|'))
        return NULL;
    const kv_command *c = command_lookup(name, (size_t)(bar - name));
    if (!c || !command_is_container(c))
        return NULL;
    return command_lookup_sub(c, bar + 1, strlen(bar + 1));
}

static int pat_find(const acl_pat *p, int n, const char *s, size_t len)
{
    for (int i = 0; i < n; i++)
        if (p[i].n == len && !memcmp(p[i].p, s, len))
            return i;
    return -1;
}

static void pat_add(acl_pat **p, int *n, const char *s, size_t len, int flags)
{
    *p = kv_realloc(*p, (size_t)(*n + 1) * sizeof **p);
    (*p)[*n].p = kv_memdup(s, len);
    (*p)[*n].n = len;
    (*p)[*n].flags = flags;
    (*n)++;
}

/* Redis's ACLSetSelector: 0, or an errno (acl_error_text). */
static int sel_apply(acl_sel *s, const char *op, size_t oplen)
{
    if (!strcasecmp(op, "allkeys") || !strcasecmp(op, "~*")) {
        s->flags |= SEL_ALLKEYS;
        pats_clear(&s->keys, &s->nkeys);
    } else if (!strcasecmp(op, "resetkeys")) {
        s->flags &= ~(unsigned)SEL_ALLKEYS;
        pats_clear(&s->keys, &s->nkeys);
    } else if (!strcasecmp(op, "allchannels") || !strcasecmp(op, "&*")) {
        s->flags |= SEL_ALLCHANNELS;
        pats_clear(&s->chans, &s->nchans);
    } else if (!strcasecmp(op, "resetchannels")) {
        s->flags &= ~(unsigned)SEL_ALLCHANNELS;
        pats_clear(&s->chans, &s->nchans);
    } else if (!strcasecmp(op, "allcommands") || !strcasecmp(op, "+@all")) {
        memset(s->cmds, 0xff, sizeof s->cmds);
        s->flags |= SEL_ALLCOMMANDS;
        firstargs_reset(s);
    } else if (!strcasecmp(op, "nocommands") || !strcasecmp(op, "-@all")) {
        memset(s->cmds, 0, sizeof s->cmds);
        s->flags &= ~(unsigned)SEL_ALLCOMMANDS;
        firstargs_reset(s);
    } else if (op[0] == '~' || op[0] == '%') {
        if (s->flags & SEL_ALLKEYS)
            return EEXIST;
        int flags = 0;
        size_t off = 1;
        if (op[0] == '%') {
            for (; off < oplen; off++) {
                int ch = toupper((unsigned char)op[off]);
                if (ch == 'R' && !(flags & KP_READ)) {
                    flags |= KP_READ;
                } else if (ch == 'W' && !(flags & KP_WRITE)) {
                    flags |= KP_WRITE;
                } else if (op[off] == '~') {
                    off++;
                    break;
                } else {
                    return EINVAL;
                }
            }
            if (!flags)
                return EINVAL; /* "%~…": no permission at all */
        } else {
            flags = KP_ALL;
        }
        if (has_spaces(op + off, oplen - off))
            return EINVAL;
        int i = pat_find(s->keys, s->nkeys, op + off, oplen - off);
        if (i < 0)
            pat_add(&s->keys, &s->nkeys, op + off, oplen - off, flags);
        else
            s->keys[i].flags |= flags;
        s->flags &= ~(unsigned)SEL_ALLKEYS;
    } else if (op[0] == '&') {
        if (s->flags & SEL_ALLCHANNELS)
            return EISDIR;
        if (has_spaces(op + 1, oplen - 1))
            return EINVAL;
        if (pat_find(s->chans, s->nchans, op + 1, oplen - 1) < 0)
            pat_add(&s->chans, &s->nchans, op + 1, oplen - 1, 0);
        s->flags &= ~(unsigned)SEL_ALLCHANNELS;
    } else if (op[0] == '+' && op[1] != '@') {
        const char *bar = strrchr(op, '|');
        if (!bar) {
            const kv_command *cmd = lookup_rule_cmd(op + 1);
            if (!cmd)
                return ENOENT;
            change_perm(s, cmd, 1);
        } else {
            char *base = kv_memdup(op + 1, (size_t)(bar - op - 1));
            const char *sub = bar + 1;
            const kv_command *cmd = lookup_rule_cmd(base);
            kv_free(base);
            if (!cmd)
                return ENOENT;
            if (command_is_sub(cmd))
                return ECHILD;
            if (!*sub)
                return EINVAL;
            if (command_is_container(cmd)) {
                cmd = lookup_rule_cmd(op + 1);
                if (!cmd)
                    return ENOENT;
                change_perm(s, cmd, 1);
            } else {
                log_warn("Deprecation warning: Allowing a first arg of an otherwise blocked "
                         "command is a misuse of ACL and may get disabled in the future "
                         "(offender: +%s)",
                         op + 1);
                firstargs_add(s, command_index(cmd), sub);
            }
        }
    } else if (op[0] == '-' && op[1] != '@') {
        const kv_command *cmd = lookup_rule_cmd(op + 1);
        if (!cmd)
            return ENOENT;
        change_perm(s, cmd, 0);
    } else if ((op[0] == '+' || op[0] == '-') && op[1] == '@') {
        int cat = category_by_name(op + 2);
        if (cat < 0)
            return ENOENT;
        set_category(s, cat, op[0] == '+');
    } else {
        return EINVAL;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Users                                                                     */
/* ------------------------------------------------------------------------ */

/* New selectors get every channel (acl-pubsub-default allchannels)? */
static int pubsub_default(server *s)
{
    return s->cfg.acl_pubsub_default == ACL_PUBSUB_ALL;
}

static acl_user *user_new(server *s, const char *name, size_t nlen)
{
    init_tables();
    acl_user *u = kv_calloc(1, sizeof *u);
    u->name = kv_memdup(name, nlen);
    u->nlen = nlen;
    u->flags = U_OFF;
    u->sel = kv_malloc(sizeof *u->sel);
    u->sel[0] = sel_new(SEL_ROOT, pubsub_default(s));
    u->nsel = 1;
    return u;
}

static void user_invalidate(acl_user *u)
{
    kv_free(u->desc);
    u->desc = NULL;
}

static void user_clear_rules(acl_user *u)
{
    for (int i = 0; i < u->nsel; i++)
        sel_free(u->sel[i]);
    kv_free(u->sel);
    kv_free(u->pw);
    u->sel = NULL;
    u->pw = NULL;
    u->nsel = u->npw = 0;
    user_invalidate(u);
}

static void user_free(acl_user *u)
{
    if (!u)
        return;
    user_clear_rules(u);
    kv_free(u->name);
    kv_free(u);
}

/* dst gets src's rules (its name stays). */
static void user_copy_rules(acl_user *dst, const acl_user *src)
{
    user_clear_rules(dst);
    dst->flags = src->flags;
    dst->npw = src->npw;
    if (src->npw) {
        dst->pw = kv_malloc((size_t)src->npw * sizeof *dst->pw);
        memcpy(dst->pw, src->pw, (size_t)src->npw * sizeof *dst->pw);
    }
    dst->nsel = src->nsel;
    dst->sel = kv_malloc((size_t)src->nsel * sizeof *dst->sel);
    for (int i = 0; i < src->nsel; i++)
        dst->sel[i] = sel_copy(src->sel[i]);
}

static int pw_find(const acl_user *u, const char *hash)
{
    for (int i = 0; i < u->npw; i++)
        if (!memcmp(u->pw[i], hash, HASH_LEN))
            return i;
    return -1;
}

/* Parenthesised rules: a new selector (a bad rule inside fails it). */
static int add_selector(server *s, acl_user *u, const char *op, size_t oplen)
{
    char *inner = kv_memdup(op + 1, oplen - 2);
    char *storage = kv_malloc(oplen);
    char **w = kv_malloc(oplen * sizeof *w + sizeof *w);
    int n = config_split_line(inner, w, (int)oplen, storage);
    if (n < 0)
        n = 0; /* unbalanced quotes: no rules (as Redis's sdssplitargs) */
    acl_sel *sel = sel_new(0, pubsub_default(s));
    int rc = 0;
    for (int i = 0; i < n && !rc; i++)
        rc = sel_apply(sel, w[i], strlen(w[i]));
    kv_free(inner);
    kv_free(storage);
    kv_free(w);
    if (rc) {
        sel_free(sel);
        return rc;
    }
    u->sel = kv_realloc(u->sel, (size_t)(u->nsel + 1) * sizeof *u->sel);
    u->sel[u->nsel++] = sel;
    return 0;
}

/* Redis's ACLSetUser: 0, or an errno (acl_error_text). */
static int user_apply(server *s, acl_user *u, const char *op, size_t oplen)
{
    user_invalidate(u);
    if (!oplen)
        return 0;
    char hash[HASH_LEN + 1];
    if (!strcasecmp(op, "on")) {
        u->flags = (u->flags | U_ON) & ~(unsigned)U_OFF;
    } else if (!strcasecmp(op, "off")) {
        u->flags = (u->flags | U_OFF) & ~(unsigned)U_ON;
    } else if (!strcasecmp(op, "skip-sanitize-payload")) {
        u->flags = (u->flags | U_SKIP_SANITIZE) & ~(unsigned)U_SANITIZE;
    } else if (!strcasecmp(op, "sanitize-payload")) {
        u->flags = (u->flags | U_SANITIZE) & ~(unsigned)U_SKIP_SANITIZE;
    } else if (!strcasecmp(op, "nopass")) {
        u->flags |= U_NOPASS;
        kv_free(u->pw);
        u->pw = NULL;
        u->npw = 0;
    } else if (!strcasecmp(op, "resetpass")) {
        u->flags &= ~(unsigned)U_NOPASS;
        kv_free(u->pw);
        u->pw = NULL;
        u->npw = 0;
    } else if (op[0] == '>' || op[0] == '#') {
        if (op[0] == '>') {
            sha256_hex(op + 1, oplen - 1, hash);
        } else {
            if (!valid_hash(op + 1, oplen - 1))
                return EBADMSG;
            memcpy(hash, op + 1, HASH_LEN);
            hash[HASH_LEN] = '\0';
        }
        if (pw_find(u, hash) < 0) {
            u->pw = kv_realloc(u->pw, (size_t)(u->npw + 1) * sizeof *u->pw);
            memcpy(u->pw[u->npw++], hash, HASH_LEN + 1);
        }
        u->flags &= ~(unsigned)U_NOPASS;
    } else if (op[0] == '<' || op[0] == '!') {
        if (op[0] == '<') {
            sha256_hex(op + 1, oplen - 1, hash);
        } else {
            if (!valid_hash(op + 1, oplen - 1))
                return EBADMSG;
            memcpy(hash, op + 1, HASH_LEN);
        }
        int i = pw_find(u, hash);
        if (i < 0)
            return ENODEV;
        memmove(u->pw[i], u->pw[i + 1], (size_t)(u->npw - i - 1) * sizeof *u->pw);
        u->npw--;
    } else if (op[0] == '(' && op[oplen - 1] == ')') {
        return add_selector(s, u, op, oplen);
    } else if (!strcasecmp(op, "clearselectors")) {
        for (int i = 1; i < u->nsel; i++)
            sel_free(u->sel[i]);
        u->nsel = 1;
    } else if (!strcasecmp(op, "reset")) {
        user_apply(s, u, "resetpass", 9);
        user_apply(s, u, "resetkeys", 9);
        user_apply(s, u, "resetchannels", 13);
        if (pubsub_default(s))
            user_apply(s, u, "allchannels", 11);
        user_apply(s, u, "off", 3);
        user_apply(s, u, "sanitize-payload", 16);
        user_apply(s, u, "clearselectors", 14);
        user_apply(s, u, "-@all", 5);
    } else {
        return sel_apply(u->sel[0], op, oplen);
    }
    return 0;
}

static const char *acl_error_text(int e)
{
    switch (e) {
    case ENOENT: return "Unknown command or category name in ACL";
    case EINVAL: return "Syntax error";
    case EEXIST:
        return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and "
               "does not have any effect. Try 'resetkeys' to start with an empty list of "
               "patterns";
    case EISDIR:
        return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid "
               "and does not have any effect. Try 'resetchannels' to start with an empty list "
               "of channels";
    case ENODEV: return "The password you are trying to remove from the user does not exist";
    case EBADMSG:
        return "The password hash must be exactly 64 characters and contain only lowercase "
               "hexadecimal characters";
    case EALREADY:
        return "Duplicate user found. A user can only be defined once in config files";
    case ECHILD: return "Allowing first-arg of a subcommand is not supported";
    default: return "Wrong format";
    }
}

/* ---- the users' table ---- */

static int name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

/* Index of name, or -(insertion point) - 1. */
static int user_pos(const acl_state *a, const char *name, size_t n)
{
    int lo = 0, hi = a->nusers - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = name_cmp(a->users[mid]->name, a->users[mid]->nlen, name, n);
        if (!c)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -lo - 1;
}

static acl_user *user_find(const acl_state *a, const char *name, size_t n)
{
    int i = user_pos(a, name, n);
    return i >= 0 ? a->users[i] : NULL;
}

/* Adds u (its name must be new). */
static void user_insert(acl_state *a, acl_user *u)
{
    int i = -user_pos(a, u->name, u->nlen) - 1;
    if (a->nusers == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->users = kv_realloc(a->users, (size_t)a->cap * sizeof *a->users);
    }
    memmove(a->users + i + 1, a->users + i, (size_t)(a->nusers - i) * sizeof *a->users);
    a->users[i] = u;
    a->nusers++;
}

static void user_unlink(acl_state *a, int i)
{
    memmove(a->users + i, a->users + i + 1, (size_t)(a->nusers - i - 1) * sizeof *a->users);
    a->nusers--;
}

static acl_user *default_new(server *s)
{
    acl_user *u = user_new(s, "default", 7);
    user_apply(s, u, "+@all", 5);
    user_apply(s, u, "~*", 2);
    user_apply(s, u, "&*", 2);
    user_apply(s, u, "on", 2);
    user_apply(s, u, "nopass", 6);
    return u;
}

/* The connections authenticated as u lose it: they are closed (the one
 * running a command after its reply), as Redis's ACLFreeUserAndKillClients. */
static void kill_clients_of(server *s, acl_user *u, client *current)
{
    for (client *c = s->clients; c; c = c->next) {
        if (c->user != u || (c->flags & CL_CLOSING))
            continue;
        c->user = s->acl->dflt;
        c->authed = 0;
        if (c == current)
            client_close_after_reply(c);
        else
            client_close(c);
    }
}

/* ------------------------------------------------------------------------ */
/* Descriptions                                                              */
/* ------------------------------------------------------------------------ */

static void put_rule(kbuf *b, char sign, const kv_command *cmd)
{
    kbuf_putc(b, sign);
    kbuf_append_str(b, cmd->name);
    kbuf_putc(b, ' ');
}

/* Redis's ACLDescribeSelectorCommandRulesSingleCommands, for one command. */
static void describe_single(const acl_sel *sel, acl_sel *fake, kbuf *b, const kv_command *cmd)
{
    int id = command_index(cmd);
    int userbit = bit_get(sel, id), fakebit = bit_get(fake, id);
    if (userbit != fakebit) {
        put_rule(b, userbit ? '+' : '-', cmd);
        change_perm(fake, cmd, userbit);
    }
    const kv_command *subs[128];
    int n = command_subs(cmd, subs, 128);
    for (int i = 0; i < n && i < 128; i++)
        describe_single(sel, fake, b, subs[i]);
    if (!userbit && sel->firstargs && sel->firstargs[id])
        for (char **a = sel->firstargs[id]; *a; a++)
            kbuf_printf(b, "+%s|%s ", cmd->name, *a);
}

/* Redis's ACLDescribeSelectorCommandRules: +@all or -@all, then the
 * categories that fit best, then single commands, so that applying the
 * rules gives the same bitmap. */
static void describe_commands(const acl_sel *sel, kbuf *b)
{
    acl_sel fake = {0}, temp = {0};
    int additive = !bit_get(sel, ACL_FUTURE);
    kbuf_append_str(b, additive ? "-@all " : "+@all ");
    sel_apply(&fake, additive ? "-@all" : "+@all", 5);
    memcpy(temp.cmds, sel->cmds, sizeof temp.cmds);
    char applied[NCATS] = {0};
    for (;;) {
        int best = -1;
        unsigned long mindiff = (unsigned long)-1, maxsame = 0;
        for (int c = 0; c < NCATS; c++) {
            if (applied[c])
                continue;
            unsigned long on, off;
            count_category(&temp, c, &on, &off);
            unsigned long diff = additive ? off : on, same = additive ? on : off;
            if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
                best = c;
                mindiff = diff;
                maxsame = same;
            }
        }
        if (best < 0)
            break;
        set_category(&fake, best, additive);
        set_category(&temp, best, !additive);
        kbuf_printf(b, "%c@%s ", additive ? '+' : '-', categories[best]);
        applied[best] = 1;
    }
    for (int i = 0; i < ncmds; i++)
        if (!command_is_sub(command_at(i)))
            describe_single(sel, &fake, b, command_at(i));
    kbuf_truncate(b, kbuf_len(b) - 1);
    firstargs_reset(&fake);
    firstargs_reset(&temp);
}

static void put_key_pat(kbuf *b, const acl_pat *p)
{
    kbuf_append_str(b, p->flags == KP_ALL ? "~" : p->flags == KP_READ ? "%R~" : "%W~");
    kbuf_append(b, p->p, p->n);
}

static void describe_selector(const acl_sel *sel, kbuf *b)
{
    if (sel->flags & SEL_ALLKEYS) {
        kbuf_append_str(b, "~* ");
    } else {
        for (int i = 0; i < sel->nkeys; i++) {
            put_key_pat(b, &sel->keys[i]);
            kbuf_putc(b, ' ');
        }
    }
    if (sel->flags & SEL_ALLCHANNELS) {
        kbuf_append_str(b, "&* ");
    } else {
        kbuf_append_str(b, "resetchannels ");
        for (int i = 0; i < sel->nchans; i++) {
            kbuf_putc(b, '&');
            kbuf_append(b, sel->chans[i].p, sel->chans[i].n);
            kbuf_putc(b, ' ');
        }
    }
    describe_commands(sel, b);
}

/* ACL LIST's description of u (cached on u). */
static const char *user_describe(acl_user *u)
{
    if (u->desc)
        return u->desc;
    kbuf b;
    kbuf_init(&b);
    for (int i = 0; i < NUSERFLAGS; i++) {
        if (u->flags & user_flags[i].flag) {
            kbuf_append_str(&b, user_flags[i].name);
            kbuf_putc(&b, ' ');
        }
    }
    for (int i = 0; i < u->npw; i++) {
        kbuf_putc(&b, '#');
        kbuf_append(&b, u->pw[i], HASH_LEN);
        kbuf_putc(&b, ' ');
    }
    for (int i = 0; i < u->nsel; i++) {
        if (i)
            kbuf_append_str(&b, " (");
        describe_selector(u->sel[i], &b);
        if (i)
            kbuf_putc(&b, ')');
    }
    u->desc = kv_memdup(kbuf_data(&b), kbuf_len(&b));
    kbuf_free(&b);
    return u->desc;
}

/* "user <name> <description>": ACL LIST's line, the aclfile's and the
 * config file's. */
static void put_user_line(kbuf *b, acl_user *u)
{
    kbuf_append_str(b, "user ");
    kbuf_append(b, u->name, u->nlen);
    kbuf_putc(b, ' ');
    kbuf_append_str(b, user_describe(u));
}

/* Every user's line, each ended by a newline (ACL SAVE, CONFIG REWRITE). */
static void put_user_lines(server *s, kbuf *b)
{
    for (int i = 0; i < s->acl->nusers; i++) {
        put_user_line(b, s->acl->users[i]);
        kbuf_putc(b, '\n');
    }
}

/* ------------------------------------------------------------------------ */
/* SETUSER                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct rule {
    char *p;
    size_t n;
} rule;

static void rules_free(rule *r, int n)
{
    for (int i = 0; i < n; i++)
        kv_free(r[i].p);
    kv_free(r);
}

/* Redis's ACLMergeSelectorArguments: "(a" "b)" become "(a b)". NULL when a
 * parenthesis is left open (*bad: the argument that opened it). */
static rule *merge_rules(int argc, const char *const *argv, const size_t *lens, int *nout,
                         int *bad)
{
    rule *out = kv_calloc((size_t)argc + 1, sizeof *out);
    int n = 0, open = -1;
    kbuf sel;
    kbuf_init(&sel);
    for (int j = 0; j < argc; j++) {
        const char *op = argv[j];
        size_t len = lens[j];
        if (len && op[0] == '(' && op[len - 1] != ')') {
            kbuf_reset(&sel);
            kbuf_append(&sel, op, len);
            open = j;
            continue;
        }
        if (open != -1) {
            kbuf_putc(&sel, ' ');
            kbuf_append(&sel, op, len);
            if (len && op[len - 1] == ')') {
                open = -1;
                out[n].p = kv_memdup(kbuf_data(&sel), kbuf_len(&sel));
                out[n++].n = kbuf_len(&sel);
            }
            continue;
        }
        out[n].p = kv_memdup(op, len);
        out[n++].n = len;
    }
    kbuf_free(&sel);
    if (open != -1) {
        rules_free(out, n);
        *bad = open;
        return NULL;
    }
    *nout = n;
    return out;
}

static int pattern_listed(const acl_pat *p, int n, const char *s, size_t len)
{
    return pat_find(p, n, s, len) >= 0;
}

static int chan_allowed(const acl_pat *pats, int n, const char *ch, size_t len, int is_pattern)
{
    for (int i = 0; i < n; i++) {
        if (is_pattern ? (pats[i].n == len && !memcmp(pats[i].p, ch, len))
                       : kv_match(pats[i].p, pats[i].n, ch, len, 0))
            return 1;
    }
    return 0;
}

typedef struct chan_check {
    acl_pat *up;
    int nup, is_pattern;
} chan_check;

static int chan_denied(void *arg, const char *name, size_t len)
{
    chan_check *k = arg;
    return !chan_allowed(k->up, k->nup, name, len, k->is_pattern);
}

/* Redis's ACLKillPubsubClientsIfNeeded: when `next` takes channels away
 * from `orig`, its subscribers to channels no longer allowed go. */
static void kill_pubsub_if_needed(server *s, const acl_user *next, acl_user *orig,
                                  client *current)
{
    for (int i = 0; i < next->nsel; i++)
        if (next->sel[i]->flags & SEL_ALLCHANNELS)
            return;
    chan_check k = {NULL, 0, 0};
    for (int i = 0; i < next->nsel; i++)
        for (int j = 0; j < next->sel[i]->nchans; j++)
            pat_add(&k.up, &k.nup, next->sel[i]->chans[j].p, next->sel[i]->chans[j].n, 0);
    int match = 1;
    for (int i = 0; i < orig->nsel && match; i++) {
        const acl_sel *o = orig->sel[i];
        if (o->flags & SEL_ALLCHANNELS) {
            match = 0;
            break;
        }
        for (int j = 0; j < o->nchans && match; j++)
            if (!pattern_listed(k.up, k.nup, o->chans[j].p, o->chans[j].n))
                match = 0;
    }
    if (!match) {
        client *next_c;
        for (client *c = s->clients; c; c = next_c) {
            next_c = c->next;
            if (c->user != orig || (c->flags & CL_CLOSING) || !(c->flags & CL_PUBSUB))
                continue;
            k.is_pattern = 1;
            int kill = ps_sub_each(&c->ps, PS_PATTERN, chan_denied, &k);
            k.is_pattern = 0;
            if (!kill)
                kill = ps_sub_each(&c->ps, PS_CHANNEL, chan_denied, &k);
            if (!kill)
                kill = ps_sub_each(&c->ps, PS_SHARD, chan_denied, &k);
            if (!kill)
                continue;
            if (c == current)
                client_close_after_reply(c);
            else
                client_close(c);
        }
    }
    pats_free(k.up, k.nup);
}

/* Redis's ACLStringSetUser: the rules applied to a copy of the user (a new
 * one if u is NULL), which replaces it only if every rule was valid. NULL,
 * or the error (to free). */
static char *set_user(server *s, acl_user *u, const char *name, size_t nlen, int argc,
                      const char *const *argv, const size_t *lens, client *current)
{
    int n = 0, bad = 0;
    rule *r = merge_rules(argc, argv, lens, &n, &bad);
    char *err = NULL;
    if (!r) {
        kbuf b;
        kbuf_init(&b);
        kbuf_append_str(&b, "Unmatched parenthesis in acl selector starting at '");
        kbuf_append(&b, argv[bad], lens[bad]);
        kbuf_append_str(&b, "'.");
        err = kv_memdup(kbuf_data(&b), kbuf_len(&b));
        kbuf_free(&b);
        return err;
    }
    acl_user *tmp = user_new(s, name, nlen);
    if (u)
        user_copy_rules(tmp, u);
    for (int j = 0; j < n; j++) {
        int e = user_apply(s, tmp, r[j].p, r[j].n);
        if (e) {
            kbuf b;
            kbuf_init(&b);
            kbuf_append_str(&b, "Error in ACL SETUSER modifier '");
            kbuf_append(&b, r[j].p, strnlen(r[j].p, r[j].n));
            kbuf_printf(&b, "': %s", acl_error_text(e));
            err = kv_memdup(kbuf_data(&b), kbuf_len(&b));
            kbuf_free(&b);
            break;
        }
    }
    if (!err) {
        if (u) {
            kill_pubsub_if_needed(s, tmp, u, current);
        } else {
            u = user_new(s, name, nlen);
            user_insert(s->acl, u);
        }
        user_copy_rules(u, tmp);
    }
    user_free(tmp);
    rules_free(r, n);
    return err;
}

/* ------------------------------------------------------------------------ */
/* Checks                                                                    */
/* ------------------------------------------------------------------------ */

enum { CH_PUBLISH = 1, CH_SUBSCRIBE = 2, CH_PATTERN = 4 };

/* Redis's commands_with_channels (the unsubscribes are never checked). */
static int channel_spec(const kv_command *cmd, int *first, int *count)
{
    static const struct {
        const char *name;
        int flags, first, count;
    } t[] = {
        {"subscribe", CH_SUBSCRIBE, 1, -1},  {"ssubscribe", CH_SUBSCRIBE, 1, -1},
        {"psubscribe", CH_SUBSCRIBE | CH_PATTERN, 1, -1},
        {"publish", CH_PUBLISH, 1, 1},       {"spublish", CH_PUBLISH, 1, 1},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        if (!strcmp(cmd->name, t[i].name)) {
            *first = t[i].first;
            *count = t[i].count;
            return t[i].flags;
        }
    }
    return 0;
}

typedef struct key_cache {
    int init, n;
    int *pos;
    unsigned *fl;
} key_cache;

static void key_cache_fill(key_cache *k, const kv_command *cmd, int argc,
                           const char *const *argv, const size_t *lens)
{
    if (k->init)
        return;
    k->init = 1;
    k->pos = kv_malloc((size_t)(argc + 1) * sizeof *k->pos);
    k->fl = kv_malloc((size_t)(argc + 1) * sizeof *k->fl);
    k->n = command_keys_flags(cmd, argc, argv, lens, k->pos, k->fl, argc + 1);
    if (k->n < 0)
        k->n = 0;
}

static int key_perm_flags(unsigned ksf)
{
    int f = 0;
    if (ksf & KSF_ACCESS)
        f |= KP_READ;
    if (ksf & (KSF_INSERT | KSF_DELETE | KSF_UPDATE))
        f |= KP_WRITE;
    return f;
}

static int sel_check_key(const acl_sel *sel, const char *key, size_t klen, unsigned ksf)
{
    if (sel->flags & SEL_ALLKEYS)
        return ACL_OK;
    int want = key_perm_flags(ksf);
    for (int i = 0; i < sel->nkeys; i++) {
        if ((sel->keys[i].flags & want) != want)
            continue;
        if (kv_match(sel->keys[i].p, sel->keys[i].n, key, klen, 0))
            return ACL_OK;
    }
    return ACL_DENIED_KEY;
}

static int sel_unrestricted(const acl_sel *sel, unsigned ksf)
{
    if (sel->flags & SEL_ALLKEYS)
        return 1;
    int want = key_perm_flags(ksf);
    for (int i = 0; i < sel->nkeys; i++)
        if ((sel->keys[i].flags & want) == want && sel->keys[i].n == 1 && sel->keys[i].p[0] == '*')
            return 1;
    return 0;
}

/* Redis's ACLSelectorCheckCmd. */
static int sel_check(const acl_sel *sel, const kv_command *cmd, int argc, const char *const *argv,
                     const size_t *lens, int *errpos, key_cache *kc)
{
    int id = command_index(cmd);
    if (!(sel->flags & SEL_ALLCOMMANDS) && !(cmd->flags & CMD_NOAUTH) && !bit_get(sel, id)) {
        if (argc < 2 || !sel->firstargs || !sel->firstargs[id])
            return ACL_DENIED_CMD;
        int idx = command_is_sub(cmd) ? 2 : 1;
        if (idx >= argc)
            return ACL_DENIED_CMD;
        char **a = sel->firstargs[id];
        for (; *a; a++)
            if (strlen(*a) == lens[idx] && !strncasecmp(*a, argv[idx], lens[idx]))
                break;
        if (!*a)
            return ACL_DENIED_CMD;
    }
    if (!(sel->flags & SEL_ALLKEYS)) {
        key_cache_fill(kc, cmd, argc, argv, lens);
        for (int j = 0; j < kc->n; j++) {
            int p = kc->pos[j];
            if (sel_check_key(sel, argv[p], lens[p], kc->fl[j]) != ACL_OK) {
                *errpos = p;
                return ACL_DENIED_KEY;
            }
        }
    }
    int first, count;
    int ch = channel_spec(cmd, &first, &count);
    if (!(sel->flags & SEL_ALLCHANNELS) && (ch & (CH_PUBLISH | CH_SUBSCRIBE))) {
        int last = count < 0 ? argc - 1 : first + count - 1;
        for (int p = first; p <= last && p < argc; p++) {
            if (!chan_allowed(sel->chans, sel->nchans, argv[p], lens[p], ch & CH_PATTERN)) {
                *errpos = p;
                return ACL_DENIED_CHANNEL;
            }
        }
    }
    return ACL_OK;
}

static int user_unrestricted(const acl_user *u)
{
    const unsigned all = SEL_ALLKEYS | SEL_ALLCOMMANDS | SEL_ALLCHANNELS;
    for (int i = 0; i < u->nsel; i++)
        if ((u->sel[i]->flags & all) == all)
            return 1;
    return 0;
}

int acl_check(server *s, const acl_user *u, const kv_command *cmd, int argc,
              const char *const *argv, const size_t *lens, int *errpos)
{
    (void)s;
    if (!u || user_unrestricted(u))
        return ACL_OK;
    int relevant = ACL_DENIED_CMD, local = 0, last = 0;
    key_cache kc = {0};
    int rc = -1;
    for (int i = 0; i < u->nsel && rc < 0; i++) {
        int r = sel_check(u->sel[i], cmd, argc, argv, lens, &local, &kc);
        if (r == ACL_OK) {
            rc = ACL_OK;
        } else if (r > relevant || (r == relevant && local > last)) {
            relevant = r;
            last = local;
        }
    }
    kv_free(kc.pos);
    kv_free(kc.fl);
    if (rc == ACL_OK)
        return ACL_OK;
    *errpos = last;
    return relevant;
}

int acl_full_read_access(client *c, const kv_command *cmd, int argc, const char *const *argv,
                         const size_t *lens)
{
    const acl_user *u = c ? c->user : NULL;
    if (!u || user_unrestricted(u))
        return 1;
    key_cache kc = {0};
    int ok = 0, pos = 0;
    for (int i = 0; i < u->nsel && !ok; i++)
        ok = sel_check(u->sel[i], cmd, argc, argv, lens, &pos, &kc) == ACL_OK &&
             sel_unrestricted(u->sel[i], KSF_ACCESS);
    kv_free(kc.pos);
    kv_free(kc.fl);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* The log                                                                   */
/* ------------------------------------------------------------------------ */

static void entry_free(acl_entry *e)
{
    kv_free(e->object);
    kv_free(e->user);
    kv_free(e->cinfo);
    kv_free(e);
}

/* Redis's addACLLogEntry: similar entries within a minute are counted in
 * one (among the 10 newest). */
static void log_add(server *s, client *c, int reason, int context, const char *obj, size_t olen,
                    const char *user, size_t ulen)
{
    acl_state *a = s->acl;
    kbuf b;
    kbuf_init(&b);
    if (c)
        client_describe(c, &b);
    char *cinfo = kv_memdup(kbuf_data(&b), kbuf_len(&b));
    kbuf_free(&b);
    int64_t now = server_mstime();
    for (int i = 0; i < a->nlog && i < 10; i++) {
        acl_entry *e = a->log[i];
        int64_t d = e->ctime - now;
        if (e->reason != reason || e->context != context || (d < 0 ? -d : d) > LOG_GROUP_MS ||
            e->olen != olen || memcmp(e->object, obj, olen) || e->ulen != ulen ||
            memcmp(e->user, user, ulen))
            continue;
        kv_free(e->cinfo);
        e->cinfo = cinfo;
        e->ctime = now;
        e->count++;
        memmove(a->log + 1, a->log, (size_t)i * sizeof *a->log);
        a->log[0] = e;
        return;
    }
    acl_entry *e = kv_calloc(1, sizeof *e);
    e->count = 1;
    e->reason = reason;
    e->context = context;
    e->object = kv_memdup(obj, olen);
    e->olen = olen;
    e->user = kv_memdup(user, ulen);
    e->ulen = ulen;
    e->ctime = now;
    e->cinfo = cinfo;
    if (a->nlog == a->caplog) {
        a->caplog = a->caplog ? a->caplog * 2 : 16;
        a->log = kv_realloc(a->log, (size_t)a->caplog * sizeof *a->log);
    }
    memmove(a->log + 1, a->log, (size_t)a->nlog * sizeof *a->log);
    a->log[0] = e;
    a->nlog++;
    while (a->nlog > 0 && (long long)a->nlog > s->cfg.acllog_max_len)
        entry_free(a->log[--a->nlog]);
}

static void log_reset(acl_state *a)
{
    for (int i = 0; i < a->nlog; i++)
        entry_free(a->log[i]);
    a->nlog = 0;
}

int acl_check_client(client *c, const kv_command *cmd, int argc, const char *const *argv,
                     const size_t *lens, int context)
{
    int pos = 0;
    int r = acl_check(c->srv, c->user, cmd, argc, argv, lens, &pos);
    if (r == ACL_OK)
        return r;
    if (r == ACL_DENIED_CMD)
        log_add(c->srv, c, r, context, cmd->name, strlen(cmd->name), c->user->name,
                c->user->nlen);
    else
        log_add(c->srv, c, r, context, argv[pos], lens[pos], c->user->name, c->user->nlen);
    return r;
}

/* ------------------------------------------------------------------------ */
/* Authentication                                                            */
/* ------------------------------------------------------------------------ */

acl_user *acl_default_user(server *s)
{
    return s->acl->dflt;
}

const char *acl_user_name(const acl_user *u)
{
    return u->name;
}

acl_user *acl_find_user(server *s, const char *name, size_t len)
{
    return user_find(s->acl, name, len);
}

int acl_default_nopass(server *s)
{
    return (s->acl->dflt->flags & U_NOPASS) != 0;
}

int acl_auth_required(const client *c)
{
    const acl_user *d = c->srv->acl->dflt;
    return (!(d->flags & U_NOPASS) || (d->flags & U_OFF)) && !c->authed;
}

void acl_client_default(client *c)
{
    const acl_user *d = c->srv->acl->dflt;
    c->user = c->srv->acl->dflt;
    c->authed = (d->flags & U_NOPASS) && !(d->flags & U_OFF);
    resp_parser_set_unauth(c->parser, acl_auth_required(c));
}

/* Constant-time comparison of two hashes. */
static int hash_eq(const char *a, const char *b)
{
    unsigned diff = 0;
    for (int i = 0; i < HASH_LEN; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

static int credentials_ok(const acl_user *u, const char *pass, size_t plen)
{
    if (!u || (u->flags & U_OFF))
        return 0;
    if (u->flags & U_NOPASS)
        return 1;
    char hash[HASH_LEN + 1];
    sha256_hex(pass, plen, hash);
    int ok = 0;
    for (int i = 0; i < u->npw; i++)
        ok |= hash_eq(hash, u->pw[i]);
    return ok;
}

int acl_authenticate(client *c, const char *user, size_t ulen, const char *pass, size_t plen,
                     const char *argv0, size_t argv0_len)
{
    acl_user *u = user_find(c->srv->acl, user, ulen);
    if (credentials_ok(u, pass, plen)) {
        c->authed = 1;
        c->user = u;
        resp_parser_set_unauth(c->parser, 0);
        return 0;
    }
    log_add(c->srv, c, ACL_DENIED_AUTH, (c->flags & CL_MULTI) ? ACL_CTX_MULTI : ACL_CTX_TOPLEVEL,
            argv0, argv0_len, user, ulen);
    return -1;
}

/* Unauthenticated connections may send only small requests: after the
 * default user changed, every connection's parser learns whether it is. */
static void refresh_unauth(server *s)
{
    for (client *c = s->clients; c; c = c->next)
        if (c->parser)
            resp_parser_set_unauth(c->parser, acl_auth_required(c));
}

void acl_set_default_password(server *s, const char *p, size_t n)
{
    acl_user *d = s->acl->dflt;
    user_apply(s, d, "resetpass", 9);
    if (p && n) {
        char *op = kv_malloc(n + 1);
        op[0] = '>';
        memcpy(op + 1, p, n);
        user_apply(s, d, op, n + 1);
        kv_free(op);
    } else {
        user_apply(s, d, "nopass", 6);
    }
    refresh_unauth(s);
}

/* ------------------------------------------------------------------------ */
/* Loading and saving                                                        */
/* ------------------------------------------------------------------------ */

/* Split a line of the ACL file on single spaces (Redis's sdssplitlen: two
 * spaces make an empty rule, which does nothing). */
static int split_spaces(char *line, char **w, size_t *lens, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *sp = strchr(p, ' ');
        if (n == max)
            return n;
        w[n] = p;
        lens[n] = sp ? (size_t)(sp - p) : strlen(p);
        n++;
        if (!sp)
            break;
        *sp = '\0';
        p = sp + 1;
    }
    return n;
}

static char *trim(char *p, const char *set)
{
    while (*p && strchr(set, *p))
        p++;
    size_t n = strlen(p);
    while (n && strchr(set, p[n - 1]))
        p[--n] = '\0';
    return p;
}

/* Where the aclfile is: a relative path is relative to `dir`, as in Redis
 * (which runs in its dir). */
static void file_path(server *s, char *out, size_t len)
{
    const char *f = s->cfg.aclfile;
    if (f[0] == '/' || !s->cfg.dir || !s->cfg.dir[0])
        snprintf(out, len, "%s", f);
    else
        snprintf(out, len, "%s/%s", s->cfg.dir, f);
}

/* Redis's ACLLoadFromFile: all or nothing; NULL or the errors (to free).
 * Messages name the file as configured. */
static char *load_file(server *s, const char *path, client *current)
{
    char real[4096];
    file_path(s, real, sizeof real);
    FILE *f = fopen(real, "r");
    kbuf err;
    kbuf_init(&err);
    if (!f) {
        kbuf_printf(&err, "Error loading ACLs, opening file '%s': %s", path, strerror(errno));
        char *e = kv_memdup(kbuf_data(&err), kbuf_len(&err));
        kbuf_free(&err);
        return e;
    }
    kbuf text;
    kbuf_init(&text);
    char buf[4096];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, f)) > 0)
        kbuf_append(&text, buf, r);
    fclose(f);
    kbuf_putc(&text, '\0');
    acl_state next = {0};
    acl_state *cur = s->acl;
    s->acl = &next; /* user_find / user_insert work on the new set */
    char *p = kbuf_data(&text);
    int lineno = 0;
    while (p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        char *line = trim(p, " \t\r\n");
        p = nl ? nl + 1 : NULL;
        if (!*line)
            continue;
        size_t max = strlen(line) + 1;
        char **w = kv_malloc(max * sizeof *w);
        size_t *wl = kv_malloc(max * sizeof *wl);
        int n = split_spaces(line, w, wl, (int)max);
        if (strcmp(w[0], "user") || n < 2) {
            kbuf_printf(&err, "%s:%d should start with user keyword followed by the username. ",
                        path, lineno);
        } else if (has_spaces(w[1], wl[1])) {
            kbuf_printf(&err, "'%s:%d: username '%s' contains invalid characters. ", path,
                        lineno, w[1]);
        } else if (user_find(&next, w[1], wl[1])) {
            kbuf_printf(&err, "WARNING: Duplicate user '%s' found on line %d. ", w[1], lineno);
        } else {
            acl_user *u = user_new(s, w[1], wl[1]);
            user_insert(&next, u);
            int nr = 0, bad = 0;
            rule *rl = merge_rules(n - 2, (const char *const *)w + 2, wl + 2, &nr, &bad);
            if (!rl)
                kbuf_printf(&err, "%s:%d: Unmatched parenthesis in selector definition.", path,
                            lineno);
            int syntax = 0;
            for (int j = 0; rl && j < nr; j++) {
                char *op = trim(rl[j].p, "\t\r\n");
                int e = user_apply(s, u, op, strlen(op));
                if (e == ENOENT)
                    kbuf_printf(&err, "%s:%d: Error in applying operation '%s': %s. ", path,
                                lineno, op, acl_error_text(e));
                else if (e && !syntax) {
                    kbuf_printf(&err, "%s:%d: %s. ", path, lineno, acl_error_text(e));
                    syntax = 1;
                }
            }
            if (rl)
                rules_free(rl, nr);
        }
        kv_free(w);
        kv_free(wl);
    }
    kbuf_free(&text);
    s->acl = cur;
    if (kbuf_len(&err)) {
        for (int i = 0; i < next.nusers; i++)
            user_free(next.users[i]);
        kv_free(next.users);
        kbuf_append_str(&err, "WARNING: ACL errors detected, no change to the previously active "
                              "ACL rules was performed");
        char *e = kv_memdup(kbuf_data(&err), kbuf_len(&err));
        kbuf_free(&err);
        return e;
    }
    kbuf_free(&err);
    /* The default user stays the same object (connections point at it):
     * it takes the file's rules; the other old users go, and with them
     * the connections authenticated as them. */
    int di = user_pos(&next, "default", 7);
    acl_user *nd = di >= 0 ? next.users[di] : default_new(s);
    if (di >= 0)
        user_unlink(&next, di);
    user_copy_rules(cur->dflt, nd);
    user_free(nd);
    for (int i = 0; i < cur->nusers; i++) {
        if (cur->users[i] == cur->dflt)
            continue;
        kill_clients_of(s, cur->users[i], current);
        user_free(cur->users[i]);
    }
    kv_free(cur->users);
    cur->users = next.users;
    cur->nusers = next.nusers;
    cur->cap = next.cap;
    user_insert(cur, cur->dflt);
    refresh_unauth(s);
    return NULL;
}

/* Redis's ACLSaveToFile: every user as a `user` line, into a temporary
 * file renamed over the old one (made durable first). */
static int save_file(server *s)
{
    char path[4096];
    file_path(s, path, sizeof path);
    kbuf b;
    kbuf_init(&b);
    put_user_lines(s, &b);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-%d-%lld", path, (int)getpid(), (long long)server_mstime());
    int rc = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        log_warn("Opening temp ACL file for ACL SAVE: %s", strerror(errno));
    } else if (write(fd, kbuf_data(&b), kbuf_len(&b)) != (ssize_t)kbuf_len(&b) ||
               fsync(fd) < 0) {
        log_warn("Writing ACL file for ACL SAVE: %s", strerror(errno));
    } else if (rename(tmp, path) < 0) {
        log_warn("Renaming ACL file for ACL SAVE: %s", strerror(errno));
    } else {
        rc = 0;
    }
    if (fd >= 0)
        close(fd);
    if (rc)
        unlink(tmp);
    kbuf_free(&b);
    return rc;
}

/* The config's `user` lines: each validated and applied (the default
 * user is reset first when it is one of them). */
static int load_config_users(server *s, char *err, size_t errlen)
{
    const kv_config *cfg = &s->cfg;
    for (int i = 0; i < cfg->n_acl_users; i++) {
        const kv_config_user *cu = &cfg->acl_users[i];
        const char *name = cu->words[0];
        if (has_spaces(name, strlen(name))) {
            snprintf(err, errlen, "Spaces not allowed in ACL usernames");
            return -1;
        }
        for (int j = 0; j < i; j++) {
            if (!strcmp(cfg->acl_users[j].words[0], name)) {
                snprintf(err, errlen, "Error in user declaration '%s': %s", name,
                         acl_error_text(EALREADY));
                return -1;
            }
        }
        acl_user *u = user_find(s->acl, name, strlen(name));
        if (!u) {
            u = user_new(s, name, strlen(name));
            user_insert(s->acl, u);
        } else {
            user_apply(s, u, "reset", 5);
        }
        size_t *lens = kv_malloc((size_t)cu->n * sizeof *lens);
        for (int j = 0; j < cu->n; j++)
            lens[j] = strlen(cu->words[j]);
        int nr = 0, bad = 0;
        rule *rl = merge_rules(cu->n - 1, (const char *const *)cu->words + 1, lens + 1, &nr, &bad);
        kv_free(lens);
        if (!rl) {
            snprintf(err, errlen, "Unmatched parenthesis in acl selector starting at '%s'.",
                     cu->words[1 + bad]);
            return -1;
        }
        for (int j = 0; j < nr; j++) {
            int e = user_apply(s, u, rl[j].p, rl[j].n);
            if (e) {
                snprintf(err, errlen, "Error loading ACL rule '%s' for the user named '%s': %s",
                         rl[j].p, name, acl_error_text(e));
                rules_free(rl, nr);
                return -1;
            }
        }
        rules_free(rl, nr);
        if (u->flags & U_OFF)
            log_notice("The user '%s' is disabled (there is no 'on' modifier in the user "
                       "description). Make sure this is not a configuration error.",
                       name);
    }
    return 0;
}

int acl_init(server *s, char *err, size_t errlen)
{
    init_tables();
    s->acl = kv_calloc(1, sizeof *s->acl);
    s->acl->dflt = default_new(s);
    user_insert(s->acl, s->acl->dflt);
    const char *file = s->cfg.aclfile;
    if (file && *file && s->cfg.n_acl_users) {
        snprintf(err, errlen,
                 "Configuring Redis with users defined in redis.conf and at the same setting an "
                 "ACL file path is invalid. This setup is very likely to lead to configuration "
                 "errors and security holes, please define either an ACL file or declare users "
                 "directly in your redis.conf, but not both.");
        return -1;
    }
    /* requirepass is the default user's password; a `user default …`
     * line or an aclfile then redefines that user (Redis applies
     * requirepass while reading the config and loads the users after). */
    if (s->cfg.requirepass && s->cfg.requirepass_len)
        acl_set_default_password(s, s->cfg.requirepass, s->cfg.requirepass_len);
    if (load_config_users(s, err, errlen) < 0)
        return -1;
    if (file && *file) {
        char *e = load_file(s, file, NULL);
        if (e) {
            snprintf(err, errlen, "Aborting Redis startup because of ACL errors: %s", e);
            kv_free(e);
            return -1;
        }
    }
    return 0;
}

void acl_free(server *s)
{
    if (!s->acl)
        return;
    for (int i = 0; i < s->acl->nusers; i++)
        user_free(s->acl->users[i]);
    kv_free(s->acl->users);
    log_reset(s->acl);
    kv_free(s->acl->log);
    kv_free(s->acl);
    s->acl = NULL;
}

/* ------------------------------------------------------------------------ */
/* The ACL command                                                           */
/* ------------------------------------------------------------------------ */

char *acl_config_lines(server *s)
{
    kbuf b;
    kbuf_init(&b);
    if (!s->cfg.aclfile || !s->cfg.aclfile[0]) {
        put_user_lines(s, &b);
    }
    char *t = kv_memdup(kbuf_len(&b) ? kbuf_data(&b) : "", kbuf_len(&b));
    kbuf_free(&b);
    return t;
}

static void acl_setuser_cmd(cmd_ctx *c)
{
    server *s = c->srv;
    const char *name = c->argv[2];
    size_t nlen = c->lens[2];
    if (has_spaces(name, nlen)) {
        reply_error(&c->r, "ERR Usernames can't contain spaces or null characters");
        return;
    }
    acl_user *u = user_find(s->acl, name, nlen);
    char *e = set_user(s, u, name, nlen, c->argc - 3, c->argv + 3, c->lens + 3, c->cl);
    if (!e) {
        reply_ok(&c->r);
        refresh_unauth(s);
        return;
    }
    for (char *p = e; *p; p++) /* Redis's addReplyErrorSdsSafe */
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    reply_errorf(&c->r, "ERR %s", e);
    kv_free(e);
}

static void acl_deluser_cmd(cmd_ctx *c)
{
    server *s = c->srv;
    for (int j = 2; j < c->argc; j++) {
        if (c->lens[j] == 7 && !memcmp(c->argv[j], "default", 7)) {
            reply_error(&c->r, "ERR The 'default' user cannot be removed");
            return;
        }
    }
    long long deleted = 0;
    for (int j = 2; j < c->argc; j++) {
        int i = user_pos(s->acl, c->argv[j], c->lens[j]);
        if (i < 0)
            continue;
        acl_user *u = s->acl->users[i];
        user_unlink(s->acl, i);
        kill_clients_of(s, u, c->cl);
        user_free(u);
        deleted++;
    }
    reply_int(&c->r, deleted);
}

static void reply_selector(cmd_ctx *c, const acl_sel *sel)
{
    kbuf b;
    kbuf_init(&b);
    reply_bulk_cstr(&c->r, "commands");
    describe_commands(sel, &b);
    reply_bulk(&c->r, kbuf_data(&b), kbuf_len(&b));
    reply_bulk_cstr(&c->r, "keys");
    kbuf_reset(&b);
    if (sel->flags & SEL_ALLKEYS) {
        kbuf_append_str(&b, "~*");
    } else {
        for (int i = 0; i < sel->nkeys; i++) {
            if (i)
                kbuf_putc(&b, ' ');
            put_key_pat(&b, &sel->keys[i]);
        }
    }
    reply_bulk(&c->r, kbuf_len(&b) ? kbuf_data(&b) : "", kbuf_len(&b));
    reply_bulk_cstr(&c->r, "channels");
    kbuf_reset(&b);
    if (sel->flags & SEL_ALLCHANNELS) {
        kbuf_append_str(&b, "&*");
    } else {
        for (int i = 0; i < sel->nchans; i++) {
            if (i)
                kbuf_putc(&b, ' ');
            kbuf_putc(&b, '&');
            kbuf_append(&b, sel->chans[i].p, sel->chans[i].n);
        }
    }
    reply_bulk(&c->r, kbuf_len(&b) ? kbuf_data(&b) : "", kbuf_len(&b));
    kbuf_free(&b);
}

static void acl_getuser_cmd(cmd_ctx *c)
{
    acl_user *u = user_find(c->srv->acl, c->argv[2], c->lens[2]);
    if (!u) {
        reply_null(&c->r);
        return;
    }
    reply_map(&c->r, 6);
    reply_bulk_cstr(&c->r, "flags");
    int nf = 0;
    for (int i = 0; i < NUSERFLAGS; i++)
        nf += (u->flags & user_flags[i].flag) != 0;
    reply_set(&c->r, nf);
    for (int i = 0; i < NUSERFLAGS; i++)
        if (u->flags & user_flags[i].flag)
            reply_bulk_cstr(&c->r, user_flags[i].name);
    reply_bulk_cstr(&c->r, "passwords");
    reply_array(&c->r, u->npw);
    for (int i = 0; i < u->npw; i++)
        reply_bulk(&c->r, u->pw[i], HASH_LEN);
    reply_selector(c, u->sel[0]);
    reply_bulk_cstr(&c->r, "selectors");
    reply_array(&c->r, u->nsel - 1);
    for (int i = 1; i < u->nsel; i++) {
        reply_map(&c->r, 3);
        reply_selector(c, u->sel[i]);
    }
}

static void reply_users(cmd_ctx *c, int names_only)
{
    acl_state *a = c->srv->acl;
    reply_array(&c->r, a->nusers);
    kbuf b;
    kbuf_init(&b);
    for (int i = 0; i < a->nusers; i++) {
        acl_user *u = a->users[i];
        if (names_only) {
            reply_bulk(&c->r, u->name, u->nlen);
            continue;
        }
        kbuf_reset(&b);
        put_user_line(&b, u);
        reply_bulk(&c->r, kbuf_data(&b), kbuf_len(&b));
    }
    kbuf_free(&b);
}

static void acl_list_cmd(cmd_ctx *c)
{
    reply_users(c, 0);
}

static void acl_users_cmd(cmd_ctx *c)
{
    reply_users(c, 1);
}

static void acl_whoami_cmd(cmd_ctx *c)
{
    if (c->cl && c->cl->user)
        reply_bulk(&c->r, c->cl->user->name, c->cl->user->nlen);
    else
        reply_null(&c->r);
}

static int no_aclfile(cmd_ctx *c)
{
    if (c->srv->cfg.aclfile && c->srv->cfg.aclfile[0])
        return 0;
    reply_error(&c->r, "ERR This Redis instance is not configured to use an ACL file. You may "
                       "want to specify users via the ACL SETUSER command and then issue a "
                       "CONFIG REWRITE (assuming you have a Redis configuration file set) in "
                       "order to store users in the Redis configuration.");
    return 1;
}

static void acl_load_cmd(cmd_ctx *c)
{
    if (no_aclfile(c))
        return;
    char *e = load_file(c->srv, c->srv->cfg.aclfile, c->cl);
    if (!e) {
        reply_ok(&c->r);
        return;
    }
    for (char *p = e; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    reply_errorf(&c->r, "ERR %s", e);
    kv_free(e);
}

static void acl_save_cmd(cmd_ctx *c)
{
    if (no_aclfile(c))
        return;
    if (save_file(c->srv) == 0)
        reply_ok(&c->r);
    else
        reply_error(&c->r, "ERR There was an error trying to save the ACLs. Please check the "
                           "server logs for more information");
}

static void acl_cat_cmd(cmd_ctx *c)
{
    if (c->argc == 2) {
        reply_array(&c->r, NCATS);
        for (int i = 0; i < NCATS; i++)
            reply_bulk_cstr(&c->r, categories[i]);
        return;
    }
    if (c->argc > 3) {
        reply_err_subcommand_syntax(&c->r, "ACL", 3, c->argv[1], c->lens[1]);
        return;
    }
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(c->lens[2] < 63 ? c->lens[2] : 63), c->argv[2]);
    int cat = memchr(c->argv[2], 0, c->lens[2]) ? -1 : category_by_name(name);
    if (c->lens[2] >= 63)
        cat = -1;
    if (cat < 0) {
        size_t n = strnlen(c->argv[2], c->lens[2]);
        reply_errorf(&c->r, "ERR Unknown category '%.*s'", (int)(n < 128 ? n : 128), c->argv[2]);
        return;
    }
    int n = 0;
    for (int i = 0; i < ncmds; i++)
        n += (cat_of[i] & (1u << cat)) != 0;
    reply_array(&c->r, n);
    for (int i = 0; i < ncmds; i++)
        if (cat_of[i] & (1u << cat))
            reply_bulk_cstr(&c->r, command_at(i)->name);
}

static void acl_genpass_cmd(cmd_ctx *c)
{
    long long bits = 256;
    if (c->argc > 3) {
        reply_err_subcommand_syntax(&c->r, "ACL", 3, c->argv[1], c->lens[1]);
        return;
    }
    if (c->argc == 3 && arg_ll(c, 2, &bits) < 0)
        return;
    if (bits <= 0 || bits > 4096) {
        reply_error(&c->r, "ERR ACL GENPASS argument must be the number of bits for the output "
                           "password, a positive number up to 4096");
        return;
    }
    size_t chars = (size_t)(bits + 3) / 4;
    unsigned char rnd[512];
    size_t got = 0;
    while (got < (chars + 1) / 2) {
        ssize_t r = getrandom(rnd + got, (chars + 1) / 2 - got, 0);
        if (r < 0 && errno != EINTR) {
            reply_errorf(&c->r, "ERR getrandom: %s", strerror(errno));
            return;
        }
        if (r > 0)
            got += (size_t)r;
    }
    static const char hex[] = "0123456789abcdef";
    char out[1024];
    for (size_t i = 0; i < chars; i++)
        out[i] = hex[(rnd[i / 2] >> ((i % 2) ? 0 : 4)) & 15];
    reply_bulk(&c->r, out, chars);
}

static void acl_log_cmd(cmd_ctx *c)
{
    acl_state *a = c->srv->acl;
    long long count = 10;
    if (c->argc > 3) {
        reply_err_subcommand_syntax(&c->r, "ACL", 3, c->argv[1], c->lens[1]);
        return;
    }
    if (c->argc == 3) {
        if (arg_is(c, 2, "reset")) {
            log_reset(a);
            reply_ok(&c->r);
            return;
        }
        if (arg_ll(c, 2, &count) < 0)
            return;
        if (count < 0)
            count = 0;
    }
    if (count > a->nlog)
        count = a->nlog;
    reply_array(&c->r, count);
    int64_t now = server_mstime();
    static const char *const reasons[] = {"unknown", "command", "key", "auth", "channel"};
    static const char *const contexts[] = {"toplevel", "multi", "lua"};
    for (long long i = 0; i < count; i++) {
        const acl_entry *e = a->log[i];
        reply_map(&c->r, 7);
        reply_bulk_cstr(&c->r, "count");
        reply_int(&c->r, (long long)e->count);
        reply_bulk_cstr(&c->r, "reason");
        reply_bulk_cstr(&c->r, e->reason >= 1 && e->reason <= 4 ? reasons[e->reason] : "unknown");
        reply_bulk_cstr(&c->r, "context");
        reply_bulk_cstr(&c->r,
                        e->context >= 0 && e->context <= 2 ? contexts[e->context] : "unknown");
        reply_bulk_cstr(&c->r, "object");
        reply_bulk(&c->r, e->object, e->olen);
        reply_bulk_cstr(&c->r, "username");
        reply_bulk(&c->r, e->user, e->ulen);
        reply_bulk_cstr(&c->r, "age-seconds");
        reply_double(&c->r, (double)(now - e->ctime) / 1000);
        reply_bulk_cstr(&c->r, "client-info");
        reply_bulk_cstr(&c->r, e->cinfo);
    }
}

static void acl_dryrun_cmd(cmd_ctx *c)
{
    server *s = c->srv;
    acl_user *u = user_find(s->acl, c->argv[2], c->lens[2]);
    if (!u) {
        reply_errorf(&c->r, "ERR User '%.*s' not found", (int)strnlen(c->argv[2], c->lens[2]),
                     c->argv[2]);
        return;
    }
    int argc = c->argc - 3;
    const char *const *argv = c->argv + 3;
    const size_t *lens = c->lens + 3;
    const kv_command *cmd = command_lookup(argv[0], lens[0]);
    if (cmd && argc > 1 && command_is_container(cmd))
        cmd = command_lookup_sub(cmd, argv[1], lens[1]);
    if (!cmd) {
        reply_errorf(&c->r, "ERR Command '%.*s' not found", (int)strnlen(argv[0], lens[0]), argv[0]);
        return;
    }
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        reply_errorf(&c->r, "ERR wrong number of arguments for '%s' command", cmd->name);
        return;
    }
    int pos = 0;
    int r = acl_check(s, u, cmd, argc, argv, lens, &pos);
    if (r == ACL_OK) {
        reply_ok(&c->r);
        return;
    }
    kbuf b;
    kbuf_init(&b);
    if (r == ACL_DENIED_CMD) {
        kbuf_printf(&b, "This user has no permissions to run the '%s' command", cmd->name);
    } else {
        kbuf_append_str(&b, "This user has no permissions to access the '");
        kbuf_append(&b, argv[pos], strnlen(argv[pos], lens[pos]));
        kbuf_append_str(&b, r == ACL_DENIED_KEY ? "' key" : "' channel");
    }
    reply_bulk(&c->r, kbuf_data(&b), kbuf_len(&b));
    kbuf_free(&b);
}

static void acl_help_cmd(cmd_ctx *c)
{
    static const char *const lines[] = {
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the "
        "command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        NULL,
    };
    admin_reply_help(c, "ACL", lines);
}

#define ACL_FLAGS (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NOBARRIER)
#define ACL_ADMIN (ACL_FLAGS | CMD_ADMIN)

const kv_command cmds_acl[] = {
    {"acl", command_container, -2, CMD_NOBARRIER, 0, 0, 0, "server",
     "A container for Access List Control commands.", "6.0.0", "@slow"},
    {"acl|cat", acl_cat_cmd, -2, ACL_FLAGS, 0, 0, 0, "server",
     "Lists the ACL categories, or the commands inside a category.", "6.0.0", "@slow"},
    {"acl|deluser", acl_deluser_cmd, -3, ACL_ADMIN, 0, 0, 0, "server",
     "Deletes ACL users, and terminates their connections.", "6.0.0",
     "@admin @slow @dangerous"},
    {"acl|dryrun", acl_dryrun_cmd, -4, ACL_ADMIN, 0, 0, 0, "server",
     "Simulates the execution of a command by a user, without executing the command.", "7.0.0",
     "@admin @slow @dangerous"},
    {"acl|genpass", acl_genpass_cmd, -2, ACL_FLAGS, 0, 0, 0, "server",
     "Generates a pseudorandom, secure password that can be used to identify ACL users.",
     "6.0.0", "@slow"},
    {"acl|getuser", acl_getuser_cmd, 3, ACL_ADMIN, 0, 0, 0, "server",
     "Lists the ACL rules of a user.", "6.0.0", "@admin @slow @dangerous"},
    {"acl|help", acl_help_cmd, 2, CMD_LOADING | CMD_STALE | CMD_NOBARRIER, 0, 0, 0, "server",
     "Returns helpful text about the different subcommands.", "6.0.0", "@slow"},
    {"acl|list", acl_list_cmd, 2, ACL_ADMIN, 0, 0, 0, "server",
     "Dumps the effective rules in ACL file format.", "6.0.0", "@admin @slow @dangerous"},
    {"acl|load", acl_load_cmd, 2, ACL_ADMIN, 0, 0, 0, "server",
     "Reloads the rules from the configured ACL file.", "6.0.0", "@admin @slow @dangerous"},
    {"acl|log", acl_log_cmd, -2, ACL_ADMIN, 0, 0, 0, "server",
     "Lists recent security events generated due to ACL rules.", "6.0.0",
     "@admin @slow @dangerous"},
    {"acl|save", acl_save_cmd, 2, ACL_ADMIN, 0, 0, 0, "server",
     "Saves the effective ACL rules in the configured ACL file.", "6.0.0",
     "@admin @slow @dangerous"},
    {"acl|setuser", acl_setuser_cmd, -3, ACL_ADMIN, 0, 0, 0, "server",
     "Creates and modifies an ACL user and its rules.", "6.0.0", "@admin @slow @dangerous"},
    {"acl|users", acl_users_cmd, 2, ACL_ADMIN, 0, 0, 0, "server", "Lists all ACL users.",
     "6.0.0", "@admin @slow @dangerous"},
    {"acl|whoami", acl_whoami_cmd, 2, ACL_FLAGS, 0, 0, 0, "server",
     "Returns the authenticated username of the current connection.", "6.0.0", "@slow"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
