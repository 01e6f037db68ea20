/* server_internal.h - what net/ modules built on loom_server share: a handler
 * may declare its connection reusable while it waits idle between requests,
 * so that a server at max_connections closes it to serve a new client (as
 * nginx does with idle keep-alive connections). */
#ifndef LOOM_NET_SERVER_INTERNAL_H
#define LOOM_NET_SERVER_INTERNAL_H

#include <stdbool.h>

#include "net/server.h"
#include "reactor/list.h"

/* A handler's idle declaration; caller memory (the handler's stack). */
struct loom__server_idle {
    struct loom_list node;   /* the server's idle list, oldest first */
    struct loom_stream *s;   /* the stream the handler waits on */
    struct loom_server *srv; /* NULL: not listed */
};

/* From a stream server's handler task (or a task it spawned), before it
 * waits for the next request on s with nothing of it received yet: while
 * listed, a server at its connection limit with a client to accept may stop
 * reading on s (loom_stream_stop_reading: the wait returns LOOM_EOF, data
 * already received is still delivered), oldest first, so the handler returns
 * and frees the slot. Not listed when s has data buffered, or outside a
 * server's handler. Never suspends. */
void loom__server_idle_begin(struct loom__server_idle *rec, struct loom_stream *s);

/* The wait is over (whatever its result): unlist rec. Never suspends. */
void loom__server_idle_end(struct loom__server_idle *rec);

#endif
