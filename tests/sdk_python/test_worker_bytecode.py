"""Workers of a runtime started with PYTHONDONTWRITEBYTECODE keep the bytecode of the
driver's modules in the session's directory (yr._zygote.cache_bytecode): the first worker
compiles a module, later ones load it, and nothing is written next to the user's sources."""
from __future__ import annotations

import os
import sys
import textwrap

import pytest
from yr_testing import Daemon

import yr


@pytest.fixture(scope="module")
def no_bytecode_daemon():
    d = Daemon(env={"PYTHONDONTWRITEBYTECODE": "1"})
    yield d
    d.stop()


SOURCE = textwrap.dedent("""
    import os
    import sys


    class Where:
        def cached(self):
            path = __cached__
            st = os.stat(path) if os.path.exists(path) else None
            return {"path": path, "inode": st and st.st_ino, "mtime": st and st.st_mtime_ns,
                    "pid": os.getpid(), "dont_write": sys.dont_write_bytecode}
""")


def test_workers_cache_the_bytecode_of_driver_modules_in_the_session(no_bytecode_daemon, tmp_path, monkeypatch):
    name = f"bytecode_probe_{os.getpid()}"
    (tmp_path / f"{name}.py").write_text(SOURCE)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)   # this driver writes none either
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = __import__(name)
    yr.init(no_bytecode_daemon.config())
    try:
        where = yr.instance(mod.Where)
        reports = []
        for _ in range(3):
            h = where.invoke()
            reports.append(yr.get(h.cached.invoke(), timeout=60))
            h.terminate()
    finally:
        yr.finalize()
        sys.modules.pop(name, None)
    cache = os.path.join(no_bytecode_daemon.session_dir, "pycache")
    assert len({r["pid"] for r in reports}) == 3, reports           # three workers
    for r in reports:
        assert r["path"].startswith(cache + os.sep), r              # kept in the session
        assert r["inode"] is not None, r                             # and written
    # The later workers loaded the first one's file: not compiled and written again.
    assert len({(r["inode"], r["mtime"]) for r in reports}) == 1, reports
    assert not (tmp_path / "__pycache__").exists()                  # the user's tree is untouched
