"""Cluster failures with real nodes, a real etcd and real signals (docs/faults.md, "Cluster").

Module cluster `leased`: `yr start --master --etcd auto --node-lease-ttl 2` and three joined
nodes n1..n3. A hung node (SIGSTOP of its process group) is declared dead by its lease and its
instances move or die naming it; a node killed with SIGKILL fails the calls in flight on it at
once naming it, while an instance with a restart comes back elsewhere with its saved state; a
node stopped with `yr stop --node` is removed without waiting for its lease.
Cluster `restartable` (per test): an etcd the test owns (it outlives the master), a master
with a known port and token, nodes: calls go on while the master is killed and started again,
the new master reloads and reconciles; with the in-memory store what survives is pinned too;
etcd stopped for 10 s changes nothing for calls or workers and the records catch up.
"""
import asyncio
import os
import re
import signal
import time
from pathlib import Path

import psutil
import pytest

from cluster_cli import status, wait_for
from test_examples import yr_cli
from yr_testing import run_script, wait_no_runtime_processes
from yr_runtime.local import session as sessions
from yr_runtime.store import decode_json, keys
from yr_runtime.store import etcd_server
from yr_runtime.store.etcd import EtcdStore

TTL = 2
CID = "default"


def start_master(env, *extra):
    out = yr_cli("start", "--master", "--cpu", "1000", *extra, env=env)
    assert out.returncode == 0, out.stderr
    address = re.search(r"yr start --master_address (\S+)", out.stdout).group(1)
    session = re.search(r"session: (\S+)", out.stdout).group(1)
    return address, session


def join(env, address, node, cpu=2000, *extra):
    out = yr_cli("start", "--master_address", address, "--cpu", str(cpu), "--node-id", node, *extra, env=env)
    assert out.returncode == 0 and f"yr node {node} joined" in out.stdout, out.stderr


def node_session(root, node_id):
    return next(i for i in sessions.sessions_of(Path(root)) if i.node_id == node_id)


def etcd_values(url, prefix_of) -> dict:
    async def read():
        store = await EtcdStore([url]).connect()
        try:
            return dict(await store.range(prefix_of(CID)))
        finally:
            await store.close()
    return asyncio.run(read())


PREFER = """
import yr
def on(node, **kw):
    rule = yr.Affinity(yr.AffinityKind.RESOURCE, yr.AffinityType.PREFERRED,
                       [yr.LabelOperator(yr.OperatorType.LABEL_IN, "NODE_ID", [node])])
    return dict(schedule_affinities=[rule], **kw)
@yr.instance
class Keeper:
    def __init__(self): self.n = 0
    def inc(self):
        self.n += 1
        yr.save_state()
        return self.n
    def value(self): return self.n
    def slow(self, s):
        import time
        time.sleep(s)
        return "done"
"""


