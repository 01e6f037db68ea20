from conf import T, run
import asyncio

async def w(n, delay):
    await asyncio.sleep(delay)
    return n

async def main():
    ts = [asyncio.create_task(w(1, 10)), asyncio.create_task(w(2, 0))]
    done, pending = await asyncio.wait(ts, timeout=0.02)
    T("done", len(done), "pending", len(pending), "cancelled", ts[0].cancelled())
    ts[0].cancel()

run(main)
