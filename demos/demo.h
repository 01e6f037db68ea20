/* demo.h - helpers shared by the book-listing demos (demos/chNN/listing_N_M.c).
 *
 * Arguments: demo_init() handles --help and the common time scale (--scale F or
 * $DEMO_SCALE: every duration a demo sleeps or waits is multiplied by F, so the
 * smoke tests can run the book's timings ten times faster with the ratios kept).
 * The util/ helpers of the book live here too: delay(n) of listing 2.6 and the
 * async_timed wrapper of listing 2.16. The listings that fetch a URL talk to the
 * local site of common/site.h. */
#ifndef LOOM_DEMOS_DEMO_H
#define LOOM_DEMOS_DEMO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sys/types.h>

#include "reactor/error.h"
#include "reactor/future.h"
#include "reactor/loop.h"
#include "reactor/task.h"

/* Print where and why rc (a negative loom/errno code) failed, then exit(1). */
#define DEMO_CHECK(rc)                                                                             \
    do {                                                                                           \
        long demo_rc_ = (long)(rc);                                                                \
        if (demo_rc_ < 0) {                                                                        \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #rc,                            \
                    loom_strerror((int)demo_rc_));                                                 \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* --- arguments --- */

/* Parse the command line. usage is the demo's help text; every "--option" it
 * mentions is accepted (read them with demo_arg_*), as are --help (prints usage
 * plus the common options, exits 0) and --scale F. Anything else exits 2. */
void demo_init(int argc, char **argv, const char *usage);
/* The value after --name, or def when absent. */
const char *demo_arg_str(const char *name, const char *def);
/* The whole number after --name, or def when absent; anything else (8080x,
 * an overflow) exits 2 naming the option. _range also bounds it. */
long demo_arg_long(const char *name, long def);
long demo_arg_range(const char *name, long def, long min, long max);
/* Whether --name was given. */
bool demo_arg_flag(const char *name);

/* --- time --- */

/* The time scale factor (default 1 = the book's timings). */
double demo_scale(void);
/* seconds * scale, in loom nanoseconds (for loom_sleep, wait_for, ...). */
int64_t demo_sec(double seconds);
/* Monotonic wall clock in seconds, and this thread's CPU time in seconds. */
double demo_now(void);
double demo_thread_cpu(void);

/* Threads alive in this process (entries of /proc/self/task; -errno on failure). */
int demo_thread_count(void);

/* The fib() size for the book's fib(book_n). C runs the naive fib ~250x faster
 * than CPython, so at scale 1 the demos use book_n + 5 (fib(45): about a second,
 * as the book's jobs take seconds); the scale shifts that by log(scale)/log(phi),
 * so scale 0.1 gives exactly the book's sizes. Never below 20. */
int demo_fib_n(int book_n);

/* --- util/delay_functions.py (listing 2.6) --- */

/* Print "Starting sleep for N sec...", sleep N (scaled) seconds, print "End
 * sleeping for N sec." and return N. Returns -ECANCELED without the End line if
 * the sleep was cancelled. Suspends. */
intptr_t demo_delay(int seconds);
/* The same as a task function: arg is (void *)(intptr_t)seconds. */
intptr_t demo_delay_task(void *arg);

/* --- util/async_timed.py (listing 2.16) --- */

/* Print "Calling <name> with arguments <args>", run fn(arg) in the calling task,
 * print "<name> completed in X.XXXX sec." and return fn's result. */
intptr_t demo_timed(const char *name, const char *args, loom_task_fn fn, void *arg);

/* --- CPU work the compiler cannot elide (listings 2.18, 2.19, 2.23) --- */

/* Count up to n through a volatile counter; returns n. */
long demo_count_to(long n);
/* A count that takes about `seconds` (scaled) of CPU: the book counts to 1e8 in
 * ~3.9 s of Python; C counts ~3e9 a second through a volatile on current x86-64,
 * so demos ask for the book's seconds rather than its count. */
long demo_cpu_count(double seconds);

/* --- sockets for tasks on the callback layer (until net/ streams are ready) ---
 * A task waits for fd readiness by starting a level-triggered loom_io watcher
 * whose callback resolves a future the task awaits. Always try the syscall
 * first; wait only on EAGAIN. */

struct demo_fd {
    struct loom_io io;        /* the watcher (io.fd is the socket) */
    struct loom_future ready; /* resolved with the readiness bits */
    char buf[1024];           /* readline buffer */
    size_t len;               /* bytes in buf */
};

/* A non-blocking TCP listener on host:port (0 picks a free port, put in *bound).
 * Returns the fd or -errno. */
int demo_listen(const char *host, int port, int *bound);
/* Watch fd (made non-blocking) on the current loop. 0 or -errno. */
int demo_fd_init(struct demo_fd *w, int fd);
/* Stop watching and close the fd. */
void demo_fd_close(struct demo_fd *w);
/* Wait until fd is ready for events. 0 or -ECANCELED. Suspends. */
int demo_fd_wait(struct demo_fd *w, unsigned events);
/* Accept one connection (non-blocking fd) and its peer. fd or -errno. Suspends. */
int demo_fd_accept(struct demo_fd *w, char *ip, size_t iplen, int *port);
/* Read one line including its '\n' into line (NUL-terminated): its length, 0 at
 * EOF, LOOM_ELIMIT if longer than the buffer or cap, or -errno. Suspends. */
ssize_t demo_fd_readline(struct demo_fd *w, char *line, size_t cap);
/* A blocking TCP connection to 127.0.0.1:port (for client threads). fd or -errno. */
int demo_connect(int port);
/* The local port of a connected socket, or -errno. */
int demo_local_port(int fd);
/* Write all of buf. 0 or -errno. Suspends. */
int demo_fd_write_all(struct demo_fd *w, const void *buf, size_t len);
/* Print prefix, then the n bytes at p the way Python's repr(bytes) does
 * (b'ab\r\n'), then suffix. */
void demo_print_bytes(const char *prefix, const char *p, size_t n, const char *suffix);

#endif
