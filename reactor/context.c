/* context.c - context variables (contextvars). A context is an array of
 * (variable, value) pairs shared by reference between a task and the tasks it
 * spawns, copied on the first write while shared: a spawned task sees its
 * parent's values as of the spawn, and neither sees the other's later sets. */
#include "reactor/task_internal.h"

#include <errno.h>
#include <stdlib.h>

void loom__context_ref(struct loom__context *c)
{
    if (c)
        c->refs++;
}

void loom__context_release(struct loom__context *c)
{
    if (c && --c->refs == 0)
        free(c);
}

/* The slot holding the running code's context: its task's, or the loop's
 * outside tasks; NULL when no loop runs on this thread. */
static struct loom__context **current_context(void)
{
    struct loom_loop *loop = loom__tls_loop;
    if (!loop)
        return NULL;
    return loop->current ? &loop->current->context : &loop->root_ctx;
}

static ptrdiff_t find(const struct loom__context *c, const struct loom_ctxvar *var)
{
    for (size_t i = 0; c && i < c->n; i++)
        if (c->e[i].var == var)
            return (ptrdiff_t)i;
    return -1;
}

void *loom_ctxvar_get(const struct loom_ctxvar *var)
{
    struct loom__context **cp = current_context();
    ptrdiff_t i = cp ? find(*cp, var) : -1;
    return i >= 0 ? (*cp)->e[i].value : var->default_value;
}

/* Give *cp var = value (set) or no value for var (!set), copying the array
 * when it is shared. */
static int put(struct loom__context **cp, const struct loom_ctxvar *var, void *value, bool set)
{
    struct loom__context *old = *cp;
    ptrdiff_t at = find(old, var);
    if (at >= 0 && set && old->refs == 1) {
        old->e[at].value = value; /* not shared: change in place */
        return 0;
    }
    if (at < 0 && !set)
        return 0;
    size_t n = old ? old->n : 0;
    struct loom__context *c = malloc(sizeof(*c) + (n + 1) * sizeof(c->e[0]));
    if (!c)
        return -ENOMEM;
    c->refs = 1;
    c->n = 0;
    for (size_t i = 0; i < n; i++)
        if (old->e[i].var != var)
            c->e[c->n++] = old->e[i];
    if (set) {
        c->e[c->n].var = var;
        c->e[c->n++].value = value;
    }
    loom__context_release(old);
    *cp = c;
    return 0;
}

int loom_ctxvar_set(const struct loom_ctxvar *var, void *value)
{
    struct loom__context **cp = current_context();
    return cp ? put(cp, var, value, true) : -EPERM;
}

int loom_ctxvar_set_token(const struct loom_ctxvar *var, void *value, struct loom_ctxvar_token *tok)
{
    struct loom__context **cp = current_context();
    if (!cp)
        return -EPERM;
    ptrdiff_t at = find(*cp, var);
    struct loom_ctxvar_token t = {
        .var = var,
        .old_value = at >= 0 ? (*cp)->e[at].value : NULL,
        .had_value = at >= 0,
        ._slot = cp,
    };
    int rc = put(cp, var, value, true);
    if (rc == 0)
        *tok = t;
    return rc;
}

int loom_ctxvar_reset(struct loom_ctxvar_token *tok)
{
    struct loom__context **cp = current_context();
    if (!cp)
        return -EPERM;
    if (tok->_used)
        return -EALREADY;
    if (tok->_slot != cp)
        return -EINVAL;
    int rc = put(cp, tok->var, tok->old_value, tok->had_value);
    if (rc == 0)
        tok->_used = true;
    return rc;
}

/* --- copies --- */

struct loom_context {
    struct loom__context *c;
    bool entered;
};

struct loom_context *loom_context_copy(void)
{
    struct loom__context **cp = current_context();
    struct loom_context *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return NULL;
    ctx->c = cp ? *cp : NULL;
    loom__context_ref(ctx->c); /* shared until either side writes */
    return ctx;
}

void *loom_context_get(const struct loom_context *ctx, const struct loom_ctxvar *var)
{
    ptrdiff_t i = find(ctx->c, var);
    return i >= 0 ? ctx->c->e[i].value : var->default_value;
}

intptr_t loom_context_run(struct loom_context *ctx, loom_task_fn fn, void *arg)
{
    struct loom__context **cp = current_context();
    if (!cp)
        return -EPERM;
    if (ctx->entered)
        return -EBUSY;
    /* Swap ctx's array in for the call; the slot's owner may change while fn
     * runs (a task's slot stays its own even if fn suspends). */
    struct loom__context *saved = *cp;
    *cp = ctx->c;
    ctx->entered = true;
    intptr_t r = fn(arg);
    ctx->entered = false;
    ctx->c = *cp; /* the sets fn made stay in ctx */
    *cp = saved;
    return r;
}

void loom_context_free(struct loom_context *ctx)
{
    if (!ctx)
        return;
    loom__context_release(ctx->c);
    free(ctx);
}
