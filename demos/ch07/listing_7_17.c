/* listing_7_17.c - scrypt on a thread pool (listing 7.17).
 *
 * The same hashes as listing 7.16, each one a run_in_executor() job awaited
 * by gather(). OpenSSL's scrypt runs truly in parallel on the pool's threads
 * (as hashlib releases the GIL), so the wall time falls with the number of
 * cores. The demo runs the jobs on a 1-thread pool, then on a pool with one
 * thread per CPU, and prints both times and the speed-up, and how many hashes
 * were seen running at the same moment (the pool's threads at work together,
 * however busy the machine is). */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "demo.h"
#include "reactor/executor.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_7_17 [--count N] [--threads T]\n"
    "Hashes N (default 10000) random passwords with scrypt (N=2048, r=8, p=1) as thread-pool\n"
    "jobs gathered from tasks: first on 1 thread, then on T (default: CPUs). Prints both times.\n";

static char (*passwords)[11];
static long count;
static struct loom_executor *pool;
static atomic_int running, most_running; /* hashes in progress now, and the peak */

static intptr_t hash(void *arg)
{
    const char *password = arg;
    unsigned char salt[16], key[64];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return -EIO;
    int now = atomic_fetch_add(&running, 1) + 1;
    for (int peak = atomic_load(&most_running); now > peak;)
        if (atomic_compare_exchange_weak(&most_running, &peak, now))
            break;
    int ok = EVP_PBE_scrypt(password, 10, salt, sizeof salt, 2048, 8, 1, 0, key, 64);
    atomic_fetch_sub(&running, 1);
    return ok == 1 ? 0 : -EIO;
}

static intptr_t hash_job(void *arg) { return loom_run_in_executor(pool, hash, arg); }

static intptr_t hash_all(void *arg)
{
    struct loom_task **tasks = calloc((size_t)count, sizeof(*tasks));
    if (!tasks)
        return -ENOMEM;
    struct loom_task_options opt = {.stack_size = 32 * 1024};
    for (long i = 0; i < count; i++)
        DEMO_CHECK(loom_task_spawn(NULL, hash_job, passwords[i], &opt, &tasks[i]));
    int rc = loom_gather(tasks, (size_t)count, NULL, 0);
    free(tasks);
    return rc;
}

static double timed_run(unsigned threads)
{
    DEMO_CHECK(loom_executor_new(&pool, threads));
    atomic_store(&most_running, 0);
    double t0 = demo_now();
    DEMO_CHECK(loom_run(hash_all, NULL));
    double dt = demo_now() - t0;
    loom_executor_free(pool, false);
    printf("Hashed %ld passwords on a pool of %u thread(s) in %.4f s (at most %d at once)\n", count,
           threads, dt, atomic_load(&most_running));
    return dt;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    count = demo_arg_long("--count", 10000);
    long threads = demo_arg_long("--threads", sysconf(_SC_NPROCESSORS_ONLN));
    passwords = malloc((size_t)count * sizeof(*passwords));
    if (!passwords || threads < 1)
        return 1;
    for (long i = 0; i < count; i++) {
        unsigned char r[10];
        RAND_bytes(r, sizeof r);
        for (int k = 0; k < 10; k++)
            passwords[i][k] = (char)('a' + r[k] % 26);
        passwords[i][10] = '\0';
    }
    double one = timed_run(1);
    double many = timed_run((unsigned)threads);
    printf("Speed-up with %ld threads: %.2fx (on %ld CPUs)\n", threads, one / many,
           sysconf(_SC_NPROCESSORS_ONLN));
    free(passwords);
    return 0;
}
