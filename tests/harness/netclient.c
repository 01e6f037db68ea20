/* netclient.c - a blocking TCP client for tests (see netclient.h). */
#include "netclient.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

int test_try_dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

int test_dial(int port)
{
    int fd = test_try_dial(port);
    ck_assert_msg(fd >= 0, "connect to 127.0.0.1:%d: %s", port, strerror(-fd));
    return fd;
}

int test_listen(int backlog, int *port)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    ck_assert_msg(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof a) == 0 &&
                      listen(l, backlog) == 0 && getsockname(l, (struct sockaddr *)&a, &al) == 0,
                  "listen on 127.0.0.1: %s", strerror(errno));
    *port = ntohs(a.sin_port);
    return l;
}

void test_send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        ck_assert_msg(n > 0, "send: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
}

char *test_recv_until_close(int fd, double timeout_s, bool *closed)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    double end = test_now() + timeout_s;
    *closed = false;
    for (;;) {
        double left = end - test_now();
        if (left <= 0)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            break;
        if (len + 4096 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n <= 0) {
            *closed = true;
            break;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

char *test_recv_http_response(int fd, double timeout_s)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    double end = test_now() + timeout_s;
    for (;;) {
        buf[len] = '\0';
        char *eoh = strstr(buf, "\r\n\r\n");
        if (eoh) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            size_t body = cl && cl < eoh ? strtoul(cl + 17, NULL, 10) : 0;
            if (len >= (size_t)(eoh + 4 - buf) + body)
                return buf;
        }
        double left = end - test_now();
        ck_assert_msg(left > 0, "no complete response within %.1f s; got:\n%.2000s", timeout_s,
                      buf);
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, (int)(left * 1000) + 1);
        if (len + 4096 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = recv(fd, buf + len, cap - len - 1, MSG_DONTWAIT);
        ck_assert_msg(n != 0, "closed before a full response; got:\n%.2000s", buf);
        if (n > 0)
            len += (size_t)n;
    }
}

char *test_http_exchange(int port, const void *req, size_t len)
{
    int fd = test_dial(port);
    test_send_all(fd, req, len);
    bool closed;
    char *out = test_recv_until_close(fd, 5, &closed);
    close(fd);
    return out;
}
