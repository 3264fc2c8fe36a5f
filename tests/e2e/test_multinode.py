"""Several nodes joined to one master, on one machine over loopback: `yr start --master` and
three `yr start --master_address`, each node with its own session directory, ports and cpu.

Checks: join and `yr status --json`; instances spread over all nodes by cpu and called over
TCP (from the driver and from an instance on another node); a stateless function; `yr stop
--node` kills that node's instances naming it; a bad token and a bad protocol version are
refused on the master's TCP port; objects across nodes (puts of 41, 5 MB and 100 MB passed
nested and top level, refs made on a node, results made on another node, a value lent to this node's worker and
returned by reference, then passed to other nodes); the data port
refusing bad preambles; one TCP data port per node; an object whose node is gone is lost,
naming both; a node killed outright is removed with its instances and workers; an
instance with a restart on a stopped node resumes on another node from its saved state; the
default `yr.init()` runtime opens no TCP port; nothing is left running at the end.
"""
import json
import os
import re
import signal
import time
from pathlib import Path

import socket
import struct
import subprocess
import sys

import grpc
import psutil
import pytest

from yr_testing import run_script, runtime_processes, wait_no_runtime_processes
from test_examples import yr_cli
from yr_runtime.local import session as sessions
from yr_runtime.node import dataport
from yr_runtime.wire import address, frames, handshake, preamble
from yr_runtime.wire.messages import ObjMissing
from yr_runtime.proto import control_pb2 as pb
from yr_runtime.proto import control_pb2_grpc as pbg
from yr_runtime.wire.handshake import PROTOCOL_VERSION

NODE_CPU = 2000
JOINED = ("n1", "n2", "n3")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("multinode") / "sessions"
    env = {"YR_SESSION_ROOT": str(root)}
    out = yr_cli("start", "--master", "--cpu", str(NODE_CPU), env=env)
    assert out.returncode == 0, out.stderr
    address = re.search(r"yr start --master_address (\S+)", out.stdout).group(1)
    token_file = os.path.join(re.search(r"session: (\S+)", out.stdout).group(1), "token")
    # n1 finds the token in the master's session here; n2 is told its file by the environment,
    # n3 by --token-file (as on another machine)
    ssd = 'function_agent.args.custom_resources="{\\"ssd\\":2}"'
    how = {"n1": (("--labels", "zone=b"), {}), "n2": ((), {"YR_CLUSTER_TOKEN_FILE": token_file}),
           "n3": (("--token-file", token_file, "-s", ssd), {})}
    try:
        for i, node in enumerate(JOINED):
            flag = "--master_address" if i % 2 == 0 else "--master-address"   # both spellings
            extra, extra_env = how[node]
            out = yr_cli("start", flag, address, "--cpu", str(NODE_CPU), "--node-id", node, *extra,
                         env=dict(env, **extra_env))
            assert out.returncode == 0, out.stderr
            assert f"yr node {node} joined" in out.stdout
        yield {"env": env, "address": address, "root": str(root)}
    finally:
        stop = yr_cli("stop", env=env)
        assert stop.returncode == 0, stop.stderr
        assert wait_no_runtime_processes(15, root=str(root)) == []


def status(cluster) -> dict:
    out = yr_cli("status", "--json", env=cluster["env"])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_nodes_join_and_status_lists_them(cluster):
    st = status(cluster)
    nodes = {n["node_id"]: n for n in st["nodes"]}
    assert set(nodes) == {"node-0", *JOINED}
    for n in nodes.values():
        assert int(n["total"]["cpu_millis"]) == NODE_CPU and n["state"] == "ALIVE"
    assert all(nodes[n]["address"] == "127.0.0.1" for n in JOINED)
    assert nodes["n3"]["total"]["custom"] == {"ssd": 2.0} and nodes["n1"]["total"]["custom"] == {}
    assert nodes["n1"]["labels"] == {"zone": "b"} and nodes["n2"]["labels"] == {}
    assert st["tcp_address"] == cluster["address"]
    token = open(os.path.join(st["session_dir"], "token")).read().strip()
    procs = runtime_processes(cluster["root"])
    assert len(procs) >= 4 and not [p for p in procs if token in " ".join(p.cmdline())]
    text = yr_cli("status", env=cluster["env"]).stdout
    assert "nodes: 4" in text and all(f"  {n}  127.0.0.1  ALIVE" in text for n in JOINED)
    assert "  n1  127.0.0.1  ALIVE  labels zone=b  " in text


