"""Does counting calls for /metrics slow synchronous calls? Runs the same sync-call loop
against two yr trees, alternating A B A B so that the noise of a shared machine falls on
both: the tree of this checkout and another one (e.g. `git archive main | tar -x -C DIR`).

    python benchmarks/metrics_overhead.py --before DIR [--rounds 7] [--calls 20000]

Each round starts a temporary runtime from that tree (PYTHONPATH: its sdk_python and
runtime), creates one instance, makes 500 warm-up calls then `--calls` sync calls, and
prints calls/s and the CPU time per call of the driver and the worker together (on a
shared machine, CPU time per call is far steadier than the rate); the medians and their
ratios come last (after / before).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
LOOP = """
import sys, time, yr
yr.init()
@yr.instance
class Counter:
    def __init__(self): self.n = 0
    def add(self, k):
        self.n += k
        return self.n
    def cpu(self):
        return time.process_time()
c = Counter.invoke()
for _ in range(500): yr.get(c.add.invoke(1))
n = int(sys.argv[1])
w0, d0, t = yr.get(c.cpu.invoke()), time.process_time(), time.perf_counter()
for _ in range(n): yr.get(c.add.invoke(1))
wall = time.perf_counter() - t
cpu = time.process_time() - d0 + yr.get(c.cpu.invoke()) - w0
print(n / wall, cpu / n * 1e6)
yr.finalize()
"""


def one_round(tree: Path, calls: int, session_root: str) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=f"{tree / 'sdk_python'}:{tree / 'runtime'}", YR_SESSION_ROOT=session_root)
    out = subprocess.run([sys.executable, "-c", LOOP, str(calls)], env=env, capture_output=True, text=True,
                         timeout=600, check=True)
    rate, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(rate), float(cpu)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--before", required=True, type=Path, help="the other yr tree (its root)")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--calls", type=int, default=20000)
    args = p.parse_args()
    root = f"/tmp/yr-bench-{os.getpid()}"
    runs: dict[str, list[tuple]] = {"before": [], "after": []}
    for i in range(args.rounds):
        for name, tree in (("before", args.before), ("after", HERE)) if i % 2 == 0 else (
                ("after", HERE), ("before", args.before)):
            runs[name].append(one_round(tree, args.calls, root))
            rate, cpu = runs[name][-1]
            print(f"round {i + 1} {name}: {rate:,.0f} calls/s, {cpu:.1f} us CPU per call", flush=True)
    rate = {k: statistics.median(r for r, _ in v) for k, v in runs.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in runs.items()}
    print(f"median rate before {rate['before']:,.0f}/s, after {rate['after']:,.0f}/s, after/before "
          f"{rate['after'] / rate['before']:.3f}; CPU per call before {cpu['before']:.1f} us, after "
          f"{cpu['after']:.1f} us, after/before {cpu['after'] / cpu['before']:.3f}")


if __name__ == "__main__":
    main()
