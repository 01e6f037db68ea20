from conf import T, run, outcome
import asyncio

async def inner():
    await asyncio.sleep(10)

async def outer(i):
    T("outer", await outcome(asyncio.shield(i)))
    return 1

async def main():
    i = asyncio.create_task(inner())
    o = asyncio.create_task(outer(i))
    await asyncio.sleep(0)
    i.cancel()
    T("outer join", await outcome(o))
    T("inner cancelled", i.cancelled())

run(main)
