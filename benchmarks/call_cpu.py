"""CPU per call of the driver and of the worker (user + system time from /proc), which
does not depend on how busy the machine is, unlike calls/s. Prints one JSON line:
{workload: [calls/s, driver us/call, worker us/call]} (worker: the instance's process; for
stateless calls, 0: several executors may run them), and the same for a bare Unix-socket
round trip between two Python processes (run.py's floor).

    python benchmarks/call_cpu.py            # this environment's yr
    python benchmarks/ab.py ...              # wall-clock rates of two trees alternately
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from floor import cpu_of, socket_floor  # noqa: E402
from workloads import Counter, echo  # noqa: E402  (importable by workers: not __main__)

def main() -> None:
    import yr
    yr.init(yr.Config(num_cpus=100))
    try:
        c = yr.instance(Counter).invoke()
        f = yr.invoke(echo)
        yr.get(c.add.invoke(0))
        wpid = _worker_pid(c)
        for _ in range(50):
            yr.get(c.add.invoke(1))
            yr.get(f.invoke(1))
        runs = (("sync_calls", 3000, lambda n: [yr.get(c.add.invoke(1)) for _ in range(n)], wpid),
                ("async_calls", 20000, lambda n: yr.get([c.add.invoke(1) for _ in range(n)], timeout=600), wpid),
                ("stateless_sync", 2000, lambda n: [yr.get(f.invoke(i)) for i in range(n)], 0),
                ("stateless_async", 10000, lambda n: yr.get([f.invoke(i) for i in range(n)], timeout=600), 0))
        out = {}
        for name, n, run, pid in runs:
            d0, w0, t0 = cpu_of(os.getpid()), cpu_of(pid) if pid else 0.0, time.perf_counter()
            run(n)
            dt = time.perf_counter() - t0
            d1, w1 = cpu_of(os.getpid()), cpu_of(pid) if pid else 0.0
            out[name] = [round(n / dt), round((d1 - d0) / n * 1e6, 1), round((w1 - w0) / n * 1e6, 1)]
    finally:
        yr.finalize()
    out["socket_floor"] = socket_floor()
    print(json.dumps(out))


def _worker_pid(handle) -> int:
    from yr import _context
    return _context.current().master.get_instance(instance_id=handle._target.instance_id, timeout=10).pid


if __name__ == "__main__":
    main()
