"""Cross-node workloads: a master and one joined node on this machine (loopback), in a session
root of their own. Measures calls to an instance on the same node (Unix socket) and on the
other node (TCP through its data port), and a 100 MB numpy array pulled across nodes.

    python benchmarks/crossnode.py [--quick]       (also run by benchmarks/run.py)

Prints one JSON line per metric, with the cross/same ratios.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time


def _cli(*args, env):
    return subprocess.run([sys.executable, "-m", "yr_runtime.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


DRIVER = r"""
import json, sys, time, numpy as np, yr
n_sync, n_async, mb = map(int, sys.argv[1:4])
yr.init()
def on(node):
    rule = yr.Affinity(yr.AffinityKind.RESOURCE, yr.AffinityType.REQUIRED,
                       [yr.LabelOperator(yr.OperatorType.LABEL_IN, "NODE_ID", [node])])
    return yr.InvokeOptions(cpu=1000, memory=100, schedule_affinities=[rule])
@yr.instance
class Counter:
    def __init__(self): self.n = 0
    def add(self, k):
        self.n += k
        return self.n
    def size(self, refs): return yr.get(refs[0]).nbytes
out = {}
for where, node in (("same", "node-0"), ("cross", "bench-n1")):
    c = Counter.options(on(node)).invoke()
    yr.get(c.add.invoke(1))
    t = time.perf_counter()
    for _ in range(n_sync):
        yr.get(c.add.invoke(1))
    out[f"sync_{where}"] = n_sync / (time.perf_counter() - t)
    t = time.perf_counter()
    yr.get([c.add.invoke(1) for _ in range(n_async)])
    out[f"async_{where}"] = n_async / (time.perf_counter() - t)
    if where == "cross":   # the node of the instance pulls a value put here (node-0)
        ref = yr.put(np.ones(mb << 20, np.uint8))
        t = time.perf_counter()
        assert yr.get(c.size.invoke([ref]), timeout=600) == mb << 20
        out["pull_GiB_s"] = (mb / 1024) / (time.perf_counter() - t)
    c.terminate()
print(json.dumps(out))
yr.finalize()
"""


def measure(quick: bool = False) -> dict:
    n_sync, n_async, mb = (500, 2000, 100) if quick else (3000, 10000, 100)
    root = tempfile.mkdtemp(prefix="yr-bench-crossnode-")
    env = dict(os.environ, YR_SESSION_ROOT=root)
    env.pop("YR_SERVER_ADDRESS", None)
    out = _cli("start", "--master", "--cpu", "4000", env=env)
    if out.returncode:
        raise RuntimeError(out.stderr)
    try:
        address = re.search(r"yr start --master_address (\S+)", out.stdout).group(1)
        token = os.path.join(re.search(r"session: (\S+)", out.stdout).group(1), "token")
        joined = _cli("start", "--master_address", address, "--cpu", "4000", "--node-id", "bench-n1",
                      "--token-file", token, env=env)
        if joined.returncode:
            raise RuntimeError(joined.stderr)
        res = subprocess.run([sys.executable, "-c", DRIVER, str(n_sync), str(n_async), str(mb)],
                             capture_output=True, text=True, env=env, timeout=900)
        if res.returncode:
            raise RuntimeError(res.stderr)
        r = json.loads(res.stdout.strip().splitlines()[-1])
    finally:
        _cli("stop", env=env)
    r["sync_cross_over_same"] = r["sync_cross"] / r["sync_same"]
    r["async_cross_over_same"] = r["async_cross"] / r["async_same"]
    return r


if __name__ == "__main__":
    for k, v in measure("--quick" in sys.argv).items():
        print(json.dumps({"metric": k, "value": round(v, 3)}))
