/* meta.c — see meta.h. */
#include "meta.h"

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
    char buf[512];
    int n = snprintf(buf, sizeof buf, "node_id %s\nterm %" PRIu64 "\nvoted_for %s\nfollowing %s\n",
                     m->node_id, m->term, m->voted_for[0] ? m->voted_for : "-",
                     m->following[0] ? m->following : "-");
    int rc = kvfs_write_file_atomic(dir, "meta", buf, (size_t)n);
    if (rc < 0)
        return kve_fmt(err, errlen, rc == -ENOSPC ? KVE_NOSPC : KVE_IO, "store %s/meta: %s", dir,
                       strerror(-rc));
    return 0;
}

int meta_load(const char *dir, const char *want_id, node_meta *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
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
        return meta_store(dir, m, err, errlen);
    }
    if (rc < 0)
        return kve_fmt(err, errlen, KVE_IO, "read %s: %s", path, strerror(-rc));
    char id[64] = "", voted[64] = "", fhost[256] = "", fport[16] = "";
    unsigned long long term = 0;
    int got = sscanf(text, "node_id %63s term %llu voted_for %63s following %255s %15s", id, &term,
                     voted, fhost, fport);
    kv_free(text);
    if (got >= 4 && strcmp(fhost, "-") != 0 && got == 5)
        snprintf(m->following, sizeof m->following, "%s %s", fhost, fport);
    if (got > 3)
        got = 3;
    if (got != 3 || !valid_id(id))
        return kve_fmt(err, errlen, KVE_CORRUPT, "%s is damaged: refusing to guess this node's "
                                                 "term (restore it or remove it to start afresh)",
                       path);
    if (want_id && want_id[0] && strcmp(want_id, id) != 0)
        return kve_fmt(err, errlen, KVE_INVAL,
                       "node-id %s differs from the id %s stored in %s", want_id, id, path);
    snprintf(m->node_id, sizeof m->node_id, "%s", id);
    m->term = term;
    snprintf(m->voted_for, sizeof m->voted_for, "%s", strcmp(voted, "-") ? voted : "");
    return 0;
}
