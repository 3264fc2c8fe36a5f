"""A partition, with real network namespaces: the master in this one, a node `cut` in a
namespace of its own, joined over a veth pair (its own address); the test cuts the link
(`ip link set ... down`: no error, only silence) and heals it.

Checks: a cut shorter than the lease costs nothing (same worker, no restart); a cut longer
than the lease makes the node stop its workers by itself (it cannot hear the master's
shutdown) while the master restarts its instance with a restart on its own node from the
saved state; after the link heals the instance runs once (the cut-off node has stopped).
Needs root (CAP_NET_ADMIN) for `ip netns`; the namespace, the veth pair and every process
in the namespace are removed whatever happens.
"""
import json
import os
import re
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from test_examples import yr_cli
from yr_testing import run_script, wait_no_runtime_processes
from yr_runtime.local import session as sessions

TTL = 3
NS = f"yrp{os.getpid()}"
HOST_IF, NODE_IF = f"yrh{os.getpid()}", f"yrn{os.getpid()}"
NET = f"10.231.{os.getpid() % 250}"
MASTER_IP, NODE_IP = f"{NET}.1", f"{NET}.2"


def ip(*args, ns=None):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + ["ip", *args]
    subprocess.run(cmd, check=True, capture_output=True, text=True)


@pytest.fixture
def netns():
    """A network namespace joined to this one by a veth pair: MASTER_IP here, NODE_IP there."""
    try:
        ip("netns", "add", NS)
        ip("link", "add", HOST_IF, "type", "veth", "peer", "name", NODE_IF)
        ip("link", "set", NODE_IF, "netns", NS)
        ip("addr", "add", f"{MASTER_IP}/24", "dev", HOST_IF)
        ip("link", "set", HOST_IF, "up")
        ip("addr", "add", f"{NODE_IP}/24", "dev", NODE_IF, ns=NS)
        ip("link", "set", NODE_IF, "up", ns=NS)
        ip("link", "set", "lo", "up", ns=NS)
        yield NS
    finally:
        pids = subprocess.run(["ip", "netns", "pids", NS], capture_output=True, text=True).stdout.split()
        for pid in pids:   # only processes this test started live in its namespace
            try:
                os.kill(int(pid), 9)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "link", "del", HOST_IF], capture_output=True)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        assert NS not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def status(env) -> dict:
    out = yr_cli("status", "--json", env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def wait_for(what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not (got := what()):
        assert time.monotonic() < deadline, "not within the bound"
        time.sleep(0.2)
    return got


def gone(pid) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


CREATE = """
import os, yr
yr.init(yr.Config(server_address=os.environ["ADDR"]))
@yr.instance
class Keeper:
    def __init__(self): self.n = 0
    def inc(self):
        self.n += 1
        yr.save_state()
        return self.n
    def value(self): return self.n
rule = yr.Affinity(yr.AffinityKind.RESOURCE, yr.AffinityType.PREFERRED,
                   [yr.LabelOperator(yr.OperatorType.LABEL_IN, "NODE_ID", ["cut"])])
k = Keeper.options(cpu=500, recover_retry_times=1, name="fenced", lifetime="detached",
                   schedule_affinities=[rule]).invoke()
print("COUNTED", [yr.get(k.inc.invoke()) for _ in range(3)])
"""
VALUE = """
import os, yr
yr.init(yr.Config(server_address=os.environ["ADDR"]))
k = yr.get_instance("fenced")
print("VALUE", yr.get(k.value.invoke(), timeout=60), yr.get(k.inc.invoke(), timeout=60))
"""


def test_a_partitioned_node_stops_its_workers_once_its_lease_is_gone_and_never_for_a_blip(netns, tmp_path):
    root = tmp_path / "sessions"
    env = {"YR_SESSION_ROOT": str(root)}
    out = yr_cli("start", "--master", "--cpu", "1000", "--node-ip", MASTER_IP, "--node-lease-ttl", str(TTL), env=env)
    assert out.returncode == 0, out.stderr
    address = re.search(r"yr start --master_address (\S+)", out.stdout).group(1)
    try:
        joined = subprocess.run(["ip", "netns", "exec", netns, os.sys.executable, "-m", "yr_runtime.cli", "start",
                                 "--master_address", address, "--node-ip", NODE_IP, "--cpu", "1000",
                                 "--node-id", "cut"], capture_output=True, text=True, timeout=60,
                                env=dict(os.environ, **env))
        assert joined.returncode == 0 and "yr node cut joined" in joined.stdout, joined.stderr
        drv = dict(env, ADDR=address)
        res = run_script(CREATE, env=drv, timeout=120)
        assert res.returncode == 0 and "COUNTED [1, 2, 3]" in res.stdout, res.stderr
        (inst,) = [i for i in status(env)["instances"] if i["name"] == "fenced"]
        assert inst["node_id"] == "cut" and inst["endpoint"].startswith(f"tcp:{NODE_IP}:"), inst
        node = next(i for i in sessions.sessions_of(root) if i.node_id == "cut")

        ip("link", "set", HOST_IF, "down")   # a blip: shorter than the lease (heartbeats every TTL/3)
        time.sleep(TTL / 3)
        ip("link", "set", HOST_IF, "up")
        time.sleep(TTL)   # longer than the lease would have been without the heartbeats after the heal
        (after_blip,) = [i for i in status(env)["instances"] if i["name"] == "fenced"]
        assert (after_blip["node_id"], after_blip["pid"], after_blip["restarts"]) == ("cut", inst["pid"], 0)
        assert "cut" in {n["node_id"] for n in status(env)["nodes"]} and not gone(inst["pid"])

        ip("link", "set", HOST_IF, "down")   # a partition
        wait_for(lambda: "cut" not in {n["node_id"] for n in status(env)["nodes"]})
        moved = wait_for(lambda: next((i for i in status(env)["instances"]
                                       if i["name"] == "fenced" and i["state"] == "RUNNING"), None))
        assert moved["node_id"] == "node-0" and moved["restarts"] == 1, moved
        # the node heard nothing (the master's shutdown cannot reach it): it stopped its workers itself
        wait_for(lambda: gone(inst["pid"]) and gone(node.pid))
        log = (Path(node.session_dir) / "logs" / "daemon.log").read_text()
        assert f"no answer from its master at {address} within its lease ({TTL}s)" in log, log[-2000:]

        ip("link", "set", HOST_IF, "up")     # healed: the instance runs once, from its saved state
        res = run_script(VALUE, env=drv, timeout=120)
        assert res.returncode == 0 and "VALUE 3 4" in res.stdout, res.stderr
        live = [i for i in status(env)["instances"] if i["name"] == "fenced"]
        assert len(live) == 1 and live[0]["pid"] == moved["pid"]
        keepers = [p for p in psutil.process_iter(["environ"])
                   if (p.info["environ"] or {}).get("YR_SESSION_ROOT") == str(root)
                   and "YR_WORKER_BOOTSTRAP" in (p.info["environ"] or {}) and p.status() != psutil.STATUS_ZOMBIE]
        assert inst["pid"] not in {p.pid for p in keepers}
    finally:
        stop = yr_cli("stop", env=env)
        assert stop.returncode == 0, stop.stderr
    assert wait_no_runtime_processes(20, root=str(root)) == []
