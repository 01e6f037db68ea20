/* pool_internal.h - the wire format between the pool and its workers, and the
 * worker's main loop. Private to proc/. */
#ifndef LOOM_PROC_POOL_INTERNAL_H
#define LOOM_PROC_POOL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "proc/proc.h"

/* A message header; len bytes of payload follow. Parent to worker: fn is the
 * job function's address, status 0. Worker to parent: fn 0, status the job's
 * result (0 or negative). */
struct loom__pool_msg {
    uint64_t fn;
    uint64_t len;
    uint32_t flags; /* LOOM__POOL_BATCH */
    int32_t status;
};

/* The payload holds several inputs (map with a chunk size): a uint64 count,
 * then per item a uint64 length and the bytes. The reply has the same shape,
 * each item preceded by an int64 status instead of nothing. */
enum { LOOM__POOL_BATCH = 1 };

/* Queue a job whose input buffer in (malloc'd) the pool takes over on success. */
int loom__pool_job_new(struct loom_pool *pool, loom_pool_fn fn, void *in, size_t len,
                       uint32_t flags, struct loom_pool_job **out);

/* Run jobs from fd until EOF, then _exit(0). Never returns. */
void loom__pool_worker_main(int fd, const struct loom_pool_options *opt) __attribute__((noreturn));

#endif
