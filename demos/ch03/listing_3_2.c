/* listing_3_2.c - read one client two bytes at a time until CRLF (listing 3.2).
 *
 * Still plain blocking sockets. recv(fd, 2) returns whatever part of the
 * message has arrived, at most two bytes: each chunk is printed, the chunks are
 * joined until the buffer ends in "\r\n", and the whole message is echoed once.
 * (The book's buffer is unbounded; this one stops at 4 KiB.) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_3_2 [--host ADDR] [--port N]\n"
    "Listens on 127.0.0.1:8000 (--host ADDR, --port N; port 0 picks a free port). Once\n"
    "listening it prints \"listening on ADDR:PORT\" on stderr.\n"
    "Accepts one client, reads it 2 bytes at a time until CRLF (printing each chunk),\n"
    "prints the whole message, echoes it and exits.\n";

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

/* accept() and print the peer like Python's address tuple. */
static int accept_print(int server)
{
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    char ip[INET_ADDRSTRLEN];
    int conn = accept(server, (struct sockaddr *)&peer, &len); /* blocks */
    if (conn < 0) {
        perror("accept");
        exit(1);
    }
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
    printf("I got a connection from ('%s', %d)!\n", ip, ntohs(peer.sin_port));
    return conn;
}

/* Read one CRLF message two bytes at a time, print the chunks and the whole,
 * echo it. recv(fd, 2) blocks until at least one byte is there. */
static void read_and_echo(int conn)
{
    char buf[4096];
    size_t n = 0;
    while ((n < 2 || memcmp(buf + n - 2, "\r\n", 2) != 0) && n + 2 <= sizeof buf) {
        ssize_t r = recv(conn, buf + n, 2, 0);
        if (r <= 0)
            break; /* EOF or error: echo what there is */
        demo_print_bytes("I got data: ", buf + n, (size_t)r, "!\n");
        n += (size_t)r;
    }
    demo_print_bytes("All the data is: ", buf, n, "\n");
    send(conn, buf, n, MSG_NOSIGNAL);
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    const char *host = demo_arg_str("--host", "127.0.0.1");
    int server = listen_blocking(host, (int)demo_arg_long("--port", 8000));
    int conn = accept_print(server);
    read_and_echo(conn);
    close(conn);
    close(server);
    return 0;
}
