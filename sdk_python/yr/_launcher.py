"""Starts and stops the temporary runtime a driver gets when no runtime is running."""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time

from yr_runtime.local import session as sessions

from .exceptions import ERR_INIT_CONNECTION_FAILED, InitError

READY_TIMEOUT = 30.0


def start_temporary(config):
    cmd = [sys.executable, "-m", "yr_runtime.daemon", "--temporary", "--owner-pid", str(os.getpid())]
    if config.num_cpus:
        cmd += ["--cpu", str(int(config.num_cpus) * 1000)]
    if config.memory_mib:
        cmd += ["--memory", str(int(config.memory_mib))]
    if config.custom_resources:
        cmd += ["--custom-resources", json.dumps(config.custom_resources)]
    if config.warm_workers is not None:
        cmd += ["--warm", str(int(config.warm_workers))]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=None, close_fds=True)
    line = _read_line(proc, READY_TIMEOUT)
    if not line.startswith("YR_READY "):
        stop_temporary(proc)
        raise InitError(f"could not start a temporary yr runtime (daemon said {line!r}); "
                        "try `yr start --master` and look at its log", code=ERR_INIT_CONNECTION_FAILED)
    session_dir = line.split(" ", 1)[1].strip()
    return sessions.read_info(session_dir), proc


def _read_line(proc, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    buf = b""
    fd = proc.stdout.fileno()
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            return buf.decode(errors="replace") or "<nothing within 30s>"
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, 4096)
            if not chunk:
                return buf.decode(errors="replace") or f"<exited with code {proc.wait()}>"
            buf += chunk
    return buf.split(b"\n", 1)[0].decode(errors="replace")


def stop_temporary(proc, grace: float = 10.0) -> None:
    """Asks the daemon to stop (it stops its workers first), then kills it if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
