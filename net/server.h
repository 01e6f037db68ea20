/* server.h - stream servers (asyncio start_server + serve_forever), with
 * connection tracking, a connection limit, idle timeouts, graceful shutdown,
 * and multi-core serving (N loops in N threads on one SO_REUSEPORT port).
 *
 * Each accepted connection runs handler(stream, arg) in a task of its own. Its
 * stack is committed only as it is touched, so an idle connection costs a page
 * or two of stack plus ~0.5 KiB; stacks of the loop's default size are cached
 * and reused, so programs serving many short connections should size the
 * loop's default (loom_loop_options.stack_size) rather than stack_size here.
 * When the handler returns, the server closes the stream (loom_stream_close:
 * one last non-blocking attempt to send what is buffered; flush first to be
 * sure). Handlers must propagate -ECANCELED.
 *
 * Graceful shutdown (loom_server_shutdown(), or SIGINT/SIGTERM during
 * loom_server_serve_forever() with handle_signals): stop accepting and close
 * the listener; every connection's reads that would have to wait now return
 * LOOM_EOF (data already received is still delivered, so requests already read
 * are answered); handlers get up to grace_ns to finish, the rest are cancelled
 * and awaited; then everything is closed. A second stop during the grace
 * period (loom_server_stop(), or another SIGINT/SIGTERM: the signals stay
 * watched until the end, also with workers) ends it at once. */
#ifndef LOOM_NET_SERVER_H
#define LOOM_NET_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loom/net/stream.h"
#include "loom/net/tcp.h"
#include "loom/net/transport.h"
#include "loom/reactor/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

struct loom_server;

/* Makes the protocol of one accepted connection of a protocol server
 * (asyncio's protocol_factory): returns the callbacks (they must outlive the
 * connection) and stores in *conn_arg what every callback of this connection
 * gets (its state: free it in connection_lost, which always comes). NULL
 * refuses the connection (it is closed with no callback). Called by the
 * server's accept task; should not suspend (accepting waits meanwhile). */
typedef const struct loom_protocol *(*loom_protocol_factory)(void *arg, void **conn_arg);

/* Serves one connection; the stream is borrowed (the server closes it after the
 * return). The result says how the connection ended: 0 (or more), or one of
 * the closing statuses -ECANCELED, LOOM_EOF, -ECONNRESET, -EPIPE,
 * -ECONNABORTED, -ENOTCONN, -ETIMEDOUT, LOOM_ETLS (the server, the peer, the
 * network or a deadline ended it). Any other negative result is a failure
 * (asyncio's exception escaping client_connected_cb): it is reported once
 * through the loop's exception handler (loom_loop_set_exception_handler) with
 * the message "Unhandled exception in client_connected_cb (peer ADDR)", the
 * error and the handler's task, and the stream is closed as after any return
 * (what was written still goes first). A handler that turns a peer away on
 * purpose returns 0. */
typedef intptr_t (*loom_server_handler)(struct loom_stream *s, void *arg);

/* Options: zero-initialise and set what you need. */
struct loom_server_options {
    const char *host;         /* NULL: 127.0.0.1; "": every interface (IPv4 and IPv6); a
                                name: every address it resolves to (IPv4 and IPv6) */
    const char *const *hosts; /* several hosts (NULL-terminated; asyncio's host sequence),
                                 each as host above, all on one port; overrides host */
    int port;                 /* 0: any free port (see loom_server_port) */
    const char *unix_path;    /* listen on this Unix socket instead of host:port */
    int backlog;              /* <= 0: SOMAXCONN */
    unsigned listen_flags;    /* LOOM_LISTEN_* (REUSEPORT is added for workers > 1) */
    size_t max_connections;   /* 0: unlimited; at the limit, accepting pauses (the
                                 HTTP server's idle keep-alive connections make room) */
    int64_t idle_timeout_ns;  /* 0: none; else every connection stream's default read
                                  timeout: a read waiting longer gets -ETIMEDOUT */
    int64_t grace_ns;         /* shutdown: time handlers get before cancel; 0: 5 s */
    size_t stack_size;        /* per-connection task stack; 0: the loop's default (cached,
                                  so cheaper than any other size, which is mapped per task) */
    bool handle_signals;      /* serve_forever shuts down on SIGINT/SIGTERM */
    /* Called with the handler's arg once the listener accepts, e.g. to print
     * "listening on ..." (loom_server_name). With workers > 1: once, from the
     * thread that called loom_server_run, after every worker listens. */
    void (*on_listening)(struct loom_server *srv, void *arg);
    /* loom_server_run only: called with the handler's arg in each worker's
     * thread, on its loop, before it listens (may suspend, e.g. to open a
     * database pool per worker; an error stops that worker), and after it shut
     * down. */
    int (*on_worker_start)(struct loom_loop *loop, void *arg);
    void (*on_worker_stop)(struct loom_loop *loop, void *arg);
};

