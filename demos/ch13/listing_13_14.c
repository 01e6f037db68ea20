/* listing_13_14.c - wait for the prompt before answering (listing 13.14).
 *
 * Talks to listing 13.13, which echoes an unknown number of lines slowly. A
 * reader task prints everything the child writes and sets an event whenever
 * the output so far ends with the prompt; the writer task waits for that event
 * (and clears it) before sending each input. Two tasks, one per pipe. */
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "net/stream.h"
#include "proc/proc.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_13_14\n"
    "Sends one..four and quit to listing_13_13, each only after its prompt appeared.\n"
    "The child's 0.5 s pauses are scaled by --scale.\n";

static const char prompt[] = "Enter text ('quit' to exit): ";

struct talk {
    struct loom_proc p;
    struct loom_event ready;
};

static void sibling(const char *name, char *buf, size_t len)
{
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = '\0';
    snprintf(buf, len, "%s/%s", n > 0 ? dirname(self) : ".", name);
}

static intptr_t output_consumer(void *arg)
{
    struct talk *t = arg;
    char buf[4096], tail[sizeof(prompt)] = "";
    ssize_t n;
    while ((n = loom_stream_read_some(t->p.out, buf, sizeof(buf) - 1, -1)) > 0) {
        buf[n] = '\0';
        printf("%s", buf);
        /* the last strlen(prompt) bytes seen, across reads */
        size_t keep = sizeof(tail) - 1, old = strlen(tail), add = (size_t)n;
        char joined[sizeof(tail) + sizeof(buf)];
        snprintf(joined, sizeof(joined), "%s%s", tail, buf);
        size_t len = old + add;
        snprintf(tail, sizeof(tail), "%s", joined + (len > keep ? len - keep : 0));
        if (strcmp(tail, prompt) == 0)
            loom_event_set(&t->ready);
    }
    printf("\n");
    return n == LOOM_EOF ? 0 : n;
}

static intptr_t input_writer(void *arg)
{
    struct talk *t = arg;
    const char *inputs[] = {"one\n", "two\n", "three\n", "four\n", "quit\n"};
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        int rc = loom_event_wait(&t->ready, -1);
        if (rc < 0)
            return rc;
        loom_event_clear(&t->ready);
        printf("%s", inputs[i]); /* show what we type, as a terminal would */
        if ((rc = loom_stream_write(t->p.in, inputs[i], strlen(inputs[i]))) < 0 ||
            (rc = loom_stream_drain(t->p.in, -1)) < 0)
            return rc;
    }
    return 0;
}

static intptr_t amain(void *arg)
{
    static struct talk t;
    char prog[1100];
    sibling("listing_13_13", prog, sizeof(prog));
    char scale[32];
    snprintf(scale, sizeof(scale), "%g", demo_scale());
    const char *argv[] = {prog, "--scale", scale, NULL};
    struct loom_proc_options opt = {.argv = argv, .in = LOOM_PROC_PIPE, .out = LOOM_PROC_PIPE};
    DEMO_CHECK(loom_proc_spawn(NULL, &t.p, &opt));
    loom_event_init(&t.ready);
    struct loom_task *tasks[2] = {loom_spawn(output_consumer, &t, "reader"),
                                  loom_spawn(input_writer, &t, "writer")};
    DEMO_CHECK(loom_gather(tasks, 2, NULL, 0));
    int status;
    DEMO_CHECK(loom_proc_wait(&t.p, -1, &status));
    printf("Process returned: %d\n", status);
    loom_event_close(&t.ready);
    loom_proc_close(&t.p);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(amain, NULL);
}
