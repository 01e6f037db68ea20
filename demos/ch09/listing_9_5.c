/* listing_9_5.c - the blocking baseline (listing 9.5: Flask + psycopg2 under
 * gunicorn's sync workers).
 *
 * No reactor: --threads N plain POSIX threads (the book's 8 workers), each
 * with its own blocking libpq connection, each accepting one connection at a
 * time, answering one request and closing it, as a gunicorn sync worker does.
 * GET /brands answers Flask's {"brands": [[id, name], ...]} (rows written as JSON
 * as listing 9.4 writes them, so both do the same work per request). While all threads
 * are busy, new clients wait in the listen backlog: this is what the reactor
 * servers of listings 9.2-9.4 and 9.8 are benchmarked against. */
#include <arpa/inet.h>
#include <errno.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "ch05/ch05.h"
#include "ch09.h"
#include "demo.h"
#include "rows_json.h"

static const char usage[] =
    "usage: listing_9_5 [--host ADDR] [--port N] [--threads N] [--dsn DSN]\n"
    "Blocking GET /brands on 127.0.0.1:5000 (--host ADDR, --port N; 0 picks a free port;\n"
    "prints \"listening on ADDR:PORT\"): --threads N workers (default 8), each with one\n"
    "database connection (--dsn DSN, else $LOOM_PG_DSN), one request per connection.\n";

#define MAX_HEAD 8192

static int listen_fd;

/* Read the request head (up to the blank line) within the receive timeout. */
static ssize_t read_head(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    while (len < cap - 1) {
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            return (ssize_t)len;
    }
    return -1; /* head too long */
}

static void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        data += n, len -= (size_t)n;
    }
}

static void respond(int fd, int status, const char *reason, const char *type, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, reason, type, strlen(body));
    send_all(fd, head, (size_t)n);
    send_all(fd, body, strlen(body));
}

/* brands(): cur.execute(...); rows = cur.fetchall(); return {'brands': rows}. */
static void brands(int fd, PGconn *db)
{
    PGresult *res = PQexec(db, "SELECT brand_id, brand_name FROM brand");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "database error: %s", PQerrorMessage(db));
        PQclear(res);
        respond(fd, 500, "Internal Server Error", "text/plain", "Internal Server Error");
        return;
    }
    struct rows_json body = {0};
    rows_json_put(&body, "{\"brands\":[", 11);
    for (int i = 0; i < PQntuples(res); i++) {
        rows_json_put(&body, i ? ",[" : "[", i ? 2 : 1);
        for (int c = 0; c < PQnfields(res); c++) {
            if (c)
                rows_json_put(&body, ",", 1);
            rows_json_value(&body, PQfname(res, c), PQgetvalue(res, i, c), PQgetisnull(res, i, c));
        }
        rows_json_put(&body, "]", 1);
    }
    rows_json_put(&body, "]}", 2);
    PQclear(res);
    if (body.failed)
        respond(fd, 500, "Internal Server Error", "text/plain", "Internal Server Error");
    else
        respond(fd, 200, "OK", "application/json", body.data);
    free(body.data);
}

static void *worker(void *arg)
{
    PGconn *db = PQconnectdb(ch05_dsn()); /* db = psycopg2.connect(conn_info) */
    if (PQstatus(db) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect: %s", PQerrorMessage(db));
        exit(1);
    }
    char head[MAX_HEAD];
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        struct timeval tv = {.tv_sec = 10};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (read_head(fd, head, sizeof head) > 0) {
            if (!strncmp(head, "GET /brands ", 12) || !strncmp(head, "GET /brands?", 12))
                brands(fd, db);
            else
                respond(fd, 404, "Not Found", "text/plain", "Not Found");
        }
        close(fd);
    }
    return arg;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    const char *host = demo_arg_str("--host", "127.0.0.1");
    int port = (int)ch09_arg_long("--port", 5000, 0, 65535);
    long threads = ch09_arg_long("--threads", 8, 1, 1024);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "listing_9_5: --host must be an IPv4 address\n");
        return 2;
    }
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
    socklen_t len = sizeof sa;
    if (bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(listen_fd, 2048) < 0 ||
        getsockname(listen_fd, (struct sockaddr *)&sa, &len) < 0) {
        fprintf(stderr, "listing_9_5: cannot listen on %s:%d: %s\n", host, port, strerror(errno));
        return 1;
    }
    /* The workers serve until SIGINT/SIGTERM, which only main waits for. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_t th;
    for (long i = 0; i < threads; i++)
        if (pthread_create(&th, NULL, worker, NULL) != 0) {
            fprintf(stderr, "listing_9_5: cannot start thread %ld\n", i);
            return 1;
        }
    printf("listening on %s:%d\n", host, ntohs(sa.sin_port));
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    printf("Stopped by signal %d.\n", sig);
    return 0;
}
