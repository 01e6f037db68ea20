/* subprocess.c - spawning children with posix_spawn (glibc uses clone(CLONE_VM |
 * CLONE_VFORK), so spawning costs no page-table copy and exec errors come back
 * as the return value), with or without a shell. */
#include "proc/proc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* Pipes for LOOM_PROC_PIPE, and for LOOM_PROC_FD a close-on-exec copy of the
 * caller's fd above 2 (so the dup2 onto 0-2 never reads an fd an earlier dup2
 * replaced, and a bad fd fails here with -EBADF). */
static int make_ends(const struct loom_proc_options *opt, struct ends *e)
{
    enum loom_proc_stdio mode[3] = {opt->in, opt->out, opt->err};
    int user[3] = {opt->in_fd, opt->out_fd, opt->err_fd};
    for (int i = 0; i < 3; i++) {
        if (mode[i] == LOOM_PROC_FD) {
            e->child[i] = fcntl(user[i], F_DUPFD_CLOEXEC, 3);
            if (e->child[i] < 0)
                return -errno;
            continue;
        }
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

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Close every fd >= 3 except the (valid, sorted) pass_fds, whose dup2 onto
 * themselves clears FD_CLOEXEC in the child (glibc >= 2.29 does that, as POSIX
 * 2024 asks). glibc has no "close from a to b" action, so the gaps below the
 * highest passed fd cost one close action per number (EBADF is ignored). */
static int close_actions(const struct loom_proc_options *opt, posix_spawn_file_actions_t *fa)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
    int pass[LOOM_PROC_MAX_PASS_FDS];
    size_t n = opt->n_pass_fds;
    if (n)
        memcpy(pass, opt->pass_fds, n * sizeof(int));
    qsort(pass, n, sizeof(int), cmp_int);
    int next = 3, rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        while (next < pass[i] && rc == 0)
            rc = posix_spawn_file_actions_addclose(fa, next++);
        if (rc == 0 && next == pass[i])
            rc = posix_spawn_file_actions_adddup2(fa, pass[i], pass[i]);
        next = pass[i] + 1;
    }
    /* Like Python's close_fds=True: fds someone opened without CLOEXEC (not
     * loom's, which all have it) do not leak either. */
    return rc ? rc : posix_spawn_file_actions_addclosefrom_np(fa, next);
#else
    return opt->n_pass_fds ? ENOTSUP : 0;
#endif
}

static int file_actions(const struct loom_proc_options *opt, const struct ends *e,
                        posix_spawn_file_actions_t *fa)
{
    enum loom_proc_stdio mode[3] = {opt->in, opt->out, opt->err};
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        if (mode[i] == LOOM_PROC_PIPE || mode[i] == LOOM_PROC_FD)
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
    if (rc == 0)
        rc = close_actions(opt, fa);
    return -rc;
}

/* The child starts with no blocked signal and default dispositions, and in
 * the session / process group the options ask for. */
