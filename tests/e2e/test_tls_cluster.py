"""A master on loopback forced to TLS (`yr start --master --tls`) and the nodes and drivers that
try to join it: a node with the master's join bundle joins (found in the master's session, or
given with --token-file as on another machine) and runs instances a TCP driver calls; a node with
a wrong token, with no certificate, with a certificate of another CA, or trusting another CA is
refused with a message naming what was missing; plain gRPC and raw TCP garbage do not reach any
handler nor hurt the master; a driver of another protocol version is refused naming both versions,
over TCP with TLS and over the local Unix socket alike."""
import json
import os
import re
import socket
import stat
from pathlib import Path

import grpc
import pytest

from yr_testing import run_script, wait_no_runtime_processes
from test_examples import yr_cli
from yr_runtime.local import pki
from yr_runtime.proto import control_pb2 as pb
from yr_runtime.proto import control_pb2_grpc as pbg
from yr_runtime.services import tls as tls_creds
from yr_runtime.wire import tls
from yr_runtime.wire.handshake import PROTOCOL_VERSION


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    root = tmp_path_factory.mktemp("tls") / "sessions"
    env = {"YR_SESSION_ROOT": str(root), "YR_CLUSTER_TOKEN_FILE": ""}
    out = yr_cli("start", "--master", "--tls", "--cpu", "2000", env=env)
    assert out.returncode == 0, out.stderr
    address = re.search(r"yr start --master_address (\S+)", out.stdout).group(1)
    session = Path(re.search(r"session: (\S+)", out.stdout).group(1))
    try:
        yield {"env": env, "address": address, "session": session, "out": out.stdout, "root": str(root),
               "tmp": tmp_path_factory.mktemp("bundles")}
    finally:
        stop = yr_cli("stop", env=env)
        assert stop.returncode == 0, stop.stderr
        assert wait_no_runtime_processes(15, root=str(root)) == []
        left = [p for p in root.rglob("*") if p.name in ("ca-key.pem", "key.pem", "join.bundle")]
        assert left == []   # a stopped cluster's keys are gone; its logs stay


def status(m):
    out = yr_cli("status", "--json", env=m["env"])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def join(m, node, *extra, env=None):
    return yr_cli("start", "--master_address", m["address"], "--cpu", "2000", "--node-id", node, *extra,
                  env=dict(m["env"], **(env or {})))


def bundle(m, name, **replace):
    """A copy of the master's join bundle with some parts replaced (token, ca, cert, key)."""
    creds = pki.read_credentials(m["session"] / "join.bundle")
    path = m["tmp"] / name
    path.write_bytes(pki.encode_bundle(pki.Credentials(**{**creds.__dict__, **replace})))
    os.chmod(path, 0o600)
    return path


def test_master_makes_its_ca_and_says_how_to_join(master):
    s = master["session"]
    assert "TLS: on" in master["out"] and str(s / "join.bundle") in master["out"]
    for f in ("tls/ca-key.pem", "tls/key.pem", "join.bundle", "token"):
        assert stat.S_IMODE(os.stat(s / f).st_mode) == 0o600, f
    assert stat.S_IMODE(os.stat(s / "tls").st_mode) == 0o700


def test_nodes_with_the_bundle_join_and_a_tcp_driver_calls_them_over_tls(master):
    out = join(master, "t1")   # finds the bundle in the master's session on this machine
    assert out.returncode == 0 and "yr node t1 joined" in out.stdout, out.stderr
    copied = bundle(master, "copied.bundle")   # as copied to another machine
    out = join(master, "t2", "--token-file", str(copied))
    assert out.returncode == 0 and "yr node t2 joined" in out.stdout, out.stderr
    nodes = {n["node_id"] for n in status(master)["nodes"]}
    assert {"t1", "t2"} <= nodes
    node_sessions = [p for p in Path(master["root"]).iterdir() if (p / "tls" / "cert.pem").is_file()
                     and not p.is_symlink() and p != master["session"]]
    assert len(node_sessions) == 2 and all(not (p / "tls" / "ca-key.pem").exists() for p in node_sessions)
    # `yr status -f` of a joined node's session (all another machine has) asks the master over TLS
    out = yr_cli("status", "--json", "-f", str(node_sessions[0]), env=master["env"])
    assert out.returncode == 0 and {"t1", "t2"} <= {n["node_id"] for n in json.loads(out.stdout)["nodes"]}, out.stderr
    code = """
import yr
yr.init(yr.Config(server_address=%r))
@yr.instance
class A:
    def ping(self): return "pong"
    def spawn(self):   # a create from a worker on a joined node: its own TLS channel to the master
        b = A.options(cpu=100).invoke()
        return yr.get(b.ping.invoke())
hs = [A.options(cpu=1500).invoke() for _ in range(3)]   # one per node: the joined ones too
print("GOT", yr.get([h.ping.invoke() for h in hs]), yr.get([h.spawn.invoke() for h in hs], timeout=60))
yr.finalize()
""" % master["address"]
    res = run_script(code, env=dict(master["env"], YR_SERVER_ADDRESS=""), timeout=180)
    assert res.returncode == 0, res.stderr
    assert "GOT ['pong', 'pong', 'pong'] ['pong', 'pong', 'pong']" in res.stdout


