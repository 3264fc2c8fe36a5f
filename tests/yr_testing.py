"""Test helpers shared by the suites: an isolated session root, a real runtime daemon,
process inspection for leak checks, and running Python scripts in fresh interpreters.

A module of its own (not conftest.py): several suites have a conftest.py, and
`from conftest import ...` would find whichever was imported first.

Every test run uses its own session root (YR_SESSION_ROOT), so it never joins a runtime a
user started, and its processes (YR_TEST_RUN) and shared-memory files (YR_SHM_PREFIX) can
be told apart from anyone else's.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
SESSION_ROOT = Path(tempfile.mkdtemp(prefix="yr-tests-"))
os.environ["YR_SESSION_ROOT"] = str(SESSION_ROOT)
RUN_ID = f"{os.getpid()}-{time.time_ns()}"
os.environ["YR_TEST_RUN"] = RUN_ID   # inherited by every daemon and worker this run starts
SHM_PREFIX = f"yr-test{RUN_ID}"
os.environ["YR_SHM_PREFIX"] = SHM_PREFIX   # shared-memory files of this run: /dev/shm/<prefix>-*

import yr  # noqa: E402  (imported after YR_SESSION_ROOT is set)
from yr import _serialization  # noqa: E402
from yr_runtime.local import session as sessions
from yr_runtime.wire import bodies  # noqa: E402
assert _serialization.SHM_PREFIX == SHM_PREFIX, "yr was imported before yr_testing set YR_SHM_PREFIX"

NODE_CPU = 16000          # logical capacity of the test runtime: room for many 500m instances
NODE_MEMORY = 64000


def runtime_processes(root: str | None = None) -> list[psutil.Process]:
    """Daemons, workers and etcd servers started by this test run (they inherit YR_TEST_RUN); with `root`,
    only those of runtimes under that session root."""
    found = []
    for p in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            env = p.info["environ"] or {}
        except (psutil.Error, TypeError):
            continue
        if p.pid == os.getpid():
            continue
        ours = env.get("YR_TEST_RUN") == RUN_ID and (
            "YR_WORKER_BOOTSTRAP" in env or "yr_runtime.daemon" in cmd or "yr._bridge_py4j" in cmd
            or os.path.basename((p.info["cmdline"] or [""])[0]) == "etcd")   # --etcd auto's server
        if ours and root is not None:
            ours = env.get("YR_SESSION_ROOT") == str(root) or str(root) in env.get("YR_WORKER_BOOTSTRAP", "")
        if ours:
            found.append(p)
    return found


def wait_no_runtime_processes(timeout: float = 10.0, root: str | None = None) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in runtime_processes(root) if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def leftover_files(*roots) -> list[str]:
    """What this run's runtimes failed to clean up: socket files, spill files of stopped
    runtimes and session directories of runtimes that died without cleaning up (their daemon
    is gone, their `sock` entry is still there) under the given roots, and this run's
    shared-memory files."""
    left = [str(p) for p in Path(_serialization.SHM_DIR).glob(f"{SHM_PREFIX}-*")]
    for root in roots:
        for d, dirs, files in os.walk(root):
            left += [os.path.join(d, f) for f in files if f.endswith(".sock")]
            if sessions.INFO_FILE in files and not _session_running(d):
                left += [str(f) for f in Path(d, bodies.SPILL_DIR).glob("*")]
                if os.path.lexists(os.path.join(d, "sock")):
                    left.append(d)
                    left += [str(s) for s in sessions.socket_dir(d).glob("*.sock")]   # in /tmp/yr-sock-*
    return sorted(set(left))


def _session_running(session_dir: str) -> bool:
    try:
        return sessions.runtime_alive(sessions.read_info(Path(session_dir)))
    except (OSError, ValueError, TypeError):
        return False


class Daemon:
    """A runtime started for tests: `python -m yr_runtime.daemon` in its own session root."""

    def __init__(self, *extra: str, root: Path = SESSION_ROOT, env: dict | None = None):
        cmd = [sys.executable, "-m", "yr_runtime.daemon", "--session-root", str(root),
               "--cpu", str(NODE_CPU), "--memory", str(NODE_MEMORY), *extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     env=dict(os.environ, **(env or {})))
        line = self.proc.stdout.readline().decode()
        assert line.startswith("YR_READY "), f"daemon did not start: {line!r}"
        self.session_dir = line.split(" ", 1)[1].strip()
        self.info = sessions.read_info(self.session_dir)

    def config(self, **kw) -> yr.Config:
        return yr.Config(server_address=self.session_dir, **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


def run_script(code_or_path, *, env=None, timeout=90, cwd=None) -> subprocess.CompletedProcess:
    """Runs Python code (a string) or a file in a fresh interpreter; returns the completed process."""
    args = [sys.executable, str(code_or_path)] if isinstance(code_or_path, Path) else [sys.executable, "-c", code_or_path]
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=full_env, cwd=cwd)


# ---- streams between languages -----------------------------------------------------------------
def stream_item(i: int) -> bytes:
    """The i-th element the cross-language stream tests send: stream_test.cpp's Item(i) and
    StreamChecks.item(i) make the same bytes."""
    return f"item-{i}".encode() + bytes([ord("a") + i % 26]) * (i % 7)


def receive_at_least(consumer, n: int) -> list:
    """Receives (and acks) from `consumer` until `n` elements came; fails the test when a
    receive of 10 s brings nothing."""
    got = []
    while len(got) < n:
        batch = consumer.receive(10_000)
        assert batch, f"nothing more after {len(got)} elements"
        got += batch
        consumer.ack(batch[-1].id)
    return got
