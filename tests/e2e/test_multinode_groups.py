"""Resource groups, function groups and checkpoints across two nodes (a master and a joined
node on one machine over loopback; the pure rules: tests/core/test_group_core.py). Each
node has 2000 millicores, so bundles of 1500 fit one per node: a group is reserved across
both nodes or not at all, an instance goes to its bundle's node, a gang of three fails
without starting any, and a checkpoint taken on one node is restored on the other."""

import pytest

from yr_testing import run_script
from cluster_of_two import master_and_far


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory):
    yield from master_and_far(tmp_path_factory, "multinode-groups")


SCRIPT = """
import json, subprocess, sys, yr
yr.init()

def nodes_of(*handles):
    st = json.loads(subprocess.run([sys.executable, "-m", "yr_runtime.cli", "status", "--json"],
                                   capture_output=True, text=True).stdout)
    where = {i["instance_id"]: i["node_id"] for i in st["instances"]}
    return [where[h.instance_id] for h in handles]

def free():
    return sorted(int(n["allocatable"]["CPU"]) for n in yr.resources())

@yr.instance
class Counter:
    def __init__(self, n=0):
        self.n = n
    def add(self, k=1):
        self.n += k
        return self.n

def in_bundle(name, i):
    return yr.InvokeOptions(cpu=1500, memory=100, resource_group_options=yr.ResourceGroupOptions(name, i))

# a group that fits only across both nodes is reserved there, all at once
rg = yr.create_resource_group([{"CPU": 1500}, {"CPU": 1500}], "across", strategy="PACK")
rg.wait(60)
print("FREE", free())
a, b = (Counter.options(in_bundle("across", i)).invoke(i) for i in range(2))
print("CALLS", yr.get([a.add.invoke(), b.add.invoke()], 60))
print("NODES", sorted(nodes_of(a, b)))
# no room for a third bundle anywhere: all or nothing, naming the resource
try:
    yr.create_resource_group([{"CPU": 1500}] * 3, "three").wait(60)
    print("THREE reserved")
except yr.ResourceUnavailableError as e:
    print("THREE", "can never be reserved" in str(e), "cpu=1500m" in str(e))
yr.remove_resource_group(rg)
print("FREED", free())

# a gang of two spreads over the nodes and starts; a gang of three starts none
opts = yr.FunctionGroupOptions(cpu=1500, memory=100, scheduling_affinity_each_bundle_size=1, timeout=60)
g = yr.create_function_group(Counter, (10,), 2, opts)
print("GANG", yr.get(g.add.invoke(), 60), sorted(nodes_of(*g.instances)))
g.terminate()
try:
    yr.create_function_group(Counter, (), 3, opts)
    print("GANG3 started")
except yr.ResourceUnavailableError as e:
    print("GANG3", "can never be reserved" in str(e), free() == [2000, 2000])

# a checkpoint taken on the far node is restored on the master's node
def on(node):
    return yr.InvokeOptions(cpu=500, memory=100, schedule_affinities=[yr.Affinity(
        yr.AffinityKind.RESOURCE, yr.AffinityType.REQUIRED,
        [yr.LabelOperator(yr.OperatorType.LABEL_IN, "NODE_ID", [node])])])
far = Counter.options(on("far")).invoke(40)
yr.get(far.add.invoke(2), 60)
ckpt = far.snapshot()
near = yr.restore_from_checkpoint(ckpt, Counter.options(on("node-0")))
print("CKPT", nodes_of(near), yr.get(near.add.invoke(), 60), ckpt in yr.list_checkpoints(Counter))
yr.finalize()
"""


def test_groups_and_checkpoints_across_nodes(two_nodes):
    out = run_script(SCRIPT, env=two_nodes, timeout=240)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    assert lines["FREE"] == "[500, 500]"            # one bundle on each node
    assert lines["CALLS"] == "[1, 2]"
    assert lines["NODES"] == "['far', 'node-0']"    # each instance on its bundle's node
    assert lines["THREE"] == "True True"
    assert lines["FREED"] == "[2000, 2000]"
    assert lines["GANG"] == "[11, 11] ['far', 'node-0']"
    assert lines["GANG3"] == "True True"
    assert lines["CKPT"] == "['node-0'] 43 True"
