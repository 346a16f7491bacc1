/* fake_server.c — a scripted RESP server on its own thread (see
 * fake_server.h). One poll() loop serves the listening socket, up to
 * MAX_CONNS clients and a wake-up pipe used to stop it. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_server.h"

#define MAX_CONNS 32
#define MAX_NAMES 32

typedef struct conn {
    int fd;
    kv_reader *reader;
} conn;

struct fake_server {
    int lfd;
    int wake[2];
    int port;
    pthread_t thread;
    fs_handler handler;
    void *ud;
    conn conns[MAX_CONNS];
    pthread_mutex_t lock;
    pthread_cond_t dropped;
    int drops_done;
    char names[MAX_NAMES][32];
    int counts[MAX_NAMES];
};

/* ---- Helpers ---- */

int fs_is(const kv_reply *cmd, const char *name)
{
    if (cmd->type != KV_REPLY_ARRAY || cmd->elements == 0 ||
        cmd->element[0]->type != KV_REPLY_STRING)
        return 0;
    return strcasecmp(cmd->element[0]->str, name) == 0;
}

static void count(fake_server *fs, const kv_reply *cmd)
{
    if (cmd->type != KV_REPLY_ARRAY || cmd->elements == 0 || cmd->element[0]->str == NULL)
        return;
    pthread_mutex_lock(&fs->lock);
    for (int i = 0; i < MAX_NAMES; i++) {
        if (fs->names[i][0] == '\0') {
            snprintf(fs->names[i], sizeof fs->names[i], "%s", cmd->element[0]->str);
            fs->counts[i] = 1;
            break;
        }
        if (strcasecmp(fs->names[i], cmd->element[0]->str) == 0) {
            fs->counts[i]++;
            break;
        }
    }
    pthread_mutex_unlock(&fs->lock);
}

static void drop(conn *c)
{
    close(c->fd);
    kv_reader_free(c->reader);
    c->fd = -1;
    c->reader = NULL;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Read from one client and answer every complete command. */
static void serve(fake_server *fs, conn *c)
{
    char buf[16384];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n <= 0) {
        drop(c);
        return;
    }
    if (kv_reader_feed(c->reader, buf, (size_t)n) < 0) {
        drop(c);
        return;
    }
    for (;;) {
        kv_reply *cmd = NULL;
        if (kv_reader_get(c->reader, &cmd) < 0) {
            drop(c);
            return;
        }
        if (cmd == NULL)
            return;
        count(fs, cmd);
        const char *out = fs->handler(fs->ud, cmd);
        kv_reply_free(cmd);
        if (out == FS_CLOSE) {
            drop(c);
            return;
        }
        if (out != FS_HANG && out != NULL)
            send_all(c->fd, out, strlen(out));
    }
}

static void *run(void *arg)
{
    fake_server *fs = arg;
    for (;;) {
        struct pollfd pfd[MAX_CONNS + 2];
        int map[MAX_CONNS + 2];
        int n = 0;
        pfd[n++] = (struct pollfd){.fd = fs->wake[0], .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = fs->lfd, .events = POLLIN};
        for (int i = 0; i < MAX_CONNS; i++)
            if (fs->conns[i].fd >= 0) {
                map[n] = i;
                pfd[n++] = (struct pollfd){.fd = fs->conns[i].fd, .events = POLLIN};
            }
        if (poll(pfd, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[0].revents) {
            char b = 0;
            if (read(fs->wake[0], &b, 1) != 1 || b != 2)
                break;
            for (int i = 0; i < MAX_CONNS; i++)
                if (fs->conns[i].fd >= 0)
                    drop(&fs->conns[i]);
            pthread_mutex_lock(&fs->lock);
            fs->drops_done++;
            pthread_cond_signal(&fs->dropped);
            pthread_mutex_unlock(&fs->lock);
            continue;
        }
        if (pfd[1].revents & POLLIN) {
            int fd = accept4(fs->lfd, NULL, NULL, SOCK_CLOEXEC);
            int placed = 0;
            for (int i = 0; fd >= 0 && i < MAX_CONNS && !placed; i++)
                if (fs->conns[i].fd < 0) {
                    fs->conns[i].fd = fd;
                    fs->conns[i].reader = kv_reader_new(NULL);
                    placed = 1;
                }
            if (fd >= 0 && !placed)
                close(fd);
        }
        for (int k = 2; k < n; k++)
            if (pfd[k].revents)
                serve(fs, &fs->conns[map[k]]);
    }
    return NULL;
}

/* ---- API ---- */

fake_server *fs_start(fs_handler handler, void *ud)
{
    fake_server *fs = calloc(1, sizeof *fs);
    if (fs == NULL)
        return NULL;
    fs->handler = handler;
    fs->ud = ud;
    pthread_mutex_init(&fs->lock, NULL);
    pthread_cond_init(&fs->dropped, NULL);
    for (int i = 0; i < MAX_CONNS; i++)
        fs->conns[i].fd = -1;
    fs->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int one = 1;
    setsockopt(fs->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fs->lfd < 0 || bind(fs->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(fs->lfd, 16) < 0 || getsockname(fs->lfd, (struct sockaddr *)&sa, &len) < 0 ||
        pipe(fs->wake) < 0) {
        perror("fake_server");
        if (fs->lfd >= 0)
            close(fs->lfd);
        free(fs);
        return NULL;
    }
    fs->port = ntohs(sa.sin_port);
    if (pthread_create(&fs->thread, NULL, run, fs) != 0) {
        close(fs->lfd);
        close(fs->wake[0]);
        close(fs->wake[1]);
        free(fs);
        return NULL;
    }
    return fs;
}

int fs_port(const fake_server *fs)
{
    return fs->port;
}

int fs_count(fake_server *fs, const char *name)
{
    int n = 0;
    pthread_mutex_lock(&fs->lock);
    for (int i = 0; i < MAX_NAMES; i++)
        if (strcasecmp(fs->names[i], name) == 0)
            n = fs->counts[i];
    pthread_mutex_unlock(&fs->lock);
    return n;
}

void fs_drop_all(fake_server *fs)
{
    pthread_mutex_lock(&fs->lock);
    int want = fs->drops_done + 1;
    pthread_mutex_unlock(&fs->lock);
    char b = 2;
    if (write(fs->wake[1], &b, 1) != 1) {
        perror("fake_server wake");
        return;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    pthread_mutex_lock(&fs->lock);
    while (fs->drops_done < want)
        if (pthread_cond_timedwait(&fs->dropped, &fs->lock, &deadline) != 0)
            break;
    pthread_mutex_unlock(&fs->lock);
}

void fs_stop(fake_server *fs)
{
    if (fs == NULL)
        return;
    char b = 1;
    if (write(fs->wake[1], &b, 1) != 1)
        perror("fake_server wake");
    pthread_join(fs->thread, NULL);
    for (int i = 0; i < MAX_CONNS; i++)
        if (fs->conns[i].fd >= 0)
            drop(&fs->conns[i]);
    close(fs->lfd);
    close(fs->wake[0]);
    close(fs->wake[1]);
    pthread_mutex_destroy(&fs->lock);
    pthread_cond_destroy(&fs->dropped);
    free(fs);
}
