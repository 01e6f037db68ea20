/* listing_13_6.c - communicate() (listing 13.6).
 *
 * The same 9 MB child as 13.5, but communicate() reads stdout while the child
 * runs (a task per pipe), so the pipe never stays full and the child exits.
 * Everything it wrote comes back in one buffer, printed here. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "demo.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_13_6 [--count N]\n"
    "Runs listing_13_4 (N lines, default 1000000) with piped stdout, collects all of it\n"
    "with communicate(), prints it, then stderr=None and the returncode.\n";

static void sibling(const char *name, char *buf, size_t len)
{
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = '\0';
    snprintf(buf, len, "%s/%s", n > 0 ? dirname(self) : ".", name);
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
    struct loom_bytes out = {0};
    DEMO_CHECK(loom_proc_communicate(&p, NULL, 0, &out, NULL, -1));
    fwrite(out.data, 1, out.len, stdout);
    int status = -1;
    loom_proc_returncode(&p, &status);
    printf("stdout: %zu bytes\n", out.len);
    printf("stderr=None\n"); /* not piped: nothing collected, as in asyncio */
    printf("Process returned: %d\n", status);
    free(out.data);
    loom_proc_close(&p);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(amain, NULL);
}
