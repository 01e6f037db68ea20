from conf import T, run
import asyncio

async def w(n, steps):
    for _ in range(steps):
        await asyncio.sleep(0)
    T("w", n, "done")

async def main():
    async with asyncio.TaskGroup() as g:
        g.create_task(w(1, 2))
        g.create_task(w(2, 0))
        g.create_task(w(3, 1))
        T("body ends")
    T("group joined")

run(main)
