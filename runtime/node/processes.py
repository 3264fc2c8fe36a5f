"""The only module that starts or kills processes.

Workers are started with the bootstrap described in docs/bridge.md (environment variable
YR_WORKER_BOOTSTRAP), their stdout and stderr merged into one pipe the agent reads. No code
runs between fork and exec (that would trip gRPC's fork handlers and is slow); a worker
arms PR_SET_PDEATHSIG itself, first thing, so a crashed daemon does not leave it behind.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

BOOTSTRAP_ENV = "YR_WORKER_BOOTSTRAP"


async def spawn_worker(boot: dict, executable: str = "") -> asyncio.subprocess.Process:
    """Starts a Python worker, or the user's program in worker mode when `executable` is set."""
    env = dict(os.environ)
    env[BOOTSTRAP_ENV] = json.dumps(dict(boot, parent_pid=os.getpid()))
    env["PYTHONUNBUFFERED"] = "1"
    argv = [executable] if executable else [sys.executable, "-m", "yr._worker"]
    return await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env=env, close_fds=True)


def signal_process(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "its process is gone"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"its worker process was killed by {name}"
    return f"its worker process exited with code {returncode}"
