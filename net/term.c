/* term.c - cbreak mode with guaranteed restore, and ANSI escape helpers. */
#include "net/term.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved;
static int saved_fd = -1; /* >= 0 while the terminal is changed */
static bool hooks_installed;
static const int restore_signals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};
static struct sigaction old_actions[4];

void loom_term_restore(void)
{
    if (saved_fd >= 0) {
        tcsetattr(saved_fd, TCSAFLUSH, &saved);
        saved_fd = -1;
    }
}

/* Async-signal-safe: tcsetattr is, and the old disposition is put back before
 * re-raising, so the program dies (or handles it) as it would have. */
static void on_fatal_signal(int signum)
{
    int saved_errno = errno;
    if (saved_fd >= 0)
        tcsetattr(saved_fd, TCSANOW, &saved);
    saved_fd = -1;
    for (size_t i = 0; i < 4; i++)
        if (restore_signals[i] == signum)
            sigaction(signum, &old_actions[i], NULL);
    raise(signum);
    errno = saved_errno;
}

static void install_hooks(void)
{
    if (hooks_installed)
        return;
    hooks_installed = true;
    atexit(loom_term_restore);
    for (size_t i = 0; i < 4; i++) {
        struct sigaction sa = {.sa_handler = on_fatal_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(restore_signals[i], NULL, &old_actions[i]);
        if (old_actions[i].sa_handler == SIG_DFL) /* keep handlers the program set */
            sigaction(restore_signals[i], &sa, NULL);
    }
}

int loom_term_raw(int fd)
{
    if (!isatty(fd))
        return -ENOTTY;
    struct termios t;
    if (tcgetattr(fd, &t) < 0)
        return -errno;
    if (saved_fd < 0) {
        saved = t;
        saved_fd = fd;
    }
    install_hooks();
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    t.c_iflag &= ~(tcflag_t)ICRNL;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    return tcsetattr(fd, TCSAFLUSH, &t) < 0 ? -errno : 0;
}

bool loom_term_isatty(int fd) { return isatty(fd) == 1; }

int loom_term_size(int fd, int *rows, int *cols)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0 || !ws.ws_row) {
        *rows = 24;
        *cols = 80;
        return -ENOTTY;
    }
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}

int loom_term_read_key(struct loom_stream *in, int64_t timeout_ns)
{
    unsigned char c;
    ssize_t n = loom_stream_readexactly(in, &c, 1, timeout_ns);
    if (n < 0)
        return (int)n;
    if (c == '\r')
        return '\n';
    if (c == 0x08)
        return LOOM_KEY_BACKSPACE;
    return c;
}

void loom_term_save_cursor(FILE *f) { fputs("\0337", f); }
void loom_term_restore_cursor(FILE *f) { fputs("\0338", f); }
void loom_term_home(FILE *f) { fputs("\033[H", f); }
void loom_term_erase_line(FILE *f) { fputs("\033[2K", f); }
void loom_term_column0(FILE *f) { fputs("\033[0G", f); }
void loom_term_back_one(FILE *f) { fputs("\033[1D", f); }
void loom_term_clear(FILE *f) { fputs("\033[2J", f); }
void loom_term_move_to(FILE *f, int row, int col) { fprintf(f, "\033[%d;%dH", row, col); }
void loom_term_move_to_bottom(FILE *f, int rows) { fprintf(f, "\033[%d;0H", rows); }

void loom_term_scroll_region(FILE *f, int top, int bottom)
{
    if (top <= 0 || bottom <= 0)
        fputs("\033[r", f);
    else
        fprintf(f, "\033[%d;%dr", top, bottom);
}
