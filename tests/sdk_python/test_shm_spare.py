"""Spare shared-memory files allocated ahead for large values (sdk_python/yr/_shm.py), with
the serializer alone: no runtime needed."""
import os
import time

import numpy as np
import pytest

from yr import _serialization, _shm
from yr_testing import SHM_PREFIX
from yr_runtime.wire import bodies

MB = 1 << 20


def _wait_spare(size: int, timeout: float = 60):
    deadline = time.monotonic() + timeout   # bounded; not a speed test
    while time.monotonic() < deadline:
        s = _shm._spare
        if s is not None and s.size >= size:
            return s
        time.sleep(0.01)
    raise AssertionError("no spare was made")


def _files():
    return sorted(p for p in os.listdir(_serialization.SHM_DIR) if p.startswith(SHM_PREFIX))


@pytest.fixture(autouse=True)
def _no_spare_left():
    yield
    s = _shm._spare
    if s is not None:
        _shm._release(s)


def test_the_next_large_value_is_written_into_the_spare_and_reads_back_whole():
    first = np.arange(16 * MB // 8, dtype=np.float64)
    body = _serialization.dumps(first)
    assert np.array_equal(_serialization.loads(body), first)
    spare = _wait_spare(first.nbytes)
    before = _files()
    second = np.arange(12 * MB // 8, dtype=np.int64) * 3    # smaller: the spare is cut to size
    body = _serialization.dumps(second)
    assert _shm._spare is not spare and spare.claimed.is_set()
    desc, _ = bodies.split_mapped(body)
    assert os.path.getsize(desc["path"]) == second.nbytes
    assert _files() == sorted(before + [os.path.basename(desc["path"])])   # the spare itself had no name
    assert np.array_equal(_serialization.loads(body), second)
    assert not os.path.exists(desc["path"])


def test_a_much_smaller_value_leaves_the_spare_alone():
    _serialization.loads(_serialization.dumps(b"x" * 40 * MB))
    spare = _wait_spare(40 * MB)
    body = _serialization.dumps(b"y" * 9 * MB)
    assert _shm._spare is spare and not spare.claimed.is_set()
    assert bytes(_serialization.loads(body)) == b"y" * 9 * MB


def test_small_values_make_no_spare():
    _serialization.loads(_serialization.dumps(b"z" * 2 * MB))
    time.sleep(0.2)
    assert _shm._spare is None and not _shm._making


def test_an_unclaimed_spare_is_released(monkeypatch):
    made = []

    class Recorded(_shm._Spare):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)
    monkeypatch.setattr(_shm, "_Spare", Recorded)
    monkeypatch.setattr(_shm, "KEEP", 0.1)
    _serialization.loads(_serialization.dumps(b"x" * 10 * MB))
    deadline = time.monotonic() + 60   # bounded; not a speed test
    while (not made or _shm._spare is not None) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert made and _shm._spare is None
    with pytest.raises(OSError):
        os.fstat(made[0].fd)   # closed: its pages went back to the system


def test_a_forked_child_does_not_see_its_parents_spare():
    _serialization.loads(_serialization.dumps(b"x" * 10 * MB))
    _wait_spare(10 * MB)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if _shm._spare is None and _shm.take(10 * MB) is None else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _shm._spare is not None   # still the parent's
