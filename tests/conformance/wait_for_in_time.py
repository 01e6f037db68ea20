from conf import T, run, outcome
import asyncio

async def inner():
    await asyncio.sleep(0)
    T("inner done")
    return 3

async def main():
    T("wait_for", await outcome(asyncio.wait_for(inner(), 5)))

run(main)
