from conf import T, run
import asyncio

async def waiter(l):
    await l.acquire()
    T("waiter got the lock")
    l.release()

async def main():
    l = asyncio.Lock()
    await l.acquire()
    w = asyncio.create_task(waiter(l))
    await asyncio.sleep(0)
    l.release()
    T("main released; locked", l.locked())
    await l.acquire()
    T("main re-acquired")
    l.release()
    await w

run(main)
