/* loom-chat-client - the chat client of listing 8.14.
 *
 * Two tasks at once: one reads the server and shows messages, one reads the
 * keyboard and sends lines; whichever finishes first ends the program (asyncio
 * wait FIRST_COMPLETED). On a terminal the messages scroll in the rows above
 * and the input line stays at the bottom (cbreak mode, ANSI cursor moves); typing
 * is UTF-8 and backspace removes a whole character. With a pipe it reads lines
 * (at most 1024 bytes each, the server's limit) and prints messages, and at the
 * end of its input it half-closes and prints what the server still sends.
 *
 * Text from the server is shown through a sanitiser: control characters and
 * escape sequences appear as visible symbols and never drive the terminal.
 * Exit status: 0 after Ctrl-D / the end of piped input; 1 when the connection
 * fails, the join is refused or the server goes away first; 2 for bad options. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/opts.h"
#include "net/stream.h"
#include "net/tcp.h"
#include "net/term.h"
#include "net/utf8.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: loom-chat-client [--host ADDR] [--port N] [--name NAME]\n"
    "Joins the loom-chat room at ADDR:N (default 127.0.0.1:8000) as NAME (asked if absent).\n"
    "On a terminal: messages above, your input line at the bottom; Ctrl-D on an empty line\n"
    "or Ctrl-C quits. With a pipe: sends each input line (at most 1024 bytes), prints every\n"
    "message until the server closes the connection.\n"
    "Exit status: 0 when you quit, 1 if the connection or the join fails or the server\n"
    "closes first, 2 for bad options.";

#define MAX_MSGS 200
#define LINE_MAX_LEN 1024 /* the server's limit for a line */
#define SERVER_LINE 8192  /* the longest server line shown whole */

static struct {
    struct loom_stream *sock, *in;
    const char *host;
    int port;
    bool tui;
    bool input_done; /* our side ended normally (Ctrl-D, end of piped input) */
    int rows, cols;
    char *msgs[MAX_MSGS]; /* the last messages (sanitised), oldest first */
    int nmsgs;
    char input[LINE_MAX_LEN + 1]; /* the line being typed (UTF-8) */
    size_t ilen;
    char error[256];               /* why the program fails, printed at the end */
    char welcome[SERVER_LINE + 1]; /* the server's first line, shown once the screen is set */
    size_t welcome_len;
} c;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    if (c.error[0])
        return; /* the first reason wins */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c.error, sizeof c.error, fmt, ap);
    va_end(ap);
}

/* Bytes of s that hold at most max characters. */
static size_t prefix_chars(const char *s, size_t max)
{
    size_t i = 0, chars = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && chars++ == max)
            break;
    }
    return i;
}

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
            printf("%.*s", (int)prefix_chars(c.msgs[i], (size_t)c.cols - 1), c.msgs[i]);
    }
    loom_term_restore_cursor(stdout);
    fflush(stdout);
}

/* Show a line from the server (raw bytes) after making it safe to print. */
static void show(const char *raw, size_t len)
{
    char safe[LOOM_UTF8_SANITIZE_MAX(SERVER_LINE)];
    loom_utf8_sanitize(safe, sizeof safe, raw, len, LOOM_UTF8_ALLOW_TAB);
    if (!c.tui) {
        printf("%s\n", safe);
        fflush(stdout);
        return;
    }
    if (c.nmsgs == MAX_MSGS) {
        free(c.msgs[0]);
        memmove(c.msgs, c.msgs + 1, (MAX_MSGS - 1) * sizeof(char *));
        c.nmsgs--;
    }
    char *copy = strdup(safe);
    if (copy)
        c.msgs[c.nmsgs++] = copy;
    redraw();
}

static void show_text(const char *text) { show(text, strlen(text)); }

/* One line from the server, without its end: length, LOOM_EOF or an error.
 * A line longer than SERVER_LINE comes in pieces. */
static ssize_t server_line(char *line, size_t cap, int64_t timeout)
{
    ssize_t n = loom_stream_readline(c.sock, line, cap, timeout);
    if (n == LOOM_ELIMIT)
        n = loom_stream_readexactly(c.sock, line, cap - 1, timeout);
    if (n < 0)
        return n;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    return n;
}

static intptr_t read_server(void *arg)
{
    char line[SERVER_LINE + 1];
    ssize_t n;
    while ((n = server_line(line, sizeof line, -1)) >= 0)
        show(line, (size_t)n);
    if (n != LOOM_EOF) {
        if (n != -ECANCELED)
            fail("connection to %s:%d lost: %s", c.host, c.port, loom_strerror((int)n));
        return n;
    }
    show_text("Server closed connection.");
    if (!c.input_done)
        fail("the server closed the connection");
    return 0;
}

