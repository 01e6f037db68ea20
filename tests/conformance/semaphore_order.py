from conf import T, run
import asyncio

async def user(s, n):
    async with s:
        T("user", n, "in")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        T("user", n, "out")

async def main():
    s = asyncio.Semaphore(2)
    ts = [asyncio.create_task(user(s, n)) for n in range(5)]
    for t in ts:
        await t
    T("locked", s.locked())

run(main)
