/* listing_13_12.c - a dialogue over pipes (listing 13.12).
 *
 * Runs listing 13.11 with stdin and stdout piped. Each turn reads at most 2048
 * bytes of whatever the child printed (read_some suspends only until
 * something arrives), prints it, and writes the next input: one, two, three,
 * four, then quit. drain() applies backpressure on the write side. */
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "net/stream.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_13_12\n"
    "Talks to listing_13_11: prints its output, answers one..four, then quit.\n";

static void sibling(const char *name, char *buf, size_t len)
{
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = '\0';
    snprintf(buf, len, "%s/%s", n > 0 ? dirname(self) : ".", name);
}

static intptr_t amain(void *arg)
{
    char prog[1100];
    sibling("listing_13_11", prog, sizeof(prog));
    const char *argv[] = {prog, NULL};
    struct loom_proc_options opt = {.argv = argv, .in = LOOM_PROC_PIPE, .out = LOOM_PROC_PIPE};
    struct loom_proc p;
    DEMO_CHECK(loom_proc_spawn(NULL, &p, &opt));
    const char *inputs[] = {"one\n", "two\n", "three\n", "four\n", "quit\n"};
    char buf[2049];
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        ssize_t n = loom_stream_read_some(p.out, buf, 2048, -1);
        DEMO_CHECK(n);
        buf[n] = '\0';
        printf("%s\n", buf);
        DEMO_CHECK(loom_stream_write(p.in, inputs[i], strlen(inputs[i])));
        DEMO_CHECK(loom_stream_drain(p.in, -1));
    }
    int status;
    DEMO_CHECK(loom_proc_wait(&p, -1, &status));
    printf("Process returned: %d\n", status);
    loom_proc_close(&p);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(amain, NULL);
}
