/* udp_load.c - UDP echo load for tests/bench/udp_run: C client sockets, each
 * keeping W datagrams of SIZE bytes in flight against an echo server, for SECS
 * seconds on one epoll thread. A datagram lost (the kernel may drop) is
 * replaced after 200 ms of silence on its socket, so a loss stalls nothing.
 * Prints "rps <round trips per second>".
 *
 *   udp_load PORT [C=16] [W=8] [SIZE=64] [SECS=2] */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: udp_load PORT [C] [W] [SIZE] [SECS]\n");
        return 2;
    }
    int port = atoi(argv[1]), c = argc > 2 ? atoi(argv[2]) : 16, w = argc > 3 ? atoi(argv[3]) : 8;
    int size = argc > 4 ? atoi(argv[4]) : 64;
    double secs = argc > 5 ? atof(argv[5]) : 2;
    if (c < 1 || c > 1024 || w < 1 || size < 1 || size > 65507 || secs <= 0)
        return 2;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ep = epoll_create1(0);
    int *fds = calloc((size_t)c, sizeof *fds);
    double *last = calloc((size_t)c, sizeof *last);
    char *buf = calloc(1, (size_t)size < 65536 ? 65536 : (size_t)size);
    for (int i = 0; i < c; i++) {
        fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (connect(fds[i], (struct sockaddr *)&a, sizeof a) < 0)
            return 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
        for (int k = 0; k < w; k++)
            send(fds[i], buf, (size_t)size, 0);
        last[i] = now();
    }
    long done = 0;
    double start = now(), end = start + secs, t = start;
    struct epoll_event evs[64];
    while (t < end) {
        int n = epoll_wait(ep, evs, 64, 50);
        t = now();
        for (int e = 0; e < n; e++) {
            int i = (int)evs[e].data.u32;
            while (recv(fds[i], buf, 65536, 0) >= 0) {
                done++;
                send(fds[i], buf, (size_t)size, 0);
                last[i] = t;
            }
        }
        for (int i = 0; i < c; i++)
            if (t - last[i] > 0.2) { /* lost: put one back */
                send(fds[i], buf, (size_t)size, 0);
                last[i] = t;
            }
    }
    printf("rps %.0f\n", (double)done / (t - start));
    return 0;
}