def test_instances_spread_over_nodes_and_are_called_over_tcp(cluster):
    code = """
import json, subprocess, sys, yr
yr.init()
@yr.instance
class Counter:
    def __init__(self): self.n = 0
    def add(self, x):
        self.n += x
        return self.n
    def call_other(self, other, x):
        return yr.get(other.add.invoke(x))
hs = [Counter.options(cpu=1000, memory=100).invoke() for _ in range(8)]
print("SUMS", [yr.get(h.add.invoke(i)) for i, h in enumerate(hs)])
print("VIA", [yr.get(hs[i].call_other.invoke(hs[(i + 3) % 8], 10)) for i in range(8)])
st = json.loads(subprocess.run([sys.executable, "-m", "yr_runtime.cli", "status", "--json"],
                               capture_output=True, text=True).stdout)
live = [i for i in st["instances"] if i["state"] == "RUNNING" and i["class_name"] == "Counter"]
print("PLACED", json.dumps(sorted([i["node_id"], i["endpoint"]] for i in live)))
for h in hs[:2]:
    h.terminate()
@yr.invoke
def double(x): return 2 * x
print("STATELESS", yr.get([double.invoke(i) for i in range(6)]))
yr.finalize()
"""
    res = run_script(code, env=cluster["env"], timeout=180)
    assert res.returncode == 0, res.stderr
    assert "SUMS [0, 1, 2, 3, 4, 5, 6, 7]" in res.stdout
    # each instance i holds i; instance (i+3)%8 gets 10 added by instance i (on another node, mostly)
    assert "VIA [13, 14, 15, 16, 17, 10, 11, 12]" in res.stdout
    placed = json.loads(res.stdout.split("PLACED ", 1)[1].splitlines()[0])
    assert len(placed) == 8
    assert {node for node, _ in placed} == {"node-0", *JOINED}
    ports = {}   # every node's workers are reached through that node's one data port
    for node, endpoint in placed:
        m = re.fullmatch(r"tcp:127\.0\.0\.1:(\d+)/\S+", endpoint)
        assert m, (node, endpoint)
        ports.setdefault(node, set()).add(m.group(1))
    assert all(len(p) == 1 for p in ports.values()) and len(set().union(*ports.values())) == 4, ports
    assert "STATELESS [0, 2, 4, 6, 8, 10]" in res.stdout


def test_driver_connects_to_the_master_by_its_tcp_address(cluster):
    code = """
import yr
yr.init(yr.Config(server_address=%r))
@yr.instance
class A:
    def ping(self): return "pong"
print("GOT", yr.get(A.options(cpu=1000).invoke().ping.invoke()))
yr.finalize()
""" % cluster["address"]
    res = run_script(code, env=dict(cluster["env"], YR_SERVER_ADDRESS=""), timeout=120)
    assert res.returncode == 0, res.stderr
    assert "GOT pong" in res.stdout
    bad = run_script("import yr\nyr.init(yr.Config(server_address='127.0.0.1:1'))\n", env=cluster["env"])
    assert bad.returncode != 0 and "no yr master listening there" in bad.stderr


# ---- objects across nodes and the data port ----------------------------------------------------
PIN = """
import os, numpy as np, yr
def on(node):
    rule = yr.Affinity(yr.AffinityKind.RESOURCE, yr.AffinityType.REQUIRED,
                       [yr.LabelOperator(yr.OperatorType.LABEL_IN, "NODE_ID", [node])])
    return yr.InvokeOptions(cpu=500, memory=100, schedule_affinities=[rule])
"""


