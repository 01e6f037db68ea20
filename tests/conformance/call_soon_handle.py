from conf import T, run
import asyncio

# call_soon returns a handle that can be cancelled; cancelling a handle whose
# call already ran (or was cancelled) does nothing, even after new calls.

async def main():
    loop = asyncio.get_running_loop()
    a = loop.call_soon(T, "A runs")
    b = loop.call_soon(T, "B runs")
    b.cancel()
    await asyncio.sleep(0)
    c = loop.call_soon(T, "C runs")
    a.cancel()
    b.cancel()
    await asyncio.sleep(0)
    d = loop.call_later(0.001, T, "D runs")
    e = loop.call_later(0.002, T, "E runs")
    d.cancel()
    await asyncio.sleep(0.05)
    e.cancel()
    T("end")

run(main)
