/* proc.h - subprocesses with pipes as streams, a process pool, shared memory.
 *
 * Subprocesses (asyncio.create_subprocess_exec): loom_proc_spawn() starts a
 * program with posix_spawn; each of its standard fds is inherited, a pipe
 * (exposed as a struct loom_stream from net/stream.h), /dev/null, a copy of a
 * caller's fd (a file, the other end of a pipe), or (stderr only) merged into
 * stdout. The child gets only fds 0-2 plus the ones listed in pass_fds (every
 * loom fd is CLOEXEC, and others are closed in the child as Python's
 * close_fds=True does), an empty signal mask and default signal dispositions
 * (the loop blocks the signals it watches through signalfd; a child must not
 * inherit that). It may start a new session or join/lead a process group.
 *
 * Shell commands (asyncio.create_subprocess_shell): loom_proc_spawn_shell()
 * runs /bin/sh -c CMD. The shell parses CMD: spaces split words and $, `, ;,
 * |, &, <, >, *, ?, quotes and backslashes all mean something, so text that
 * comes from outside must never be pasted in as is. Quote each such piece with
 * loom_proc_shell_quote() (which wraps it in '...'), or better, run the program
 * directly with loom_proc_spawn(). The process object watches the shell: a
 * command the shell runs as its own child survives loom_proc_close()'s SIGKILL
 * unless the shell exec'd it ("exec prog args") or the child got a process
 * group (new_session / LOOM_PROC_NEW_PGROUP) and loom_proc_signal_group() is
 * used.
 *
 * Reaping: on Linux >= 5.3 each child has a pidfd (pidfd_open) watched by the
 * loop; elsewhere, or with LOOM_PROC_NO_PIDFD=1 in the environment, a SIGCHLD
 * watcher per child calls waitpid(pid, WNOHANG) (do not reap loom's children
 * with waitpid(-1) yourself). The child is reaped by the loop the moment it
 * exits, whether or not a task waits for it, so it never stays a zombie while
 * the loop runs. A cancelled or timed-out wait changes nothing: the process
 * object keeps watching the child. loom_proc_close() on a child that is still
 * running kills it with SIGKILL and reaps it before returning (asyncio's
 * transport close also kills): an object that was closed leaves no process and
 * no zombie behind. A live child keeps the loop running (like an I/O watcher).
 *
 * Exit status follows asyncio's returncode: the exit code, or minus the signal
 * number that killed the child. Because -15 would collide with -errno codes,
 * wait() returns 0 and hands the returncode through an out parameter.
 *
 * Process pool: N forked workers (fork, no exec). A job names its function by
 * pointer, which is valid in the workers because they are forks of the same
 * binary image: pass only functions of this program (or of libraries loaded
 * before the pool started), never a pointer received from elsewhere.
 * Inputs and results are byte strings copied through a socketpair; a job's
 * input is not NUL-terminated. Workers start with default signal handling
 * and only fds 0-2 plus their socket; a job may run a loop of its own
 * (loom_run) in the worker. Output a job prints is flushed after each job.
 *
 * Shared memory: anonymous MAP_SHARED regions created before fork (a pool's
 * initializer argument, or a plain fork()) are shared by parent and children;
 * each region carries a process-shared, robust mutex. */
#ifndef LOOM_PROC_PROC_H
#define LOOM_PROC_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loom/net/stream.h"
#include "loom/reactor/loop.h"
#include "loom/reactor/task.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* What a child's standard fd is connected to. */
enum loom_proc_stdio {
    LOOM_PROC_INHERIT = 0, /* the parent's own fd */
    LOOM_PROC_PIPE,        /* a pipe, exposed as a stream on struct loom_proc */
    LOOM_PROC_DEVNULL,     /* /dev/null */
    LOOM_PROC_STDOUT,      /* stderr only: the same as stdout (2>&1) */
    LOOM_PROC_FD,          /* a copy of the caller's fd in loom_proc_options.in_fd/out_fd/err_fd */
};

