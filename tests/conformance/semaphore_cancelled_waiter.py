from conf import T, run, outcome
import asyncio

async def user(s, n):
    try:
        await s.acquire()
    except asyncio.CancelledError:
        T("user", n, "cancelled")
        raise
    T("user", n, "in")
    s.release()
    return n

async def main():
    s = asyncio.Semaphore(0)
    ts = [asyncio.create_task(user(s, n)) for n in range(3)]
    await asyncio.sleep(0)
    ts[0].cancel()
    s.release()
    for t in ts:
        T("join", await outcome(t))
    T("locked", s.locked())

run(main)
