/* listing_8_14.c - the chat client TUI (listing 8.14).
 *
 * The pieces of 8.7-8.10 around one socket: ask for a name at the bottom row,
 * connect and send "CONNECT <name>", then run two tasks at once - one reads the
 * socket and redraws incoming messages at the top, one reads keys and sends
 * each finished line. main waits for whichever ends first (FIRST_COMPLETED):
 * the server closing ("Server closed connection.") or stdin ending.
 *
 * What the server sends is shown through a sanitiser (control characters and
 * escape sequences from other users appear as visible symbols instead of
 * driving this terminal), and a line longer than a row of the store comes in
 * pieces instead of ending the client. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "net/stream.h"
#include "net/tcp.h"
#include "net/term.h"
#include "net/utf8.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_8_14 [--host ADDR] [--port N]\n"
    "Chat client for listing_8_13 at 127.0.0.1:8000 (--host, --port). Asks a username,\n"
    "sends CONNECT, then shows messages at the top and reads input at the bottom line.\n"
    "Ends when the server closes (\"Server closed connection.\") or stdin ends.\n";

#define LINE_CAP 256 /* a server line is read (and shown) in pieces of at most 255 bytes */

static struct {
    char items[128][LOOM_UTF8_SANITIZE_MAX(LINE_CAP - 1)];
    int max, head, count;
} store; /* the message store of 8.9 */
static struct loom_stream *in, *sock;

static void append(const char *msg) /* append + redraw_output */
{
    if (store.count == store.max) {
        store.head = (store.head + 1) % store.max;
        store.count--;
    }
    snprintf(store.items[(store.head + store.count++) % store.max], sizeof store.items[0], "%s",
             msg);
    loom_term_save_cursor(stdout);
    loom_term_home(stdout);
    for (int i = 0; i < store.count; i++) {
        loom_term_erase_line(stdout);
        printf("%s\n", store.items[(store.head + i) % store.max]);
    }
    loom_term_restore_cursor(stdout);
    fflush(stdout);
}

/* read_line() of 8.8. LOOM_EOF when input ends before a line. */
static int read_line(char *buf, size_t cap)
{
    size_t len = 0;
    int key;
    while ((key = loom_term_read_key(in, -1)) >= 0 && key != '\n' && key != LOOM_KEY_CTRL_D) {
        if (key == LOOM_KEY_BACKSPACE && len > 0) {
            len--;
            loom_term_back_one(stdout);
            putchar(' ');
            loom_term_back_one(stdout);
        } else if (key != LOOM_KEY_BACKSPACE && len + 1 < cap) {
            buf[len++] = (char)key;
            putchar(key);
        }
        fflush(stdout);
    }
    buf[len] = 0;
    loom_term_erase_line(stdout);
    loom_term_column0(stdout);
    fflush(stdout);
    if (key == '\n' || ((key == LOOM_KEY_CTRL_D || key == LOOM_EOF) && len > 0))
        return (int)len;
    return key == LOOM_KEY_CTRL_D ? LOOM_EOF : key;
}

/* One line from the server, without its "\n", made safe to print; a line
 * too long for line comes as several. Its length, or LOOM_EOF / an error. */
static ssize_t server_line(char *line, char *safe, size_t safe_cap)
{
    ssize_t n = loom_stream_readline(sock, line, LINE_CAP, -1);
    if (n == LOOM_ELIMIT)
        n = loom_stream_readexactly(sock, line, LINE_CAP - 1, -1);
    if (n <= 0)
        return n == 0 ? LOOM_EOF : n;
    if (line[n - 1] == '\n')
        n--;
    if (n && line[n - 1] == '\r')
        n--;
    return (ssize_t)loom_utf8_sanitize(safe, safe_cap, line, (size_t)n, LOOM_UTF8_ALLOW_TAB);
}

static intptr_t listen_for_messages(void *arg)
{
    char line[LINE_CAP], safe[sizeof store.items[0]];
    ssize_t n;
    while ((n = server_line(line, safe, sizeof safe)) >= 0)
        append(safe);
    if (n == -ECANCELED)
        return n;
    append("Server closed connection.");
    return 0;
}

static intptr_t read_and_send(void *arg)
{
    char line[200], msg[202];
    int n;
    while ((n = read_line(line, sizeof line)) >= 0) {
        int len = snprintf(msg, sizeof msg, "%s\n", line);
        int rc = loom_stream_write(sock, msg, (size_t)len);
        if (rc < 0 || (rc = loom_stream_drain(sock, -1)) < 0)
            return rc;
    }
    return n == LOOM_EOF ? 0 : n;
}

static intptr_t main_task(void *arg)
{
    int rows, cols;
    loom_term_size(STDOUT_FILENO, &rows, &cols);
    store.max = rows - 1 < 1 ? 1 : rows - 1 > 128 ? 128 : rows - 1;
    loom_term_clear(stdout);
    loom_term_move_to_bottom(stdout, rows);
    DEMO_CHECK(loom_stream_open_fd(loom_loop_current(), STDIN_FILENO, LOOM_STREAM_BORROW, &in));
    printf("Enter username: ");
    fflush(stdout);
    char name[64], msg[96];
    int rc = read_line(name, sizeof name);
    if (rc <= 0)
        goto out;
    rc = loom_tcp_connect(demo_arg_str("--host", "127.0.0.1"), (int)demo_arg_long("--port", 8000),
                          LOOM_SEC(5), &sock);
    if (rc < 0)
        goto out;
    snprintf(msg, sizeof msg, "CONNECT %s\n", name);
    rc = loom_stream_write(sock, msg, strlen(msg));
    struct loom_task *t[2] = {loom_spawn(listen_for_messages, NULL, "listener"),
                              loom_spawn(read_and_send, NULL, "input")};
    if (rc == 0 && t[0] && t[1])
        rc = loom_wait(t, 2, LOOM_FIRST_COMPLETED, -1);
    for (int i = 0; i < 2; i++) {
        if (t[i]) {
            loom_task_cancel(t[i]); /* the one still running; asyncio.run would do it */
            loom_task_join(t[i]);
        }
    }
    loom_stream_close(sock);
out:
    loom_stream_close(in);
    return rc < 0 && rc != LOOM_EOF ? rc : 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    int rc = loom_term_raw(STDIN_FILENO); /* tty.setcbreak(0) */
    if (rc < 0 && rc != -ENOTTY)
        DEMO_CHECK(rc);
    intptr_t result = loom_run(main_task, NULL);
    loom_term_restore();
    printf("\n");
    DEMO_CHECK(result);
    return 0;
}
