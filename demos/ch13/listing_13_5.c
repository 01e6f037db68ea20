/* listing_13_5.c - the pipe deadlock (listing 13.5).
 *
 * The child (listing 13.4) writes 9 MB to a piped stdout, and the parent only
 * waits for it to exit without reading. A pipe holds 64 KiB: once it is full
 * the child blocks in write() forever, and the parent waits forever for a
 * child that cannot finish. The book's program hangs; this one bounds the wait,
 * shows where the child is stuck, explains it, kills the child and exits.
 * Listing 13.6 shows the cure: communicate(). */
#include <libgen.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "net/stream.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_13_5 [--count N] [--timeout S]\n"
    "Pipes listing_13_4's stdout (N lines, default 1000000), only waits for it with a\n"
    "bound of S seconds (default 2, scaled), detects the deadlock, explains it, exits 0.\n";

/* The helper program built next to this one. */
static void sibling(const char *name, char *buf, size_t len)
{
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = '\0';
    snprintf(buf, len, "%s/%s", n > 0 ? dirname(self) : ".", name);
}

/* What the kernel says the child is blocked in ("pipe_write"), if it tells. */
static void show_wchan(pid_t pid)
{
    char path[64], w[64] = "";
    snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(w, sizeof(w), f))
            w[0] = '\0';
        fclose(f);
    }
    printf("The child (pid %d) is still running, blocked in: %s\n", (int)pid,
           w[0] && strcmp(w, "0") != 0 ? w : "(wchan not available)");
}

static intptr_t amain(void *arg)
{
    char prog[1100], count[32];
    sibling("listing_13_4", prog, sizeof(prog));
    snprintf(count, sizeof(count), "%ld", demo_arg_long("--count", 1000000));
    const char *argv[] = {prog, "--count", count, NULL};
    struct loom_proc_options opt = {.argv = argv, .out = LOOM_PROC_PIPE};
    struct loom_proc p;
    DEMO_CHECK(loom_proc_spawn(NULL, &p, &opt));
    double bound = (double)demo_arg_long("--timeout", 2);
    printf("Waiting for the child, which writes %s lines into a pipe nobody reads "
           "(bounded wait: %.2f s)...\n",
           count, bound * demo_scale());
    int status;
    int rc = loom_proc_wait(&p, demo_sec(bound), &status);
    if (rc == 0) {
        printf("No deadlock: the child exited with %d (its output fit in the pipe)\n", status);
    } else if (rc == -ETIMEDOUT) {
        printf("Deadlock detected: wait() timed out.\n");
        show_wchan(p.pid);
        printf("Why: a pipe buffers only 64 KiB. The child filled it and now blocks in write()\n"
               "until someone reads; the parent blocks in wait() until the child exits. Each\n"
               "waits for the other, forever. Fix: read while waiting - communicate() (13.6).\n");
        printf("Killing the child.\n");
    } else {
        DEMO_CHECK(rc);
    }
    loom_proc_close(&p); /* kills and reaps a child that is still running */
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(amain, NULL);
}
