"""A Java driver killed with SIGKILL takes its bridge process, its session and its worker
JVMs with it: the bridge sees its stdin close, finalizes and exits, and removes the data
socket (and its directory) the driver's calls went through."""
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from _java_support import NEEDS_JAVA, java_processes, parse, run_java, wait_no_java_processes

pytestmark = NEEDS_JAVA


def bridge_of(driver: subprocess.Popen) -> psutil.Process:
    return next(p for p in psutil.Process(driver.pid).children() if "yr._bridge_py4j" in " ".join(p.cmdline()))


def test_a_killed_driver_leaves_nothing_behind(sdk, programs, backend):
    tmp_path = Path(tempfile.mkdtemp(prefix="yrj-"))   # short: the socket's path must fit in 107 bytes
    env = dict(backend, JAVA_TOOL_OPTIONS=f"-Djava.io.tmpdir={tmp_path}")   # where its socket directory goes
    proc = subprocess.Popen(["java", "-cp", sdk.classpath(programs), "com.yrtest.Checks", "killed"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "killed.ready=1"
        assert any("JavaWorkerMain" in " ".join(p.cmdline()) for p in java_processes())
        # The driver's calls went over the bridge's data socket, in a directory of its own.
        [sock] = tmp_path.glob("yr-bridge-*/data.sock")
        assert oct(sock.parent.stat().st_mode & 0o777) == "0o700"
        served = [c for c in bridge_of(proc).net_connections(kind="unix") if c.laddr == str(sock)]
        assert served, "the bridge process serves no connection on its data socket"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        t0 = time.monotonic()
        assert wait_no_java_processes(30) == []
        assert time.monotonic() - t0 < 30
        assert list(tmp_path.glob("yr-bridge-*")) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_a_long_tmpdir_still_gets_a_data_socket(sdk, programs, backend, tmp_path):
    """A Unix socket path holds ~107 bytes: under a long java.io.tmpdir the driver puts its
    socket directory under /tmp instead (the bridge would fail to bind it and fall back to
    py4j, saying so), and leaves nothing in the long one."""
    long_dir = tmp_path / ("d" * 90)
    long_dir.mkdir()
    env = dict(backend, JAVA_TOOL_OPTIONS=f"-Djava.io.tmpdir={long_dir}")
    proc = run_java(sdk.classpath(programs), "com.yrtest.Checks", "config", env=env, timeout=120)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-6000:]}"
    assert parse(proc.stdout) == {"first": "1", "same_instance": "2", "other_instance": "1", "finalized": "true"}
    assert "no data socket" not in proc.stderr
    assert wait_no_java_processes() == []
    assert list(long_dir.iterdir()) == []
