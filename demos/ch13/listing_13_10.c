/* listing_13_10.c - send input with communicate() (listing 13.10).
 *
 * Runs listing 13.9 with stdin and stdout piped; communicate("Hazadus") writes
 * the name, closes stdin, and collects everything the child printed. stderr
 * is not piped, so nothing is collected for it (asyncio's None). */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_13_10 [--name NAME]\n"
    "Feeds NAME (default Hazadus) to listing_13_9 through communicate() and prints\n"
    "what came back.\n";

static void sibling(const char *name, char *buf, size_t len)
{
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = '\0';
    snprintf(buf, len, "%s/%s", n > 0 ? dirname(self) : ".", name);
}

/* Print bytes the way Python prints a bytes object: b'...\n'. */
static void print_bytes(const char *label, const struct loom_bytes *b)
{
    printf("%s=b'", label);
    for (size_t i = 0; i < b->len; i++) {
        unsigned char c = ((const unsigned char *)b->data)[i];
        if (c == '\n')
            printf("\\n");
        else if (c < 32 || c > 126 || c == '\'' || c == '\\')
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    printf("'\n");
}

static intptr_t amain(void *arg)
{
    char prog[1100];
    sibling("listing_13_9", prog, sizeof(prog));
    const char *argv[] = {prog, NULL};
    struct loom_proc_options opt = {.argv = argv, .in = LOOM_PROC_PIPE, .out = LOOM_PROC_PIPE};
    struct loom_proc p;
    DEMO_CHECK(loom_proc_spawn(NULL, &p, &opt));
    const char *name = demo_arg_str("--name", "Hazadus");
    struct loom_bytes out = {0};
    DEMO_CHECK(loom_proc_communicate(&p, name, strlen(name), &out, NULL, -1));
    print_bytes("stdout", &out);
    printf("stderr=None\n");
    free(out.data);
    loom_proc_close(&p);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(amain, NULL);
}
