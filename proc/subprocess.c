/* subprocess.c - spawning children with posix_spawn (glibc uses clone(CLONE_VM |
 * CLONE_VFORK), so spawning costs no page-table copy and exec errors come back
 * as the return value). */
#include "proc/proc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reactor/park.h"

extern char **environ;

/* Per standard fd: the parent's pipe end and the child's (-1: none). */
struct ends {
    int parent[3], child[3];
};

static void ends_close(struct ends *e)
{
    for (int i = 0; i < 3; i++) {
        if (e->parent[i] >= 0)
            close(e->parent[i]);
        if (e->child[i] >= 0)
            close(e->child[i]);
        e->parent[i] = e->child[i] = -1;
    }
}

/* Keep pipe ends off fds 0-2, so a dup2 onto the same number never happens
 * (dup2(fd, fd) would keep FD_CLOEXEC). */
static int above_stdio(int fd)
{
    if (fd > 2)
        return fd;
    int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int e = errno;
    close(fd);
    errno = e;
    return n;
}

static int make_pipes(const struct loom_proc_options *opt, struct ends *e)
{
    enum loom_proc_stdio mode[3] = {opt->in, opt->out, opt->err};
    for (int i = 0; i < 3; i++) {
        if (mode[i] != LOOM_PROC_PIPE)
            continue;
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
            return -errno;
        int r = above_stdio(fds[0]), w = above_stdio(fds[1]);
        e->parent[i] = i == 0 ? w : r;
        e->child[i] = i == 0 ? r : w;
        if (r < 0 || w < 0)
            return -errno;
    }
    return 0;
}

static int file_actions(const struct loom_proc_options *opt, const struct ends *e,
                        posix_spawn_file_actions_t *fa)
{
    enum loom_proc_stdio mode[3] = {opt->in, opt->out, opt->err};
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        if (mode[i] == LOOM_PROC_PIPE)
            rc = posix_spawn_file_actions_adddup2(fa, e->child[i], i);
        else if (mode[i] == LOOM_PROC_DEVNULL)
            rc = posix_spawn_file_actions_addopen(fa, i, "/dev/null", i ? O_WRONLY : O_RDONLY, 0);
        else if (mode[i] == LOOM_PROC_STDOUT)
            rc = posix_spawn_file_actions_adddup2(fa, 1, 2);
    }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 29)
    if (rc == 0 && opt->cwd)
        rc = posix_spawn_file_actions_addchdir_np(fa, opt->cwd);
#else
    if (rc == 0 && opt->cwd)
        rc = ENOTSUP; /* no chdir file action in this libc */
#endif
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
    /* Like Python's close_fds=True: fds someone opened without CLOEXEC (not
     * loom's, which all have it) do not leak either. */
    if (rc == 0)
        rc = posix_spawn_file_actions_addclosefrom_np(fa, 3);
#endif
    return -rc;
}

/* The child starts with no blocked signal and default dispositions. */
static int spawn_attr(posix_spawnattr_t *attr)
{
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    int rc = posix_spawnattr_setsigmask(attr, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(attr, &all);
    if (rc == 0)
        rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    return -rc;
}

static int do_spawn(const struct loom_proc_options *opt, const struct ends *e, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -ENOMEM;
    if (posix_spawnattr_init(&attr) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -ENOMEM;
    }
    int rc = file_actions(opt, e, &fa);
    if (rc == 0)
        rc = spawn_attr(&attr);
    char *const *argv = (char *const *)opt->argv;
    char *const *envp = opt->env ? (char *const *)opt->env : environ;
    if (rc == 0)
        rc = -posix_spawnp(pid, argv[0], &fa, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

static int open_streams(struct loom_proc *p, struct ends *e)
{
    struct loom_stream **s[3] = {&p->in, &p->out, &p->err};
    for (int i = 0; i < 3; i++) {
        if (e->parent[i] < 0)
            continue;
        int fd = e->parent[i];
        e->parent[i] = -1; /* the stream owns it now, even on failure */
        int rc = loom_stream_open_fd(p->_loop, fd, 0, s[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static bool options_valid(const struct loom_proc_options *opt)
{
    return opt && opt->argv && opt->argv[0] && opt->in <= LOOM_PROC_DEVNULL &&
           opt->out <= LOOM_PROC_DEVNULL && opt->err <= LOOM_PROC_STDOUT;
}

int loom_proc_spawn(struct loom_loop *loop, struct loom_proc *p,
                    const struct loom_proc_options *opt)
{
    memset(p, 0, sizeof(*p));
    if (!loop)
        loop = loom_loop_current();
    if (!loop || !options_valid(opt))
        return -EINVAL;
    p->_loop = loop;
    p->_limit = opt->output_limit ? opt->output_limit : LOOM_PROC_OUTPUT_LIMIT;
    struct ends e = {{-1, -1, -1}, {-1, -1, -1}};
    struct loom__child *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    int rc = make_pipes(opt, &e);
    if (rc == 0)
        rc = do_spawn(opt, &e, &p->pid);
    for (int i = 0; i < 3; i++)
        if (e.child[i] >= 0) {
            close(e.child[i]);
            e.child[i] = -1;
        }
    if (rc == 0 && (rc = loom__child_watch(loop, c, p->pid)) == 0) {
        p->_child = c;
        if ((rc = open_streams(p, &e)) == 0)
            return 0;
    }
    ends_close(&e);
    if (p->_child)
        loom_proc_close(p);
    else
        free(c);
    memset(p, 0, sizeof(*p));
    return rc;
}

void loom_proc_close(struct loom_proc *p)
{
    loom_stream_close(p->in);
    loom_stream_close(p->out);
    loom_stream_close(p->err);
    p->in = p->out = p->err = NULL;
    if (p->_child) {
        loom__child_close(p->_child);
        free(p->_child);
        p->_child = NULL;
    }
}

int loom_proc_wait(struct loom_proc *p, int64_t timeout_ns, int *returncode)
{
    if (!p->_child)
        return -EINVAL;
    return loom__child_wait(p->_child, loom_deadline(p->_loop, timeout_ns), returncode);
}

bool loom_proc_returncode(const struct loom_proc *p, int *returncode)
{
    if (!p->_child || !p->_child->exited)
        return false;
    if (returncode)
        *returncode = p->_child->status;
    return true;
}

int loom_proc_send_signal(struct loom_proc *p, int signum)
{
    if (!p->_child || p->_child->exited)
        return -ESRCH; /* reaped: the pid may belong to someone else now */
    return kill(p->pid, signum) < 0 ? -errno : 0;
}

int loom_proc_terminate(struct loom_proc *p) { return loom_proc_send_signal(p, SIGTERM); }
int loom_proc_kill(struct loom_proc *p) { return loom_proc_send_signal(p, SIGKILL); }
