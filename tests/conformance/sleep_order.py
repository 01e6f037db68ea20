from conf import T, run
import asyncio

async def s(n, ms):
    await asyncio.sleep(ms / 1000)
    T("sleeper", n, "woke")

async def main():
    ts = [asyncio.create_task(s(n, ms)) for n, ms in ((1, 40), (2, 10), (3, 30), (4, 20))]
    for t in ts:
        await t
    T("end")

run(main)
