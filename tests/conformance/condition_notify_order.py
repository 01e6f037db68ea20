from conf import T, run
import asyncio

async def waiter(c, n):
    async with c:
        T("waiter", n, "waits")
        await c.wait()
        T("waiter", n, "notified")

async def main():
    c = asyncio.Condition()
    ts = [asyncio.create_task(waiter(c, n)) for n in range(4)]
    await asyncio.sleep(0)
    async with c:
        T("notify 1")
        c.notify(1)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    async with c:
        T("notify_all")
        c.notify_all()
    for t in ts:
        await t
    T("end")

run(main)
