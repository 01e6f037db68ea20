/* listing_7_14.c - a load tester UI fed by a thread-safe queue (listing 7.14).
 *
 * The book's Tk window asks for a URL and a request count, runs the
 * StressTest (listing 7.13) on a loop in another thread, and shows a progress
 * bar. The test's callback runs on the loop's thread, so it only puts the
 * progress into a thread-safe queue; the UI thread polls that queue every
 * 25 ms and redraws. Here the UI is the terminal: prompts, a text progress
 * bar, and the "c" key as the Cancel button. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/site.h"
#include "demo.h"
#include "net/term.h"
#include "stress.h"

static const char usage[] =
    "usage: listing_7_14\n"
    "Asks for a URL (Enter: the demo's local server, 50 ms per answer, scaled) and a request\n"
    "count, runs the stress test in a loop thread and draws a progress bar polled every\n"
    "25 ms from a thread-safe queue. Press c to cancel.\n";

/* The thread-safe queue between the loop's thread and the UI thread. */
static struct {
    pthread_mutex_t mu;
    long items[64];
    int len;
} progress = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void queue_update(long completed, long total, void *arg)
{
    pthread_mutex_lock(&progress.mu);
    if (progress.len == 64) /* full: the UI only needs the latest */
        progress.len = 0;
    progress.items[progress.len++] = completed;
    pthread_mutex_unlock(&progress.mu);
}

/* Take everything queued; returns the latest value or -1 if none. */
static long poll_queue(void)
{
    pthread_mutex_lock(&progress.mu);
    long latest = progress.len ? progress.items[progress.len - 1] : -1;
    progress.len = 0;
    pthread_mutex_unlock(&progress.mu);
    return latest;
}

static void draw(long completed, long total, bool tty)
{
    int filled = (int)(completed * 40 / total);
    printf("%s[%.*s%*s] %3ld%% (%ld/%ld)%s", tty ? "\r" : "", filled,
           "########################################", 40 - filled, "", completed * 100 / total,
           completed, total, tty ? "" : "\n");
    fflush(stdout);
}

/* Read a line byte by byte: stdio would buffer the keys typed after it. */
static int read_line(const char *prompt, char *buf, size_t len)
{
    printf("%s", prompt);
    fflush(stdout);
    size_t n = 0;
    for (char c; read(STDIN_FILENO, &c, 1) == 1 && c != '\n';)
        if (n + 1 < len)
            buf[n++] = c;
    buf[n] = '\0';
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct demo_site *site; /* answers after 50 ms (scaled) */
    DEMO_CHECK(demo_site_start(&(struct demo_site_options){.delay_s = 0.05}, &site));
    char url[256], count[32];
    int port = demo_site_port(site);
    read_line("URL (Enter for the local test server): ", url, sizeof url);
    read_line("Number of requests: ", count, sizeof count);
    if (sscanf(url, "http://127.0.0.1:%d", &port) != 1)
        printf("Using the local test server http://127.0.0.1:%d/\n", port = demo_site_port(site));
    long total = atol(count) > 0 ? atol(count) : 1;
    bool tty = loom_term_isatty(STDIN_FILENO);
    if (tty)
        loom_term_raw(STDIN_FILENO);

    struct demo_loop_thread lt;
    struct demo_stress st;
    DEMO_CHECK(demo_loop_thread_start(&lt));
    DEMO_CHECK(demo_stress_start(&st, lt.loop, port, total, queue_update, NULL));
    bool input = true, cancelled = false;
    long shown = -1;
    while (!demo_stress_wait(&st, 0)) {
        struct pollfd pf = {STDIN_FILENO, POLLIN, 0};
        char key = 0;
        if (input && poll(&pf, 1, 25) > 0 && read(STDIN_FILENO, &key, 1) != 1)
            input = false; /* end of input: no more keys */
        else if (!input)
            usleep(25000);
        if (key == 'c' && !cancelled) {
            cancelled = true;
            demo_stress_cancel(&st); /* the Cancel button */
        }
        long latest = poll_queue();
        if (latest >= 0 && latest != shown)
            draw(shown = latest, total, tty);
    }
    long latest = poll_queue();
    if (latest >= 0 && latest != shown)
        draw(latest, total, tty);
    if (tty)
        loom_term_restore();
    printf("%s%s\n", tty ? "\n" : "",
           st.result == 0 ? "Load test finished." : "Load test cancelled.");
    demo_stress_close(&st);
    demo_loop_thread_stop(&lt);
    demo_site_stop(site);
    return 0;
}
