from conf import T, run, outcome
import asyncio

async def child():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        T("first cancellation; cleaning up")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            T("second cancellation during cleanup")
        raise

async def main():
    t = asyncio.create_task(child())
    await asyncio.sleep(0)
    t.cancel()
    await asyncio.sleep(0)
    t.cancel()
    T("join", await outcome(t))

run(main)