static int spawn_attr(const struct loom_proc_options *opt, posix_spawnattr_t *attr)
{
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    int rc = posix_spawnattr_setsigmask(attr, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(attr, &all);
    if (rc == 0 && opt->pgroup) {
        flags |= POSIX_SPAWN_SETPGROUP;
        rc = posix_spawnattr_setpgroup(attr, opt->pgroup == LOOM_PROC_NEW_PGROUP ? 0 : opt->pgroup);
    }
#ifdef POSIX_SPAWN_SETSID
    if (opt->new_session)
        flags |= POSIX_SPAWN_SETSID;
#else
    if (opt->new_session)
        rc = ENOTSUP;
#endif
    if (rc == 0)
        rc = posix_spawnattr_setflags(attr, flags);
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
        rc = spawn_attr(opt, &attr);
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

static bool stdio_valid(enum loom_proc_stdio m, bool is_err)
{
    return m <= LOOM_PROC_DEVNULL || m == LOOM_PROC_FD || (is_err && m == LOOM_PROC_STDOUT);
}

/* 0, or -EINVAL / -EBADF for options that cannot work (checked before any fd
 * is made, so the errors are clear and nothing has to be undone). */
static int options_check(const struct loom_proc_options *opt)
{
    if (!opt || !opt->argv || !opt->argv[0] || !stdio_valid(opt->in, false) ||
        !stdio_valid(opt->out, false) || !stdio_valid(opt->err, true))
        return -EINVAL;
    if ((opt->new_session && opt->pgroup) || opt->pgroup < LOOM_PROC_NEW_PGROUP)
        return -EINVAL;
    if (opt->n_pass_fds > LOOM_PROC_MAX_PASS_FDS || (opt->n_pass_fds && !opt->pass_fds))
        return -EINVAL;
    for (size_t i = 0; i < opt->n_pass_fds; i++) {
        if (opt->pass_fds[i] < 3)
            return -EINVAL;
        if (fcntl(opt->pass_fds[i], F_GETFD) < 0)
            return -EBADF;
    }
    return 0;
}

int loom_proc_spawn(struct loom_loop *loop, struct loom_proc *p,
                    const struct loom_proc_options *opt)
{
    memset(p, 0, sizeof(*p));
    if (!loop)
        loop = loom_loop_current();
    if (!loop)
        return -EINVAL;
    int rc = options_check(opt);
    if (rc < 0)
        return rc;
    p->_loop = loop;
    p->_limit = opt->output_limit ? opt->output_limit : LOOM_PROC_OUTPUT_LIMIT;
    struct ends e = {{-1, -1, -1}, {-1, -1, -1}};
    struct loom__child *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    rc = make_ends(opt, &e);
    if (rc == 0)
        rc = do_spawn(opt, &e, &p->pid);
    if (rc == 0 && opt->pgroup)
        p->_pgid = opt->pgroup == LOOM_PROC_NEW_PGROUP ? p->pid : opt->pgroup;
    else if (rc == 0 && opt->new_session)
        p->_pgid = p->pid;
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

int loom_proc_spawn_shell(struct loom_loop *loop, struct loom_proc *p, const char *cmd,
                          const struct loom_proc_options *opt)
{
    struct loom_proc_options o = {0};
    if (opt)
        o = *opt;
    if (!cmd || o.argv) {
        memset(p, 0, sizeof(*p));
        return -EINVAL;
    }
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    o.argv = argv;
    return loom_proc_spawn(loop, p, &o);
}

/* Append s to buf (room for a NUL kept), or -ENOSPC. */
static int put(char *buf, size_t len, size_t *n, const char *s)
{
    for (; *s; s++) {
        if (*n + 1 >= len || *n >= INT_MAX)
            return -ENOSPC;
        buf[(*n)++] = *s;
    }
    return 0;
}

/* Inside '...' the shell gives no character a meaning except ' itself, which
 * is closed, written escaped and reopened: ' becomes '\''. */
int loom_proc_shell_quote(const char *s, char *buf, size_t len)
{
    size_t n = 0;
    int rc = put(buf, len, &n, "'");
    for (; *s && rc == 0; s++) {
        char one[2] = {*s, '\0'};
        rc = put(buf, len, &n, *s == '\'' ? "'\\''" : one);
    }
    if (rc == 0)
        rc = put(buf, len, &n, "'");
    if (rc < 0)
        return rc;
    buf[n] = '\0';
    return (int)n;
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

int loom_proc_signal_group(struct loom_proc *p, int signum)
{
    if (!p->_child || !p->_pgid)
        return p->_child ? -EINVAL : -ESRCH;
    if (p->_child->exited)
        return -ESRCH;
    return killpg(p->_pgid, signum) < 0 ? -errno : 0;
}

int loom_proc_terminate(struct loom_proc *p) { return loom_proc_send_signal(p, SIGTERM); }
int loom_proc_kill(struct loom_proc *p) { return loom_proc_send_signal(p, SIGKILL); }
