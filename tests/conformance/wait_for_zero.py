from conf import T, run, outcome
import asyncio

async def slow():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        T("slow cancelled")
        raise

async def quick():
    return 2

async def main():
    T("slow", await outcome(asyncio.wait_for(asyncio.create_task(slow()), 0)))
    t = asyncio.create_task(quick())
    await asyncio.sleep(0)
    T("quick", await outcome(asyncio.wait_for(t, 0)))

run(main)
