from conf import T, run
import asyncio

async def main():
    loop = asyncio.get_running_loop()
    loop.call_later(0.03, T, "30ms")
    loop.call_later(0.01, T, "10ms")
    h = loop.call_later(0.02, T, "20ms (cancelled)")
    loop.call_later(0.02, T, "20ms")
    h.cancel()
    await asyncio.sleep(0.05)
    T("end")

run(main)