@pytest.fixture(scope="module")
def leased(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults") / "sessions"
    env = {"YR_SESSION_ROOT": str(root)}
    address, session = start_master(env, "--etcd", "auto", "--node-lease-ttl", str(TTL))
    try:
        for node in ("n1", "n2", "n3"):
            join(env, address, node)
        yield {"env": env, "root": str(root), "address": address, "session": session}
    finally:
        out = yr_cli("stop", env=env)
        assert out.returncode == 0, out.stderr
        assert wait_no_runtime_processes(20, root=str(root)) == []


def test_the_master_keeps_nodes_and_instances_in_its_etcd(leased):
    master = psutil.Process(sessions.read_info(Path(leased["session"])).pid)
    (etcd,) = [p for p in master.children() if os.path.basename(p.cmdline()[0]) == "etcd"]
    url = re.search(r"--listen-client-urls[ =](\S+)", " ".join(etcd.cmdline())).group(1)
    assert str(Path(leased["session"]) / "etcd") in " ".join(etcd.cmdline())   # its data in the session
    res = run_script(PREFER + """
yr.init()
k = Keeper.options(**on("n1", cpu=500, name="recorded", lifetime="detached")).invoke()
print("ID", k.instance_id, yr.get(k.inc.invoke()))
""", env=leased["env"], timeout=120)
    assert res.returncode == 0, res.stderr
    iid = res.stdout.split("ID ")[1].split()[0]
    nodes = wait_for(lambda: etcd_values(url, keys.nodes_prefix))
    assert {keys.last_segment(k) for k in nodes} >= {"node-0", "n1", "n2", "n3"}
    rec = wait_for(lambda: etcd_values(url, keys.instances_prefix).get(keys.instance_key(CID, iid)))
    rec = decode_json(rec)
    assert rec["node_id"] == "n1" and rec["name"] == "recorded" and rec["epoch"] == 1
    assert decode_json(etcd_values(url, keys.names_prefix)[keys.name_key(CID, "", "recorded")]) == iid
    run_script(f"import yr\nyr.init()\nyr.get_instance('recorded').terminate()\n", env=leased["env"])


def _ended(pid: int) -> bool:
    """Whether the process is gone or a zombie (it may end between two looks at it)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_hung_node_is_declared_dead_by_its_lease_and_its_instances_move_or_die(leased):
    env = leased["env"]
    res = run_script(PREFER + """
yr.init()
k = Keeper.options(**on("n1", cpu=1000, recover_retry_times=1, name="hung-keeper", lifetime="detached")).invoke()
p = Keeper.options(**on("n1", cpu=500, name="hung-plain", lifetime="detached")).invoke()
print("COUNTED", [yr.get(k.inc.invoke()) for _ in range(3)], yr.get(p.value.invoke()))
""", env=env, timeout=120)
    assert res.returncode == 0 and "COUNTED [1, 2, 3] 0" in res.stdout, res.stderr
    before = {i["name"]: i for i in status(env)["instances"] if i["name"].startswith("hung-")}
    assert {i["node_id"] for i in before.values()} == {"n1"}
    n1 = node_session(leased["root"], "n1")
    pgid = os.getpgid(n1.pid)
    os.killpg(pgid, signal.SIGSTOP)   # hung, connections open
    try:
        wait_for(lambda: "n1" not in {n["node_id"] for n in status(env)["nodes"]})
        after = {i["instance_id"]: i for i in status(env)["instances"]}
        plain = after[before["hung-plain"]["instance_id"]]
        assert plain["state"] == "DEAD" and "node n1 was lost (no heartbeat for 2s)" in plain["exit_reason"], plain
        keeper = wait_for(lambda: next((i for i in status(env)["instances"]
                                        if i["name"] == "hung-keeper" and i["state"] == "RUNNING"), None))
        assert keeper["node_id"] != "n1" and keeper["restarts"] == 1
        res = run_script("import yr\nyr.init()\nk = yr.get_instance('hung-keeper')\n"
                         "print('VALUE', yr.get(k.value.invoke()))\nk.terminate()\n", env=env, timeout=120)
        assert res.returncode == 0 and "VALUE 3" in res.stdout, res.stderr   # its saved state came along
    finally:
        os.killpg(pgid, signal.SIGCONT)
    # resumed, it learns it was declared dead (or registers as a new node): its old workers stop,
    # so no instance runs twice
    for i in before.values():
        wait_for(lambda: _ended(i["pid"]))


def test_a_killed_nodes_calls_in_flight_fail_at_once_naming_it_and_a_restartable_instance_comes_back(leased):
    env = leased["env"]
    res = run_script(PREFER + """
import os, signal, time
from pathlib import Path
from yr_runtime.local import session as sessions
yr.init()
slow = Keeper.options(**on("n2", cpu=500)).invoke()
keep = Keeper.options(**on("n2", cpu=1000, recover_retry_times=1)).invoke()
print("COUNTED", [yr.get(keep.inc.invoke()) for _ in range(2)], yr.get(slow.value.invoke()), flush=True)
ref = slow.slow.invoke(120)
time.sleep(1)
n2 = next(i for i in sessions.sessions_of(Path(os.environ["YR_SESSION_ROOT"])) if i.node_id == "n2")
os.killpg(os.getpgid(n2.pid), signal.SIGKILL)
t = time.monotonic()
try:
    yr.get(ref, timeout=100)
    print("NO ERROR")
except yr.exceptions.InstanceDiedError as e:
    print("DIED", time.monotonic() - t < 100, str(e))
print("KEPT", yr.get(keep.value.invoke(), timeout=100), yr.get(keep.inc.invoke()))
yr.finalize()
""", env=env, timeout=240)
    assert res.returncode == 0, res.stderr
    assert "COUNTED [1, 2] 0" in res.stdout
    died = res.stdout.split("DIED ", 1)[1].splitlines()[0]
    assert died.startswith("True") and "node n2" in died, died
    assert "KEPT 2 3" in res.stdout
    wait_for(lambda: "n2" not in {n["node_id"] for n in status(env)["nodes"]})
    sessions.remove_stale(Path(leased["root"]))


def test_a_node_stopped_gracefully_is_removed_without_waiting_for_its_lease(leased):
    env = leased["env"]
    res = run_script(PREFER + """
yr.init()
k = Keeper.options(**on("n3", cpu=500, name="graceful", lifetime="detached")).invoke()
print("OK", yr.get(k.inc.invoke()))
""", env=env, timeout=120)
    assert res.returncode == 0 and "OK 1" in res.stdout, res.stderr
    out = yr_cli("stop", "--node", "n3", env=env)
    assert out.returncode == 0, out.stderr
    st = status(env)   # at once: the stop returned, and the master already knows
    assert "n3" not in {n["node_id"] for n in st["nodes"]}
    (rec,) = [i for i in st["instances"] if i["name"] == "graceful"]
    assert rec["state"] == "DEAD" and rec["exit_reason"] == "its node n3 was lost (it stopped)", rec


# ---- a master restarted, etcd stopped: clusters of their own ------------------------------------------
DRIVER = PREFER + """
import os, sys, time
yr.init(yr.Config(server_address=os.environ["ADDR"]))
flags = sys.argv[1]
a = Keeper.options(**on("n1", cpu=500)).invoke()
b = Keeper.options(**on("n2", cpu=500, recover_retry_times=1)).invoke()
calls = failures = 0
def call_both():
    global calls, failures
    for h in (a, b):
        try:
            yr.get(h.inc.invoke(), timeout=30)
            calls += 1
        except Exception as e:
            failures += 1
            print("FAILED", type(e).__name__, e, flush=True)
call_both()
print("READY", flush=True)
while not os.path.exists(flags + "/down"):
    call_both()
created = Keeper.options(**on("n2", cpu=500)).invoke()   # issued while the master (or etcd) is away
while not os.path.exists(flags + "/up"):
    call_both()
for _ in range(20):
    call_both()
print("CREATED", yr.get(created.inc.invoke(), timeout=60), flush=True)
print("VALUES", yr.get(a.value.invoke()) == calls // 2 or (calls, yr.get(a.value.invoke())), flush=True)
print("CALLS", calls, "FAILURES", failures, flush=True)
yr.finalize()
"""


@pytest.fixture
def own_etcd(tmp_path):
    (tmp_path / "etcd-owner").mkdir()
    server = etcd_server.start(tmp_path / "etcd-owner")   # outlives the masters of the test
    yield server
    server.stop()


@pytest.fixture
def restartable(tmp_path):
    """(env, start(): starts the master with a known port and token, returns its address)."""
    root = tmp_path / "sessions"
    env = {"YR_SESSION_ROOT": str(root)}
    token = tmp_path / "token"
    token.write_text(os.urandom(32).hex())
    token.chmod(0o600)
    port = str(etcd_server.free_port())

    def start(*extra, ttl="10"):
        return start_master(env, "--port", port, "--token-file", str(token), "--node-lease-ttl", ttl, *extra)[0]
    yield {"env": env, "root": str(root), "start": start, "token": str(token), "flags": tmp_path}
    out = yr_cli("stop", env=env)
    assert out.returncode == 0 or "no yr runtime is running" in out.stderr, out.stderr
    assert wait_no_runtime_processes(20, root=str(root)) == []


def run_driver(c, address):
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(c["flags"])], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, **c["env"], ADDR=address))
    line = proc.stdout.readline()
    assert line.startswith("READY"), (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc


def master_pid(c):
    return next(i.pid for i in sessions.sessions_of(Path(c["root"])) if not i.joined)


def test_a_master_restarted_with_etcd_loses_no_call_no_instance_and_duplicates_none(own_etcd, restartable):
    c = restartable
    address = c["start"]("--etcd", own_etcd.url)
    for node in ("n1", "n2"):
        join(c["env"], address, node, 2000, "--token-file", c["token"])
    driver = run_driver(c, address)
    before = {i["instance_id"]: i for i in status(c["env"])["instances"] if i["class_name"] == "Keeper"}
    assert len(before) == 2
    old = master_pid(c)
    os.killpg(os.getpgid(old), signal.SIGKILL)   # the master and its own node, at once
    psutil.Process(old).wait(10) if psutil.pid_exists(old) else None
    (c["flags"] / "down").touch()
    time.sleep(1)   # calls go on meanwhile, straight from the driver to the workers
    sessions.remove_stale(Path(c["root"]))
    assert c["start"]("--etcd", own_etcd.url) == address
    st = wait_for(lambda: (s := status(c["env"])) and {n["node_id"] for n in s["nodes"]} == {"node-0", "n1", "n2"} and s)
    after = [i for i in st["instances"] if i["instance_id"] in before]
    assert len(after) == 2   # each once, on its node, in the same worker: nothing lost, nothing twice
    for i in after:
        was = before[i["instance_id"]]
        assert (i["state"], i["node_id"], i["pid"], i["endpoint"], i["restarts"]) == (
            "RUNNING", was["node_id"], was["pid"], was["endpoint"], 0), i
        assert psutil.pid_exists(i["pid"])
    (c["flags"] / "up").touch()
    out, err = driver.communicate(timeout=240)
    assert driver.returncode == 0, err
    assert "FAILURES 0" in out and "FAILED" not in out, out
    assert "CREATED 1" in out and "VALUES True" in out, out
    assert len([i for i in status(c["env"])["instances"] if i["class_name"] == "Keeper"]) == 3


def test_a_master_restarted_with_the_memory_store_keeps_its_nodes_but_not_their_instances(restartable):
    c = restartable
    address = c["start"]()
    join(c["env"], address, "n1", 2000, "--token-file", c["token"])
    res = run_script(PREFER + """
import os
yr.init(yr.Config(server_address=os.environ["ADDR"]))
k = Keeper.options(**on("n1", cpu=500, lifetime="detached", name="forgotten")).invoke()
print("OK", yr.get(k.inc.invoke()))
""", env=dict(c["env"], ADDR=address), timeout=120)
    assert res.returncode == 0 and "OK 1" in res.stdout, res.stderr
    (inst,) = [i for i in status(c["env"])["instances"] if i["name"] == "forgotten"]
    node_pid = node_session(c["root"], "n1").pid
    old = master_pid(c)
    os.killpg(os.getpgid(old), signal.SIGKILL)
    sessions.remove_stale(Path(c["root"]))
    c["start"]()
    st = wait_for(lambda: (s := status(c["env"])) and "n1" in {n["node_id"] for n in s["nodes"]} and s)
    assert st["instances"] == [] or "forgotten" not in {i["name"] for i in st["instances"]}
    assert psutil.pid_exists(node_pid)   # the node came back to the new master
    wait_for(lambda: not psutil.pid_exists(inst["pid"]) or psutil.Process(inst["pid"]).status() == psutil.STATUS_ZOMBIE)


def test_a_node_without_its_master_for_longer_than_its_lease_stops_its_workers(restartable):
    c = restartable
    address = c["start"](ttl="2")
    join(c["env"], address, "n1", 2000, "--token-file", c["token"])
    res = run_script(PREFER + """
import os
yr.init(yr.Config(server_address=os.environ["ADDR"]))
k = Keeper.options(**on("n1", cpu=500, lifetime="detached", name="orphan")).invoke()
print("OK", yr.get(k.inc.invoke()))
""", env=dict(c["env"], ADDR=address), timeout=120)
    assert res.returncode == 0 and "OK 1" in res.stdout, res.stderr
    (inst,) = [i for i in status(c["env"])["instances"] if i["name"] == "orphan"]
    n1 = node_session(c["root"], "n1")
    old = master_pid(c)
    os.killpg(os.getpgid(old), signal.SIGKILL)   # and never started again
    psutil.Process(n1.pid).wait(40)   # the node gave up after its lease, and stopped
    assert not psutil.pid_exists(inst["pid"]) or psutil.Process(inst["pid"]).status() == psutil.STATUS_ZOMBIE
    log = (Path(n1.session_dir) / "logs" / "daemon.log").read_text()
    assert "registering again" in log and "did not get back to its master within its lease (2s)" in log, log
    sessions.remove_stale(Path(c["root"]))


def test_etcd_stopped_for_10s_changes_nothing_for_calls_or_workers_and_creates_go_on(own_etcd, restartable):
    c = restartable
    address = c["start"]("--etcd", own_etcd.url)
    for node in ("n1", "n2"):
        join(c["env"], address, node, 2000, "--token-file", c["token"])
    driver = run_driver(c, address)
    pids = {i["pid"] for i in status(c["env"])["instances"] if i["class_name"] == "Keeper"}
    os.kill(own_etcd.proc.pid, signal.SIGSTOP)
    try:
        (c["flags"] / "down").touch()
        time.sleep(10)
        st = status(c["env"])   # the master answers, all nodes alive
        assert {n["node_id"] for n in st["nodes"]} == {"node-0", "n1", "n2"}
    finally:
        os.kill(own_etcd.proc.pid, signal.SIGCONT)
    live = {i["instance_id"] for i in status(c["env"])["instances"] if i["class_name"] == "Keeper"}
    assert len(live) == 3   # with the one created while etcd was stopped; now their records catch up
    wait_for(lambda: live <= {keys.last_segment(k) for k in etcd_values(own_etcd.url, keys.instances_prefix)})
    assert all(psutil.pid_exists(p) for p in pids)   # no worker was killed
    (c["flags"] / "up").touch()
    out, err = driver.communicate(timeout=240)
    assert driver.returncode == 0, err
    assert "FAILURES 0" in out and "CREATED 1" in out, out
    daemon_log = Path(sessions.read_info(Path(next(i.session_dir for i in sessions.sessions_of(Path(c["root"]))
                                                    if not i.joined))).session_dir) / "logs" / "daemon.log"
    text = daemon_log.read_text()
    assert "the metadata store is unreachable" in text and "the metadata store answers again" in text


def test_bad_etcd_and_lease_values_are_refused_naming_them(tmp_path):
    env = {"YR_SESSION_ROOT": str(tmp_path / "sessions")}
    out = yr_cli("start", "--master", "--etcd", "ftp://h:1", env=env)
    assert out.returncode != 0 and "--etcd 'ftp://h:1'" in out.stderr and "only http://" in out.stderr
    out = yr_cli("start", "--master", "--etcd", f"http://127.0.0.1:{etcd_server.free_port()}", env=env)
    assert out.returncode != 0 and "no etcd endpoint answered" in out.stderr, out.stderr
    out = yr_cli("start", "--master", "--node-lease-ttl", "0", env=env)
    assert out.returncode != 0 and "--node-lease-ttl" in out.stderr
    out = yr_cli("start", "--master_address", "127.0.0.1:1", "--etcd", "auto", env=env)
    assert out.returncode != 0 and "are the master's" in out.stderr
    assert wait_no_runtime_processes(10, root=env["YR_SESSION_ROOT"]) == []
