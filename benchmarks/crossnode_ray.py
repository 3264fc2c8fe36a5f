"""Ray's side of benchmarks/crossnode.py: the same workloads on a two-node Ray cluster on this
machine (`ray.cluster_utils.Cluster`: a head and one more raylet on loopback), so the
cross-node figures of yr can be read beside Ray's from the same minutes.

    python benchmarks/crossnode_ray.py [--quick]      (needs `pip install ray numpy`)

An actor is pinned to the head ("same": the driver's node) or to the other node ("cross")
by a custom resource only that node has; then sync calls, async calls (all invoked, then
one get), and a 100 MB numpy array put by the driver and read by the actor on the other
node (one call, the pull included). Prints one JSON line with the same keys as crossnode.py.
"""
from __future__ import annotations

import json
import sys
import time


def measure(quick: bool = False) -> dict:
    import numpy as np
    import ray
    from ray.cluster_utils import Cluster

    n_sync, n_async, mb = (500, 2000, 100) if quick else (3000, 10000, 100)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 4, "resources": {"n0": 10}})
    cluster.add_node(num_cpus=4, resources={"n1": 10})
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        @ray.remote(num_cpus=0)
        class Counter:
            def __init__(self):
                self.n = 0

            def add(self, k):
                self.n += k
                return self.n

            def size(self, refs):
                return ray.get(refs[0]).nbytes

        out = {}
        for where, res in (("same", "n0"), ("cross", "n1")):
            c = Counter.options(resources={res: 1}).remote()
            ray.get(c.add.remote(1))
            t = time.perf_counter()
            for _ in range(n_sync):
                ray.get(c.add.remote(1))
            out[f"sync_{where}"] = n_sync / (time.perf_counter() - t)
            t = time.perf_counter()
            ray.get([c.add.remote(1) for _ in range(n_async)])
            out[f"async_{where}"] = n_async / (time.perf_counter() - t)
            if where == "cross":   # the actor's node pulls a value the driver put on the head
                ref = ray.put(np.ones(mb << 20, np.uint8))
                t = time.perf_counter()
                assert ray.get(c.size.remote([ref]), timeout=600) == mb << 20
                out["pull_GiB_s"] = (mb / 1024) / (time.perf_counter() - t)
            ray.kill(c)
        out["sync_cross_over_same"] = out["sync_cross"] / out["sync_same"]
        out["async_cross_over_same"] = out["async_cross"] / out["async_same"]
        return out
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    print(json.dumps({"system": "ray", **measure("--quick" in sys.argv)}))
