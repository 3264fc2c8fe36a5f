"""Benchmark workloads, each `fn(api, **params) -> (value, unit)`, written once and run
against yr and (when installed) Ray through a tiny adapter with the same five verbs."""
from __future__ import annotations

import time


class Counter:
    def __init__(self):
        self.n = 0

    def add(self, k):
        self.n += k
        return self.n


def echo(x):
    return x


def sync_calls(api, n=5000):
    c = api.actor(Counter)
    api.get(api.call(c, "add", 1))
    t = time.perf_counter()
    for _ in range(n):
        api.get(api.call(c, "add", 1))
    return n / (time.perf_counter() - t), "calls/s"


def async_calls(api, n=10000):
    c = api.actor(Counter)
    api.get(api.call(c, "add", 1))
    t = time.perf_counter()
    refs = [api.call(c, "add", 1) for _ in range(n)]
    api.get(refs)
    return n / (time.perf_counter() - t), "calls/s"


def create_to_first_result(api, n=50):
    import statistics   # here, not at the top: every new worker imports this module
    times = []
    for _ in range(n):
        t = time.perf_counter()
        c = api.actor(Counter)
        api.get(api.call(c, "add", 1))
        times.append((time.perf_counter() - t) * 1000)
        api.kill(c)
        time.sleep(0.02)   # let the warm pool refill, as between real creations
    return statistics.median(times), "ms (median)"


def instance_burst(api, n=10):
    t = time.perf_counter()
    cs = [api.actor(Counter) for _ in range(n)]
    api.get([api.call(c, "add", 1) for c in cs])
    dt = time.perf_counter() - t
    for c in cs:
        api.kill(c)
    return n / dt, "instances/s"


class Pid:
    def pid(self):
        import os
        return os.getpid()


def burst_answering(api, n=500):
    """Seconds until n instances created at once all answered."""
    t = time.perf_counter()
    cs = [api.actor(Pid) for _ in range(n)]
    api.get([api.call(c, "pid") for c in cs])
    dt = time.perf_counter() - t
    for c in cs:
        api.kill(c)
    return dt, "s"


def idle_instance_uss(api, n=20):
    """Median unique memory (USS) of an idle instance's process."""
    import psutil
    cs = [api.actor(Pid) for _ in range(n)]
    pids = api.get([api.call(c, "pid") for c in cs])
    uss = sorted(psutil.Process(p).memory_full_info().uss for p in pids)
    for c in cs:
        api.kill(c)
    return uss[len(uss) // 2] / (1 << 20), "MB"


def stateless_async(api, n=10000):
    api.get(api.task(echo, 1))
    t = time.perf_counter()
    api.get([api.task(echo, i) for i in range(n)])
    return n / (time.perf_counter() - t), "tasks/s"


def stateless_sync(api, n=3000):
    api.get(api.task(echo, 1))
    t = time.perf_counter()
    for i in range(n):
        api.get(api.task(echo, i))
    return n / (time.perf_counter() - t), "tasks/s"


def small_put_get(api, n=5000):
    t = time.perf_counter()
    for i in range(n):
        api.get(api.put(i))
    return n / (time.perf_counter() - t), "put+get/s"


def large_put_get(api, mb=100, rounds=5):
    import numpy as np
    arr = np.ones(mb << 17, dtype=np.float64)  # mb MiB
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        out = api.get(api.put(arr))
        assert out.nbytes == arr.nbytes
        best = min(best, time.perf_counter() - t)
        del out
    return (mb / 1024) / best, "GiB/s"


def large_task_roundtrip(api, mb=100, rounds=5):
    """A value of `mb` MiB put once, passed by ref to a task that returns it: GiB/s of the best
    round (one way: the value's size over the round trip's time)."""
    import numpy as np
    arr = np.ones(mb << 17, dtype=np.float64)
    ref = api.put(arr)
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        out = api.get(api.task(echo, ref))
        assert out.nbytes == arr.nbytes
        best = min(best, time.perf_counter() - t)
        del out
    return (mb / 1024) / best, "GiB/s"