def test_objects_cross_nodes_by_ref_nested_and_as_results(cluster):
    code = PIN + """
yr.init()
@yr.instance
class Box:
    def total(self, refs, named):   # refs nested in a list and a dict: fetched here, on this node
        return [int(np.asarray(yr.get(r)).sum()) for r in refs] + [int(np.asarray(yr.get(r)).sum()) for r in named.values()]
    def top(self, x):               # a top-level ref arrives as its value
        return int(np.asarray(x).sum())
    def make(self, n):              # a yr.put on this node, handed out as a ref
        return yr.put(np.full(n, 3, np.uint8))
    def produce(self, n):           # a large result made on this node
        return np.full(n, 2, np.uint8)
    def node(self): return os.environ["INSTANCE_ID"]
    def echo(self, x): return x
boxes = {n: Box.options(on(n)).invoke() for n in ("n1", "n2", "n3")}
small, mid, big = 41, np.ones(5 << 20, np.uint8), np.ones(100 << 20, np.uint8)
refs = [yr.put(small), yr.put(mid), yr.put(big)]
for n, b in boxes.items():
    got = yr.get(b.total.invoke([refs[0], refs[1]], {"big": refs[2]}), timeout=120)
    assert got == [41, 5 << 20, 100 << 20], (n, got)
    assert yr.get(b.top.invoke(refs[2]), timeout=120) == 100 << 20
print("DRIVER-PUTS-OK")
made = yr.get(boxes["n1"].make.invoke(6 << 20))          # lives in n1's store
assert int(yr.get(made, timeout=120).sum()) == 3 * (6 << 20)   # pulled by the driver (node-0)
assert yr.get(boxes["n2"].total.invoke([made], {}), timeout=120) == [3 * (6 << 20)]   # by n2, nested
assert yr.get(boxes["n3"].top.invoke(made), timeout=120) == 3 * (6 << 20)             # by n3's caller
small_made = yr.get(boxes["n2"].make.invoke(10))
assert int(yr.get(small_made).sum()) == 30 and yr.get(boxes["n1"].total.invoke([small_made], {})) == [30]
print("NODE-PUTS-OK")
res = boxes["n3"].produce.invoke(3 << 20)                 # a result made on n3, fetched on node-0
assert int(yr.get(res, timeout=120).sum()) == 2 * (3 << 20)
here = Box.options(on("node-0")).invoke().produce.invoke(3 << 20)
assert int(yr.get(here, timeout=120).sum()) == 2 * (3 << 20)
# another machine cannot map this one's shared memory: from another node a result comes inline
# (flag 0), from this node's worker through shared memory (flag 1)
assert (res._slot.body[:1], here._slot.body[:1]) == (b"\\x00", b"\\x01"), (res._slot.body[:1], here._slot.body[:1])
assert yr.get(boxes["n1"].total.invoke([res], {}), timeout=120) == [2 * (3 << 20)]   # and passed on to n1
print("RESULTS-OK")
fresh = yr.put(big)   # never published (refs[2] was, nested: the store owns its file, so it is not lent)
back = Box.options(on("node-0")).invoke().echo.invoke(fresh)   # lent to this node's worker, returned by reference
assert int(yr.get(back, timeout=120).sum()) == 100 << 20 and b'"lent"' in back._slot.body[:300]
assert yr.get(boxes["n1"].top.invoke(back), timeout=120) == 100 << 20              # top level to another node: inline
assert yr.get(boxes["n2"].total.invoke([back], {}), timeout=120) == [100 << 20]    # nested: the store gets its own copy
assert int(yr.get(boxes["n3"].echo.invoke(fresh), timeout=120).sum()) == 100 << 20   # a lent body sent inline
print("LENT-OK")
yr.finalize()
"""
    res = run_script(code, env=cluster["env"], timeout=300)
    assert res.returncode == 0, res.stderr
    assert "DRIVER-PUTS-OK" in res.stdout and "NODE-PUTS-OK" in res.stdout and "RESULTS-OK" in res.stdout
    assert "LENT-OK" in res.stdout


