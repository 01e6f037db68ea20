/* listing_13_3.c - read a child's stdout as a stream (listing 13.3).
 *
 * With out = LOOM_PROC_PIPE the child's stdout is a pipe, and p.out is a loom
 * stream over its read end: readline suspends this task until a line (or EOF)
 * arrives, like asyncio's process.stdout.readline(). */
#include <stdio.h>
#include <string.h>

#include "demo.h"
#include "net/stream.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_13_3\n"
    "Runs `ls -la` with piped stdout and prints each line as \"[ls -la]: ...\".\n";

static intptr_t write_output(const char *prefix, struct loom_stream *s)
{
    char line[4096];
    ssize_t n;
    while ((n = loom_stream_readline(s, line, sizeof(line), -1)) > 0) {
        line[strcspn(line, "\n")] = '\0';
        printf("[%s]: %s\n", prefix, line);
    }
    return n == LOOM_EOF ? 0 : n;
}

static intptr_t amain(void *arg)
{
    const char *argv[] = {"ls", "-la", NULL};
    struct loom_proc_options opt = {.argv = argv, .out = LOOM_PROC_PIPE};
    struct loom_proc p;
    DEMO_CHECK(loom_proc_spawn(NULL, &p, &opt));
    printf("Process pid is: %d\n", (int)p.pid);
    DEMO_CHECK(write_output("ls -la", p.out));
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
