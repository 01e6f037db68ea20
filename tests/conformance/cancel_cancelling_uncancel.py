from conf import T, run, outcome
import asyncio

# cancelling() counts the cancellation requests not undone by uncancel(); two
# requests before the task resumes are delivered once.

async def worker():
    me = asyncio.current_task()
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        T("worker cancelled, cancelling", me.cancelling())
        T("uncancel ->", me.uncancel())
        T("uncancel ->", me.uncancel())
        T("uncancel ->", me.uncancel())
    await asyncio.sleep(0)
    T("worker goes on")
    return 5

async def main():
    t = asyncio.create_task(worker())
    T("cancelling before", t.cancelling())
    await asyncio.sleep(0)
    T("cancel", t.cancel())
    T("cancel", t.cancel())
    T("cancelling", t.cancelling())
    T("worker", await outcome(t))
    T("cancel when done", t.cancel())
    T("cancelling when done", t.cancelling())

run(main)
