"""The worker's CPU per call with and without call counting, measured in-process (no
sockets): `Worker._execute` of a trivial method, 100,000 times, 15 rounds, thread CPU time.
Run it once per tree and compare (benchmarks/RESULTS.md, "Counting calls for /metrics"):

    PYTHONPATH=OTHER/sdk_python:OTHER/runtime python benchmarks/worker_counting_micro.py
    python benchmarks/worker_counting_micro.py
"""
import time

from yr import _serialization, _worker
from yr._hosts import PythonHost


class C:
    def add(self, k):
        return k


def main(n: int = 100_000, rounds: int = 15) -> None:
    w = _worker.Worker.__new__(_worker.Worker)   # no agent, no sockets: only the call path
    w.class_name, w.init_error, w.methods, w.functions, w.autosave, w.pool = "C", None, {}, {}, False, None
    w.instance, w.host = C(), PythonHost()
    payload = _serialization.dumps(("add", (1,), {}))
    w._execute(b"C", 1, payload)
    times = []
    for _ in range(rounds):
        t = time.thread_time()
        for _ in range(n):
            w._execute(b"C", 1, payload)
        times.append((time.thread_time() - t) / n * 1e6)
    times.sort()
    print(f"{_worker.__file__}: min {times[0]:.3f} us, median {times[len(times) // 2]:.3f} us CPU per _execute")


if __name__ == "__main__":
    main()
