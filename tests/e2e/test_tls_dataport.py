"""The data path of a --tls cluster: every TCP data-port connection (calls to workers on other
nodes, object pulls) is mutual TLS with the cluster CA (`wire.datatls`).

Checks, on a `yr start --master --tls` and two joined nodes on loopback: calls between nodes
(driver -> instance, instance -> instance), 5 MB and 100 MB objects pulled both ways; the bytes
on the wire of a pull and of a caller connection (recorded by a relay) hold neither the token
nor the payload in clear, and the pull through the relay is whole; a plain-TCP client (even with
the right token), a client with a certificate of another CA, a TLS client without certificate
and garbage are refused on the data port without hurting the node, which serves members after.
"""
import os
import re
import socket
import time
from pathlib import Path

import psutil
import pytest

from yr_testing import run_script, wait_no_runtime_processes
from test_examples import yr_cli
from yr_runtime.local import pki
from yr_runtime.local import session as sessions
from yr_runtime.wire import address, frames, preamble

JOINED = ("t1", "t2")
PIN = """
import os, numpy as np, yr
def on(node):
    rule = yr.Affinity(yr.AffinityKind.RESOURCE, yr.AffinityType.REQUIRED,
                       [yr.LabelOperator(yr.OperatorType.LABEL_IN, "NODE_ID", [node])])
    return yr.InvokeOptions(cpu=500, memory=100, schedule_affinities=[rule])
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("tlsdata") / "sessions"
    env = {"YR_SESSION_ROOT": str(root), "YR_CLUSTER_TOKEN_FILE": ""}
    out = yr_cli("start", "--master", "--tls", "--cpu", "2000", env=env)
    assert out.returncode == 0, out.stderr
    where = re.search(r"yr start --master_address (\S+)", out.stdout).group(1)
    session = Path(re.search(r"session: (\S+)", out.stdout).group(1))
    try:
        for node in JOINED:
            out = yr_cli("start", "--master_address", where, "--cpu", "2000", "--node-id", node, env=env)
            assert out.returncode == 0 and f"yr node {node} joined" in out.stdout, out.stderr
        yield {"env": env, "root": str(root), "session": session, "tmp": tmp_path_factory.mktemp("certs")}
    finally:
        stop = yr_cli("stop", env=env)
        assert stop.returncode == 0, stop.stderr
        assert wait_no_runtime_processes(15, root=str(root)) == []


def node_session(cluster, node_id):
    return next(i for i in sessions.sessions_of(Path(cluster["root"])) if i.node_id == node_id)


CALLS_AND_OBJECTS = PIN + """
yr.init()
@yr.instance
class Box:
    def ping(self, x): return x + 1
    def call_other(self, other, x): return yr.get(other.ping.invoke(x))   # a worker dials another node
    def total(self, refs): return [int(np.asarray(yr.get(r)).sum()) for r in refs]
    def make(self, n): return yr.put(np.full(n, 3, np.uint8))
    def produce(self, n): return np.full(n, 2, np.uint8)
b1, b2 = Box.options(on("t1")).invoke(), Box.options(on("t2")).invoke()
assert yr.get([b1.ping.invoke(1), b2.ping.invoke(2)]) == [2, 3]
assert yr.get([b1.ping.invoke(i) for i in range(200)]) == list(range(1, 201))   # pipelined over TLS
assert yr.get(b1.call_other.invoke(b2, 41)) == 42
print("CALLS-OK")
mid, big = np.ones(5 << 20, np.uint8), np.ones(100 << 20, np.uint8)
refs = [yr.put(mid), yr.put(big)]
assert yr.get(b1.total.invoke(refs), timeout=120) == [5 << 20, 100 << 20]   # t1 pulls from node-0
made = yr.get(b1.make.invoke(100 << 20))                                     # lives in t1's store
assert int(yr.get(made, timeout=120).sum()) == 3 * (100 << 20)              # node-0 pulls from t1
assert yr.get(b2.total.invoke([made, yr.get(b1.make.invoke(5 << 20))]), timeout=120) == [3 * (100 << 20), 3 * (5 << 20)]
assert int(yr.get(b2.produce.invoke(5 << 20), timeout=120).sum()) == 2 * (5 << 20)   # an inline result
print("OBJECTS-OK")
yr.finalize()
"""


def test_calls_and_objects_cross_nodes_over_tls(cluster):
    res = run_script(CALLS_AND_OBJECTS, env=cluster["env"], timeout=300)
    assert res.returncode == 0, res.stderr
    assert "CALLS-OK" in res.stdout and "OBJECTS-OK" in res.stdout


WIRE = PIN + """
import socket, threading
from pathlib import Path
from yr_runtime.local import session as sessions
from yr_runtime.node import dataport
from yr_runtime.wire import address, bodies, datatls, preamble
from yr_runtime.wire import messages as m
yr.init()
assert datatls.enabled()
@yr.instance
class Box:
    def make(self, data): return yr.put(data)