static void send_line(void)
{
    c.input[c.ilen++] = '\n';
    if (loom_stream_write(c.sock, c.input, c.ilen) < 0)
        fail("cannot send to %s:%d: the connection is gone", c.host, c.port);
    c.ilen = 0;
    loom_term_erase_line(stdout);
    loom_term_column0(stdout);
}

/* Show the input line again (after a backspace), its last cols - 1 characters. */
static void redraw_input(void)
{
    c.input[c.ilen] = '\0';
    size_t chars = 0;
    for (size_t i = 0; i < c.ilen; i++)
        chars += ((unsigned char)c.input[i] & 0xC0) != 0x80;
    size_t skip = chars > (size_t)c.cols - 1 ? chars - ((size_t)c.cols - 1) : 0;
    loom_term_erase_line(stdout);
    loom_term_column0(stdout);
    fputs(c.input + prefix_chars(c.input, skip), stdout);
}

/* The UTF-8 character being typed. */
struct typing {
    char ch[4];
    size_t len, need;
};

/* Take one typed byte into the character being assembled; a complete, valid
 * character goes into the input line (if it fits) and is echoed. */
static void type_byte(unsigned char b, struct typing *t)
{
    if ((b & 0xC0) != 0x80) { /* a lead byte starts a new character */
        t->len = 0;
        t->need = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    } else if (!t->len) {
        return; /* a stray continuation byte */
    }
    t->ch[t->len++] = (char)b;
    if (t->len < t->need)
        return;
    size_t n = t->len;
    t->len = 0;
    if (!loom_utf8_valid(t->ch, n) || (n == 1 && (b < 0x20 || b == 0x7f)) ||
        c.ilen + n > LINE_MAX_LEN)
        return; /* not text, or the line is full */
    memcpy(c.input + c.ilen, t->ch, n);
    c.ilen += n;
    fwrite(t->ch, 1, n, stdout);
}

/* Remove the last whole character of the input line. */
static void backspace(void)
{
    if (!c.ilen)
        return;
    do
        c.ilen--;
    while (c.ilen && ((unsigned char)c.input[c.ilen] & 0xC0) == 0x80);
    redraw_input();
}

/* Swallow the rest of an escape sequence (arrow keys send ESC [ A). */
static int skip_escape(void)
{
    int k = loom_term_read_key(c.in, LOOM_MS(50));
    if (k != '[' && k != 'O')
        return k < 0 && k != -ETIMEDOUT ? k : 0;
    do
        k = loom_term_read_key(c.in, LOOM_MS(50));
    while (k >= 0 && !(k >= 0x40 && k <= 0x7e));
    return k < 0 && k != -ETIMEDOUT ? k : 0;
}

/* Terminal: one key at a time, echoing, with backspace; Enter sends. */
static intptr_t read_keys(void *arg)
{
    struct typing t = {0};
    loom_term_move_to_bottom(stdout, c.rows);
    fflush(stdout);
    for (;;) {
        int k = loom_term_read_key(c.in, -1);
        if (k < 0 || (k == LOOM_KEY_CTRL_D && !c.ilen)) {
            c.input_done = k == LOOM_EOF || k == LOOM_KEY_CTRL_D;
            return k < 0 && k != LOOM_EOF ? k : 0;
        }
        if (k == '\n')
            send_line();
        else if (k == LOOM_KEY_BACKSPACE)
            backspace();
        else if (k == 0x1b)
            skip_escape();
        else
            type_byte((unsigned char)k, &t);
        fflush(stdout);
    }
}

/* Pipe: send each line; at EOF half-close and let the server finish. */
static intptr_t read_lines(void *arg)
{
    char line[LINE_MAX_LEN + 3]; /* text, "\r\n", NUL */
    ssize_t n;
    for (long no = 1; (n = loom_stream_readline(c.in, line, sizeof line, -1)) > 0; no++)
        if (loom_stream_write(c.sock, line, (size_t)n) < 0 || loom_stream_drain(c.sock, -1) < 0) {
            fail("cannot send to %s:%d: the connection is gone", c.host, c.port);
            return -EPIPE;
        }
    if (n == LOOM_ELIMIT) {
        fail("an input line is longer than %d bytes (the server's limit)", LINE_MAX_LEN);
        return n;
    }
    if (n != LOOM_EOF)
        return n;
    c.input_done = true;
    loom_stream_write_eof(c.sock);
    for (;;) /* the reader ends the program when the server closes */
        if (loom_sleep(LOOM_SEC(3600)) < 0)
            return 0;
}

