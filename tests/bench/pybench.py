"""pybench.py - the micro-benchmark loops of micro.c in Python asyncio / uvloop.

    python3 pybench.py asyncio|uvloop [scale]

Prints one "name ns_per_op" line per case (best of 3), same names as micro.c.
Times are the thread's CPU time, as in micro.c."""
import asyncio
import sys
import time

SCALE = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
REPEATS = 3


def iters(n):
    return max(100, int(n * SCALE))


async def yielder(n):
    for _ in range(n):
        await asyncio.sleep(0)


async def bench_yield(ntasks, n):
    per = n // ntasks
    tasks = [asyncio.create_task(yielder(per)) for _ in range(ntasks)]
    t0 = time.thread_time_ns()
    await asyncio.gather(*tasks)
    return (time.thread_time_ns() - t0) / (ntasks * per)


async def noop():
    return None


async def bench_spawn_join(batch, n):
    n = (n // batch) * batch
    t0 = time.thread_time_ns()
    if batch == 1:
        for _ in range(n):
            await asyncio.create_task(noop())
    else:
        for _ in range(n // batch):
            tasks = [asyncio.create_task(noop()) for _ in range(batch)]
            for t in tasks:
                await t
    return (time.thread_time_ns() - t0) / n


def never():
    pass


async def bench_call_later(n):
    loop = asyncio.get_running_loop()
    t0 = time.thread_time_ns()
    for _ in range(n):
        loop.call_later(10.0, never).cancel()
    return (time.thread_time_ns() - t0) / n


async def bench_timer_bg(n, background):
    loop = asyncio.get_running_loop()
    bg = [loop.call_later(100.0 + (i * 997 % 100000) / 1e6, never) for i in range(background)]
    t0 = time.thread_time_ns()
    for _ in range(n):
        loop.call_later(10.0, never).cancel()
    ns = (time.thread_time_ns() - t0) / n
    for h in bg:
        h.cancel()
    return ns


async def bench_call_soon(inflight, n):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    left = [n]

    def cb():
        left[0] -= 1
        if left[0] > 0:
            loop.call_soon(cb)
        elif not done.done():
            done.set_result(None)

    t0 = time.thread_time_ns()
    for _ in range(inflight):
        loop.call_soon(cb)
    await done
    return (time.thread_time_ns() - t0) / (n + inflight - 1)


CASES = [
    ("yield_2", lambda: bench_yield(2, iters(300000))),
    ("yield_100", lambda: bench_yield(100, iters(300000))),
    ("spawn_join_1", lambda: bench_spawn_join(1, iters(100000))),
    ("spawn_join_100", lambda: bench_spawn_join(100, iters(100000))),
    ("timer_10k", lambda: bench_timer_bg(iters(300000), 10000)),
    ("call_later_cancel", lambda: bench_call_later(iters(300000))),
    ("call_soon_1", lambda: bench_call_soon(1, iters(300000))),
    ("call_soon_1000", lambda: bench_call_soon(1000, iters(1000000))),
]


def main():
    kind = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
    if kind == "uvloop":
        import uvloop
        new_loop = uvloop.new_event_loop
    else:
        new_loop = asyncio.new_event_loop
    for name, make in CASES:
        best = None
        for _ in range(REPEATS):
            loop = new_loop()
            try:
                ns = loop.run_until_complete(make())
            finally:
                loop.close()
            best = ns if best is None else min(best, ns)
        print(f"{name} {best:.2f}", flush=True)


if __name__ == "__main__":
    main()
