/* overflow.c - naming the task whose stack overflowed.
 *
 * A task that runs off its stack faults in the stack's guard (stack.c). The
 * SIGSEGV handler installed here runs on an alternate signal stack (the faulting
 * stack is unusable), checks whether the address lies in the guard of the task
 * running on this thread, and if so writes
 *     loom: task "deep" overflowed its 256 KiB stack
 * to stderr and aborts. Any other fault goes to the handler that was installed
 * before loom's (chained), or to the default action. Only async-signal-safe
 * calls are made in the handler; loom__tls_loop was touched by this thread
 * before any task ran, so reading it allocates nothing.
 *
 * Installed once per process by the first loop created without
 * no_sigsegv_handler; the alternate stack is set up per thread by the first
 * loom_loop_run on it (kept if the thread has one already, e.g. from ASan). */
#include "reactor/task_internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct sigaction prev_segv, prev_bus;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t altstack_key;
static atomic_bool installed;
static _Thread_local bool thread_ready;

#define ALTSTACK_SIZE (64 * 1024)

static size_t put_str(char *buf, size_t at, const char *s)
{
    while (*s && at < 255)
        buf[at++] = *s++;
    return at;
}

static size_t put_num(char *buf, size_t at, size_t v)
{
    char d[24];
    int k = 0;
    do
        d[k++] = (char)('0' + v % 10);
    while ((v /= 10) && k < 24);
    while (k && at < 255)
        buf[at++] = d[--k];
    return at;
}

static bool in_guard(const struct loom_task *t, const void *addr)
{
    const struct loom__stack *s = t ? t->stack : NULL;
    return s && (const char *)addr >= (const char *)s->map &&
           (const char *)addr < (const char *)s->lo;
}

static void report(const struct loom_task *t)
{
    char buf[256];
    size_t n = put_str(buf, 0, "loom: task \"");
    n = put_str(buf, n, t->name);
    n = put_str(buf, n, "\" overflowed its ");
    size_t sz = t->stack->req_size;
    if (sz % 1024 == 0) {
        n = put_num(buf, n, sz / 1024);
        n = put_str(buf, n, " KiB");
    } else {
        n = put_num(buf, n, sz);
        n = put_str(buf, n, " bytes");
    }
    n = put_str(buf, n, " stack\n");
    ssize_t w = write(STDERR_FILENO, buf, n);
    (void)w;
}

/* Hand the signal to whoever had it before us; with no handler, restore the
 * default action and return, so the faulting instruction kills the process. */
static void chain(int sig, siginfo_t *si, void *uc)
{
    struct sigaction *p = sig == SIGBUS ? &prev_bus : &prev_segv;
    if ((p->sa_flags & SA_SIGINFO) && p->sa_sigaction) {
        p->sa_sigaction(sig, si, uc);
        return;
    }
    if (!(p->sa_flags & SA_SIGINFO) && p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) {
        p->sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    struct loom_loop *loop = loom__tls_loop;
    struct loom_task *t = loop ? loop->current : NULL;
    if (t && in_guard(t, si->si_addr)) {
        report(t);
        struct sigaction *p = sig == SIGBUS ? &prev_bus : &prev_segv;
        bool has_prev = (p->sa_flags & SA_SIGINFO)
                            ? p->sa_sigaction != NULL
                            : (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN);
        if (!has_prev)
            abort();
    }
    chain(sig, si, uc);
    errno = saved;
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &prev_segv) == 0 && sigaction(SIGBUS, &sa, &prev_bus) == 0)
        atomic_store(&installed, true);
}

void loom__overflow_install(void) { pthread_once(&install_once, install); }

static void altstack_free(void *p)
{
    stack_t ss = {.ss_flags = SS_DISABLE};
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == p)
        sigaltstack(&ss, NULL);
    munmap(p, ALTSTACK_SIZE);
}

static void make_key(void) { pthread_key_create(&altstack_key, altstack_free); }

/* The alternate stack for this thread, once; freed when the thread exits. */
void loom__overflow_thread(void)
{
    if (thread_ready || !atomic_load_explicit(&installed, memory_order_relaxed))
        return;
    thread_ready = true;
    stack_t cur;
    if (sigaltstack(NULL, &cur) < 0 || !(cur.ss_flags & SS_DISABLE))
        return; /* the thread has one (ASan's, the embedder's): use it */
    void *p = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return;
    stack_t ss = {.ss_sp = p, .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) < 0) {
        munmap(p, ALTSTACK_SIZE);
        return;
    }
    pthread_once(&key_once, make_key);
    pthread_setspecific(altstack_key, p);
}
