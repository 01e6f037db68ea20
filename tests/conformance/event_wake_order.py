from conf import T, run
import asyncio

async def waiter(e, n):
    T("waiter", n, "waits")
    await e.wait()
    T("waiter", n, "woke")

async def main():
    e = asyncio.Event()
    ts = [asyncio.create_task(waiter(e, n)) for n in range(3)]
    await asyncio.sleep(0)
    T("set")
    e.set()
    T("is_set", e.is_set())
    e.clear()
    T("cleared")
    for t in ts:
        await t
    T("wait on set event")
    e.set()
    await e.wait()
    T("end")

run(main)