/* --- lifecycle --- */

/* Listen (host/port or unix_path) and start accepting on loop, a task per
 * connection running handler(stream, arg). *out is owned: loom_server_free()
 * after shutdown. Returns 0, LOOM_EDNS, -EADDRINUSE, -ENOMEM... Suspends only
 * to resolve a non-numeric host. */
int loom_server_start(struct loom_loop *loop, const struct loom_server_options *opt,
                      loom_server_handler handler, void *arg, struct loom_server **out);

/* asyncio create_server with a protocol factory: the same listening,
 * connection limit, shutdown and multi-address handling, but each accepted
 * connection becomes a callback transport (net/transport.h) whose protocol
 * factory(arg, &conn_arg) makes; no task per connection. Protocol callbacks
 * return nothing, so nothing is reported for them: a protocol ends its
 * connection with loom_transport_close or _abort. idle_timeout_ns and
 * stack_size do not apply. At shutdown, connections still open after the
 * grace time are aborted (connection_lost follows on the loop). Returns as
 * loom_server_start. */
int loom_server_start_protocol(struct loom_loop *loop, const struct loom_server_options *opt,
                               loom_protocol_factory factory, void *arg, struct loom_server **out);

/* Run until loom_server_stop() or (with handle_signals) SIGINT/SIGTERM, then do
 * the graceful shutdown. Returns 0, or -ECANCELED if the calling task was
 * cancelled (the server is shut down then too, without grace). Suspends. */
int loom_server_serve_forever(struct loom_server *srv);

/* Ask serve_forever to shut down; called again once the shutdown began, end
 * its grace period now (the handlers left are cancelled). Callable from tasks
 * and callbacks of the server's loop; from other threads use
 * loom_call_soon_threadsafe. */
void loom_server_stop(struct loom_server *srv);

/* Graceful shutdown now (see the top of this file); grace_ns < 0: the
 * option's. Returns the number of handlers that had to be cancelled, or
 * -ECANCELED. Idempotent. Suspends. */
int loom_server_shutdown(struct loom_server *srv, int64_t grace_ns);

/* asyncio's Server.close_clients: end every current connection; the server
 * goes on accepting. A stream handler is cancelled and its stream closed
 * (FIN, after one last attempt to send what is buffered) when it returned; a
 * transport is closed once its buffer is flushed. Returns how many
 * connections were told. Never suspends: they end on the loop. */
int loom_server_close_clients(struct loom_server *srv);

/* asyncio's Server.abort_clients: the same, but each connection is reset:
 * SO_LINGER 0, so the peer gets a RST and whatever was buffered (either way)
 * is dropped. A handler is cancelled and the RST goes when it returned, so
 * handlers must propagate -ECANCELED. Returns how many. Never suspends. */
int loom_server_abort_clients(struct loom_server *srv);

/* Free a server after loom_server_shutdown() or loom_server_serve_forever()
 * returned. Never suspends. */
void loom_server_free(struct loom_server *srv);

/* --- accessors --- */

/* Connections currently served. */
size_t loom_server_connections(const struct loom_server *srv);
/* Connections accepted in total. */
uint64_t loom_server_accepted(const struct loom_server *srv);
/* True once shutdown began (handlers may use it to stop early). */
bool loom_server_stopping(const struct loom_server *srv);
/* The bound port (every listener has the same), and the first listener's
 * address as text ("127.0.0.1:8000"). */
int loom_server_port(const struct loom_server *srv);
int loom_server_name(const struct loom_server *srv, char *buf, size_t len);
/* How many listeners (addresses) it serves, and listener i's address as text
 * (-ERANGE past the last). */
size_t loom_server_listeners(const struct loom_server *srv);
int loom_server_listener_name(const struct loom_server *srv, size_t i, char *buf, size_t len);
/* The loop the server runs on. */
struct loom_loop *loom_server_loop(const struct loom_server *srv);

/* --- multi-core --- */

/* Run the server on `workers` threads, each with its own loop and its own
 * SO_REUSEPORT listener on the same port (port 0: the first worker picks one,
 * the others join it); the kernel spreads the connections. handler and arg are
 * shared by all threads (handler runs concurrently in different threads).
 * Blocks the calling thread, which waits for SIGINT/SIGTERM (if handle_signals)
 * and then shuts every worker down gracefully. workers <= 1 runs one loop in
 * the calling thread. loop_opt may be NULL. Returns 0 or the first error. */
int loom_server_run(const struct loom_server_options *opt, const struct loom_loop_options *loop_opt,
                    unsigned workers, loom_server_handler handler, void *arg);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
