/* listing_8_6.c - delays started from stdin lines (listing 8.6).
 *
 * The fix for 8.4: stdin is a stream (as in 8.5), so waiting for the next line
 * suspends only main. Each line N starts a delay(N) task at once, and the
 * "Starting sleep"/"End sleeping" lines appear while more input is still being
 * read. The book loops forever; at EOF this demo waits for the tasks and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "demo.h"
#include "net/stream.h"
#include "reactor/task.h"

#define MAX_TASKS 256

static const char usage[] =
    "usage: listing_8_6\n"
    "Reads numbers from stdin (a non-blocking stream); each line N starts delay(N)\n"
    "(seconds, scaled) right away while reading goes on. At EOF it waits for the\n"
    "delays still running, then exits.\n";

static intptr_t main_task(void *arg)
{
    struct loom_stream *in;
    DEMO_CHECK(loom_stream_open_fd(loom_loop_current(), STDIN_FILENO, LOOM_STREAM_BORROW, &in));
    struct loom_task *tasks[MAX_TASKS];
    size_t n = 0;
    char line[64];
    ssize_t len;
    while ((len = loom_stream_readline(in, line, sizeof line, -1)) > 0) {
        struct loom_task *t = loom_spawn(demo_delay_task, (void *)(intptr_t)atoi(line), NULL);
        if (t && n < MAX_TASKS)
            tasks[n++] = t;
        else if (t)
            loom_task_release(t);
    }
    loom_stream_close(in);
    printf("EOF on stdin; waiting for %zu delay task(s).\n", n);
    return loom_gather(tasks, n, NULL, LOOM_GATHER_ALL);
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
