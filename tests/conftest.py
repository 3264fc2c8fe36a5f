"""Shared fixtures (a real runtime daemon, a connected driver) and the leak check that
fails the run if any runtime process outlives the suite, or a socket file, session directory
or shared-memory file of this run is left behind. Helpers live in yr_testing.py."""
from __future__ import annotations

import sys

import psutil
import pytest
from yr_testing import SESSION_ROOT, Daemon, leftover_files, wait_no_runtime_processes  # first: it isolates the session root

import yr  # noqa: E402


@pytest.fixture(scope="session")
def daemon():
    d = Daemon("--custom-resources", '{"ssd": 1, "gpu": 2}')
    yield d
    d.stop()


@pytest.fixture
def driver(daemon):
    """A driver connected to the shared test runtime; finalized after the test."""
    yr.init(daemon.config())
    yield daemon
    yr.finalize()


def pytest_sessionfinish(session, exitstatus):
    left = wait_no_runtime_processes(15)
    if left:
        desc = ", ".join(f"{p.pid}:{' '.join(p.cmdline())[:80]}" for p in left)
        for p in left:
            try:
                p.kill()
            except psutil.Error:
                pass
        print(f"\nLEAK CHECK FAILED: runtime processes left behind: {desc}", file=sys.stderr)
        session.exitstatus = 1
    else:
        print("\nleak check: no runtime process left behind")
    files = leftover_files(SESSION_ROOT, _basetemp(session))
    if files:
        print(f"\nLEAK CHECK FAILED: files left behind: {', '.join(files[:20])}"
              f"{f' and {len(files) - 20} more' if len(files) > 20 else ''}", file=sys.stderr)
        session.exitstatus = 1
    else:
        print("leak check: no socket, session directory or shared-memory file left behind")


def _basetemp(session):
    """pytest's tmp_path root of this run, where most tests make their session roots."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    return factory.getbasetemp() if factory is not None else SESSION_ROOT
