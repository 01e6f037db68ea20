"""spawn_py.py - spawn+wait of /bin/true per second with asyncio, N at a time.

    python3 spawn_py.py TOTAL CONCURRENCY     prints "asyncio spawn/s <rate>" """
import asyncio
import sys
import time

TOTAL = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
CONC = int(sys.argv[2]) if len(sys.argv) > 2 else 8


async def worker(counter):
    while counter[0] < TOTAL:
        counter[0] += 1
        p = await asyncio.create_subprocess_exec('/bin/true')
        if await p.wait() != 0:
            raise SystemExit(1)


async def main():
    counter = [0]
    t0 = time.monotonic()
    await asyncio.gather(*(worker(counter) for _ in range(CONC)))
    print(f'asyncio spawn/s {TOTAL / (time.monotonic() - t0):.0f}')

asyncio.run(main())
