/* stream_internal.h - the stream's insides, for net/ modules built on it
 * (transport.c reuses the write path and the fd watcher). */
#ifndef LOOM_NET_STREAM_INTERNAL_H
#define LOOM_NET_STREAM_INTERNAL_H

#include "net/stream.h"
#include "reactor/park.h"
#include "reactor/completion.h"

/* The built-in transport over a plain fd. */
struct loom__fd_transport {
    int fd;
    bool is_socket; /* use send(MSG_NOSIGNAL) */
    bool borrow;    /* do not close; put back orig_flags */
    int orig_flags; /* F_GETFL at open */
};

/* Laid out for request/response at high connection counts: what every read,
 * write and wait touches sits in the first four 64-byte lines (the struct is
 * allocated 64-byte aligned), the settings and rare paths after it. Keep new
 * fields out of the first lines unless the hot path uses them. */
struct loom_stream {
    struct loom_io io; /* line 0 (64 bytes) */

    /* line 1: the transport and the read buffer */
    const struct loom_stream_ops *ops;
    void *ctx;
    struct loom__fd_transport fdt; /* ctx for the built-in ops */
    /* read side: rbuf[rstart, rend) is buffered data; freed when empty before a wait */
    char *rbuf;
    size_t rcap, rstart, rend;

    /* lines 2-3: waiting, the write buffer, the flags */
    struct loom_task *reader; /* parked reader */
    char *wbuf; /* write side: wbuf[wstart, wend) is pending output; freed when empty */
    size_t wstart, wend;
    int64_t timeout; /* default read timeout, -1: none */
    int rerr;        /* sticky read error */
    int werr;        /* sticky write error */
    unsigned rdir;   /* what the reader waits for */
    unsigned wdir;   /* what the flush waits for (LOOM_WRITABLE normally) */

    int fd;      /* polled fd, -1: none */
    int waiters; /* tasks inside a wait; the memory outlives them */
    bool closed;
    bool eof;                   /* the transport returned 0 */
    bool write_reset;           /* a write met ECONNRESET: the end of reading is that error */
    bool stop_reading;          /* reads that would wait return LOOM_EOF */
    bool rshort;                /* the last fd read was short: the socket is likely drained */
    bool eof_pending, eof_sent; /* write_eof asked / done */
    bool pollable;              /* false: regular file, /dev/null... never wait on it */
    bool hook_reading;          /* callback mode: poll for reading at all */
    struct loom_loop *loop;
    size_t wcap;
    struct loom_task *drainer; /* parked in drain/flush */
    size_t drain_target;       /* wake the drainer at or below this */
    size_t limit;
    size_t high, low;

    /* Callback mode (transport.c): when set, readiness for reading calls
     * on_readable instead of waking a task, and write progress / errors call
     * on_write. hook_reading says whether to poll for reading at all. */
    void (*on_readable)(struct loom_stream *s);
    void (*on_write)(struct loom_stream *s);
    void *hook_arg;

    /* Completion mode (a backend that receives by itself, io_uring): once a
     * plain socket stream first waits to read, its data is delivered into rbuf
     * by recv's callback, and the stream never calls read() while recv.live.
     * Data that cannot be appended without moving rbuf (a view may point into
     * it) waits in pend until the next read call. */
    struct loom__recv recv;
    struct loom__rchunk *pend, **pend_tail;
    size_t pend_bytes;
    unsigned char urecv; /* enum stream_recv_mode (stream.c) */
    /* Sends in completion mode: snd sends wbuf[wstart, wstart + n) - or the
     * same bytes in wold, when a write had to move wbuf meanwhile. */
    struct loom__send snd;
    char *wold;
};

/* loom_stream_open_fd for a socket made non-blocking by loom (accept4/socket
 * flags): skips the fstat and fcntl calls. */
int loom__stream_open_socket(struct loom_loop *loop, int fd, struct loom_stream **out);

/* Park the current task until the stream's fd is ready for dir (LOOM_READABLE
 * or LOOM_WRITABLE) or deadline (absolute, -1: none), using the reader's slot:
 * for a transport's own exchanges (TLS handshake and close_notify). Returns 0,
 * -ETIMEDOUT, -ECANCELED, -EBUSY (a reader waits), -EBADF, -EPERM. */
int loom__stream_wait(struct loom_stream *s, unsigned dir, int64_t deadline);

/* Replace the built-in transport of a fresh socket stream (nothing buffered,
 * nobody waiting, no EOF or error seen) by (ops, ctx), in place: the stream
 * keeps its fd watcher, and the fd now belongs to ctx. Returns 0, -EINVAL (not
 * an owned socket stream, or not fresh) or -EBUSY (a task waits on it). */
int loom__stream_set_transport(struct loom_stream *s, const struct loom_stream_ops *ops, void *ctx);

/* Turn a default SIGPIPE disposition into "ignore", once per process. */
void loom__ignore_sigpipe(void);

/* sendfile(2) that raises no SIGPIPE a caller would see: the disposition is
 * made "ignore" if it was the default, and the signal is blocked around the
 * call and taken back if the call raised it (a program's own handler then
 * never sees one from loom). errno as sendfile's. */
ssize_t loom__sendfile_nosig(int out, int in, off_t *off, size_t n);

/* Recompute what the watcher should wait for. */
void loom__stream_update(struct loom_stream *s);
/* Write out as much of the buffer as the transport takes now; 0 or the write error. */
int loom__stream_flush_now(struct loom_stream *s);
/* Close the transport and release the buffers (the struct stays). */
void loom__stream_release(struct loom_stream *s);

#endif
