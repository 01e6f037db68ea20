from conf import T, run, outcome
import asyncio

async def child(f):
    try:
        await f
    except asyncio.CancelledError:
        T("child sees cancellation; future cancelled", f.cancelled())
        raise

async def main():
    loop = asyncio.get_running_loop()
    f = loop.create_future()
    f.add_done_callback(lambda fut: T("future callback, cancelled", fut.cancelled()))
    t = asyncio.create_task(child(f))
    await asyncio.sleep(0)
    t.cancel()
    T("after cancel(): future cancelled", f.cancelled())
    T("join", await outcome(t))

run(main)
