"""CPU per call of C++ workers, A/B: one Python driver calls `Counter::Add` on an instance of
each given C++ executable (benchmarks/cpp/cpp_bench.cpp built against two SDKs, e.g. by
`cpp_bench.py --base DIR`: benchmarks/out/cpp_bench-A and -B), alternately, in async bursts
(no waiting: what the worker itself spends per call, its host included) and sync calls.

    python benchmarks/cpp_worker_cpu.py [--calls N] [--rounds N] A=PATH B=PATH

Prints {label: {metric: median}}: worker CPU µs per call (async, sync), driver CPU µs per call
and calls/s. The workers run this environment's Python runtime; only the executable (its
libyr, hence its C++ host) differs.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import sys
sys.path.insert(0, str(Path(__file__).resolve().parent))
from floor import cpu_of  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=20000, help="calls per async burst (sync: a tenth)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("exes", nargs="+", help="LABEL=PATH of a cpp_bench executable")
    args = ap.parse_args()
    import yr
    from yr import _bridge, _context
    yr.init(yr.Config(num_cpus=100))
    try:
        targets = {}
        for item in args.exes:
            label, exe = item.split("=", 1)
            h = _bridge.create_instance({"language": "cpp", "executable": exe, "class": "Counter",
                                         "factory": "Counter::FactoryCreate"}, [0])
            yr.get(_bridge.invoke_method(h, "&Counter::Add", [0]), 60)
            pid = _context.current().master.get_instance(instance_id=h._target.instance_id, timeout=10).pid
            targets[label] = (getattr(h, "&Counter::Add"), pid)
        rows: dict = {label: {} for label in targets}
        n_sync = max(args.calls // 10, 1)
        for _ in range(args.rounds):
            for label, (method, pid) in targets.items():
                for kind, n, run in (("async", args.calls, lambda n: yr.get([method.invoke(1) for _ in range(n)], 600)),
                                     ("sync", n_sync, lambda n: [yr.get(method.invoke(1), 60) for _ in range(n)])):
                    d0, w0, t0 = cpu_of(os.getpid()), cpu_of(pid), time.perf_counter()
                    run(n)
                    d1, w1, t1 = cpu_of(os.getpid()), cpu_of(pid), time.perf_counter()
                    r = rows[label]
                    r.setdefault(f"{kind}_worker_cpu_us", []).append((w1 - w0) / n * 1e6)
                    r.setdefault(f"{kind}_driver_cpu_us", []).append((d1 - d0) / n * 1e6)
                    r.setdefault(f"{kind}_calls_per_s", []).append(n / (t1 - t0))
    finally:
        yr.finalize()
    print(json.dumps({label: {k: round(statistics.median(v), 2) for k, v in r.items()} for label, r in rows.items()}))


if __name__ == "__main__":
    main()
