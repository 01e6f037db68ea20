from conf import T, run
import asyncio

async def user(l, n):
    T("user", n, "wants")
    async with l:
        T("user", n, "holds")
        await asyncio.sleep(0)
        T("user", n, "releases")

async def main():
    l = asyncio.Lock()
    ts = [asyncio.create_task(user(l, n)) for n in range(4)]
    for t in ts:
        await t
    T("locked", l.locked())

run(main)