def test_a_worker_on_another_node_keeping_a_nested_ref_reads_it_after_the_driver_dropped_it(cluster):
    """Borrowing across nodes: a worker on another node keeps a large ref it got nested,
    unread or read; the driver drops its refs (its node frees the value and tells the nodes
    that pulled it); the borrowers still read it later (their node holds its own copy)."""
    code = PIN + """
import gc, time
yr.init()
@yr.instance
class Borrower:
    def keep(self, refs):
        self.refs = refs
        return len(refs)
    def total(self):
        return int(np.asarray(yr.get(self.refs[0], timeout=60)).sum())
keepers = {n: Borrower.options(on(n)).invoke() for n in ("n1", "n2")}
ref = yr.put(np.ones(12 << 20, np.uint8))   # 12 MiB: in shared memory on node-0
for k in keepers.values():
    assert yr.get(k.keep.invoke([ref]), timeout=120) == 1
assert yr.get(keepers["n2"].total.invoke(), timeout=120) == 12 << 20   # n2 read it before the free, n1 not
del ref
gc.collect()
time.sleep(1.0)   # the driver's free reaches node-0's store and the nodes that pulled from it
for n, k in keepers.items():
    assert yr.get(k.total.invoke(), timeout=120) == 12 << 20, n
print("BORROWED-OK")
for k in keepers.values():
    k.terminate()
yr.finalize()
"""
    res = run_script(code, env=cluster["env"], timeout=300)
    assert res.returncode == 0, res.stderr
    assert "BORROWED-OK" in res.stdout


def _node_session(cluster, node_id: str):
    return next(i for i in sessions.sessions_of(Path(cluster["root"])) if i.node_id == node_id)


def _closed_by_peer(sock) -> bool:
    sock.settimeout(30)   # generous: only proves that the node closes it
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_data_port_refuses_a_bad_preamble_and_keeps_serving(cluster):
    info = _node_session(cluster, "n1")
    data = address.parse(info.data_address)
    token = sessions.read_token(Path(info.session_dir))
    bad = [
        frames.encode(preamble.encode(b"0" * 64, preamble.CALLER, "1-1")),           # wrong token
        struct.pack("<I", 0xFFFFFFF0) + b"x" * 1000,                                  # huge length prefix
        struct.pack("<I", preamble.MAX_PREAMBLE + 1) + b"YRD1",                       # just too long
        frames.encode(handshake.hello(token)),                                        # a Unix-socket hello
        frames.encode(preamble.encode(token, preamble.CALLER, "no-such-worker")),     # nobody to hand it to
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    for first in bad:
        with socket.create_connection((data.where, data.port), timeout=10) as s:
            s.sendall(first)
            assert _closed_by_peer(s), first[:20]
    # object pulls: the right token is served; an unknown object is missing, not an error
    assert isinstance(dataport.pull(info.data_address, token, "no-such-object", 0.2, info.session_dir), ObjMissing)
    with pytest.raises(dataport.ObjectLost):
        dataport.pull(info.data_address, b"1" * 64, "no-such-object", 0.2, info.session_dir)
    assert psutil.pid_exists(info.pid)
    code = PIN + """
yr.init()
@yr.instance
class A:
    def ping(self, x): return x + 1
a = A.options(on("n1")).invoke()
print("PING", yr.get(a.ping.invoke(1)), yr.get(a.ping.invoke(yr.put(41))))
a.terminate()
yr.finalize()
"""
    res = run_script(code, env=cluster["env"], timeout=120)
    assert res.returncode == 0, res.stderr
    assert "PING 2 42" in res.stdout
    log = (Path(info.session_dir) / "logs" / "daemon.log").read_text()
    assert "wrong cluster token" in log and "4294967280 bytes" in log


def test_each_node_listens_on_one_tcp_data_port_and_its_workers_on_none(cluster):
    code = PIN + """
yr.init()
@yr.instance
class A:
    def ping(self): return 1
hs = [A.options(on(n)).invoke() for n in ("node-0", "n1", "n2", "n3")]
assert yr.get([h.ping.invoke() for h in hs]) == [1, 1, 1, 1]
import sys; sys.stdout.write("UP\\n"); sys.stdout.flush()
sys.stdin.readline()
"""
    proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ, **cluster["env"]),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "UP\n"
        for node in ("node-0", *JOINED):
            info = _node_session(cluster, node)
            daemon = psutil.Process(info.pid)
            procs = [daemon] + daemon.children(recursive=True)
            assert len(procs) >= 3, (node, procs)   # the daemon, its zygote, its workers
            listening = {(p.pid, c.laddr.port) for p in procs for c in p.net_connections(kind="inet")
                         if c.status == psutil.CONN_LISTEN}
            expected = {(info.pid, address.parse(info.data_address).port)}
            if node == "node-0":   # the master's own control port for nodes and drivers, and its dashboard
                expected.add((info.pid, int(cluster["address"].rsplit(":", 1)[1])))
                if info.dashboard:
                    expected.add((info.pid, int(info.dashboard.rstrip("/").rsplit(":", 1)[1])))
            assert listening == expected, (node, listening)
    finally:
        proc.stdin.close()
        proc.wait(60)
    assert proc.returncode == 0


