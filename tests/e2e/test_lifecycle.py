"""Finalize, a driver that dies, worker output, and the runtime refusing bad connections."""
import glob
import os
import signal
import socket
import subprocess
import sys
import time

import grpc
import msgpack
import pytest

import yr
from yr_testing import Daemon, run_script, runtime_processes, wait_no_runtime_processes
from yr_runtime.proto import control_pb2 as pb
from yr_runtime.proto import control_pb2_grpc as pbg
from yr_runtime.local import session as sessions
from yr_runtime.wire import address, frames, handshake, messages

DRIVER = """
import os, sys, time, yr
@yr.instance
class Talker:
    def __init__(self):
        self.n = 0
    def say(self, text):
        print(text)
        print("to stderr", file=sys.stderr)
        import logging; logging.warning("via logging")
        return os.getpid()
yr.init(yr.Config(server_address=sys.argv[1] if len(sys.argv) > 1 else ""))
t = Talker.invoke()
pid = yr.get(t.say.invoke("hello from the worker"))
sys.stdout.write(f"WORKER {pid}\\n"); sys.stdout.flush()   # one write: worker output may interleave
if os.environ.get("HANG"):
    time.sleep(600)
time.sleep(0.5)
yr.finalize()
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_worker_output_reaches_the_driver_with_a_prefix_and_a_log_file(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    d = Daemon(root=tmp_path / "s")
    try:
        out = subprocess.run([sys.executable, str(script), d.session_dir], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        pid = int(out.stdout.split("WORKER ")[1].split()[0])
        assert f"(Talker pid={pid}) hello from the worker" in out.stdout
        assert f"(Talker pid={pid}) to stderr" in out.stdout
        assert f"(Talker pid={pid}) WARNING:root:via logging" in out.stdout
        logs = "".join(open(p).read() for p in glob.glob(f"{d.session_dir}/logs/worker-*.log"))
        assert "hello from the worker" in logs
    finally:
        d.stop()


def test_killed_driver_is_cleaned_up_within_seconds(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    d = Daemon(root=tmp_path / "s")
    try:
        proc = subprocess.Popen([sys.executable, str(script), d.session_dir], stdout=subprocess.PIPE, text=True,
                                env=dict(os.environ, HANG="1"))
        line = ""
        while not line.startswith("WORKER"):
            line = proc.stdout.readline()
            assert line, "driver ended early"
        worker = int(line.split()[1])
        assert alive(worker)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 5
        while alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(worker), "the dead driver's instance is still running"
        yr.init(d.config())   # the runtime still serves
        assert yr.get(yr.put(1)) == 1
        yr.finalize()
    finally:
        d.stop()


def test_temporary_runtime_dies_with_a_killed_driver(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = dict(os.environ, HANG="1", YR_SESSION_ROOT=str(tmp_path / "s"))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    line = ""
    while not line.startswith("WORKER"):
        line = proc.stdout.readline()
        assert line, "the driver ended before its instance answered"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert wait_no_runtime_processes(8, root=str(tmp_path / "s")) == []
    # A daemon whose environment psutil cannot read while it exits is not counted above:
    # give its last step (moving the logs, removing the session) a bounded moment.
    deadline = time.monotonic() + 8
    while os.listdir(tmp_path / "s") != ["logs-kept"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.listdir(tmp_path / "s") == ["logs-kept"]   # the temporary session directory is gone,
    assert os.listdir(tmp_path / "s" / "logs-kept")         # its logs are kept


def test_finalize_terminates_the_drivers_instances(daemon):
    yr.init(daemon.config())

    @yr.instance
    class P:
        def pid(self):
            return os.getpid()
    pids = yr.get([P.invoke().pid.invoke() for _ in range(3)])
    yr.finalize()
    deadline = time.monotonic() + 8
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in pids)


def _raw_connect(path):
    s = address.dial(path, 5)
    s.settimeout(5)
    return s


@pytest.mark.parametrize("payload", [
    os.urandom(64), b"\xff\xff\xff\xff" + b"x" * 100, frames.encode(b"GET / HTTP/1.1\r\n"),
    frames.encode(handshake.hello(b"wrong-token")), frames.encode(b"")[:2],
])
def test_agent_socket_refuses_bad_input_and_keeps_serving(daemon, payload):
    s = _raw_connect(daemon.info.agent_address)
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    assert s.recv(100) == b""   # closed without an answer
    s.close()
    yr.init(daemon.config())
    try:
        assert yr.get(yr.put("still serving")) == "still serving"
    finally:
        yr.finalize()


@pytest.mark.parametrize("body", [
    b"\xc1\xc1 not msgpack",
    msgpack.packb({"t": "obj_get", "rid": "one", "id": "o"}),        # a field of the wrong type
    msgpack.packb({"t": "obj_put", "id": "o"}),                      # a field missing
    msgpack.packb({"t": "no_such_message"}),
    messages.Assign(instance_id="i", job_id="j").encode(),           # a message the agent only sends
    messages.ForkRequest(rid=1, boot={}).encode(),                   # a message of another link
])
def test_authenticated_garbage_is_refused_and_only_that_connection_closes(daemon, body):
    other = _raw_connect(daemon.info.agent_address)
    other.sendall(frames.encode(handshake.hello(daemon.info.token)))
    s = _raw_connect(daemon.info.agent_address)
    s.sendall(frames.encode(handshake.hello(daemon.info.token)) + frames.encode(body))
    assert s.recv(100) == b""
    s.close()
    other.sendall(messages.StateGet(rid=7, instance_id="nobody").frame())   # still served
    (answer,) = frames.FrameDecoder().feed(other.recv(1000))
    assert messages.decode(answer) == messages.State(rid=7, data=None)
    other.close()


def test_worker_socket_refuses_unauthenticated_callers(driver):
    @yr.instance
    class E:
        def ping(self):
            return "pong"
    e = E.invoke()
    assert yr.get(e.ping.invoke()) == "pong"
    endpoint = e._target.endpoint
    s = _raw_connect(endpoint)
    s.sendall(frames.encode(handshake.hello(b"bad")) + frames.encode(b"C" + b"\x00" * 8 + b"junk"))
    assert s.recv(100) == b""
    s.close()
    assert yr.get(e.ping.invoke()) == "pong"


def _stream_a_huge_first_frame(path: str, limit: int = 32 << 20) -> int:
    """Announces a 200 MiB first frame and streams its body until the peer closes (or
    `limit` bytes went through); returns how many bytes the peer took."""
    s = _raw_connect(path)
    sent, chunk = 0, b"\0" * (1 << 16)
    try:
        s.sendall(frames.HEADER.pack(200 << 20))
        while sent < limit:
            sent += s.send(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        s.close()
    return sent


def test_no_socket_reads_a_big_first_frame_before_the_token(driver):
    """The agent and a worker close a connection whose first frame (the hello, read before
    the token is checked) announces more than a hello's size: what the client got through
    is at most the sockets' buffers, not the 200 MiB announced."""
    @yr.instance
    class E:
        def ping(self):
            return "pong"
    e = E.invoke()
    assert yr.get(e.ping.invoke()) == "pong"
    for path in (driver.info.agent_address, e._target.endpoint):
        assert _stream_a_huge_first_frame(path) < 4 << 20, path
    assert yr.get(e.ping.invoke()) == "pong"
    assert yr.get(E.invoke().ping.invoke()) == "pong"


def test_master_refuses_calls_without_the_token(daemon):
    channel = grpc.insecure_channel(daemon.info.master_address)
    stub = pbg.MasterStub(channel)
    with pytest.raises(grpc.RpcError) as info:
        stub.Status(pb.StatusRequest(), timeout=5, metadata=(("yr-token", "nope"),))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as info:
        stub.Status(pb.StatusRequest(), timeout=5)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    channel.close()


def test_session_files_are_private(daemon):
    assert os.stat(daemon.session_dir).st_mode & 0o777 == 0o700
    assert os.stat(os.path.join(daemon.session_dir, "token")).st_mode & 0o777 == 0o600
    token = sessions.read_token(daemon.session_dir).decode()
    for p in runtime_processes():
        assert token not in " ".join(p.cmdline())