@pytest.mark.parametrize("case, expected", [
    ("wrong token", "missing or wrong yr session token"),
    ("token only", "requires TLS and this side has no certificate"),
    ("other CA", "its certificate is not one of this side's cluster CA"),
    ("foreign certificate", "it refused this side's certificate"),
])
def test_a_node_without_the_token_or_a_valid_certificate_is_refused(master, case, expected):
    other_ca = pki.new_ca()
    foreign = pki.issue(*other_ca, "foreign")
    path = {
        "wrong token": lambda: bundle(master, "wrong-token", token=b"0" * 64),
        "token only": lambda: master["session"] / "token",
        "other CA": lambda: bundle(master, "other-ca", ca=other_ca[0], cert=foreign[0], key=foreign[1]),
        "foreign certificate": lambda: bundle(master, "foreign", cert=foreign[0], key=foreign[1]),
    }[case]()
    before = len(status(master)["nodes"])
    out = join(master, "bad", "--token-file", str(path))
    assert out.returncode != 0 and expected in out.stderr, out.stderr
    assert f"cannot reach a yr master at {master['address']}" in out.stderr or "refused this node" in out.stderr
    assert len(status(master)["nodes"]) == before


def test_plain_grpc_and_raw_tcp_garbage_reach_no_handler_and_do_not_hurt_the_master(master):
    host, port = master["address"].rsplit(":", 1)
    token = (master["session"] / "token").read_text().strip()
    plain = grpc.insecure_channel(master["address"])
    try:
        with pytest.raises(grpc.RpcError) as e:
            pbg.MasterStub(plain).Status(pb.StatusRequest(), timeout=10, metadata=(("yr-token", token),))
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        plain.close()
    for garbage in (b"\xff\xff\xff\xff" + b"\x00" * 1000,                        # a huge length prefix
                    b"\x16\x03\x01\xff\xff" + os.urandom(4000),                  # a TLS record claiming 64 KiB
                    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\xff\xff\x04" * 100,   # HTTP/2 in clear
                    os.urandom(1 << 20)):
        with socket.create_connection((host, int(port)), 10) as s:
            try:
                s.sendall(garbage)
                s.settimeout(10)
                while s.recv(65536):
                    pass
            except (ConnectionResetError, BrokenPipeError):
                pass
    # still serving members: the master's own identity is a member's
    ident = tls.identity_in(master["session"])
    channel = grpc.secure_channel(master["address"], tls_creds.channel_credentials(ident), tls_creds.CHANNEL_OPTIONS)
    try:
        st = pbg.MasterStub(channel).Status(pb.StatusRequest(), timeout=10, metadata=(("yr-token", token),))
        assert st.pid == status(master)["pid"]
        with pytest.raises(grpc.RpcError) as e:   # TLS is not a substitute for the token
            pbg.MasterStub(channel).Status(pb.StatusRequest(), timeout=10, metadata=(("yr-token", "0" * 64),))
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        channel.close()


VERSION_DRIVER = """
import yr
from yr_runtime.wire import handshake
handshake.PROTOCOL_VERSION = %d
try:
    yr.init(yr.Config(server_address=%r))
except yr.YRError as e:
    print("REFUSED", type(e).__name__, e)
else:
    print("JOINED")
    yr.finalize()
"""


@pytest.mark.parametrize("over", ["tcp+tls", "unix"])
def test_a_driver_of_another_protocol_version_is_refused_naming_both(master, over):
    where = master["address"] if over == "tcp+tls" else str(master["session"])
    res = run_script(VERSION_DRIVER % (PROTOCOL_VERSION + 41, where), env=master["env"], timeout=60)
    assert res.returncode == 0, res.stderr
    assert "REFUSED InitError" in res.stdout, res.stdout
    assert f"version {PROTOCOL_VERSION + 41}" in res.stdout and f"version {PROTOCOL_VERSION}:" in res.stdout
    same = run_script(VERSION_DRIVER % (PROTOCOL_VERSION, where), env=master["env"], timeout=60)
    assert "JOINED" in same.stdout, same.stdout + same.stderr


def test_a_bundle_does_not_join_a_master_without_tls_and_nodes_do_not_take_tls_flags(master, tmp_path):
    env = {"YR_SESSION_ROOT": str(tmp_path / "plain"), "YR_CLUSTER_TOKEN_FILE": ""}
    out = yr_cli("start", "--master", "--no-tls", "--cpu", "1000", env=env)
    assert out.returncode == 0, out.stderr
    try:
        assert "TLS: off" in out.stdout and not list((tmp_path / "plain").glob("*/join.bundle"))
        address = re.search(r"yr start --master_address (\S+)", out.stdout).group(1)
        out = yr_cli("start", "--master_address", address, "--token-file", str(master["session"] / "join.bundle"),
                     env=env)
        assert out.returncode != 0 and "it does not use TLS, but this side has a TLS certificate" in out.stderr, \
            out.stderr
        out = yr_cli("start", "--master_address", address, "--tls", env=env)
        assert out.returncode != 0 and "--tls/--no-tls are for the master" in out.stderr
    finally:
        stop = yr_cli("stop", env=env)
        assert stop.returncode == 0, stop.stderr
        assert wait_no_runtime_processes(15, root=env["YR_SESSION_ROOT"]) == []


def test_a_driver_without_a_certificate_is_refused_naming_it(master, tmp_path):
    """A session that knows the master's TCP address and token but holds no certificate (as if
    copied by hand without tls/): yr.init fails saying the master requires TLS."""
    info = json.loads((master["session"] / "session.json").read_text())
    d = tmp_path / "bare"
    d.mkdir(mode=0o700)
    (d / "token").write_text((master["session"] / "token").read_text())
    (d / "session.json").write_text(json.dumps(dict(info, session_dir=str(d), master_address=master["address"])))
    code = """
import yr
try:
    yr.init(yr.Config(server_address=%r, connect_timeout=3))
except yr.YRError as e:
    print("REFUSED", type(e).__name__, e)
""" % str(d)
    res = run_script(code, env=master["env"], timeout=60)
    assert "REFUSED" in res.stdout and "requires TLS and this side has no certificate" in res.stdout, \
        res.stdout + res.stderr