/* loom_proc_options.pgroup: the child leads a new process group (its pgid is its pid). */
#define LOOM_PROC_NEW_PGROUP ((pid_t)-1)

/* Most fds loom_proc_options.pass_fds may list. */
enum { LOOM_PROC_MAX_PASS_FDS = 64 };

/* Default cap on what communicate() collects per stream. */
enum { LOOM_PROC_OUTPUT_LIMIT = 512 * 1024 * 1024 };

/* Options for loom_proc_spawn(); zero-initialise and set what you need. */
struct loom_proc_options {
    const char *const *argv; /* required; argv[0] is searched in $PATH unless it has a '/' */
    const char *const *env;  /* NULL: inherit the parent's environment */
    const char *cwd;         /* NULL: the parent's (-ENOTSUP if libc cannot chdir in spawn) */
    /* what the child's stdin, stdout and stderr are (default: the parent's) */
    enum loom_proc_stdio in, out, err;
    size_t output_limit; /* communicate(): max bytes per stream; 0: LOOM_PROC_OUTPUT_LIMIT */
    /* LOOM_PROC_FD: the caller's fds the child's stdin/stdout/stderr become
     * copies of (borrowed: the caller still owns and closes them; the parent
     * keeps no copy after the spawn). Any open fd, including 0-2. */
    int in_fd, out_fd, err_fd;
    /* Fds (>= 3) the child keeps open under the same numbers (asyncio/Python
     * pass_fds): borrowed, their close-on-exec flag in the parent is untouched.
     * At most LOOM_PROC_MAX_PASS_FDS; -EINVAL for an fd < 3, -EBADF for one
     * that is not open. Needs glibc >= 2.34 (else -ENOTSUP). */
    const int *pass_fds;
    size_t n_pass_fds;
    bool new_session; /* setsid(): a new session and process group (start_new_session) */
    /* 0: the parent's process group; LOOM_PROC_NEW_PGROUP: a new group led by
     * the child; > 0: join that existing group (Python's process_group). Not
     * with new_session (-EINVAL). */
    pid_t pgroup;
};

struct loom__child;

/* A child process. Caller-owned; the streams are owned by the process object
 * (closed by loom_proc_close) unless the caller closes one and sets it NULL. */
struct loom_proc {
    /* the child's process id */
    pid_t pid;
    struct loom_stream *in;  /* LOOM_PROC_PIPE stdin: write to the child, else NULL */
    struct loom_stream *out; /* LOOM_PROC_PIPE stdout, else NULL */
    struct loom_stream *err; /* LOOM_PROC_PIPE stderr, else NULL */
    struct loom_loop *_loop;
    struct loom__child *_child; /* reaping state (allocated: outlives nothing) */
    size_t _limit;
    pid_t _pgid; /* the child's process group if the options gave it one, else 0 */
};

/* Bytes owned by the caller (free(b->data) when done). */
struct loom_bytes {
    /* the bytes (malloc'd) */
    void *data;
    /* bytes in data */
    size_t len;
};

/* --- subprocess lifecycle --- */

/* Start opt->argv as a child of this process, watched by loop (NULL: the current
 * loop). Returns 0, -EINVAL, -ENOENT/-EACCES (exec failed: no child is left),
 * -ENOMEM, -EMFILE or another -errno; on failure nothing is left to close. */
int loom_proc_spawn(struct loom_loop *loop, struct loom_proc *p,
                    const struct loom_proc_options *opt);

/* Run cmd with /bin/sh -c (asyncio.create_subprocess_shell), with opt's
 * stdio, env, cwd, pass_fds and group settings (opt may be NULL: everything
 * inherited; opt->argv must be NULL). Read the quoting note at the top of this
 * file. Returns as loom_proc_spawn(); the command's own failure (not found:
 * 127) is its returncode, not an error here. */
