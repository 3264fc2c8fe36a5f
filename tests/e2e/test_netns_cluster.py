"""Nodes with distinct addresses: a master on a bridge's address and two nodes, each in its own
network namespace (`ip netns` + a veth on that bridge), joined as from other machines (the join
bundle given with --token-file, `--node-ip` their own address). Their TLS is on by default
(`--node-ip` is not loopback), so this also runs the data path's TLS between real addresses.

Checks: the nodes join and report data ports at their own addresses; a driver calls instances on
both nodes; an instance on one node calls one on the other; objects of 5 MB and 100 MB are pulled
from the master's node, from a namespaced node by another one, and freed copies go. The namespaces
and the bridge are removed whatever happens. Needs root (the test machines run as root).
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from yr_testing import run_script, wait_no_runtime_processes
from test_examples import yr_cli
from yr_runtime.local import session as sessions

TAG = f"yr{os.getpid() % 100000}"          # interface and namespace names of this run (<= 15 chars)
NET = f"10.{200 + os.getpid() % 50}.{os.getpid() // 50 % 250}"   # a /24 of this run
NODES = {"nsa": f"{NET}.11", "nsb": f"{NET}.12"}


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def _make_network():
    bridge = f"{TAG}br"
    ip("link", "add", bridge, "type", "bridge")
    ip("addr", "add", f"{NET}.1/24", "dev", bridge)
    ip("link", "set", bridge, "up")
    for i, (node, addr) in enumerate(NODES.items()):
        ns, veth = f"{TAG}{node}", f"{TAG}v{i}"
        ip("netns", "add", ns)
        ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        ip("link", "set", veth, "master", bridge, "up")
        ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        ip("-n", ns, "link", "set", "lo", "up")


def _remove_network():
    for node in NODES:
        ip("netns", "del", f"{TAG}{node}", check=False)
    ip("link", "del", f"{TAG}br", check=False)   # its veths go with their namespaces


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    assert os.geteuid() == 0, "network namespaces need root"
    root = tmp_path_factory.mktemp("netns") / "sessions"
    env = {"YR_SESSION_ROOT": str(root), "YR_CLUSTER_TOKEN_FILE": ""}
    try:
        _make_network()
        out = yr_cli("start", "--master", "--node-ip", f"{NET}.1", "--cpu", "2000", env=env)
        assert out.returncode == 0, out.stderr
        assert "TLS: on" in out.stdout
        where = re.search(r"yr start --master_address (\S+)", out.stdout).group(1)
        bundle = Path(re.search(r"session: (\S+)", out.stdout).group(1)) / "join.bundle"
        for node, addr in NODES.items():   # as on another machine: its own address, the bundle by file
            joined = subprocess.run(
                ["ip", "netns", "exec", f"{TAG}{node}", sys.executable, "-m", "yr_runtime.cli", "start",
                 "--master_address", where, "--node-ip", addr, "--token-file", str(bundle), "--cpu", "2000",
                 "--node-id", node], capture_output=True, text=True, timeout=60, env=dict(os.environ, **env))
            assert joined.returncode == 0 and f"yr node {node} joined" in joined.stdout, joined.stderr
        yield {"env": env, "root": str(root), "address": where}
    finally:
        stop = yr_cli("stop", env=env)
        try:
            assert stop.returncode == 0, stop.stderr
            assert wait_no_runtime_processes(15, root=str(root)) == []
        finally:
            _remove_network()


def test_nodes_in_their_namespaces_report_their_own_addresses(cluster):
    infos = {i.node_id: i for i in sessions.sessions_of(Path(cluster["root"])) if i.node_id in NODES}
    assert {n: i.data_address.rsplit(":", 1)[0] for n, i in infos.items()} == {n: f"tcp:{a}" for n, a in NODES.items()}
    out = yr_cli("status", "--json", env=cluster["env"])
    assert out.returncode == 0, out.stderr
    assert set(NODES) <= {n["node_id"] for n in json.loads(out.stdout)["nodes"]}


CODE = """
import os, time, numpy as np, yr
from yr import _context
def on(node):
    rule = yr.Affinity(yr.AffinityKind.RESOURCE, yr.AffinityType.REQUIRED,
                       [yr.LabelOperator(yr.OperatorType.LABEL_IN, "NODE_ID", [node])])
    return yr.InvokeOptions(cpu=500, memory=100, schedule_affinities=[rule])
yr.init(yr.Config(server_address=%r))
@yr.instance
class Box:
    def ping(self, x): return x + 1
    def call_other(self, other, x): return yr.get(other.ping.invoke(x))
    def total(self, refs): return [int(np.asarray(yr.get(r)).sum()) for r in refs]
    def make(self, n): return yr.put(np.full(n, 3, np.uint8))
    def copies(self, refs):
        values = [yr.get(r) for r in refs]
        return sorted({l.split()[5] for l in open("/proc/self/maps") if "yr-pull-" in l})
a, b = Box.options(on("nsa")).invoke(), Box.options(on("nsb")).invoke()
assert yr.get([a.ping.invoke(1), b.ping.invoke(2)]) == [2, 3]
assert yr.get(a.call_other.invoke(b, 41)) == 42 and yr.get(b.call_other.invoke(a, 1)) == 2
print("CALLS-OK")
refs = [yr.put(np.ones(5 << 20, np.uint8)), yr.put(np.ones(100 << 20, np.uint8))]
assert yr.get(a.total.invoke(refs), timeout=120) == [5 << 20, 100 << 20]       # nsa pulls from the master's node
made = yr.get(a.make.invoke(100 << 20))                                          # lives on nsa
assert yr.get(b.total.invoke([made]), timeout=120) == [3 * (100 << 20)]          # nsb pulls it from nsa
assert int(yr.get(made, timeout=120).sum()) == 3 * (100 << 20)                  # and so does the driver
print("OBJECTS-OK")
paths = yr.get(b.copies.invoke([refs[0]]), timeout=120)
assert len(paths) == 1 and os.path.exists(paths[0]), paths
_context.current().agent.free([refs[0].id])
deadline = time.monotonic() + 60
while os.path.exists(paths[0]) and time.monotonic() < deadline:
    time.sleep(0.2)
print("FREED", not os.path.exists(paths[0]))
yr.finalize()
"""


def test_calls_and_objects_between_namespaced_nodes(cluster):
    res = run_script(CODE % cluster["address"], env=dict(cluster["env"], YR_SERVER_ADDRESS=""), timeout=300)
    assert res.returncode == 0, res.stderr
    assert "CALLS-OK" in res.stdout and "OBJECTS-OK" in res.stdout and "FREED True" in res.stdout, res.stdout
