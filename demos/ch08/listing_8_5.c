/* listing_8_5.c - stdin as a non-blocking stream (listing 8.5).
 *
 * create_stdin_reader(): the book connects a StreamReader to sys.stdin with
 * connect_read_pipe. In loom any fd can back a stream: stdin is borrowed
 * (LOOM_STREAM_BORROW: closing the stream puts back its blocking mode and leaves
 * it open), made non-blocking, and readline() suspends only the calling task.
 * A ticker task proves the loop keeps running while main waits for input. */
#include <stdio.h>
#include <unistd.h>

#include "demo.h"
#include "net/stream.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_8_5\n"
    "Reads stdin line by line through a non-blocking stream and prints each line, while a\n"
    "ticker task counts 100 ms (scaled) ticks to show the loop is never blocked.\n"
    "At EOF prints the number of ticks that ran meanwhile and exits.\n";

static int ticks;

static intptr_t ticker(void *arg)
{
    int rc;
    while ((rc = loom_sleep(demo_sec(0.1))) == 0)
        ticks++;
    return rc;
}

/* create_stdin_reader() */
static int create_stdin_reader(struct loom_stream **out)
{
    return loom_stream_open_fd(loom_loop_current(), STDIN_FILENO, LOOM_STREAM_BORROW, out);
}

static intptr_t main_task(void *arg)
{
    struct loom_stream *in;
    DEMO_CHECK(create_stdin_reader(&in));
    struct loom_task *tick = loom_spawn(ticker, NULL, "ticker");
    char line[1024];
    ssize_t n;
    while ((n = loom_stream_readline(in, line, sizeof line, -1)) > 0)
        printf("Read line: %s%s", line, line[n - 1] == '\n' ? "" : "\n");
    printf("EOF on stdin; the ticker ran %d times while main was waiting.\n", ticks);
    loom_task_cancel(tick);
    loom_task_join(tick);
    loom_stream_close(in);
    return n == LOOM_EOF ? 0 : n;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
