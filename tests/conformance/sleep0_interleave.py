from conf import T, run
import asyncio

async def worker(n, k):
    for i in range(k):
        T(n, i)
        await asyncio.sleep(0)
    T(n, "done")

async def main():
    ts = [asyncio.create_task(worker(n, k)) for n, k in (("a", 3), ("b", 1), ("c", 2))]
    for t in ts:
        await t
    T("end")

run(main)
