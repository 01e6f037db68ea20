/* completion.h - completion-based receiving, sending and accepting: the
 * reactor's interface for it, as park.h is for suspending calls. Not
 * installed.
 *
 * On a backend that receives by itself (io_uring's recv into provided
 * buffers), a stream asks the loop to receive its socket's next data for it
 * instead of waking it on readiness to call recv(): no syscall per read. Likewise a send is handed to the loop and goes to the kernel with the
 * loop's next poll, batched with every other. A listener's accepts come
 * from one multishot accept the same way. On other backends the start
 * calls say -ENOTSUP and the stream or listener keeps to readiness. */
#ifndef LOOM_REACTOR_COMPLETION_H
#define LOOM_REACTOR_COMPLETION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reactor/loop.h"

struct loom__recv;

/* Data arrived: res > 0 bytes at data (valid during the call only), 0 the
 * peer's end of stream, < 0 an error (-ENOBUFS: the loop ran out of receive
 * buffers, read the fd yourself; -ECANCELED: stopped). more false: the
 * receive has ended and may be started again (always so today). */
typedef void (*loom__recv_cb)(struct loom__recv *r, const char *data, int res, bool more);

struct loom__recv {
    loom__recv_cb cb;
    int fd;
    uint32_t gen;
    bool live; /* started and its last completion not delivered yet */
};

/* Receive fd's next data (one buffer at most) into r->cb. The fd must have a
 * watcher (loom_io_init) for as long as the receive lives. 0, -ENOTSUP (the
 * backend has no completion receive), -EBUSY (r or the fd already receives),
 * or -ENOMEM. */
int loom__recv_start(struct loom_loop *loop, struct loom__recv *r, int fd);

/* Stop r. close: the fd is about to be closed; nothing more is delivered and
 * the kernel lets go of the file at once. Without: the completion still
 * comes (data received meanwhile, or -ECANCELED); restart only after it. */
void loom__recv_stop(struct loom_loop *loop, struct loom__recv *r, bool close);

struct loom__send;

/* The send ended: res bytes went (maybe fewer than asked: send the rest), or
 * -errno. */
typedef void (*loom__send_cb)(struct loom__send *op, int res);

struct loom__send {
    loom__send_cb cb;
    int fd;
    uint32_t gen;
    bool live; /* started, its completion not delivered yet */
};

/* Send len bytes at buf on fd; buf must stay put until op->cb runs. 0,
 * -ENOTSUP, -EBUSY (op or the fd already sends; the backend is short of
 * room) or -ENOMEM. */
int loom__send_start(struct loom_loop *loop, struct loom__send *op, int fd, const void *buf,
                     size_t len);

/* The fd is about to close: the kernel takes what it can of op's data now,
 * the rest is dropped, op->cb is not called, and buf (the memory op sends
 * from, malloc'd; NULL: none) is freed once the kernel is done with it. With
 * no op live, buf is freed at once. */
void loom__send_abandon(struct loom_loop *loop, struct loom__send *op, void *buf);

struct loom__accept;

/* A connection came: res is its fd (owned by the callee from here on), or
 * -errno (-ECANCELED: stopped). more false: the accept has ended and may be
 * started again. */
typedef void (*loom__accept_cb)(struct loom__accept *a, int res, bool more);

struct loom__accept {
    loom__accept_cb cb;
    int fd;
    uint32_t gen;
    bool live; /* started and its last completion not delivered yet */
    bool idle; /* nobody waits on it: it does not keep the loop running */
};

/* Accept every connection listening fd gets into a->cb, one completion each,
 * until stopped or an error ends it (io_uring's multishot accept: no syscall
 * per connection). The fd must have a watcher for as long as a lives. 0,
 * -ENOTSUP (the backend has none), -EBUSY or -ENOMEM. */
int loom__accept_start(struct loom_loop *loop, struct loom__accept *a, int fd);

/* Stop a. close: the listening fd is about to be closed; nothing more is
 * delivered (fds accepted meanwhile are closed). Without: completions still
 * come (connections accepted meanwhile, then -ECANCELED with more false). */
void loom__accept_stop(struct loom_loop *loop, struct loom__accept *a, bool close);

/* Whether live a keeps the loop running (as a watcher does) - not while idle:
 * an accept left running between two accept calls. */
void loom__accept_idle(struct loom_loop *loop, struct loom__accept *a, bool idle);

#endif
