"""Starting and stopping a private etcd for `--etcd auto`: one member on loopback, its data
in the session directory, its life tied to the process that started it.

The binary comes from Debian's `etcd-server` package (`apt-get install etcd-server`;
`.ci/run` and scripts/install.sh install it). The server dies with its parent thread
(PR_SET_PDEATHSIG), so a crashed master never leaves it behind; call `start` from a
long-lived thread (the event loop's), not a short-lived executor thread.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

DATA_DIR = "etcd"          # under the session directory; removed by stop()
LOG_FILE = "etcd.log"      # under the session directory, kept for post-mortems
START_TIMEOUT = 20.0       # seconds; etcd is healthy in under 2 s here, even when loaded
_CANDIDATES = ("/usr/bin/etcd", "/usr/local/bin/etcd")
_PR_SET_PDEATHSIG = 1
# Timings for a lone member on loopback: with etcd's defaults (100/1000 ms) the shortest
# lease it grants is 2 s; these make it 1 s, so tests and short node leases can use TTL 1.
_TIMINGS = ("--heartbeat-interval", "50", "--election-timeout", "500")


class EtcdMissing(RuntimeError):
    """No etcd binary on this machine."""


class EtcdStartFailed(RuntimeError):
    """etcd exited or did not become healthy in time."""


def find_etcd() -> str:
    """Path of the etcd binary (PATH first), or EtcdMissing saying which package to install."""
    found = shutil.which("etcd") or next((p for p in _CANDIDATES if os.access(p, os.X_OK)), None)
    if found is None:
        raise EtcdMissing("--etcd auto needs the etcd server, found neither on PATH nor at "
                          f"{', '.join(_CANDIDATES)}: install Debian's etcd-server package "
                          "(apt-get install etcd-server) or give --etcd http://HOST:PORT of a running cluster")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (another process may still take it: start retries)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class EtcdServer:
    """A running etcd started by `start`; `url` is its client URL."""

    def __init__(self, proc: subprocess.Popen, url: str, data_dir: Path, log_path: Path):
        self.proc = proc
        self.url = url
        self.data_dir = data_dir
        self.log_path = log_path

    def stop(self, timeout: float = 5.0) -> None:
        """Stops the server (SIGTERM, then SIGKILL after `timeout`) and removes its data."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start(session_dir, timeout: float = START_TIMEOUT, attempts: int = 3) -> EtcdServer:
    """Starts etcd for this session and returns once it is healthy; EtcdStartFailed (with the
    end of its log) if it exits or stays unhealthy for `timeout` seconds."""
    binary = find_etcd()
    failure = None
    for _ in range(attempts):   # a free port can be taken between our probe and etcd's bind
        try:
            return _start_once(binary, Path(session_dir), timeout)
        except EtcdStartFailed as e:
            failure = e
            if "address already in use" not in str(e):
                break
    raise failure


def _start_once(binary: str, session_dir: Path, timeout: float) -> EtcdServer:
    data_dir, log_path = session_dir / DATA_DIR, session_dir / LOG_FILE
    shutil.rmtree(data_dir, ignore_errors=True)   # a member's data names its old ports
    client, peer = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    cmd = [binary, "--name", "yr", "--data-dir", str(data_dir),
           "--listen-client-urls", client, "--advertise-client-urls", client,
           "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
           "--initial-cluster", f"yr={peer}", "--initial-cluster-state", "new", *_TIMINGS]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent(os.getpid()), cwd=session_dir)
    server = EtcdServer(proc, client, data_dir, log_path)
    try:
        _wait_healthy(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _die_with_parent(parent_pid: int):
    """A preexec function that makes the child get SIGKILL when its parent dies.

    Resolved before the fork: a daemon has gRPC threads, and loading a library in the
    forked child (as yr_runtime.local.lifetime does, fine in a single-threaded parent) could
    wait forever on a loader lock a vanished thread held."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def preexec():
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
        if os.getppid() != parent_pid:
            os._exit(1)
    return preexec


def _wait_healthy(server: EtcdServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise EtcdStartFailed(f"etcd exited with code {server.proc.returncode}: {_log_tail(server.log_path)}")
        try:
            with urllib.request.urlopen(server.url + "/health", timeout=1) as r:
                if b'"true"' in r.read():
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise EtcdStartFailed(f"etcd at {server.url} was not healthy after {timeout:g} s: {_log_tail(server.log_path)}")


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"
