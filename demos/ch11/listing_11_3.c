/* listing_11_3.c - a shared map raced across a suspension (listing 11.3).
 *
 * Four users are connected to a local sink server over real TCP (net/tcp.h).
 * message_all_users() builds one send per socket in the map; before those
 * sends run, user_disconnect("Eric") closes Eric's socket. Eric's send finds
 * its socket closed and the error escapes the gather, as in the book (whose
 * MockSocket is a real socket here; "closed" is its flag, checked before use). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "demo.h"
#include "net/server.h"
#include "net/tcp.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_11_3\n"
    "Sends \"Hello <user>\" to 4 users while Eric disconnects: the send to Eric fails with\n"
    "\"Socket is closed!\" and the error escapes gather (exit status 1). Each send takes 1 s\n"
    "(scaled).\n";

struct user {
    const char *name;
    struct loom_stream *socket;
    bool present; /* still in the map */
    bool closed;
};

static struct user users[] = {
    {.name = "John"}, {.name = "Terry"}, {.name = "Graham"}, {.name = "Eric"}};
enum { NUSERS = 4 };
static struct loom_task *sends[NUSERS];

/* The sink: reads whatever a user socket sends until EOF. */
static intptr_t sink(struct loom_stream *s, void *arg)
{
    char buf[256];
    ssize_t n;
    while ((n = loom_stream_read_some(s, buf, sizeof buf, -1)) > 0)
        ;
    return n == LOOM_EOF ? 0 : n;
}

static intptr_t send_hello(void *arg)
{
    struct user *u = arg;
    if (u->closed) {
        printf("Exception: Socket is closed!\n");
        return -EPIPE;
    }
    char msg[64];
    snprintf(msg, sizeof msg, "Hello %s", u->name);
    printf("Sending: %s\n", msg);
    int rc = loom_stream_write(u->socket, msg, strlen(msg));
    if (rc == 0)
        rc = loom_stream_drain(u->socket, -1);
    if (rc == 0)
        rc = loom_sleep(demo_sec(1));
    if (rc == 0)
        printf("Sent: %s\n", msg);
    return rc;
}

static intptr_t message_all_users(void *arg)
{
    printf("Creating message tasks\n");
    int n = 0;
    for (int i = 0; i < NUSERS; i++)
        if (users[i].present)
            sends[n++] = loom_task_ref(loom_spawn(send_hello, &users[i], NULL));
    return loom_gather(sends, (size_t)n, NULL, 0); /* the first error escapes */
}

static intptr_t user_disconnect(void *arg)
{
    struct user *u = arg;
    printf("%s disconnected!\n", u->name);
    u->present = false; /* user_names_to_sockets.pop(username) */
    u->closed = true;
    loom_stream_close(u->socket);
    return 0;
}

static intptr_t main_task(void *arg)
{
    struct loom_server *srv;
    DEMO_CHECK(
        loom_server_start(loom_loop_current(), &(struct loom_server_options){0}, sink, NULL, &srv));
    for (int i = 0; i < NUSERS; i++) {
        DEMO_CHECK(loom_tcp_connect("127.0.0.1", loom_server_port(srv), -1, &users[i].socket));
        users[i].present = true;
    }
    struct loom_task *t[2] = {loom_spawn(message_all_users, NULL, NULL),
                              loom_spawn(user_disconnect, &users[3], NULL)};
    int rc = loom_gather(t, 2, NULL, 0);
    if (rc < 0)
        fprintf(stderr, "gather failed: %s\n", loom_strerror(rc));
    /* asyncio.run cancels the sends still running once the error escaped. */
    for (int i = 0; i < NUSERS && sends[i]; i++) {
        loom_task_cancel(sends[i]);
        loom_task_join(sends[i]);
    }
    for (int i = 0; i < NUSERS; i++)
        if (!users[i].closed)
            loom_stream_close(users[i].socket);
    loom_server_shutdown(srv, 0);
    loom_server_free(srv);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