/* The name from --name or asked on stdin. 0 or -1 (reason recorded). */
static int get_name(char *name, size_t cap)
{
    const char *given = opts_text("--name", NULL, 32 * 4);
    if (given) {
        snprintf(name, cap, "%s", given);
        return 0;
    }
    printf("Enter username: ");
    fflush(stdout);
    ssize_t n = loom_stream_readline(c.in, name, cap, -1);
    if (n == LOOM_EOF || n == LOOM_ELIMIT || n < 0) {
        fail("%s", n == LOOM_EOF      ? "no user name given"
                   : n == LOOM_ELIMIT ? "the user name is too long"
                                      : loom_strerror((int)n));
        return -1;
    }
    name[strcspn(name, "\r\n")] = '\0';
    return 0;
}

/* Connect and send CONNECT; the server's first line must be the welcome. */
static int join(const char *name)
{
    int rc = loom_tcp_connect(c.host, c.port, LOOM_SEC(10), &c.sock);
    if (rc < 0) {
        fail("cannot connect to %s:%d: %s", c.host, c.port, loom_strerror(rc));
        return -1;
    }
    char hello[160];
    int n = snprintf(hello, sizeof hello, "CONNECT %s\n", name);
    loom_stream_write(c.sock, hello, (size_t)n);
    char line[SERVER_LINE + 1];
    ssize_t len = server_line(line, sizeof line, LOOM_SEC(30));
    if (len < 0) {
        fail("no welcome from %s:%d: %s", c.host, c.port,
             len == LOOM_EOF ? "the server closed the connection" : loom_strerror((int)len));
        return -1;
    }
    line[len] = '\0';
    if (strncmp(line, "Welcome!", 8)) {
        char safe[LOOM_UTF8_SANITIZE_MAX(SERVER_LINE)];
        loom_utf8_sanitize(safe, sizeof safe, line, (size_t)len, 0);
        fail("join refused: %s", safe);
        return -1;
    }
    memcpy(c.welcome, line, (size_t)len);
    c.welcome_len = (size_t)len;
    return 0;
}

static void run_chat(void)
{
    struct loom_task *t[2] = {loom_spawn(read_server, NULL, "server"),
                              loom_spawn(c.tui ? read_keys : read_lines, NULL, "input")};
    if (!t[0] || !t[1]) {
        fail("out of memory");
        return;
    }
    loom_wait(t, 2, LOOM_FIRST_COMPLETED, -1);
    loom_task_cancel(t[0]);
    loom_task_cancel(t[1]);
    loom_gather(t, 2, NULL, LOOM_GATHER_ALL);
}

static intptr_t client_main(void *arg)
{
    char name[160];
    int rc = loom_stream_open_fd(loom_loop_current(), 0, LOOM_STREAM_BORROW, &c.in);
    if (rc < 0) {
        fail("cannot read standard input: %s", loom_strerror(rc));
        return 1;
    }
    bool tty = loom_term_isatty(0) && loom_term_isatty(1);
    if (get_name(name, sizeof name) == 0 && join(name) == 0) {
        c.tui = tty && loom_term_raw(0) == 0;
        if (c.tui) {
            loom_term_size(1, &c.rows, &c.cols);
            loom_term_clear(stdout);
        }
        show(c.welcome, c.welcome_len);
        run_chat();
    }
    loom_stream_close(c.sock);
    loom_stream_close(c.in);
    if (c.tui) {
        loom_term_restore();
        loom_term_move_to_bottom(stdout, c.rows);
        putchar('\n');
    }
    for (int i = 0; i < c.nmsgs; i++)
        free(c.msgs[i]);
    return c.error[0] ? 1 : 0;
}

int main(int argc, char **argv)
{
    opts_init(argc, argv, usage);
    c.host = opts_host("--host", "127.0.0.1");
    c.port = opts_port("--port", 8000, false);
    intptr_t rc = loom_run(client_main, NULL);
    fflush(stdout);
    if (c.error[0])
        fprintf(stderr, "loom-chat-client: %s\n", c.error);
    else if (rc < 0)
        fprintf(stderr, "loom-chat-client: %s\n", loom_strerror((int)rc));
    return c.error[0] || rc != 0 ? 1 : 0;
}
