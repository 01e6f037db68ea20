/* subprocess.c - child processes: communicate() with one, read another's output as a stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <loom/net/stream.h>
#include <loom/proc/proc.h>
#include <loom/reactor/error.h>
#include <loom/reactor/task.h>

/* Feed sort(1) on stdin and collect its stdout: no pipe can fill up and deadlock. */
static int sort_words(void)
{
    const char *argv[] = {"sort", NULL};
    struct loom_proc_options opt = {.argv = argv, .in = LOOM_PROC_PIPE, .out = LOOM_PROC_PIPE};
    struct loom_proc p;
    int rc = loom_proc_spawn(NULL, &p, &opt);
    if (rc < 0)
        return rc;
    const char input[] = "pear\napple\nfig\n";
    struct loom_bytes out = {0};
    int status = -1;
    rc = loom_proc_communicate(&p, input, strlen(input), &out, NULL, LOOM_SEC(10));
    if (rc == 0 && loom_proc_returncode(&p, &status))
        printf("sort said (exit %d):\n%.*s", status, (int)out.len, (char *)out.data);
    free(out.data);
    loom_proc_close(&p);
    return rc < 0 ? rc : status;
}

/* A shell command whose output is read line by line while it runs. */
static int count_lines(void)
{
    struct loom_proc_options opt = {.out = LOOM_PROC_PIPE};
    struct loom_proc p;
    int rc =
        loom_proc_spawn_shell(NULL, &p, "for i in 1 2 3; do echo tick $i; sleep 0.05; done", &opt);
    if (rc < 0)
        return rc;
    char line[256];
    ssize_t n;
    while ((n = loom_stream_readline(p.out, line, sizeof line, LOOM_SEC(5))) > 0)
        printf("child: %s", line);
    int status = -1;
    rc = n == LOOM_EOF ? loom_proc_wait(&p, LOOM_SEC(5), &status) : (int)n;
    loom_proc_close(&p); /* a child still running would be killed and reaped here */
    return rc < 0 ? rc : status;
}

static intptr_t amain(void *unused)
{
    int rc = sort_words();
    if (rc == 0)
        rc = count_lines();
    if (rc != 0)
        fprintf(stderr, "failed: %s\n", loom_strerror(rc));
    return rc;
}

int main(void) { return loom_run(amain, NULL) == 0 ? 0 : 1; }