def test_an_object_whose_node_is_gone_is_lost_naming_it(cluster):
    token_file = os.path.join(status(cluster)["session_dir"], "token")
    out = yr_cli("start", "--master_address", cluster["address"], "--cpu", "1000", "--node-id", "gone1",
                 "--token-file", token_file, env=cluster["env"])
    assert out.returncode == 0, out.stderr
    code = PIN + """
import subprocess, sys
yr.init()
@yr.instance
class Maker:
    def make(self, n): return yr.put(np.full(n, 7, np.uint8))
m = Maker.options(on("gone1")).invoke()
small, large = yr.get(m.make.invoke(10)), yr.get(m.make.invoke(2 << 20))
assert int(yr.get(yr.get(m.make.invoke(5))).sum()) == 35   # node-0 now keeps a connection to gone1
out = subprocess.run([sys.executable, "-m", "yr_runtime.cli", "stop", "--node", "gone1"], capture_output=True, text=True)
assert out.returncode == 0, out.stderr
for r in (small, large):
    try:
        yr.get(r, timeout=60)
        print("NOT LOST")
    except yr.exceptions.ObjectLostError as e:
        print("LOST", r.id in str(e) and "node gone1" in str(e), e.code, str(e))
@yr.instance
class Reader:
    def read(self, refs): return int(yr.get(refs[0]).sum())
try:
    yr.get(Reader.options(on("n1")).invoke().read.invoke([large]), timeout=60)
except yr.exceptions.ObjectLostError as e:
    print("LOST-THERE", large.id in str(e) and "node gone1" in str(e))
yr.finalize()
"""
    res = run_script(code, env=cluster["env"], timeout=180)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("LOST True 4005") == 2, res.stdout
    assert "LOST-THERE True" in res.stdout, res.stdout