b1 = Box.options(on("t1")).invoke()
secret = b"yr-secret-payload:" * 1000
refs = {"inline": yr.get(b1.make.invoke(secret)), "mapped": yr.get(b1.make.invoke(np.frombuffer(secret * 150, np.uint8)))}
t1 = next(i for i in sessions.sessions_of() if i.node_id == "t1")
token = sessions.read_token(Path(t1.session_dir))
owner = address.parse(t1.data_address)
relay = socket.socket()
relay.bind(("127.0.0.1", 0)); relay.listen(8)
wire = []
def pump(src, dst):
    try:
        while True:
            data = src.recv(1 << 16)
            if not data:
                dst.shutdown(socket.SHUT_WR); return
            wire.append(data); dst.sendall(data)
    except OSError:
        pass
def serve():
    while True:
        c, _ = relay.accept()
        o = socket.create_connection((owner.where, owner.port))
        threading.Thread(target=pump, args=(c, o), daemon=True).start()
        threading.Thread(target=pump, args=(o, c), daemon=True).start()
threading.Thread(target=serve, daemon=True).start()
via = address.tcp("127.0.0.1", relay.getsockname()[1])
for kind, ref in refs.items():
    got = dataport.pull(via, token, ref.id, 30, t1.session_dir)
    assert isinstance(got, m.PulledObject), got
    if kind == "mapped":
        path = bodies.split_mapped(got.data)[0]["path"]
        assert secret * 150 in Path(path).read_bytes()
        os.unlink(path)
    else:
        assert secret in got.data
wid = next(sessions.socket_dir(t1.session_dir).glob("w-*.sock")).name[2:-5]
s = address.dial(f"{via}/{wid}")       # a caller's route, then TLS (with the worker), then the token preamble
s.sendall(preamble.first_frame(f"{via}/{wid}", token))
s.settimeout(1)
try:
    assert s.recv(1) != b""   # not closed: the worker took the preamble (it answers nothing)
except TimeoutError:
    pass
