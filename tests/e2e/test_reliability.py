"""Faults around the runtime itself: dead daemons, concurrent drivers, hostile peers."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import yr
from yr_testing import Daemon, leftover_files, run_script, wait_no_runtime_processes
from yr_runtime.local import session as sessions
from yr_runtime.wire import address, frames, handshake

NAMED = """
import sys, os, yr
@yr.instance
class Registry:
    def __init__(self):
        self.pid = os.getpid()
    def whoami(self):
        return self.pid
yr.init(yr.Config(server_address=sys.argv[1]))
opt = yr.InvokeOptions(name="the-one", namespace="race", custom_extensions=%s)
r = Registry.options(opt).invoke()
print("PID", yr.get(r.whoami.invoke(), timeout=60), flush=True)
%s
"""


def test_named_instance_created_concurrently_by_several_drivers_is_one(tmp_path):
    d = Daemon(root=tmp_path / "s")
    try:
        script = tmp_path / "named.py"
        script.write_text(NAMED % ("{}", "import time; time.sleep(2)"))
        procs = [subprocess.Popen([sys.executable, str(script), d.session_dir], stdout=subprocess.PIPE, text=True)
                 for _ in range(4)]
        outs = [p.communicate(timeout=90)[0] for p in procs]
        pids = {line.split()[1] for out in outs for line in out.splitlines() if line.startswith("PID")}
        assert len(pids) == 1, outs
    finally:
        d.stop()


def test_detached_named_instance_survives_its_driver(tmp_path):
    d = Daemon(root=tmp_path / "s")
    try:
        script = tmp_path / "named.py"
        script.write_text(NAMED % ('{"lifecycle": "detached"}', "os._exit(0)"))
        first = subprocess.run([sys.executable, str(script), d.session_dir], capture_output=True, text=True, timeout=60)
        pid = first.stdout.split()[1]
        time.sleep(1.0)
        yr.init(d.config())
        try:
            again = yr.get_instance("the-one", "race", timeout=10)
            assert str(yr.get(again.whoami.invoke())) == pid
            again.terminate()
        finally:
            yr.finalize()
    finally:
        d.stop()


def test_killed_daemon_gives_a_clear_error_and_leaves_nothing(tmp_path):
    root = tmp_path / "s"
    d = Daemon(root=root)
    yr.init(d.config())
    try:
        @yr.instance
        class Slow:
            def nap(self, s):
                time.sleep(s)
                return s
        s = Slow.invoke()
        assert yr.get(s.nap.invoke(0)) == 0
        in_flight = s.nap.invoke(30)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        t = time.monotonic()
        with pytest.raises(yr.RuntimeUnavailableError, match="unavailable"):
            yr.get(in_flight, timeout=60)
        assert time.monotonic() - t < 15
        with pytest.raises((yr.RuntimeUnavailableError, yr.YRError)):
            yr.get(Slow.invoke().nap.invoke(0), timeout=30)
    finally:
        yr.finalize()
        d.stop()
    assert wait_no_runtime_processes(10, root=str(root)) == []
    # Its sockets and session stay until the next `yr start` or yr.init() in that root cleans them.
    assert str(d.session_dir) in leftover_files(root)
    assert sessions.remove_stale(root) == [Path(d.session_dir)]
    assert leftover_files(root) == []


def test_yr_start_removes_stale_sessions(tmp_path):
    root = tmp_path / "s"
    stale = sessions.make_session_dir(root)
    sessions.write_info(sessions.SessionInfo(str(stale), "unix:/nowhere", "/nowhere", pid=2**22 + 7))
    env = {"YR_SESSION_ROOT": str(root)}
    from test_examples import yr_cli
    out = yr_cli("start", "--master", env=env)
    try:
        assert out.returncode == 0, out.stderr
        assert "removed the stale session" in out.stdout
        assert not stale.exists()
    finally:
        yr_cli("stop", env=env)


def test_values_over_the_frame_limit_fail_clearly(driver):
    @yr.invoke
    def size(x):
        return len(x)

    @yr.invoke
    def huge():
        return "x" * (300 << 20)   # 300 MiB of str: pickled inline, not a buffer
    with pytest.raises(yr.SerializationError, match="limit"):
        yr.get(huge.invoke(), timeout=120)
    assert yr.get(size.invoke(b"x" * (300 << 20)), timeout=120) == 300 << 20   # buffers go through shm


def test_another_user_cannot_connect(daemon):
    if os.geteuid() != 0:
        pytest.skip("needs root to become another user")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child becomes user nobody and tries every socket of the session
        os.close(r)
        os.setgid(65534)
        os.setuid(65534)
        results = []
        for path in (daemon.info.agent_address, daemon.info.master_address[len("unix:"):]):
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(path)
                results.append("CONNECTED")
            except OSError as e:
                results.append(f"REFUSED:{e.errno}")
        os.write(w, ",".join(results).encode())
        os._exit(0)
    os.close(w)
    out = os.read(r, 1000).decode()
    os.waitpid(pid, 0)
    assert out.split(",") == ["REFUSED:13", "REFUSED:13"], out


def test_node_store_memory_is_bounded(tmp_path):
    d = Daemon(root=tmp_path / "s", env={"YR_STORE_MAX_BYTES": str(1 << 20)})
    yr.init(d.config())
    try:
        @yr.invoke
        def first_of(items):
            return len(yr.get(items[0]))
        small = yr.put("y" * 1000)
        assert yr.get(first_of.invoke([small]), timeout=30) == 1000
        big = yr.put("x" * (3 << 20))     # a str pickles inline: 3 MiB over a 1 MiB store
        with pytest.raises(yr.YRInvokeError, match="node object store is full") as info:
            yr.get(first_of.invoke([big]), timeout=30)
        assert isinstance(info.value.cause, yr.ResourceUnavailableError)
        assert yr.get(first_of.invoke([yr.put("z" * 10)]), timeout=30) == 10   # still serving
    finally:
        yr.finalize()
        d.stop()


@pytest.fixture(scope="module")
def worker_endpoint(daemon):
    """A live instance's worker socket, for fuzzing the data plane too."""
    yr.init(daemon.config())

    @yr.instance
    class Target:
        def ping(self):
            return "pong"
    t = Target.invoke()
    yr.get(t.ping.invoke())
    yield t._target.endpoint
    yr.finalize()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=2048), with_token=st.booleans(), port=st.sampled_from(["agent", "master", "worker"]))
