from conf import T, run, outcome
import asyncio

async def child():
    for i in range(3):
        try:
            await asyncio.sleep(10)
            T("slept", i)
        except asyncio.CancelledError:
            T("cancelled at", i)
    return 3

async def main():
    t = asyncio.create_task(child())
    await asyncio.sleep(0)
    t.cancel()
    t.cancel()
    await asyncio.sleep(0)
    T("after first delivery")
    t.cancel()
    await asyncio.sleep(0)
    t.cancel()
    T("join", await outcome(t))

run(main)
