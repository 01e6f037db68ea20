from conf import T, run
import asyncio

async def main():
    for q in (asyncio.LifoQueue(), asyncio.PriorityQueue()):
        for x in (3, 1, 4, 1, 5):
            q.put_nowait(x)
        T(type(q).__name__, *[q.get_nowait() for _ in range(5)])
    q = asyncio.Queue(1)
    q.put_nowait(1)
    try:
        q.put_nowait(2)
    except asyncio.QueueFull:
        T("full")
    q.get_nowait()
    try:
        q.get_nowait()
    except asyncio.QueueEmpty:
        T("empty")

run(main)
