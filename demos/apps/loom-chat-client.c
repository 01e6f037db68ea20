/* loom-chat-client - the chat client of listing 8.14.
 *
 * Two tasks at once: one reads the server and shows messages, one reads the
 * keyboard and sends lines; whichever finishes first ends the program (asyncio
 * wait FIRST_COMPLETED). On a terminal the messages scroll in the rows above
 * and the input line stays at the bottom (cbreak mode, ANSI cursor moves); with
 * a pipe it reads lines and prints messages, and at the end of its input it
 * half-closes and prints what the server still sends. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "net/stream.h"
#include "net/tcp.h"
#include "net/term.h"

static const char usage[] =
    "usage: loom-chat-client [--host ADDR] [--port N] [--name NAME]\n"
    "Joins the loom-chat room at ADDR:N (default 127.0.0.1:8000) as NAME (asked if absent).\n"
    "On a terminal: messages above, your input line at the bottom; Ctrl-D on an empty line\n"
    "or Ctrl-C quits. With a pipe: sends each input line, prints every message until the\n"
    "server closes the connection.";

#define MAX_MSGS 200

static struct {
    struct loom_stream *sock, *in;
    bool tui;
    int rows, cols;
    char *msgs[MAX_MSGS];      /* the last messages, oldest first */
    int nmsgs;
    char input[512];           /* the line being typed */
    size_t ilen;
} c;

/* Redraw the message rows above the input line, then put the cursor back. */
static void redraw(void)
{
    int shown = c.rows - 1 < c.nmsgs ? c.rows - 1 : c.nmsgs;
    loom_term_save_cursor(stdout);
    for (int row = 1; row < c.rows; row++) {
        loom_term_move_to(stdout, row, 1);
        loom_term_erase_line(stdout);
        int i = c.nmsgs - shown + row - 1;
        if (row <= shown)
            printf("%.*s", c.cols - 1, c.msgs[i]);
    }
    loom_term_restore_cursor(stdout);
    fflush(stdout);
}

static void show(const char *line)
{
    if (!c.tui) {
        printf("%s\n", line);
        fflush(stdout);
        return;
    }
    if (c.nmsgs == MAX_MSGS) {
        free(c.msgs[0]);
        memmove(c.msgs, c.msgs + 1, (MAX_MSGS - 1) * sizeof(char *));
        c.nmsgs--;
    }
    c.msgs[c.nmsgs++] = strdup(line);
    redraw();
}

static intptr_t read_server(void *arg)
{
    char line[2048];
    ssize_t n;
    while ((n = loom_stream_readline(c.sock, line, sizeof line, -1)) > 0) {
        line[strcspn(line, "\r\n")] = '\0';
        show(line);
    }
    if (n == LOOM_EOF)
        show("Server closed connection.");
    return n == LOOM_EOF ? 0 : n;
}

/* Terminal: one key at a time, echoing, with backspace; Enter sends. */
static intptr_t read_keys(void *arg)
{
    loom_term_move_to_bottom(stdout, c.rows);
    fflush(stdout);
    for (;;) {
        int k = loom_term_read_key(c.in, -1);
        if (k < 0 || (k == LOOM_KEY_CTRL_D && !c.ilen))
            return k < 0 && k != LOOM_EOF ? k : 0;
        if (k == '\n') {
            c.input[c.ilen++] = '\n';
            loom_stream_write(c.sock, c.input, c.ilen);
            c.ilen = 0;
            loom_term_erase_line(stdout);
            loom_term_column0(stdout);
        } else if (k == LOOM_KEY_BACKSPACE && c.ilen) {
            c.ilen--;
            loom_term_back_one(stdout);
            fputs(" ", stdout);
            loom_term_back_one(stdout);
        } else if (k >= 32 && k < 127 && c.ilen < sizeof c.input - 2) {
            c.input[c.ilen++] = (char)k;
            putchar(k);
        }
        fflush(stdout);
    }
}

/* Pipe: send each line; at EOF half-close and let the server finish. */
static intptr_t read_lines(void *arg)
{
    char line[512];
    ssize_t n;
    while ((n = loom_stream_readline(c.in, line, sizeof line, -1)) > 0)
        if (loom_stream_write(c.sock, line, (size_t)n) < 0 || loom_stream_drain(c.sock, -1) < 0)
            return -EPIPE;
    if (n != LOOM_EOF)
        return n;
    loom_stream_write_eof(c.sock);
    for (;;) /* the reader ends the program when the server closes */
        if (loom_sleep(LOOM_SEC(3600)) < 0)
            return 0;
}

static intptr_t client_main(void *arg)
{
    DEMO_CHECK(loom_stream_open_fd(loom_loop_current(), 0, LOOM_STREAM_BORROW, &c.in));
    char name[64];
    const char *given = demo_arg_str("--name", NULL);
    if (!given) {
        printf("Enter username: ");
        fflush(stdout);
        ssize_t n = loom_stream_readline(c.in, name, sizeof name, -1);
        DEMO_CHECK(n);
        name[strcspn(name, "\r\n")] = '\0';
        given = name;
    }
    int rc = loom_tcp_connect(demo_arg_str("--host", "127.0.0.1"),
                              (int)demo_arg_long("--port", 8000), LOOM_SEC(10), &c.sock);
    DEMO_CHECK(rc);
    char hello[128];
    int n = snprintf(hello, sizeof hello, "CONNECT %s\n", given);
    DEMO_CHECK(loom_stream_write(c.sock, hello, (size_t)n));
    c.tui = loom_term_isatty(0) && loom_term_isatty(1) && loom_term_raw(0) == 0;
    if (c.tui) {
        loom_term_size(1, &c.rows, &c.cols);
        loom_term_clear(stdout);
    }
    struct loom_task *t[2] = {loom_spawn(read_server, NULL, "server"),
                              loom_spawn(c.tui ? read_keys : read_lines, NULL, "input")};
    loom_wait(t, 2, LOOM_FIRST_COMPLETED, -1);
    loom_task_cancel(t[0]);
    loom_task_cancel(t[1]);
    loom_gather(t, 2, NULL, LOOM_GATHER_ALL);
    loom_stream_close(c.sock);
    loom_stream_close(c.in);
    if (c.tui) {
        loom_term_restore();
        loom_term_move_to_bottom(stdout, c.rows);
        putchar('\n');
    }
    for (int i = 0; i < c.nmsgs; i++)
        free(c.msgs[i]);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(client_main, NULL);
}