s.close()
everything = b"".join(wire)
assert len(everything) > len(secret) * 150
assert token not in everything and b"yr-secret-payload" not in everything
print("WIRE-OK", len(everything))
yr.finalize()
"""


def test_the_token_and_the_payload_never_cross_the_wire_in_clear(cluster):
    res = run_script(WIRE, env=cluster["env"], timeout=180)
    assert res.returncode == 0, res.stderr
    assert "WIRE-OK" in res.stdout


def _refused(sock) -> bool:
    sock.settimeout(30)   # generous: only proves that the node closes it (maybe after a TLS alert)
    try:
        for _ in range(100):
            data = sock.recv(4096)
            if not data:
                return True
            assert data[:1] == b"\x15"   # nothing but an alert comes back
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True


def test_plain_foreign_certificate_and_garbage_are_refused_without_hurting_the_node(cluster):
    import ssl
    from yr_runtime.wire import tls
    info = node_session(cluster, "t1")
    token = sessions.read_token(Path(info.session_dir))
    data = address.parse(info.data_address)
    # plain TCP, even with the right token (it crosses in clear: the node still refuses it)
    for first in (frames.encode(preamble.encode(token, preamble.OBJECTS)),
                  frames.encode(preamble.encode(token, preamble.CALLER, "1-1")),
                  b"\x16\x03\x01\x02\x00" + b"\x00" * 600,                 # TLS at once, with no route
                  b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"):
        with socket.create_connection((data.where, data.port), timeout=10) as s:
            s.sendall(first)
            assert _refused(s), first[:20]
    # a route in clear, then: garbage; TLS without a certificate; a certificate of another CA
    other_ca = pki.new_ca()
    foreign_cert, foreign_key = pki.issue(*other_ca, "yr-node")
    d = cluster["tmp"] / "foreign"
    (d / "tls").mkdir(parents=True)
    for name, pem in (("ca.pem", other_ca[0]), ("cert.pem", foreign_cert), ("key.pem", foreign_key)):
        (d / "tls" / name).write_bytes(pem)
    foreign = tls.client_context(tls.Identity.of(d))
    foreign.load_verify_locations(cafile=str(info.session_dir) + "/tls/ca.pem")   # it trusts the node: only its own cert is wrong
    anonymous = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    anonymous.load_verify_locations(cafile=str(info.session_dir) + "/tls/ca.pem")
    workers = [p.name[2:-5] for p in sessions.socket_dir(info.session_dir).glob("w-*.sock")]
    assert workers   # the node's warm workers: a caller's route goes to one, which does the handshake
    for purpose in (preamble.OBJECTS, preamble.CALLER):
        route = frames.encode(preamble.encode(b"", purpose, workers[0] if purpose == preamble.CALLER else ""))
        with socket.create_connection((data.where, data.port), timeout=10) as s:
            s.sendall(route + b"\x16\x03\x01\x00\x10" + b"\xff" * 4000)
            assert _refused(s)
        for ctx in (foreign, anonymous):
            with socket.create_connection((data.where, data.port), timeout=10) as raw:
                raw.sendall(route)
                raw.settimeout(30)
                with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
                    with ctx.wrap_socket(raw, server_hostname=tls.NODE_NAME) as s:
                        s.sendall(frames.encode(preamble.encode(token, purpose, workers[0] if purpose == preamble.CALLER else "")))
                        if s.recv(1) == b"":   # TLS 1.3: a client certificate is refused after the handshake
                            raise ConnectionResetError("closed")
    assert psutil.pid_exists(info.pid)
    res = run_script(CALLS_AND_OBJECTS.replace("100 << 20", "3 << 20"), env=cluster["env"], timeout=300)
    assert res.returncode == 0, res.stderr
    assert "CALLS-OK" in res.stdout and "OBJECTS-OK" in res.stdout
    log = (Path(info.session_dir) / "logs" / "daemon.log").read_text()
    assert "closing a TLS connection" in log and "wrong cluster token" in log
    worker_logs = "".join(p.read_text(errors="replace") for p in (Path(info.session_dir) / "logs").glob("worker-*.log"))
    assert "refused a data-port caller in the TLS handshake" in worker_logs   # the worker did the handshake


# ---- bounded pulls (any cluster; run here over TLS) --------------------------------------------
NEVER_PULLED = """
import os, sys, threading
from pathlib import Path
from yr_runtime.local import session as sessions
from yr_runtime.node import dataport
from yr_runtime.wire import datatls
from yr_runtime.wire import messages as m
t1 = next(i for i in sessions.sessions_of() if i.node_id == "t1")
assert datatls.use_session(t1.session_dir)
token = sessions.read_token(Path(t1.session_dir))
out = []
t = threading.Thread(target=lambda: out.append(dataport.pull(t1.data_address, token, "never-made", -1, t1.session_dir)),
                     daemon=True)
t.start()
t.join(70)   # generous (PULL_WAIT is 10 s): proves only that the owner answers instead of waiting forever
print("ANSWER", type(out[0]).__name__ if out else "HUNG")
"""


def test_a_pull_of_an_object_never_made_is_answered_within_its_bound(cluster):
    res = run_script(NEVER_PULLED, env=cluster["env"], timeout=180)
    assert res.returncode == 0, res.stderr
    assert "ANSWER ObjMissing" in res.stdout, res.stdout


FORGOTTEN_GETTER = """
import os, sys, threading, yr
from yr import object_ref
from yr_runtime.local import session as sessions
yr.init()
t1 = next(i for i in sessions.sessions_of() if i.node_id == "t1")
ref = object_ref._rebuild("never-made-%s", t1.data_address, "t1")   # owned by t1, never produced
try:
    yr.get(ref, timeout=1)
