"""Helpers of the Java SDK tests (fixtures are in conftest.py beside this file)."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk_java"
HERE = Path(__file__).resolve().parent
PROGRAMS = HERE / "programs"
EXAMPLES = ROOT / "examples" / "java"
SEED = Path(os.environ.get("YR_SEED_PAGE", ROOT.parent / "shared" / "seed" / "stateful-functions.md"))
VERSION = "0.1.0"

# Every test module of the Java SDK starts with `pytestmark = NEEDS_JAVA`.
NEEDS_JAVA = pytest.mark.skipif(shutil.which("mvn") is None or shutil.which("javac") is None,
                                reason="needs mvn and a JDK")


def run(cmd, timeout=300, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


def mvn(*args, timeout=600, **kw) -> subprocess.CompletedProcess:
    """Maven, offline first (everything is usually cached), then online."""
    args = [str(a) for a in args]
    offline = subprocess.run(["mvn", "-B", "-q", "-o", *args], capture_output=True, text=True, timeout=timeout, **kw)
    if offline.returncode == 0:
        return offline
    return run(["mvn", "-B", "-q", *args], timeout=timeout, **kw)


class Sdk:
    def __init__(self) -> None:
        self.jar = SDK / "target" / f"yr-sdk-{VERSION}.jar"
        self.py4j = next((SDK / "target" / "lib").glob("py4j-*.jar"))

    def classpath(self, *extra) -> str:
        return os.pathsep.join([*(str(e) for e in extra), str(self.jar), str(self.py4j)])


def java_processes() -> list[psutil.Process]:
    """Bridge processes and worker JVMs started during this test run (they inherit YR_TEST_RUN)."""
    run_id = os.environ.get("YR_TEST_RUN")
    found = []
    for p in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            env = p.info["environ"] or {}
            if env.get("YR_TEST_RUN") == run_id and p.status() != psutil.STATUS_ZOMBIE and (
                    "yr._bridge_py4j" in cmd or "JavaWorkerMain" in cmd) and not idle_in_pool(p):
                found.append(p)
        except (psutil.Error, TypeError):
            continue
    return found


def idle_in_pool(p: psutil.Process) -> bool:
    """A JVM of a node's warm pool (yr._jvm_pool) that no worker has taken: the node's, not
    a driver's, so it lives as long as its node. Idle means its parent (the zygote) still
    holds the other end of its stdin pipe (a worker's own JVM has the worker as parent and
    is started without YR_JAVA_WARM)."""
    try:
        if p.environ().get("YR_JAVA_WARM") != "1":
            return False
        stdin = os.readlink(f"/proc/{p.pid}/fd/0")
        parent = p.ppid()
        return stdin.startswith("pipe:") and any(
            os.readlink(f"/proc/{parent}/fd/{fd}") == stdin for fd in os.listdir(f"/proc/{parent}/fd"))
    except (OSError, psutil.Error):
        return False


def wait_no_java_processes(timeout: float = 20.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        left = java_processes()
        if not left or time.monotonic() > deadline:
            return [" ".join(p.cmdline())[:120] for p in left if p.is_running()]
        time.sleep(0.2)


def parse(stdout: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


def run_java(classpath: str, main: str, *args: str, env: dict, timeout: float = 120,
             cwd=None) -> subprocess.CompletedProcess:
    """Runs a Java driver to completion; its stderr is kept for assertion messages."""
    return subprocess.run(["java", "-cp", classpath, main, *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd)
