"""sync_py.py - the loops of sync_micro.c with asyncio's Lock, Semaphore and Queue.

    python3 sync_py.py asyncio|uvloop [scale]

Prints one "name ns_per_op" line per case (best of 3, thread CPU time)."""
import asyncio
import sys
import time

SCALE = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0


def n_of(n):
    return max(100, int(n * SCALE))


async def lock_uncontended():
    lock, n = asyncio.Lock(), n_of(1000000)
    t0 = time.thread_time_ns()
    for _ in range(n):
        await lock.acquire()
        lock.release()
    return (time.thread_time_ns() - t0) / n


async def sem_handoff():
    sem, n = [asyncio.Semaphore(0), asyncio.Semaphore(0)], n_of(100000)

    async def side(me):
        for _ in range(n):
            if me == 0:
                sem[1].release()
            await sem[me].acquire()
            if me == 1:
                sem[0].release()
    t0 = time.thread_time_ns()
    await asyncio.gather(side(0), side(1))
    return (time.thread_time_ns() - t0) / (2 * n)


async def queue_put_get():
    q, n = asyncio.Queue(), n_of(1000000)
    t0 = time.thread_time_ns()
    for _ in range(n):
        q.put_nowait(q)
        q.get_nowait()
    return (time.thread_time_ns() - t0) / n


async def queue_pingpong():
    q, n = asyncio.Queue(1), n_of(100000)

    async def producer():
        for _ in range(n):
            await q.put(q)

    async def consumer():
        for _ in range(n):
            await q.get()
    t0 = time.thread_time_ns()
    await asyncio.gather(producer(), consumer())
    return (time.thread_time_ns() - t0) / n


def main():
    if sys.argv[1] == "uvloop":
        import uvloop
        uvloop.install()
    for name, fn in [("lock_uncontended", lock_uncontended), ("sem_handoff", sem_handoff),
                     ("queue_put_get", queue_put_get), ("queue_pingpong", queue_pingpong)]:
        print(name, "%.2f" % min(asyncio.run(fn()) for _ in range(3)), flush=True)


main()
