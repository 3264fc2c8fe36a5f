"""YR::KV() against the real runtime: one scenario of tests/sdk_cpp/cpp/kv_test.cpp per test
(bytes and large values, parameters and errors, typed values, waits, a C++ worker)."""
from __future__ import annotations

import re

import pytest

import yr


@pytest.mark.parametrize("name", ["bytes", "params", "typed", "wait", "worker"])
def test_kv(programs_dir, run_cpp, name):
    proc = run_cpp(programs_dir / "kv_test", name)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    assert proc.stdout.rstrip().endswith(f"PASS {name}")
    if name == "params":
        assert re.search(r"nx: code=1001 .*'cpp-nx' already exists", proc.stdout)
        assert re.search(r"l2: code=1001 .*no second-level cache", proc.stdout)
    if name == "wait":
        assert re.search(r"timeout: code=4005 .*'cpp-never' not found", proc.stdout)


def test_one_store_for_python_and_cpp(programs_dir, run_cpp, driver):
    """Bytes cross as they are; C++ Write<T> stores msgpack (as openYuanrong), readable anywhere."""
    import msgpack
    yr.kv_write("py-interop", b"from python")
    proc = run_cpp(programs_dir / "kv_test", "interop")
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    assert yr.kv_read("cpp-interop-bytes") == b"from c++"
    assert msgpack.unpackb(yr.kv_read("cpp-interop-typed")) == [1, 2, 3]
    yr.kv_del(["py-interop", "cpp-interop-bytes", "cpp-interop-typed"])
