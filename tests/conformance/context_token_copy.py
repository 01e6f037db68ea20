from conf import T, run
import asyncio
import contextvars

# Context variables: a reset token restores the value (or no value), works
# once, and is refused in another task's context; a copied context is a
# snapshot that Context.run executes in, keeping its sets; a task spawned
# inside the run inherits the copy.

user = contextvars.ContextVar("user", default="nobody")


def inside():
    T("inside run:", user.get())
    user.set("erin")
    return 7


async def child(tok):
    T("child sees:", user.get())
    try:
        user.reset(tok)
        T("child reset: ok")
    except ValueError:
        T("child reset: refused")


async def late():
    await asyncio.sleep(0.01)
    T("spawned in run sees:", user.get())


def spawn_inside():
    return asyncio.get_running_loop().create_task(late())


async def main():
    t1 = user.set("alice")
    t2 = user.set("bob")
    T("now:", user.get())
    user.reset(t2)
    T("after reset:", user.get())
    try:
        user.reset(t2)
        T("second reset: ok")
    except RuntimeError:
        T("second reset: refused")
    user.reset(t1)
    T("after first reset:", user.get())

    tok = user.set("carol")
    await asyncio.create_task(child(tok))
    T("parent still:", user.get())
    user.reset(tok)

    user.set("dave")
    ctx = contextvars.copy_context()
    user.set("frank")
    T("copy holds:", ctx[user])
    T("run returns:", ctx.run(inside))
    T("caller keeps:", user.get())
    T("copy now:", ctx[user])
    t = ctx.run(spawn_inside)
    await t
    T("end:", user.get())

run(main)