def test_fuzz_every_socket(daemon, worker_endpoint, junk, with_token, port):
    """Random bytes, truncated frames and huge length prefixes on the agent's, the master's
    (gRPC: not HTTP/2, not protobuf) and a worker's socket, with or without the token."""
    token = daemon.info.token
    paths = {"agent": daemon.info.agent_address, "master": daemon.info.master_address,
             "worker": worker_endpoint}
    for path in (paths[port],):
        s = address.dial(path, 5)
        s.settimeout(5)
        prefix = frames.encode(handshake.hello(token)) if with_token else b""
        try:
            s.sendall(prefix + junk)
            s.shutdown(socket.SHUT_WR)
            while s.recv(4096):
                pass
        except OSError:
            pass
        s.close()
    for path in paths.values():   # every socket still accepts
        address.dial(path, 5).close()


def test_runtime_serves_after_the_fuzzing(daemon, worker_endpoint):
    from yr import _context
    rt = _context.current()
    target = next(t for t in rt.targets.values() if t.endpoint == worker_endpoint)
    from yr._decorators import InstanceProxy
    assert yr.get(InstanceProxy(target).ping.invoke()) == "pong"   # the fuzzed worker still serves

    @yr.instance
    class Ok:
        def ping(self):
            return "pong"
    assert yr.get(Ok.invoke().ping.invoke()) == "pong"




QUICK_CREATES = """
import sys, yr
@yr.instance
class Brief:
    def ping(self):
        return "pong"
yr.init(yr.Config(server_address=sys.argv[1]))
small = yr.InvokeOptions(cpu=1, memory=1)   # the creates outrun the terminates: keep them all placeable
for i in range(300):
    h = Brief.options(small).invoke()
    if i % 50 == 0:
        assert yr.get(h.ping.invoke(), timeout=60) == "pong"
    h.terminate()
print("created", flush=True)
sys.stdin.readline()   # finalizes at exit
"""


def _warm_and_workers(d: Daemon) -> tuple[int, int]:
    """`yr status`'s warm worker count and the number of live worker processes of d."""
    status = subprocess.run([sys.executable, "-m", "yr_runtime.cli", "status", "-f", d.session_dir],
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    warm = int(status.stdout.split("warm workers ")[1].split()[0])
    daemon = psutil.Process(d.proc.pid)
    zygotes = {p.pid for p in daemon.children() if "yr._zygote" in " ".join(_or_empty(p.cmdline))}
    workers = [p for p in daemon.children(recursive=True)   # forked by the zygote, or started
               if p.pid not in zygotes and _or_empty(p.status) not in ("", psutil.STATUS_ZOMBIE)]
    return warm, len(workers)


def _or_empty(read):
    """A process's attribute, or "" if it exited while being counted (workers stop all the time)."""
    try:
        return read()
    except psutil.NoSuchProcess:
        return ""


def _wait_until(probe, done, timeout: float = 60):
    """Polls probe() until done(result); not a speed bound, only "settles, does not grow"."""
    deadline = time.monotonic() + timeout
    while not done(result := probe()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return result


def test_the_warm_pool_stays_at_its_target_after_many_quick_creates(tmp_path):
    """Creates answered from the warm pool each refill it a moment later; refills that overlap
    (workers still forking) must not each start a whole pool (it grew to 37 for a target of 2)."""
    root = tmp_path / "s"
    d = Daemon("--warm", "2", root=root)
    script = tmp_path / "quick.py"
    script.write_text(QUICK_CREATES)
    driver = subprocess.Popen([sys.executable, str(script), d.session_dir], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert driver.stdout.readline() == "created\n"
        counts = _wait_until(lambda: _warm_and_workers(d), lambda c: c[0] == 2)
        assert counts[0] <= 3, counts
        # A terminate can overtake its create (two gRPC calls) and leave that instance alive
        # until its driver finishes: the worker processes are counted after it exits.
        driver.communicate("\n", timeout=60)
        counts = _wait_until(lambda: _warm_and_workers(d), lambda c: c[1] <= 2)
        assert counts[0] <= 3 and counts[1] <= 3, counts
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        d.stop()
    assert wait_no_runtime_processes(10, root=str(root)) == []
