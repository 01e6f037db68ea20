/* pool_map.c - ordered map over the pool: inputs are packed chunk at a time
 * into one batch message (fewer round trips for many small inputs), the
 * batches run in parallel, and results are unpacked back in input order. */
#include "proc/pool_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int pack(const struct loom_bytes *ins, size_t n, void **out, size_t *len)
{
    size_t total = sizeof(uint64_t);
    for (size_t i = 0; i < n; i++)
        total += sizeof(uint64_t) + ins[i].len;
    char *b = malloc(total), *p = b;
    if (!b)
        return -ENOMEM;
    uint64_t count = n;
    memcpy(p, &count, sizeof(count));
    p += sizeof(count);
    for (size_t i = 0; i < n; i++) {
        uint64_t l = ins[i].len;
        memcpy(p, &l, sizeof(l));
        p += sizeof(l);
        if (l)
            memcpy(p, ins[i].data, l);
        p += l;
    }
    *out = b;
    *len = total;
    return 0;
}

static int take_item(const char **p, const char *end, void *v, size_t n)
{
    if ((size_t)(end - *p) < n)
        return -EPROTO;
    memcpy(v, *p, n);
    *p += n;
    return 0;
}

/* Split a batch reply into outs[0..n); returns the first item's error or 0. */
static int unpack(const void *data, size_t len, struct loom_bytes *outs, size_t n)
{
    const char *p = data, *end = p + len;
    uint64_t count;
    int rc = data ? take_item(&p, end, &count, sizeof(count)) : -EPROTO;
    if (rc == 0 && count != n)
        rc = -EPROTO;
    int first = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int64_t st;
        uint64_t l;
        rc = take_item(&p, end, &st, sizeof(st));
        if (rc == 0)
            rc = take_item(&p, end, &l, sizeof(l));
        if (rc == 0 && (size_t)(end - p) < l)
            rc = -EPROTO;
        if (rc == 0 && !(outs[i].data = malloc(l + 1)))
            rc = -ENOMEM;
        if (rc < 0)
            break;
        memcpy(outs[i].data, p, l);
        ((char *)outs[i].data)[l] = '\0';
        outs[i].len = l;
        p += l;
        if (st < 0 && !first)
            first = (int)st;
    }
    return rc ? rc : first;
}

static void free_outs(struct loom_bytes *outs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(outs[i].data);
        outs[i] = (struct loom_bytes){0};
    }
}

int loom_pool_map(struct loom_pool *pool, loom_pool_fn fn, const struct loom_bytes *ins, size_t n,
                  size_t chunk, struct loom_bytes *outs)
{
    chunk = chunk ? chunk : 1;
    size_t nb = (n + chunk - 1) / chunk;
    memset(outs, 0, n * sizeof(*outs));
    struct loom_pool_job **jobs = calloc(nb ? nb : 1, sizeof(*jobs));
    if (!jobs)
        return -ENOMEM;
    int rc = 0;
    for (size_t b = 0; b < nb && rc == 0; b++) {
        size_t k = n - b * chunk < chunk ? n - b * chunk : chunk;
        void *msg;
        size_t len;
        if ((rc = pack(ins + b * chunk, k, &msg, &len)) == 0 &&
            (rc = loom__pool_job_new(pool, fn, msg, len, LOOM__POOL_BATCH, &jobs[b])) < 0)
            free(msg);
    }
    for (size_t b = 0; b < nb && jobs[b]; b++) {
        size_t k = n - b * chunk < chunk ? n - b * chunk : chunk;
        int r = loom_pool_job_wait(jobs[b], -1);
        if (r == 0) {
            size_t len;
            const void *data = loom_pool_job_result(jobs[b], &len);
            r = unpack(data, len, outs + b * chunk, k);
        }
        if (r < 0 && rc == 0)
            rc = r;
        if (r == -ECANCELED) /* our wait was cancelled: drop the rest */
            for (size_t j = b + 1; j < nb; j++)
                loom_pool_job_free(jobs[j]), jobs[j] = NULL;
        loom_pool_job_free(jobs[b]);
        jobs[b] = NULL;
    }
    free(jobs);
    if (rc < 0)
        free_outs(outs, n);
    return rc;
}
