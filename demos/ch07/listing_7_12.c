/* listing_7_12.c - a UI event loop: a key prints "Hello!" (listing 7.12).
 *
 * The book opens a Tkinter window whose "Say Hello" button prints "Hello!";
 * the window's mainloop waits for events and runs the button's handler. Here
 * the UI is the terminal: the loop waits for key presses on stdin (in cbreak
 * mode when it is a terminal) and runs the handler for each one. */
#include <stdio.h>
#include <unistd.h>

#include "demo.h"
#include "net/stream.h"
#include "net/term.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_7_12\n"
    "Press h (or Enter) to \"click\" Say Hello: prints \"Hello!\". q or end of input quits.\n";

static void say_hello(void) { printf("Hello!\n"); }

static intptr_t main_task(void *arg)
{
    struct loom_stream *in;
    DEMO_CHECK(loom_stream_open_fd(loom_loop_current(), STDIN_FILENO, LOOM_STREAM_BORROW, &in));
    bool tty = loom_term_isatty(STDIN_FILENO);
    if (tty)
        DEMO_CHECK(loom_term_raw(STDIN_FILENO));
    printf("[ Say Hello ]  (press h or Enter; q quits)\n");
    fflush(stdout);
    int key;
    while ((key = loom_term_read_key(in, -1)) >= 0 && key != 'q') {
        if (key == 'h' || key == '\n')
            say_hello(); /* the button's command */
        fflush(stdout);
    }
    if (tty)
        loom_term_restore();
    loom_stream_close(in);
    return key == LOOM_EOF || key == 'q' ? 0 : key;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