int loom_proc_spawn_shell(struct loom_loop *loop, struct loom_proc *p, const char *cmd,
                          const struct loom_proc_options *opt);

/* Quote s as one shell word ('...' with each ' written as '\''), NUL-terminated
 * into buf. Returns the length, or -ENOSPC if buf (len bytes) is too small.
 * Never suspends. */
int loom_proc_shell_quote(const char *s, char *buf, size_t len);

/* Close the pipes and release the object. A child still running is killed
 * (SIGKILL) and reaped first, so nothing survives. Never suspends. */
void loom_proc_close(struct loom_proc *p);

/* --- subprocess operations --- */

/* Wait until the child exited, at most timeout_ns (-1: no limit). Returns 0 and
 * stores the returncode in *returncode (may be NULL); -ETIMEDOUT or -ECANCELED
 * leave the child running and watched. Suspends (not if it already exited). */
int loom_proc_wait(struct loom_proc *p, int64_t timeout_ns, int *returncode);

/* asyncio's returncode: true and *returncode set once the child was reaped. */
bool loom_proc_returncode(const struct loom_proc *p, int *returncode);

/* Send signum to the child. 0, or -ESRCH if it was already reaped. */
int loom_proc_send_signal(struct loom_proc *p, int signum);
/* Send signum to the child's whole process group (killpg), for a child
 * started with new_session or a pgroup: 0, -EINVAL (it has no group of its
 * own), -ESRCH (the child was reaped: its pid may name another group by now;
 * a shell's leftover children must be signalled before the shell is waited
 * for), or -EPERM. */
int loom_proc_signal_group(struct loom_proc *p, int signum);
/* SIGTERM / SIGKILL. */
int loom_proc_terminate(struct loom_proc *p);
int loom_proc_kill(struct loom_proc *p);

/* Write input (may be NULL/0) to stdin and close it, while reading stdout and
 * stderr to their ends concurrently (no pipe can fill up and deadlock), then
 * wait for the child. out/err (may be NULL; ignored for non-piped streams) get
 * the collected bytes, owned by the caller. Returns 0, or LOOM_ELIMIT (output
 * over the limit), -ETIMEDOUT, -ECANCELED, a stream error; on error nothing is
 * returned in out/err and the child keeps running. Suspends. */
int loom_proc_communicate(struct loom_proc *p, const void *input, size_t len,
                          struct loom_bytes *out, struct loom_bytes *err, int64_t timeout_ns);

/* --- process pool --- */

/* A job function, run in a worker: read in, put a malloc'd result in *out (may
 * stay NULL/0). Return 0, or a negative code that becomes the job's error.
 * state is what the initializer stored for this worker. */
typedef int (*loom_pool_fn)(const void *in, size_t len, struct loom_bytes *out, void *state);
/* Per-worker initializer, run once in each new worker before any job; arg is
 * the pool option's init_arg; *state is handed to every job. Nonzero: the
 * worker exits (its jobs fail with LOOM_ECHILD). */
typedef int (*loom_pool_init_fn)(void *arg, void **state);
/* Progress: called on the loop whenever a job finishes. */
typedef void (*loom_pool_progress_cb)(void *arg, size_t done, size_t submitted);

/* Options for loom_pool_new(); zero-initialise and set what you need. */
struct loom_pool_options {
    unsigned workers;       /* 0: online CPUs */
    loom_pool_init_fn init; /* may be NULL */
    /* passed to init */
    void *init_arg;
    loom_pool_progress_cb progress; /* may be NULL */
    /* passed to progress */
    void *progress_arg;
    size_t max_message; /* bound on one input or result; 0: 1 GiB */
};

struct loom_pool;
struct loom_pool_job;

/* Fork the workers (the caller's loop must be running: call from a task).
 * Returns 0 and *out, or -ENOMEM / -errno (no worker is left on failure). */
int loom_pool_new(const struct loom_pool_options *opt, struct loom_pool **out);

