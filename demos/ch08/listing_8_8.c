/* listing_8_8.c - a line editor over a raw-mode stdin stream (listing 8.8).
 *
 * In cbreak mode the terminal hands over every key at once and echoes nothing,
 * so the program does the echoing itself: read one byte at a time from the stdin
 * stream, print it, and on backspace (0x7f) drop the last character and rub it
 * out on screen (back one, space, back one). Enter ends the line. Reading a key
 * suspends only this task. With a pipe instead of a terminal the same code runs
 * (nothing to switch to cbreak). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "net/stream.h"
#include "net/term.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_8_8\n"
    "Puts the terminal in cbreak mode and reads lines key by key, echoing them itself;\n"
    "backspace erases the last character. Prints \"You entered: ...\" for every line;\n"
    "ends at EOF (Ctrl-D at the start of a line) or on a line \"quit\".\n";

static void erase_last_char(void)
{
    loom_term_back_one(stdout);
    putchar(' ');
    loom_term_back_one(stdout);
}

/* read_line(): returns the length, or LOOM_EOF if input ended before any key. */
static int read_line(struct loom_stream *in, char *buf, size_t cap)
{
    size_t len = 0;
    int key;
    while ((key = loom_term_read_key(in, -1)) >= 0 && key != '\n') {
        if (key == LOOM_KEY_CTRL_D && len == 0)
            return LOOM_EOF;
        if (key == LOOM_KEY_BACKSPACE) {
            if (len > 0) {
                len--;
                erase_last_char();
            }
        } else if (len + 1 < cap) {
            buf[len++] = (char)key;
            putchar(key);
        }
        fflush(stdout);
    }
    buf[len] = 0;
    if (key < 0 && (key != LOOM_EOF || len == 0))
        return key;
    loom_term_erase_line(stdout); /* the book's clear_line() */
    loom_term_column0(stdout);
    return (int)len;
}

static intptr_t main_task(void *arg)
{
    struct loom_stream *in;
    DEMO_CHECK(loom_stream_open_fd(loom_loop_current(), STDIN_FILENO, LOOM_STREAM_BORROW, &in));
    char line[256];
    int n;
    for (;;) {
        printf("> ");
        fflush(stdout);
        if ((n = read_line(in, line, sizeof line)) < 0)
            break;
        printf("You entered: %s\n", line);
        if (strcmp(line, "quit") == 0)
            break;
    }
    printf("\nBye.\n");
    loom_stream_close(in);
    return n == LOOM_EOF || n >= 0 ? 0 : n;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    int rc = loom_term_raw(STDIN_FILENO); /* tty.setcbreak; restored at exit */
    if (rc < 0 && rc != -ENOTTY)
        DEMO_CHECK(rc);
    intptr_t result = loom_run(main_task, NULL);
    loom_term_restore();
    DEMO_CHECK(result);
    return 0;
}
