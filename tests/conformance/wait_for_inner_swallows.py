from conf import T, run, outcome
import asyncio

async def inner():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        T("inner swallows the timeout's cancellation")
    return 8

async def main():
    T("wait_for", await outcome(asyncio.wait_for(inner(), 0.01)))

run(main)
