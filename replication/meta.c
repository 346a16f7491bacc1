/* meta.c — see meta.h. */
#include "meta.h"

#include "buf.h"
#include "err.h"
#include "fsio.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static void random_id(char out[41])
{
    unsigned char b[20];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
        for (int i = 0; i < 20; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            b[i] = (unsigned char)(x >> 56);
        }
    }
    for (int i = 0; i < 20; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    out[40] = '\0';
}

static int valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 40)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}

int meta_store(const char *dir, const node_meta *m, char *err, size_t errlen)
{
    const rc_meta *r = &m->rc;
    kbuf b = KBUF_INIT;
    kbuf_printf(&b, "node_id %s\nterm %" PRIu64 "\nvoted_for %s\ncommit %" PRIu64
                    "\ncluster %s\nconfig_lsn %" PRIu64 "\n",
                m->node_id, r->term, r->voted_for[0] ? r->voted_for : "-", r->commit,
                r->config.cluster_id[0] ? r->config.cluster_id : "-", r->config.lsn);
    for (int i = 0; i < r->config.n; i++) {
        const rc_member *x = &r->config.m[i];
        kbuf_printf(&b, "member %s %s %s %s\n", x->id, x->voter ? "voter" : "learner",
                    x->peer_addr[0] ? x->peer_addr : "-",
                    x->client_addr[0] ? x->client_addr : "-");
    }
    if (m->following[0])
        kbuf_printf(&b, "following %s\n", m->following);
    int rc = kvfs_write_file_atomic(dir, "meta", kbuf_data(&b), kbuf_len(&b));
    kbuf_free(&b);
    if (rc < 0)
        return kve_fmt(err, errlen, rc == -ENOSPC ? KVE_NOSPC : KVE_IO, "store %s/meta: %s", dir,
                       strerror(-rc));
    return 0;
}

static int copy_field(char *dst, size_t cap, const char *src)
{
    if (!strcmp(src, "-"))
        src = "";
    if (strlen(src) >= cap)
        return -1;
    snprintf(dst, cap, "%s", src);
    return 0;
}

/* One line; 0, or -1 if it is malformed. */
static int parse_line(node_meta *m, char *line, int *seen_id)
{
    char *w[6];
    int n = 0;
    for (char *tok = strtok(line, " \t"); tok && n < 6; tok = strtok(NULL, " \t"))
        w[n++] = tok;
    if (!n)
        return 0;
    rc_meta *r = &m->rc;
    char *end;
    if (!strcmp(w[0], "node_id") && n == 2) {
        if (!valid_id(w[1]))
            return -1;
        snprintf(m->node_id, sizeof m->node_id, "%s", w[1]);
        *seen_id = 1;
    } else if (!strcmp(w[0], "term") && n == 2) {
        r->term = strtoull(w[1], &end, 10);
        if (*end)
            return -1;
    } else if (!strcmp(w[0], "voted_for") && n == 2) {
        return copy_field(r->voted_for, sizeof r->voted_for, w[1]);
    } else if (!strcmp(w[0], "commit") && n == 2) {
        r->commit = strtoull(w[1], &end, 10);
        m->has_commit = 1;
        if (*end)
            return -1;
    } else if (!strcmp(w[0], "cluster") && n == 2) {
        return copy_field(r->config.cluster_id, sizeof r->config.cluster_id, w[1]);
    } else if (!strcmp(w[0], "config_lsn") && n == 2) {
        r->config.lsn = strtoull(w[1], &end, 10);
        if (*end)
            return -1;
    } else if (!strcmp(w[0], "member") && n == 5) {
        if (r->config.n == RC_MAX_MEMBERS || !valid_id(w[1]))
            return -1;
        rc_member *x = &r->config.m[r->config.n++];
        snprintf(x->id, sizeof x->id, "%s", w[1]);
        if (strcmp(w[2], "voter") && strcmp(w[2], "learner"))
            return -1;
        x->voter = !strcmp(w[2], "voter");
        if (copy_field(x->peer_addr, sizeof x->peer_addr, w[3]) ||
            copy_field(x->client_addr, sizeof x->client_addr, w[4]))
            return -1;
    } else if (!strcmp(w[0], "following") && (n == 2 || n == 3)) {
        if (n == 3)
            snprintf(m->following, sizeof m->following, "%s %s", w[1], w[2]);
    } else {
        return -1;
    }
    return 0;
}

int meta_load(const char *dir, const char *want_id, node_meta *m, int *fresh, char *err,
              size_t errlen)
{
    memset(m, 0, sizeof *m);
    *fresh = 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/meta", dir);
    char *text;
    size_t len;
    int rc = kvfs_read_file(path, &text, &len);
    if (rc == -ENOENT) {
        if (want_id && want_id[0]) {
            if (!valid_id(want_id))
                return kve_fmt(err, errlen, KVE_INVAL,
                               "node-id must be 1-40 letters, digits, '-' or '_'");
            snprintf(m->node_id, sizeof m->node_id, "%s", want_id);
        } else {
            random_id(m->node_id);
        }
        *fresh = 1;
        return 0;
    }
    if (rc < 0)
        return kve_fmt(err, errlen, KVE_IO, "read %s: %s", path, strerror(-rc));
    int seen_id = 0, bad = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && !bad;
         line = strtok_r(NULL, "\n", &save)) {
        char copy[1024];
        if (strlen(line) >= sizeof copy) {
            bad = 1;
            break;
        }
        snprintf(copy, sizeof copy, "%s", line);
        bad = parse_line(m, copy, &seen_id) < 0;
    }
    kv_free(text);
    if (bad || !seen_id)
        return kve_fmt(err, errlen, KVE_CORRUPT, "%s is damaged: refusing to guess this node's "
                                                 "term (restore it or remove it to start afresh)",
                       path);
    if (want_id && want_id[0] && strcmp(want_id, m->node_id) != 0)
        return kve_fmt(err, errlen, KVE_INVAL, "node-id %s differs from the id %s stored in %s",
                       want_id, m->node_id, path);
    return 0;
}
