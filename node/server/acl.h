/* acl.h — Redis 7.0's access control lists: users, their passwords and
 * selectors (the commands, keys and channels they may use), AUTH / HELLO
 * against them, the permission check before every command, the ACL log,
 * and the ACL command (SETUSER, GETUSER, LIST, LOAD, SAVE, DRYRUN …).
 *
 * Users live in the node (as in Redis, not replicated): from `user` lines
 * of the config file or from the aclfile, changed by ACL SETUSER/DELUSER,
 * written back by ACL SAVE. The "default" user is every new connection's;
 * requirepass is its password. */
#ifndef KV_ACL_H
#define KV_ACL_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct client;
struct kv_command;
typedef struct acl_user acl_user;
typedef struct acl_state acl_state;

/* Outcomes of a permission check (Redis's ACL_DENIED_*, same order). */
enum { ACL_OK = 0, ACL_DENIED_CMD = 1, ACL_DENIED_KEY = 2, ACL_DENIED_AUTH = 3,
       ACL_DENIED_CHANNEL = 4 };
/* Where a denial happened, for the ACL log. */
enum { ACL_CTX_TOPLEVEL = 0, ACL_CTX_MULTI = 1, ACL_CTX_LUA = 2 };

/* Redis's ACL categories (ACL CAT's and COMMAND INFO's order): how many,
 * the i-th's name, the index of a name (any case; -1: none), and the set
 * (bit i: category i) a command or subcommand is in. */
int acl_category_count(void);
const char *acl_category_name(int i);
int acl_category_by_name(const char *name, size_t len);
uint32_t acl_command_categories(const struct kv_command *cmd);

/* Users from the config's `user` lines or its aclfile (not both); the
 * default user takes requirepass. -1 with err on a bad rule or file. */
int acl_init(struct server *s, char *err, size_t errlen);
void acl_free(struct server *s);

/* Every new connection's user. */
acl_user *acl_default_user(struct server *s);
const char *acl_user_name(const acl_user *u);
/* The user of that name, or NULL. */
acl_user *acl_find_user(struct server *s, const char *name, size_t len);

/* Must c authenticate before running commands? (The default user has a
 * password or is off, and c has not authenticated.) */
int acl_auth_required(const struct client *c);
/* Is the default user passwordless ("AUTH <password> called without any
 * password configured")? */
int acl_default_nopass(struct server *s);
/* c as a new connection: the default user, authenticated if that needs no
 * password (connect, RESET). */
void acl_client_default(struct client *c);
/* AUTH / HELLO AUTH: 0 and c authenticated as user, or -1 (an "auth"
 * entry in the ACL log; argv0 is the command as the client typed it). */
int acl_authenticate(struct client *c, const char *user, size_t ulen, const char *pass,
                     size_t plen, const char *argv0, size_t argv0_len);

/* May u run cmd (the subcommand for a container) with these arguments?
 * ACL_OK or the denial, and *errpos the argument at fault (a key or a
 * channel). u NULL: anything. */
int acl_check(struct server *s, const acl_user *u, const struct kv_command *cmd, int argc,
              const char *const *argv, const size_t *lens, int *errpos);
/* The same for client c, logged when denied (context ACL_CTX_*). */
int acl_check_client(struct client *c, const struct kv_command *cmd, int argc,
                     const char *const *argv, const size_t *lens, int context);
/* Redis's ACLUserCheckCmdWithUnrestrictedKeyAccess: may c's user run cmd
 * and read every key (SORT's BY and GET)? */
int acl_full_read_access(struct client *c, const struct kv_command *cmd, int argc,
                         const char *const *argv, const size_t *lens);

/* The users as config-file `user` lines for CONFIG REWRITE (none when an
 * aclfile holds them, as Redis); free with kv_free. */
char *acl_config_lines(struct server *s);

/* requirepass changed: the default user's only password (NULL/"" none:
 * nopass). */
void acl_set_default_password(struct server *s, const char *p, size_t n);

#endif
