from conf import T, run, outcome
import asyncio

async def quick():
    return 6

async def main():
    t = asyncio.create_task(quick())
    await asyncio.sleep(0)
    T("shield of a finished task", await outcome(asyncio.shield(t)))
    t2 = asyncio.create_task(quick())
    T("shield before start", await outcome(asyncio.shield(t2)))

run(main)
