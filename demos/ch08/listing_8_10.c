/* listing_8_10.c - a terminal UI: input at the bottom, output at the top (listing 8.10).
 *
 * Everything of 8.5-8.9 together. The terminal is in cbreak mode and the cursor
 * sits on the bottom row, where read_line() echoes what is typed. Each line N
 * starts a sleep task whose "Start"/"End" messages go into a bounded message
 * store; every append redraws the store at the top of the screen, with the
 * cursor saved and restored around it so typing is not disturbed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "demo.h"
#include "net/stream.h"
#include "net/term.h"
#include "reactor/task.h"

#define MAX_TASKS 256

static const char usage[] =
    "usage: listing_8_10\n"
    "cbreak TUI: type a number N and Enter at the bottom line; a task sleeps N seconds\n"
    "(scaled) and its \"Start sleeping\"/\"End sleeping\" messages are redrawn at the top.\n"
    "At EOF (Ctrl-D, or the end of a pipe) it waits for the sleeps and exits.\n";

/* The message store of 8.9, sized to the screen; the redraw is its callback. */
static struct {
    char items[128][64];
    int max, head, count;
} store;

static int redraw(void)
{
    loom_term_save_cursor(stdout);
    loom_term_home(stdout);
    for (int i = 0; i < store.count; i++) {
        loom_term_erase_line(stdout);
        printf("%s\n", store.items[(store.head + i) % store.max]);
    }
    loom_term_restore_cursor(stdout);
    fflush(stdout);
    return 0;
}

static int store_append(const char *msg)
{
    if (store.count == store.max) {
        store.head = (store.head + 1) % store.max;
        store.count--;
    }
    snprintf(store.items[(store.head + store.count++) % store.max], 64, "%s", msg);
    return redraw();
}

static intptr_t sleep_task(void *arg)
{
    int n = (int)(intptr_t)arg;
    char msg[64];
    snprintf(msg, sizeof msg, "Start sleeping for %d sec.", n);
    store_append(msg);
    int rc = loom_sleep(demo_sec(n));
    snprintf(msg, sizeof msg, "End sleeping for %d sec.", n);
    if (rc == 0)
        store_append(msg);
    return rc;
}

/* read_line() of 8.8: echo keys ourselves, backspace erases. */
static int read_line(struct loom_stream *in, char *buf, size_t cap)
{
    size_t len = 0;
    int key;
    while ((key = loom_term_read_key(in, -1)) >= 0 && key != '\n') {
        if (key == LOOM_KEY_BACKSPACE && len > 0) {
            len--;
            loom_term_back_one(stdout);
            putchar(' ');
            loom_term_back_one(stdout);
        } else if (key != LOOM_KEY_BACKSPACE && key != LOOM_KEY_CTRL_D && len + 1 < cap) {
            buf[len++] = (char)key;
            putchar(key);
        } else if (key == LOOM_KEY_CTRL_D && len == 0) {
            key = LOOM_EOF;
            break;
        }
        fflush(stdout);
    }
    buf[len] = 0;
    loom_term_erase_line(stdout);
    loom_term_column0(stdout);
    fflush(stdout);
    return key < 0 && len == 0 ? key : (int)len;
}

static intptr_t main_task(void *arg)
{
    int rows, cols;
    loom_term_size(STDOUT_FILENO, &rows, &cols);
    store.max = rows - 1 < 1 ? 1 : rows - 1 > 128 ? 128 : rows - 1;
    loom_term_clear(stdout); /* os.system('clear') */
    loom_term_move_to_bottom(stdout, rows);
    fflush(stdout);
    struct loom_stream *in;
    DEMO_CHECK(loom_stream_open_fd(loom_loop_current(), STDIN_FILENO, LOOM_STREAM_BORROW, &in));
    struct loom_task *tasks[MAX_TASKS];
    size_t n = 0;
    char line[64];
    while (read_line(in, line, sizeof line) >= 0) {
        struct loom_task *t = loom_spawn(sleep_task, (void *)(intptr_t)atoi(line), NULL);
        if (t && n < MAX_TASKS)
            tasks[n++] = t;
        else if (t)
            loom_task_release(t);
    }
    loom_stream_close(in);
    return loom_gather(tasks, n, NULL, LOOM_GATHER_ALL);
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    int rc = loom_term_raw(STDIN_FILENO); /* tty.setcbreak(sys.stdin) */
    if (rc < 0 && rc != -ENOTTY)
        DEMO_CHECK(rc);
    intptr_t result = loom_run(main_task, NULL);
    loom_term_restore();
    printf("\n");
    DEMO_CHECK(result);
    return 0;
}
