/* spawn_uv.c - spawn+wait of /bin/true per second with libuv's uv_spawn, N at
 * a time (argv: total, concurrency). Prints "libuv spawn/s <rate>". */
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

static long total, started, finished;
static uv_loop_t *loop;

static void start_one(void);

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
    if (status != 0 || sig != 0)
        exit(1);
    finished++;
    uv_close((uv_handle_t *)p, (uv_close_cb)free);
    if (started < total)
        start_one();
}

static void start_one(void)
{
    char *args[] = {"/bin/true", NULL};
    uv_process_options_t o = {.exit_cb = on_exit_cb, .file = args[0], .args = args};
    uv_process_t *p = calloc(1, sizeof(*p));
    started++;
    if (uv_spawn(loop, p, &o) != 0)
        exit(1);
}

int main(int argc, char **argv)
{
    total = argc > 1 ? atol(argv[1]) : 2000;
    long conc = argc > 2 ? atol(argv[2]) : 8;
    loop = uv_default_loop();
    uint64_t t0 = uv_hrtime();
    for (long i = 0; i < conc && started < total; i++)
        start_one();
    uv_run(loop, UV_RUN_DEFAULT);
    double s = (double)(uv_hrtime() - t0) / 1e9;
    printf("libuv spawn/s %.0f\n", (double)finished / s);
    return 0;
}