def test_bad_token_and_bad_version_are_refused_on_the_tcp_port(cluster):
    channel = grpc.insecure_channel(cluster["address"])
    stub = pbg.MasterStub(channel)
    try:
        for md in ((("yr-token", "0" * 64),), ()):
            with pytest.raises(grpc.RpcError) as e:
                stub.Status(pb.StatusRequest(), timeout=10, metadata=md)
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
            reg = pb.NodeUp(register=pb.Register(node_id="intruder", protocol_version=PROTOCOL_VERSION))
            with pytest.raises(grpc.RpcError) as e:
                list(stub.NodeSession(iter([reg]), timeout=10, metadata=md))
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        token = open(os.path.join(status(cluster)["session_dir"], "token")).read().strip()
        old = pb.NodeUp(register=pb.Register(node_id="old", protocol_version=PROTOCOL_VERSION + 41))
        with pytest.raises(grpc.RpcError) as e:
            list(stub.NodeSession(iter([old]), timeout=10, metadata=(("yr-token", token),)))
        assert f"version {PROTOCOL_VERSION + 41}" in e.value.details()
        assert f"version {PROTOCOL_VERSION}:" in e.value.details()
    finally:
        channel.close()
    assert {n["node_id"] for n in status(cluster)["nodes"]} == {"node-0", *JOINED}


def test_stop_node_kills_its_instances_naming_it(cluster):
    code = """
import yr
yr.init()
@yr.instance
class Stay:
    def ping(self): return 1
hs = [Stay.options(cpu=1000, memory=100, lifetime="detached").invoke() for _ in range(8)]
print("OK", sum(yr.get([h.ping.invoke() for h in hs])))
"""
    res = run_script(code, env=cluster["env"], timeout=180)
    assert res.returncode == 0, res.stderr
    assert "OK 8" in res.stdout
    on_n3 = [i["instance_id"] for i in status(cluster)["instances"]
             if i["node_id"] == "n3" and i["state"] == "RUNNING" and i["class_name"] == "Stay"]
    assert len(on_n3) == 2
    out = yr_cli("stop", "--node", "n3", env=cluster["env"])
    assert out.returncode == 0 and "yr node n3 stopped" in out.stdout, out.stderr
    st = status(cluster)
    assert {n["node_id"] for n in st["nodes"]} == {"node-0", "n1", "n2"}
    dead = {i["instance_id"]: i for i in st["instances"] if i["instance_id"] in on_n3}
    assert all(i["state"] == "DEAD" and "node n3" in i["exit_reason"] for i in dead.values()), dead
    unknown = yr_cli("stop", "--node", "nope", env=cluster["env"])
    assert unknown.returncode != 0 and "no node 'nope'" in unknown.stderr


def test_join_needs_a_token_it_can_find(tmp_path):
    env = {"YR_SESSION_ROOT": str(tmp_path / "sessions"), "YR_CLUSTER_TOKEN_FILE": ""}
    out = yr_cli("start", "--master_address", "127.0.0.1:1", env=env)
    assert out.returncode != 0 and "--token-file" in out.stderr
    token = tmp_path / "token"
    token.write_text("0" * 64)
    out = yr_cli("start", "--master_address", "127.0.0.1:1", "--token-file", str(token), env=env)
    assert out.returncode != 0 and "cannot reach a yr master at 127.0.0.1:1" in out.stderr, out.stderr
    assert wait_no_runtime_processes(10, root=env["YR_SESSION_ROOT"]) == []
    out = yr_cli("start", "--master", "--master_address", "127.0.0.1:1", env=env)
    assert out.returncode != 0 and "say either" in out.stderr


