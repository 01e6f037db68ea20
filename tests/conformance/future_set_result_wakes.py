from conf import T, run, outcome
import asyncio

async def waiter(f, n):
    T("waiter", n, "got", await outcome(f))

async def main():
    f = asyncio.get_running_loop().create_future()
    ts = [asyncio.create_task(waiter(f, n)) for n in range(3)]
    await asyncio.sleep(0)
    f.set_result(5)
    T("set")
    for t in ts:
        await t
    T("end")

run(main)
