"""A partition, with real network namespaces: the master in this one, a node `cut` in a
namespace of its own, joined over a veth pair (its own address); the test cuts the link
(`ip link set ... down`: no error, only silence) and heals it.

Checks: a cut shorter than the lease costs nothing (same worker, no restart); a cut longer
than the lease makes the node stop its workers by itself (it cannot hear the master's
shutdown) while the master restarts its instance with a restart on its own node from the
saved state; after the link heals the instance runs once (the cut-off node has stopped).
A caller on the node's side of the cut keeps calling: its acknowledged increments are never
undone (a save waits for the master; with saves answered at once this test fails, and the
node, flooding a stream nobody reads, used to hang on gRPC's shutdown instead of stopping).
Needs root (CAP_NET_ADMIN) for `ip netns`; the namespace, the veth pair and every process
in the namespace are removed whatever happens.
"""
import os
import re
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from cluster_cli import status, wait_for
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
INSIDE = """
import os, sys, yr
yr.init(yr.Config(server_address=os.environ["ADDR"]))
k = yr.get_instance("fenced")
print("READY", flush=True)
while not os.path.exists(sys.argv[1]):
    try:
        print("ACK", yr.get(k.inc.invoke(), timeout=60), flush=True)
    except Exception as e:   # not acknowledged: may or may not have happened
        print("FAIL", type(e).__name__, flush=True)
yr.finalize()
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
    inside = None
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

        # a caller on the node's side of the cut: it still reaches the worker, not the master;
        # a save waits for the master, so no call is acknowledged whose state the master lacks
        stop_flag = tmp_path / "stop-inside"
        inside = subprocess.Popen(["ip", "netns", "exec", netns, os.sys.executable, "-c", INSIDE, str(stop_flag)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=dict(os.environ, **drv))
        assert inside.stdout.readline().startswith("READY"), inside.stderr.read() if inside.poll() is not None else ""
        time.sleep(1)
        ip("link", "set", HOST_IF, "down")   # a partition
        wait_for(lambda: "cut" not in {n["node_id"] for n in status(env)["nodes"]}, timeout=60)
        moved = wait_for(lambda: next((i for i in status(env)["instances"]
                                       if i["name"] == "fenced" and i["state"] == "RUNNING"), None), timeout=60)
        assert moved["node_id"] == "node-0" and moved["restarts"] == 1, moved
        # the node heard nothing (the master's shutdown cannot reach it): it stopped its workers itself
        wait_for(lambda: gone(inst["pid"]) and gone(node.pid), timeout=60)
        log = (Path(node.session_dir) / "logs" / "daemon.log").read_text()
        assert f"no answer from its master at {address} within its lease ({TTL}s)" in log, log[-2000:]

        ip("link", "set", HOST_IF, "up")     # healed: the instance runs once, from its saved state
        time.sleep(2)
        stop_flag.touch()
        out, err = inside.communicate(timeout=180)
        acked = [int(line.split()[1]) for line in out.splitlines() if line.startswith("ACK")]
        assert acked and acked == sorted(acked), out   # an acknowledged increment is never undone
        res = run_script(VALUE, env=drv, timeout=120)
        assert res.returncode == 0, res.stderr
        value = int(res.stdout.split("VALUE ")[1].split()[0])
        assert value >= acked[-1] and f"VALUE {value} {value + 1}" in res.stdout, (res.stdout, acked)
        live = [i for i in status(env)["instances"] if i["name"] == "fenced"]
        assert len(live) == 1 and live[0]["pid"] == moved["pid"]
        keepers = [p for p in psutil.process_iter(["environ"])
                   if (p.info["environ"] or {}).get("YR_SESSION_ROOT") == str(root)
                   and "YR_WORKER_BOOTSTRAP" in (p.info["environ"] or {}) and p.status() != psutil.STATUS_ZOMBIE]
        assert inst["pid"] not in {p.pid for p in keepers}
    finally:
        if inside is not None and inside.poll() is None:
            inside.kill()
            inside.communicate()
        stop = yr_cli("stop", env=env)
        assert stop.returncode == 0, stop.stderr
    assert wait_no_runtime_processes(20, root=str(root)) == []
