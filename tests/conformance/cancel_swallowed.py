from conf import T, run, outcome
import asyncio

async def child():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        T("child swallows")
    await asyncio.sleep(0)
    T("child goes on")
    return 42

async def main():
    t = asyncio.create_task(child())
    await asyncio.sleep(0)
    t.cancel()
    T("join", await outcome(t))
    T("cancelled", t.cancelled())

run(main)