/* Stop the pool. cancel false: wait until every job ran; true: fail queued jobs
 * with -ECANCELED and kill the workers (running jobs fail with -ECANCELED).
 * Workers are reaped either way. 0, -EBUSY (another task is already shutting
 * it down), or -ECANCELED (then the pool is cancelled and closed anyway).
 * Suspends. Jobs stay readable until freed. */
int loom_pool_shutdown(struct loom_pool *pool, bool cancel);

/* Free the pool. After loom_pool_shutdown it is gone at once; without one,
 * queued jobs fail with -ECANCELED and the per-worker tasks are cancelled:
 * they kill and reap their workers (running jobs fail with -ECANCELED) on the
 * next loop iterations, so keep the loop running. Never suspends. */
void loom_pool_free(struct loom_pool *pool);

/* Queue fn(in) (in is copied). *job is owned: loom_pool_job_free. Never
 * suspends. 0, -ENOMEM, -EMSGSIZE (over max_message), -ESHUTDOWN. */
int loom_pool_submit(struct loom_pool *pool, loom_pool_fn fn, const void *in, size_t len,
                     struct loom_pool_job **job);

/* Wait for a job. Returns 0, fn's negative code, LOOM_ECHILD (its worker died:
 * loom_pool_job_worker_status tells how), -ECANCELED (the pool was cancelled),
 * or -ETIMEDOUT / -ECANCELED for this wait (the job goes on). Suspends. */
int loom_pool_job_wait(struct loom_pool_job *job, int64_t timeout_ns);

/* The job's result bytes, a view valid until loom_pool_job_free (NULL if none). */
const void *loom_pool_job_result(const struct loom_pool_job *job, size_t *len);
/* Take ownership of the result (the job keeps none). */
struct loom_bytes loom_pool_job_take(struct loom_pool_job *job);
/* True once the job finished. */
bool loom_pool_job_done(const struct loom_pool_job *job);
/* The pid of the worker running (or that ran) it, 0 before it started. */
pid_t loom_pool_job_worker(const struct loom_pool_job *job);
/* For LOOM_ECHILD: the dead worker's returncode (-9 for SIGKILL). */
int loom_pool_job_worker_status(const struct loom_pool_job *job);
/* Forget a job: a queued one is dropped (never runs), a running one finishes
 * and its result is discarded. */
void loom_pool_job_free(struct loom_pool_job *job);

/* submit + wait + take: the result into *out (owned). Suspends. */
int loom_pool_apply(struct loom_pool *pool, loom_pool_fn fn, const void *in, size_t len,
                    struct loom_bytes *out, int64_t timeout_ns);

/* Ordered map: run fn on each of the n inputs, sending chunk inputs per message
 * (0: 1), and store results in outs[i] (owned) in input order. Returns 0 or the
 * first error (every job is waited for; outs are freed on error). Suspends. */
int loom_pool_map(struct loom_pool *pool, loom_pool_fn fn, const struct loom_bytes *ins, size_t n,
                  size_t chunk, struct loom_bytes *outs);

/* The pids of the current workers into pids (up to max); returns the count. */
size_t loom_pool_workers(const struct loom_pool *pool, pid_t *pids, size_t max);

/* --- shared memory --- */

struct loom_shared;

/* A zeroed shared region of size bytes with its own process-shared robust
 * mutex. Create it before forking. Returns 0 or -errno. */
int loom_shared_new(size_t size, struct loom_shared **out);
/* Unmap (in this process only). */
void loom_shared_free(struct loom_shared *sh);
/* The data (aligned to 64 bytes) and its size. */
void *loom_shared_data(struct loom_shared *sh);
size_t loom_shared_size(const struct loom_shared *sh);
/* The region's lock: blocks the thread (keep critical sections short). If the
 * previous owner died holding it, the lock is recovered and 0 returned. */
int loom_shared_lock(struct loom_shared *sh);
int loom_shared_unlock(struct loom_shared *sh);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
