"""Fixtures of the C++ SDK tests: a fresh build of libyr, the C++ programs built against it,
and a runner that executes a C++ driver against the shared test runtime and checks that no
worker started from its executable outlives it.

The SDK is built from sdk_cpp/ into a temporary prefix with sdk_cpp/build.sh (so the tests
always exercise the current sources); YR_CPP_PREFIX points them at an installed SDK instead.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk_cpp"
EXAMPLES = ROOT / "examples" / "cpp"
PROGRAMS = Path(__file__).resolve().parent / "cpp"

pytestmark = pytest.mark.skipif(shutil.which("cmake") is None or shutil.which("g++") is None,
                                reason="needs cmake and g++")
BUILD_FIXTURES = ("cpp_prefix", "programs_dir", "examples_dir")
BUILD_TIMEOUT = 1200   # seconds a test may spend on top of its own timeout when it runs the builds


def pytest_collection_modifyitems(config, items):
    """The first test that needs a build fixture runs the build (a session fixture) in its
    setup, which counts against its timeout: libyr plus the test programs take minutes on a
    busy 2-core machine. That test alone gets BUILD_TIMEOUT more; each build step is bounded
    by its own subprocess timeout too."""
    built: set[str] = set()
    for item in items:
        needs = set(BUILD_FIXTURES) & set(getattr(item, "fixturenames", ())) - built
        if not needs:
            continue
        built |= needs
        own = item.get_closest_marker("timeout")
        base = own.args[0] if own is not None and own.args else float(
            config.getoption("timeout", None) or config.getini("timeout") or 0)
        item.add_marker(pytest.mark.timeout(base + BUILD_TIMEOUT), append=False)


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="session")
def cpp_prefix(tmp_path_factory) -> Path:
    """An installed C++ SDK: $YR_CPP_PREFIX, or sdk_cpp/build.sh into a temporary prefix."""
    if os.environ.get("YR_CPP_PREFIX"):
        return Path(os.environ["YR_CPP_PREFIX"])
    base = tmp_path_factory.mktemp("yr-cpp")
    prefix = base / "prefix"
    _run(["bash", str(SDK / "build.sh"), str(prefix)],
         env=dict(os.environ, PYTHON=sys.executable, BUILD_DIR=str(base / "build")), timeout=600)
    return prefix


def cmake_build(source: Path, build: Path, prefix: Path) -> Path:
    _run(["cmake", "-S", str(source), "-B", str(build), f"-DCMAKE_PREFIX_PATH={prefix}"], timeout=300)
    _run(["cmake", "--build", str(build), "-j", str(os.cpu_count() or 2)], timeout=600)
    return build


@pytest.fixture(scope="session")
def examples_dir(cpp_prefix, tmp_path_factory) -> Path:
    """examples/cpp built with CMake and find_package(yr)."""
    return cmake_build(EXAMPLES, tmp_path_factory.mktemp("examples-build"), cpp_prefix)


@pytest.fixture(scope="session")
def programs_dir(cpp_prefix, tmp_path_factory) -> Path:
    """tests/sdk_cpp/cpp (unit_test, api_test) built with CMake."""
    return cmake_build(PROGRAMS, tmp_path_factory.mktemp("programs-build"), cpp_prefix)


def processes_of(exe: Path) -> list[psutil.Process]:
    """Live processes running `exe` (a C++ driver's workers run the same executable)."""
    found = []
    for p in psutil.process_iter(["exe"]):
        try:
            if p.info["exe"] == str(exe) and p.status() != psutil.STATUS_ZOMBIE:
                found.append(p)
        except psutil.Error:
            continue
    return found


def assert_no_process_left(exe: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        left = processes_of(exe)
        if not left:
            return
        if time.monotonic() > deadline:
            for p in left:
                try:
                    p.kill()
                except psutil.Error:
                    pass
            pytest.fail(f"processes of {exe.name} left behind: {[p.pid for p in left]}")
        time.sleep(0.1)


@pytest.fixture
def no_process_left():
    """no_process_left(exe): fails the test if a process of exe is still alive after 15 s."""
    return assert_no_process_left


@pytest.fixture
def run_cpp(daemon):
    """run_cpp(exe, *args, env=None, timeout=120): runs a C++ driver against the shared test
    runtime (unless env overrides YR_SERVER_ADDRESS), then checks no process of exe is left."""

    def run(exe: Path, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        full_env = dict(os.environ, YR_SERVER_ADDRESS=daemon.session_dir)
        full_env.update(env or {})
        try:
            proc = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=timeout, env=full_env)
        finally:
            assert_no_process_left(exe)
        return proc

    return run
