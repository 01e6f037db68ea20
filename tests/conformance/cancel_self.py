from conf import T, run, outcome
import asyncio

async def selfish():
    asyncio.current_task().cancel()
    T("still running after cancelling itself")
    try:
        await asyncio.sleep(0)
    except asyncio.CancelledError:
        T("cancelled at next suspension")
        raise

async def main():
    T("join", await outcome(asyncio.create_task(selfish())))

run(main)
