from conf import T, run, outcome
import asyncio

async def quick():
    return 4

async def main():
    t = asyncio.create_task(quick())
    await asyncio.sleep(0)
    T("done", t.done())
    T("join", await outcome(t))
    t2 = asyncio.create_task(quick())
    await asyncio.sleep(0)
    T("wait_for done", await outcome(asyncio.wait_for(t2, 0.01)))
    T("gather empty", await asyncio.gather())

run(main)
