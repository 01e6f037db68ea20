/* listing_3_1.c - a blocking server that accepts one client (listing 3.1).
 *
 * Plain POSIX sockets, no loom yet: socket(), SO_REUSEADDR, bind(), listen(),
 * then one blocking accept(). The program prints the new connection socket and
 * the client's address, then exits. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_3_1 [--host ADDR] [--port N]\n"
    "Listens on 127.0.0.1:8000 (--host ADDR, --port N; port 0 picks a free port). Once\n"
    "listening it prints \"listening on ADDR:PORT\" on stderr.\n"
    "Accepts ONE client with a blocking accept(), prints it and exits.\n";

/* socket(), SO_REUSEADDR, bind(), listen(): a plain BLOCKING listener. */
static int listen_blocking(const char *host, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t len = sizeof a;
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1 || fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, SOMAXCONN) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        perror(host);
        exit(1);
    }
    fprintf(stderr, "listening on %s:%d\n", host, ntohs(a.sin_port));
    return fd;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    const char *host = demo_arg_str("--host", "127.0.0.1");
    int server = listen_blocking(host, (int)demo_arg_long("--port", 8000));

    /* accept() blocks the whole program until a client arrives. */
    struct sockaddr_in peer, self;
    socklen_t len = sizeof peer, slen = sizeof self;
    int conn = accept(server, (struct sockaddr *)&peer, &len);
    if (conn < 0 || getsockname(conn, (struct sockaddr *)&self, &slen) < 0) {
        perror("accept");
        return 1;
    }
    char ip[INET_ADDRSTRLEN], lip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
    inet_ntop(AF_INET, &self.sin_addr, lip, sizeof lip);
    printf("Connection: <socket fd=%d, laddr=('%s', %d), raddr=('%s', %d)>\n", conn, lip,
           ntohs(self.sin_port), ip, ntohs(peer.sin_port));
    printf("I got a connection from ('%s', %d)!\n", ip, ntohs(peer.sin_port));
    close(conn);
    close(server);
    return 0;
}
