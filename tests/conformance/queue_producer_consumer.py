from conf import T, run
import asyncio

async def producer(q):
    for i in range(5):
        await q.put(i)
        T("put", i, "size", q.qsize())
    await q.put(None)

async def consumer(q):
    while True:
        x = await q.get()
        q.task_done()
        if x is None:
            break
        T("got", x)

async def main():
    q = asyncio.Queue(2)
    c = asyncio.create_task(consumer(q))
    p = asyncio.create_task(producer(q))
    await p
    await c
    await q.join()
    T("end")

run(main)
