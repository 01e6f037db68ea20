/* shm.c - shared memory over anonymous MAP_SHARED mappings. The header page
 * holds a PTHREAD_PROCESS_SHARED robust mutex: if a process dies holding it,
 * the next locker gets EOWNERDEAD and marks it consistent (the data may be
 * half-updated; for counters that is the lost update the demos talk about). */
#include "proc/proc.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

struct loom_shared {
    pthread_mutex_t lock;
    size_t size;     /* of the data */
    size_t map_size; /* of the whole mapping */
    _Alignas(64) unsigned char data[];
};

int loom_shared_new(size_t size, struct loom_shared **out)
{
    size_t total = sizeof(struct loom_shared) + size;
    void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -errno;
    struct loom_shared *sh = m; /* anonymous mappings start zeroed */
    pthread_mutexattr_t a;
    int rc = pthread_mutexattr_init(&a);
    if (rc == 0)
        rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (rc == 0)
        rc = pthread_mutex_init(&sh->lock, &a);
    pthread_mutexattr_destroy(&a);
    if (rc != 0) {
        munmap(m, total);
        return -rc;
    }
    sh->size = size;
    sh->map_size = total;
    *out = sh;
    return 0;
}

void loom_shared_free(struct loom_shared *sh)
{
    if (sh)
        munmap(sh, sh->map_size);
}

void *loom_shared_data(struct loom_shared *sh) { return sh->data; }
size_t loom_shared_size(const struct loom_shared *sh) { return sh->size; }

int loom_shared_lock(struct loom_shared *sh)
{
    int rc = pthread_mutex_lock(&sh->lock);
    if (rc == EOWNERDEAD)
        rc = pthread_mutex_consistent(&sh->lock);
    return -rc;
}

int loom_shared_unlock(struct loom_shared *sh) { return -pthread_mutex_unlock(&sh->lock); }
