"""Workers reached over TCP when the runtime is asked to (`--worker-tcp HOST`), and no TCP
port at all by default."""
import subprocess
import sys

import psutil
import pytest

import yr
from yr import _context
from yr_testing import Daemon
from yr_runtime.wire import address


@pytest.fixture(scope="module")
def tcp_daemon():
    d = Daemon("--worker-tcp", "127.0.0.1", "--warm", "1")
    yield d
    d.stop()


def _worker_pid(proxy) -> int:
    return _context.current().master.get_instance(instance_id=proxy._target.instance_id, timeout=10).pid


def _tcp_listeners(pid: int) -> list:
    return [c for c in psutil.Process(pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]


def test_instances_and_functions_are_called_over_tcp(tcp_daemon):
    yr.init(tcp_daemon.config())
    try:
        @yr.instance
        class Counter:
            def __init__(self):
                self.n = 0

            def add(self, k):
                self.n += k
                return self.n

            def size(self, data):
                return len(data)

            def fail(self):
                raise KeyError("over tcp")

        @yr.invoke
        def square(x):
            return x * x

        c = Counter.invoke()
        refs = [c.add.invoke(1) for _ in range(200)]
        assert yr.get(refs, timeout=60) == list(range(1, 201))
        endpoint = c._target.endpoint
        parsed = address.parse(endpoint)
        assert (parsed.scheme, parsed.where) == ("tcp", "127.0.0.1") and parsed.port > 0
        assert [(l.laddr.ip, l.laddr.port) for l in _tcp_listeners(_worker_pid(c))] == [("127.0.0.1", parsed.port)]
        with pytest.raises(KeyError, match="over tcp"):
            yr.get(c.fail.invoke(), timeout=60)
        assert yr.get(c.add.invoke(big := 10 ** 30), timeout=60) == 200 + big
        assert yr.get([square.invoke(i) for i in range(20)], timeout=60) == [i * i for i in range(20)]
        assert yr.get(square.invoke(yr.put(7)), timeout=60) == 49
        for size in (200_000, 3 << 20):    # in the frame, and through shared memory
            assert yr.get(c.size.invoke(b"y" * size), timeout=60) == size
        with pytest.raises(yr.InstanceTerminatedError):
            c.terminate()
            yr.get(c.add.invoke(1), timeout=60)
    finally:
        yr.finalize()


def test_by_default_workers_listen_on_unix_sockets_only(driver):
    @yr.instance
    class Ping:
        def ping(self):
            return "pong"
    p = Ping.invoke()
    assert yr.get(p.ping.invoke(), timeout=60) == "pong"
    assert p._target.endpoint.startswith("unix:")
    assert address.parse(p._target.endpoint).where.endswith(".sock")
    assert _tcp_listeners(_worker_pid(p)) == []
    assert _tcp_listeners(driver.proc.pid) == []    # nor the daemon: one machine opens no TCP port


@pytest.mark.parametrize("host", ["no such host.invalid", "tcp:1", "[::1]"])
def test_a_bad_worker_tcp_host_is_refused_at_start(tmp_path, host):
    out = subprocess.run([sys.executable, "-m", "yr_runtime.daemon", "--session-root", str(tmp_path),
                          "--worker-tcp", host], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--worker-tcp" in out.stderr and repr(host) in out.stderr
    assert not list(tmp_path.iterdir())     # refused before making a session
