from conf import T, run, outcome
import asyncio

async def child():
    T("child start")
    try:
        await asyncio.sleep(10)
        T("child woke")
    except asyncio.CancelledError:
        T("child cancelled")
        raise

async def main():
    t = asyncio.create_task(child())
    await asyncio.sleep(0)
    T("cancel returns", t.cancel())
    T("done after cancel", t.done())
    T("join", await outcome(t))
    T("cancelled", t.cancelled())
    T("cancel again", t.cancel())

run(main)
