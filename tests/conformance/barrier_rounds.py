from conf import T, run
import asyncio

async def party(b, n):
    for r in range(2):
        T("party", n, "arrives round", r)
        i = await b.wait()
        T("party", n, "passes round", r, "index", i)

async def main():
    b = asyncio.Barrier(3)
    ts = [asyncio.create_task(party(b, n)) for n in range(3)]
    for t in ts:
        await t
    T("end")

run(main)