except yr.exceptions.GetTimeoutError as e:
    print("TIMEOUT", e, flush=True)   # os._exit below skips flushing stdout
threading.Thread(target=yr.get, args=(ref,), daemon=True).start()   # no timeout: waits as long as we live
import time; time.sleep(1)
os._exit(0)   # the getter goes away without a word
"""


def test_a_pull_ends_when_nobody_waits_for_it_any_more(cluster):
    oid = f"never-made-{os.getpid()}"
    res = run_script(FORGOTTEN_GETTER % os.getpid(), env=cluster["env"], timeout=120)
    assert res.returncode == 0, res.stderr
    assert "TIMEOUT" in res.stdout, res.stdout
    log = cluster["session"] / "logs" / "daemon.log"   # the driver's node: the master's node
    deadline = time.monotonic() + 120   # generous: PULL_WAIT (10 s) rounds until the pull sees no getter
    while f"pull of {oid} from node t1" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert re.search(rf"pull of {oid} from node t1 .* ended: nobody waits for it any more", log.read_text())


# ---- pulled copies go when their owner frees the object ----------------------------------------
FREED = PIN + """
import time
from yr import _context
yr.init()
@yr.instance
class Box:
    def copies(self, refs):   # the pulled copies this worker maps (in its node's store, /dev/shm)
        values = [yr.get(r) for r in refs]
        return sorted({l.split()[5] for l in open("/proc/self/maps") if "yr-pull-" in l})
boxes = [Box.options(on(n)).invoke() for n in ("t1", "t2")]
freed, kept = yr.put(np.ones(5 << 20, np.uint8)), yr.put(np.full(3 << 20, 2, np.uint8))
copies = {}
for b in boxes:
    for name, ref in (("freed", freed), ("kept", kept)):
        paths = yr.get(b.copies.invoke([ref]), timeout=120)
        assert len(paths) == 1 and os.path.exists(paths[0]), paths
        copies.setdefault(name, []).extend(paths)
_context.current().agent.free([freed.id])   # the owner's free (ObjFree to its node)
deadline = time.monotonic() + 60   # generous: only proves that the copies go
while any(os.path.exists(p) for p in copies["freed"]) and time.monotonic() < deadline:
    time.sleep(0.2)
print("GONE", [os.path.exists(p) for p in copies["freed"]], "KEPT", [os.path.exists(p) for p in copies["kept"]])
yr.finalize()
"""


def test_the_owners_free_reaches_the_nodes_that_pulled_the_object(cluster):
    res = run_script(FREED, env=cluster["env"], timeout=240)
    assert res.returncode == 0, res.stderr
    assert "GONE [False, False] KEPT [True, True]" in res.stdout, res.stdout


def test_a_stale_epoch_is_refused_inside_tls_and_the_caller_re_resolves(cluster):
    """The worker checks the epoch of the preamble inside TLS (the clear route carries none):
    callers holding an older or newer placement are refused naming both epochs, look the
    instance up again and their calls run once (tests/e2e/test_epoch_fencing.py for plain TCP)."""
    from test_epoch_fencing import PIN as EPOCH_PIN, SDK_STALE
    code = EPOCH_PIN + SDK_STALE + """
yr.init()
rt = _context.current()
a = Counter.options(on("t1")).invoke()
assert yr.get(a.inc.invoke(), timeout=60) == 1
info = rt.master.get_instance(instance_id=a._target.instance_id)
os.kill(info.pid, signal.SIGKILL)                    # a restart: epoch 2
assert yr.get(a.inc.invoke(), timeout=120) == 1
n = check_stale_callers(a, rt, info.instance_id, 1)
assert yr.get(a.inc.invoke(), timeout=60) == n + 1
a.terminate()
yr.finalize()
"""
    res = run_script(code, env=cluster["env"], timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SDK-STALE-OK 2" in res.stdout
