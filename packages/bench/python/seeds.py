"""The seeds' scenarios written with asyncio.to_thread, for the bench's `seeds` scenario.

Each case runs its blocking workload sequentially on the event loop's thread, then offloaded with
asyncio.to_thread (the default executor: min(32, cpus + 4) threads), and prints one JSON object:
{"python", "executor_threads", "cases": {case: {"sequential": x, "offloaded": y}}} where x and y are
seconds, except for the counter case (the worst tick lag, in ms).

    python3 seeds.py --url http://127.0.0.1:PORT/ [--unit-ms 100 --requests 20 ...]
"""
import argparse
import asyncio
import hashlib
import json
import os
import platform
import time
import urllib.request


def get(url):
    """A blocking HTTP GET, like Node's sendRequestSync: the thread waits, using no CPU."""
    with urllib.request.urlopen(url) as response:
        return response.status, response.read()


def hash_chain(rounds):
    """CPU-bound: `rounds` chained SHA-256 digests of 32 bytes (small inputs keep the GIL held)."""
    digest = bytes(32)
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()


def calibrate_hash_rounds(task_ms):
    """The number of hash rounds that takes `task_ms` on this thread (median of five timings)."""
    probe = 20_000
    hash_chain(probe)
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        hash_chain(probe)
        timings.append(time.perf_counter() - start)
    per_round = sorted(timings)[2] / probe
    return max(1, round(task_ms / 1000 / per_round))


async def timed(fn):
    start = time.perf_counter()
    await fn()
    return time.perf_counter() - start


async def breakfast(unit):
    async def sequential():
        time.sleep(3 * unit)
        time.sleep(2 * unit)

    async def offloaded():
        await asyncio.gather(asyncio.to_thread(time.sleep, 3 * unit), asyncio.to_thread(time.sleep, 2 * unit))

    return {"sequential": await timed(sequential), "offloaded": await timed(offloaded)}


async def worst_tick_lag_ms(interval, block):
    """Ticks every `interval` s while `block()` runs; returns the latest tick's lateness in ms."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    lags = []

    async def ticker():
        tick = 0
        while True:
            tick += 1
            due = start + tick * interval
            await asyncio.sleep(max(0.0, due - loop.time()))
            lags.append(max(0.0, loop.time() - due))

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    await block()
    await asyncio.sleep(interval)  # late ticks fire now
    task.cancel()
    return max(lags, default=0.0) * 1000


COUNTER_RUNS = 5  # as COUNTER_RUNS in src/seeds/node-cases.ts


async def counter(url, interval, block_ms):
    """The worst tick lag while one blocking request runs; offloaded, the median of COUNTER_RUNS runs (a few ms of jitter)."""
    slow = f"{url}?delay={block_ms}"

    async def sequential():
        get(slow)

    async def offloaded():
        await asyncio.to_thread(get, slow)

    lag = await worst_tick_lag_ms(interval, sequential)
    lags = sorted([await worst_tick_lag_ms(interval, offloaded) for _ in range(COUNTER_RUNS)])
    return {"sequential": lag, "offloaded": lags[len(lags) // 2]}


async def requests(url, count):
    async def sequential():
        for i in range(count):
            get(f"{url}?r={i}")

    async def offloaded():
        await asyncio.gather(*(asyncio.to_thread(get, f"{url}?r={i}") for i in range(count)))

    return {"sequential": await timed(sequential), "offloaded": await timed(offloaded)}


async def semaphore(url, count, permits):
    slots = asyncio.Semaphore(permits)

    async def one(i):
        async with slots:
            await asyncio.to_thread(get, f"{url}?s={i}")

    async def sequential():
        for i in range(count):
            get(f"{url}?s={i}")

    async def offloaded():
        await asyncio.gather(*(one(i) for i in range(count)))

    return {"sequential": await timed(sequential), "offloaded": await timed(offloaded)}


async def cpu(tasks, task_ms):
    rounds = calibrate_hash_rounds(task_ms)

    async def sequential():
        for _ in range(tasks):
            hash_chain(rounds)

    async def offloaded():
        await asyncio.gather(*(asyncio.to_thread(hash_chain, rounds) for _ in range(tasks)))

    return {"sequential": await timed(sequential), "offloaded": await timed(offloaded)}


async def main(args):
    threads = min(32, (os.cpu_count() or 1) + 4)
    # Warm-up: the executor's threads start, the first connection is made.
    await asyncio.gather(*(asyncio.to_thread(time.sleep, 0.01) for _ in range(threads)))
    get(f"{args.url}?delay=0")
    cases = {
        "breakfast": await breakfast(args.unit_ms / 1000),
        "counter": await counter(args.url, args.interval_ms / 1000, args.block_ms),
        "requests": await requests(args.url, args.requests),
        "semaphore": await semaphore(args.url, args.semaphore_requests, args.permits),
        "cpu": await cpu(args.cpu_tasks, args.cpu_task_ms),
    }
    print(json.dumps({"python": platform.python_version(), "executor_threads": threads, "cases": cases}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--unit-ms", type=float, default=100)
    parser.add_argument("--interval-ms", type=float, default=100)
    parser.add_argument("--block-ms", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--semaphore-requests", type=int, default=50)
    parser.add_argument("--permits", type=int, default=10)
    parser.add_argument("--cpu-tasks", type=int, default=8)
    parser.add_argument("--cpu-task-ms", type=float, default=50)
    asyncio.run(main(parser.parse_args()))
