/* listing_3_3.c - a blocking accept loop serving every client in turn (listing 3.3).
 *
 * After each accept() the server reads one CRLF-terminated message from EVERY
 * connection so far, in order, and echoes it. Because accept() and recv() block,
 * one quiet client stalls everybody: a second client's message is not answered
 * until the first one speaks again, and a new client is not even accepted until
 * every old one has spoken. That is the problem the rest of chapter 3 solves. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo.h"

#define MAX_CONNS 64

static const char usage[] =
    "usage: listing_3_3 [--host ADDR] [--port N] [--clients N]\n"
    "Listens on 127.0.0.1:8000 (--host ADDR, --port N; port 0 picks a free port). Once\n"
    "listening it prints \"listening on ADDR:PORT\" on stderr.\n"
    "Blocking echo server: after every accept it reads one CRLF message from each\n"
    "connection in turn. --clients N: exit after the pass that follows the N-th accept\n"
    "(default: run until killed).\n";

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
    long max_clients = demo_arg_long("--clients", 0);
    int conns[MAX_CONNS], nconns = 0;
    while (nconns < MAX_CONNS) {
        conns[nconns++] = accept_print(server);
        for (int i = 0; i < nconns; i++)
            read_and_echo(conns[i]); /* a quiet connection blocks the whole loop here */
        if (max_clients > 0 && nconns >= max_clients)
            break;
    }
    for (int i = 0; i < nconns; i++)
        close(conns[i]);
    close(server);
    return 0;
}
