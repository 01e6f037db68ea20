from conf import T, run, Fail
import asyncio

# A TaskGroup that cancels its owner because a child failed takes that request
# back (uncancel) when it exits: the owner's cancelling() is 0 again.

async def failer():
    await asyncio.sleep(0)
    T("child fails")
    raise Fail()

async def main():
    me = asyncio.current_task()
    try:
        async with asyncio.TaskGroup() as g:
            g.create_task(failer())
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                T("body cancelled, cancelling", me.cancelling())
                raise
    except* Fail:
        T("group failed")
    T("cancelling after the group", me.cancelling())
    await asyncio.sleep(0)
    T("main goes on")

run(main)
