/* supervise.c — `supervised` (Redis's option): telling the service manager
 * how the node is doing.
 *
 *   systemd  sd_notify's protocol, spoken directly (no libsystemd): each
 *            message is one datagram to the unix socket $NOTIFY_SOCKET
 *            names (a leading '@' is the abstract namespace).
 *            "STATUS=…" while loading, "READY=1" once the data is loaded
 *            and clients are served (a unit of Type=notify starts then),
 *            "STOPPING=1" at shutdown.
 *   upstart  the process stops itself (SIGSTOP) once ready, which is what
 *            upstart's "expect stop" waits for.
 *   auto     upstart if $UPSTART_JOB is set, systemd if $NOTIFY_SOCKET is.
 *
 * As in Redis, a supervised node does not daemonize, and the messages are
 * Redis's. */
#include "server.h"

#include "log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int active = SUPERVISED_NO;

/* One datagram to $NOTIFY_SOCKET: > 0 when sent, 0 when there is no
 * socket to send to, < 0 on an error. */
static int notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !path[0])
        return 0;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n >= sizeof sa.sun_path)
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    ssize_t w = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
    int rc = w < 0 ? -errno : 1;
    close(fd);
    return rc;
}

static int systemd_say(const char *msg)
{
    int rc = notify(msg);
    if (rc == 0)
        log_warn("systemd supervision error: NOTIFY_SOCKET not found!");
    else if (rc < 0)
        log_warn("systemd supervision error: sd_notify: %s", strerror(-rc));
    return rc;
}

int supervise_start(int mode)
{
    if (mode == SUPERVISED_AUTO) {
        if (getenv("UPSTART_JOB")) {
            log_verbose("Upstart supervision detected.");
            mode = SUPERVISED_UPSTART;
        } else if (getenv("NOTIFY_SOCKET")) {
            log_verbose("Systemd supervision detected.");
            mode = SUPERVISED_SYSTEMD;
        } else {
            mode = SUPERVISED_NO;
        }
    }
    if (mode == SUPERVISED_UPSTART) {
        if (!getenv("UPSTART_JOB")) {
            log_warn("upstart supervision requested, but UPSTART_JOB not found!");
            return 0;
        }
        log_notice("supervised by upstart, will stop to signal readiness.");
        active = SUPERVISED_UPSTART;
        return 1;
    }
    if (mode == SUPERVISED_SYSTEMD) {
        if (systemd_say("STATUS=kvnode is loading...\n") <= 0)
            return 0;
        log_notice("Supervised by systemd. Please make sure you set appropriate values for "
                   "TimeoutStartSec and TimeoutStopSec in your service unit.");
        active = SUPERVISED_SYSTEMD;
        return 1;
    }
    return 0;
}

void supervise_ready(void)
{
    if (active == SUPERVISED_SYSTEMD) {
        systemd_say("STATUS=Ready to accept connections\n");
        systemd_say("READY=1\n");
    } else if (active == SUPERVISED_UPSTART) {
        raise(SIGSTOP);
        unsetenv("UPSTART_JOB");
    }
}

void supervise_stopping(void)
{
    if (active == SUPERVISED_SYSTEMD)
        systemd_say("STOPPING=1\n");
}

const char *supervise_name(void)
{
    return active == SUPERVISED_SYSTEMD ? "systemd" : active == SUPERVISED_UPSTART ? "upstart" : "no";
}
