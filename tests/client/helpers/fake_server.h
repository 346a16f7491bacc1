/* fake_server.h — test fixture: a scripted RESP server on a thread.
 *
 * Listens on 127.0.0.1 (a free port), parses each command with kv_reader,
 * and answers what the handler returns. Lets tests stage what real servers
 * do only by chance: a reply that never comes, a connection dropped after
 * the command arrived, a replica pointing at a dead primary. */
#ifndef TEST_FAKE_SERVER_H
#define TEST_FAKE_SERVER_H

#include <stddef.h>

#include "kvclient.h"

/* Special handler results. */
#define FS_CLOSE ((const char *)1) /* close the connection, no reply */
#define FS_HANG ((const char *)2)  /* never reply to this command */

/* Called on the server thread for each command (an array of bulk strings,
 * owned by the server). Returns raw RESP bytes to send (a string that stays
 * valid until the next call), FS_CLOSE or FS_HANG. */
typedef const char *(*fs_handler)(void *ud, const kv_reply *cmd);

typedef struct fake_server fake_server;

/* Start serving; NULL on failure (message on stderr). */
fake_server *fs_start(fs_handler handler, void *ud);

int fs_port(const fake_server *fs);

/* How many commands named `name` (case-insensitive) arrived so far. */
int fs_count(fake_server *fs, const char *name);

/* Close every client connection now (the listener stays); returns once
 * they are closed. */
void fs_drop_all(fake_server *fs);

/* Stop the thread, close every socket, free. NULL is fine. */
void fs_stop(fake_server *fs);

/* 1 if cmd's first word is name (case-insensitive). */
int fs_is(const kv_reply *cmd, const char *name);

#endif
