/* echo_epoll.c - the echo server as a plain hand-written epoll loop, the
 * baseline for the echo bench. Level-triggered, one thread, a per-connection
 * record holding only what could not be written yet.
 *
 *   echo_epoll PORT      listens on 127.0.0.1:PORT; SIGTERM ends it */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
    int fd;
    char *pending; /* bytes read but not yet written back */
    size_t npending, off;
};

static int epfd;
static char buf[65536];

static void conn_close(struct conn *c)
{
    close(c->fd);
    free(c->pending);
    free(c);
}

static void watch(struct conn *c, int op, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(epfd, op, c->fd, &ev);
}

/* Write p[0..n); keep what does not fit and wait for EPOLLOUT. -1: drop the conn. */
static int write_all(struct conn *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno != EAGAIN)
                return -1;
            c->pending = malloc(n);
            if (!c->pending)
                return -1;
            memcpy(c->pending, p, n);
            c->npending = n;
            c->off = 0;
            watch(c, EPOLL_CTL_MOD, EPOLLOUT);
            return 0;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int on_writable(struct conn *c)
{
    char *p = c->pending;
    size_t n = c->npending - c->off;
    c->pending = NULL;
    int rc = write_all(c, p + c->off, n);
    free(p);
    if (rc == 0 && !c->pending)
        watch(c, EPOLL_CTL_MOD, EPOLLIN);
    return rc;
}

static int on_readable(struct conn *c)
{
    for (;;) {
        ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
        if (r < 0)
            return errno == EAGAIN ? 0 : -1;
        if (r == 0 || write_all(c, buf, (size_t)r) < 0)
            return -1;
        if (c->pending || (size_t)r < sizeof(buf))
            return 0;
    }
}

static void on_accept(int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct conn *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        watch(c, EPOLL_CTL_ADD, EPOLLIN);
    }
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, SOMAXCONN) < 0) {
        perror("echo_epoll: listen");
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "--help")) {
        printf("usage: echo_epoll PORT\n");
        return argc == 2 ? 0 : 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int lfd = listen_on(atoi(argv[1]));
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
    printf("listening on 127.0.0.1:%s\n", argv[1]);
    fflush(stdout);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(epfd, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                on_accept(lfd);
                continue;
            }
            int rc = c->pending ? on_writable(c) : on_readable(c);
            if (rc < 0)
                conn_close(c);
        }
    }
}
