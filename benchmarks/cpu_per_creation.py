"""Creation to first result with the CPU it costs, counted from /proc (a figure that does not
depend on the wall clock of a shared machine). Run it with two trees' interpreters at the
same time to compare them under the same load (benchmarks/RESULTS.md, 2026-12-01):

    (cd /work/main && .venv/bin/python /path/to/cpu_per_creation.py 60) &
    (cd . && .venv/bin/python benchmarks/cpu_per_creation.py 60) & wait

`N` creations (create, first call, get, terminate, 20 ms pause) print the median wall time
and the CPU (user + system) per creation of the driver, the daemon it starts, the zygote,
the live workers and the workers the zygote reaped. `--burst`: N instances created at once,
all answering (the burst_500_answering workload), CPU per instance.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.getcwd(), "benchmarks"))   # the tree under test's workloads
import yr  # noqa: E402
from workloads import Counter, Pid  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
ROLES = {0: "driver", 1: "daemon", 2: "zygote"}   # depth below this process; deeper: workers


def _stat(pid: int) -> tuple[int, int, int, int, int]:
    """(ppid, own CPU ticks, reaped children's CPU ticks, own minor faults, reaped children's)."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    utime, stime, cutime, cstime = (int(x) for x in rest[11:15])
    return int(rest[1]), utime + stime, cutime + cstime, int(rest[7]), int(rest[8])


def tree_cpu() -> dict:
    """Seconds of CPU of this process's tree by role ("reaped": the zygote's reaped children),
    and "faults_reaped": the minor page faults of the zygote's reaped children (x 1000, so
    that `per` gives faults per creation)."""
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                procs[int(d)] = _stat(int(d))
            except (OSError, ValueError, IndexError):   # gone meanwhile
                pass
    kids: dict = {}
    for pid, (ppid, *_) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    out: dict = {}
    todo = [(os.getpid(), 0)]
    while todo:
        pid, depth = todo.pop()
        if pid in procs:
            _, own, reaped, _, reaped_faults = procs[pid]
            role = ROLES.get(depth, "workers")
            out[role] = out.get(role, 0) + own / TICK
            if depth == 2:
                out["reaped"] = out.get("reaped", 0) + reaped / TICK
                out["faults_reaped"] = out.get("faults_reaped", 0) + reaped_faults / 1000
        todo += [(k, depth + 1) for k in kids.get(pid, [])]
    return out


def per(before: dict, after: dict, n: int) -> dict:
    d = {k: round((after.get(k, 0) - before.get(k, 0)) * 1000 / n, 2) for k in after}
    d["total"] = round(sum(v for k, v in d.items() if not k.startswith("faults")), 2)
    return d


def main() -> None:
    burst = "--burst" in sys.argv
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 60
    yr.init(yr.Config(num_cpus=1000, memory_mib=1000 * 512))
    C, P = yr.instance(Counter), yr.instance(Pid)
    for _ in range(5):   # warm: the pool prepared for this driver's environment
        c = C.invoke()
        yr.get(c.add.invoke(1))
        c.terminate()
        time.sleep(0.02)
    time.sleep(0.5)
    before = tree_cpu()
    if burst:
        t = time.perf_counter()
        cs = [P.invoke() for _ in range(n)]
        yr.get([c.pid.invoke() for c in cs], timeout=600)
        row = {"burst_s": round(time.perf_counter() - t, 3), "cpu_ms_per_instance": per(before, tree_cpu(), n)}
        for c in cs:
            c.terminate()
    else:
        times = []
        for _ in range(n):
            t = time.perf_counter()
            c = C.invoke()
            yr.get(c.add.invoke(1))
            times.append((time.perf_counter() - t) * 1000)
            c.terminate()
            time.sleep(0.02)
        time.sleep(0.5)   # the last workers exit and are reaped
        row = {"median_ms": round(statistics.median(times), 3), "cpu_ms_per_creation": per(before, tree_cpu(), n)}
    yr.finalize()
    print(json.dumps(row))


if __name__ == "__main__":
    main()
