from conf import T, run, outcome
import asyncio

async def inner():
    await asyncio.sleep(0.01)
    T("inner finished")
    return 9

async def outer(i):
    T("outer", await outcome(asyncio.shield(i)))
    raise asyncio.CancelledError

async def main():
    i = asyncio.create_task(inner())
    o = asyncio.create_task(outer(i))
    await asyncio.sleep(0)
    o.cancel()
    T("outer join", await outcome(o))
    T("inner done yet", i.done())
    T("inner join", await outcome(i))

run(main)
