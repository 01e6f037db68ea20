from conf import T, run, outcome
import asyncio

async def child(n):
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        T("a child cancelled")
        raise

async def owner():
    async with asyncio.TaskGroup() as g:
        g.create_task(child(1))
        g.create_task(child(2))
        T("owner joins")
    T("not reached")

async def main():
    o = asyncio.create_task(owner())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    o.cancel()
    T("join", await outcome(o))

run(main)
