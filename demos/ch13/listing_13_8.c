/* listing_13_8.c - children capped by a semaphore (listing 13.8).
 *
 * Listing 13.7 with one change: each task takes a Semaphore(cpu_count) slot
 * before spawning its child, so at most cpu_count children run at once instead
 * of 100 competing for the CPUs. The tasks still all start at once; they queue
 * on the semaphore. Without gpg (or with --builtin) the child is this program
 * in --filter mode, a toy XOR cipher. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "proc/proc.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_13_8 [--count N] [--builtin]\n"
    "Encrypts N (default 100) random 1024-letter texts with gpg children, at most\n"
    "cpu_count at a time\n"
    "(or the built-in filter: --builtin, or when gpg is missing) and prints the outputs\n"
    "and the time. --filter runs the built-in filter on stdin (used as the child).\n";

static const char *cipher[] = {
    "gpg",          "-c",        "--batch",       "--pinentry-mode", "loopback",
    "--passphrase", "3ncryptm3", "--cipher-algo", "TWOFISH",         NULL};
static const char *filter[] = {"/proc/self/exe", "--filter", NULL};

static int run_filter(void)
{
    const char *key = "3ncryptm3";
    int c;
    for (size_t i = 0; (c = getchar()) != EOF; i++)
        printf("%02x", (unsigned)(c ^ key[i % 9]));
    printf("\n");
    return 0;
}

static bool have_gpg(void)
{
    const char *path = getenv("PATH");
    char *copy = strdup(path ? path : "/usr/bin:/bin"), *save = NULL, buf[4096];
    bool found = false;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        snprintf(buf, sizeof(buf), "%s/gpg", d);
        found = access(buf, X_OK) == 0;
    }
    free(copy);
    return found;
}

static struct loom_semaphore slots;
static int running, most;

struct job {
    const char *const *argv;
    char text[1024];
    struct loom_bytes out;
};

static intptr_t encrypt(void *arg)
{
    struct job *j = arg;
    struct loom_proc_options opt = {
        .argv = j->argv, .in = LOOM_PROC_PIPE, .out = LOOM_PROC_PIPE, .err = LOOM_PROC_DEVNULL};
    struct loom_proc p;
    int rc = loom_semaphore_acquire(&slots, -1);
    if (rc < 0)
        return rc;
    most = ++running > most ? running : most;
    rc = loom_proc_spawn(NULL, &p, &opt);
    if (rc == 0)
        rc = loom_proc_communicate(&p, j->text, sizeof(j->text), &j->out, NULL, -1);
    loom_proc_close(&p);
    running--;
    loom_semaphore_release(&slots);
    return rc;
}

static intptr_t amain(void *arg)
{
    size_t n = (size_t)demo_arg_long("--count", 100);
    bool gpg = !demo_arg_flag("--builtin") && have_gpg();
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    loom_semaphore_init(&slots, cpus > 0 ? (size_t)cpus : 1);
    printf("Encrypting %zu texts with %s\n", n, gpg ? "gpg (TWOFISH)" : "the built-in filter");
    struct job *jobs = calloc(n, sizeof(*jobs));
    struct loom_task **tasks = calloc(n, sizeof(*tasks));
    srand(1313);
    for (size_t i = 0; i < n; i++) {
        jobs[i].argv = gpg ? cipher : filter;
        for (size_t k = 0; k < sizeof(jobs[i].text); k++)
            jobs[i].text[k] = (char)((rand() % 2 ? 'a' : 'A') + rand() % 26);
    }
    double start = demo_now();
    for (size_t i = 0; i < n; i++)
        tasks[i] = loom_spawn(encrypt, &jobs[i], "encrypt");
    DEMO_CHECK(loom_gather(tasks, n, NULL, 0));
    double elapsed = demo_now() - start;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *b = jobs[i].out.data;
        printf("text %zu -> %zu bytes: ", i, jobs[i].out.len);
        for (size_t k = 0; k < 16 && k < jobs[i].out.len; k++)
            printf("%02x", b[k]);
        printf("...\n");
        free(jobs[i].out.data);
    }
    printf("Time to complete: %.4f s (at most %d children at once, cpu_count=%ld)\n", elapsed, most,
           cpus);
    loom_semaphore_close(&slots);
    free(jobs);
    free(tasks);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    if (demo_arg_flag("--filter"))
        return run_filter();
    return (int)loom_run(amain, NULL);
}
