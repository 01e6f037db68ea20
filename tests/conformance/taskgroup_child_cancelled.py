from conf import T, run
import asyncio

async def w(n):
    await asyncio.sleep(0.01)
    T("w", n, "done")

async def main():
    async with asyncio.TaskGroup() as g:
        g.create_task(w(1))
        t = g.create_task(w(2))
        g.create_task(w(3))
        await asyncio.sleep(0)
        t.cancel()
        T("cancelled one child")
    T("group ok, child cancelled", t.cancelled())

run(main)