def test_default_temporary_runtime_opens_no_tcp_port(tmp_path):
    code = """
import psutil, yr
yr.init()
@yr.instance
class A:
    def ping(self): return 1
a = A.invoke()
assert yr.get(a.ping.invoke()) == 1
procs = [psutil.Process()] + psutil.Process().children(recursive=True)
assert len(procs) >= 3, procs   # the driver, its temporary daemon, its workers
tcp = [(p.pid, c) for p in procs for c in p.net_connections(kind="inet")]
print("PROCS", len(procs), "TCP", tcp)
yr.finalize()
"""
    res = run_script(code, env={"YR_SESSION_ROOT": str(tmp_path / "sessions")}, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "TCP []" in res.stdout


def test_a_node_killed_outright_is_removed_and_its_workers_end(cluster):
    """Runs after test_stop_node_...: its detached instances still live on node-0, n1 and n2."""
    st = status(cluster)
    on_n2 = [i for i in st["instances"] if i["node_id"] == "n2" and i["state"] == "RUNNING"]
    assert len(on_n2) == 2
    n2 = next(i for i in sessions.sessions_of(Path(cluster["root"])) if i.node_id == "n2")
    os.kill(n2.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30   # generous: only proves that the removal happens
    while "n2" in {n["node_id"] for n in status(cluster)["nodes"]} and time.monotonic() < deadline:
        time.sleep(0.2)
    st = status(cluster)
    assert {n["node_id"] for n in st["nodes"]} == {"node-0", "n1"}
    dead = [i for i in st["instances"] if i["instance_id"] in {d["instance_id"] for d in on_n2}]
    assert all(i["state"] == "DEAD" and "node n2 was lost" in i["exit_reason"] for i in dead), dead
    for i in on_n2:   # its workers do not outlive their node
        try:
            psutil.Process(i["pid"]).wait(20)
        except psutil.NoSuchProcess:
            pass
        assert not psutil.pid_exists(i["pid"]) or psutil.Process(i["pid"]).status() == psutil.STATUS_ZOMBIE
    # what the killed daemon could not clean up goes at the next `yr start` / `yr.init()`
    assert [str(d) for d in sessions.remove_stale(Path(cluster["root"]))] == [n2.session_dir]


def test_a_stopped_nodes_instance_with_a_restart_resumes_on_another_node_from_its_saved_state(cluster):
    """Runs after test_a_node_killed_...: node-0 and n1 are full of detached instances, so the
    instance goes on one of two fresh nodes, and its restart on the other."""
    token_file = os.path.join(status(cluster)["session_dir"], "token")
    for node in ("n4", "n5"):
        out = yr_cli("start", "--master_address", cluster["address"], "--cpu", str(NODE_CPU),
                     "--node-id", node, "--token-file", token_file, env=cluster["env"])
        assert out.returncode == 0 and f"yr node {node} joined" in out.stdout, out.stderr
    code = """
import json, os, subprocess, sys, yr
yr.init()
@yr.instance
class Keeper:
    def __init__(self): self.n = 0
    def inc(self):
        self.n += 1
        yr.save_state()
        return self.n
    def value(self): return self.n, os.getpid()
def node_of(iid):
    st = json.loads(subprocess.run([sys.executable, "-m", "yr_runtime.cli", "status", "--json"],
                                   capture_output=True, text=True).stdout)
    return next(i["node_id"] for i in st["instances"] if i["instance_id"] == iid)
k = Keeper.options(cpu=1500, memory=100, recover_retry_times=1).invoke()
print("COUNTED", [yr.get(k.inc.invoke()) for _ in range(3)])
first = node_of(k.instance_id)
_, pid = yr.get(k.value.invoke())
out = subprocess.run([sys.executable, "-m", "yr_runtime.cli", "stop", "--node", first],
                     capture_output=True, text=True)
assert out.returncode == 0, out.stderr
n, new_pid = yr.get(k.value.invoke(), timeout=120)
print("MOVED", json.dumps([first, node_of(k.instance_id), n, new_pid != pid]))
print("AGAIN", yr.get(k.inc.invoke()))
k.terminate()
yr.finalize()
"""
    res = run_script(code, env=cluster["env"], timeout=240)
    assert res.returncode == 0, res.stderr
    assert "COUNTED [1, 2, 3]" in res.stdout
    first, second, n, new_process = json.loads(res.stdout.split("MOVED ", 1)[1].splitlines()[0])
    assert {first, second} == {"n4", "n5"} and n == 3 and new_process
    assert "AGAIN 4" in res.stdout
    st = status(cluster)
    assert first not in {n["node_id"] for n in st["nodes"]}
    (rec,) = [i for i in st["instances"] if i["class_name"] == "Keeper"]
    assert rec["restarts"] == 1, rec
