"""A large value this process put and read becomes, once dropped, the file the next large put
is written into (yr._shm "recycle"); values still mapped, lent or published are never reused;
nothing is left in /dev/shm after finalize."""
import gc
import os
import time

import numpy as np
import pytest

import yr
from yr import _shm
from yr_runtime.wire import bodies
from yr_testing import run_script

N = 24 << 20


def _inode(ref) -> int:
    return os.stat(bodies.split_mapped(ref._slot.body)[0]["path"]).st_ino


def _wait_for_spare(size: int) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        s = _shm._spare
        if s is not None and s.path is not None and s.size >= size:
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def no_spare(driver, monkeypatch):
    """No spare but recycled ones: the one left by earlier tests is removed and none is made
    ahead (a made spare at least as large as a recycled file is kept instead of it, and
    which comes first is a race)."""
    deadline = time.monotonic() + 30
    while _shm._making and time.monotonic() < deadline:
        time.sleep(0.02)
    _shm.release_all()
    monkeypatch.setattr(_shm, "prepare", lambda directory, size, retire=None: retire and retire.close())
    return driver


def test_a_value_read_and_dropped_is_the_file_of_the_next_put(no_spare):
    ref = yr.put(np.full(N, 1, np.uint8))
    got = yr.get(ref)
    assert int(got.sum()) == N
    del got, ref
    gc.collect()
    assert _wait_for_spare(N)   # its pages, not new ones, wait for the next value
    kept = yr.get(yr.put(np.full(N, 2, np.uint8)))   # written into them
    nxt = yr.put(np.full(N, 3, np.uint8))
    assert int(yr.get(nxt).sum()) == 3 * N and int(kept.sum()) == 2 * N


def test_the_recycled_file_is_the_same_inode_and_holds_only_the_new_value(no_spare):
    ref = yr.put(np.arange(N // 8, dtype=np.float64))
    ino = _inode(ref)
    yr.get(ref)
    del ref
    gc.collect()
    assert _wait_for_spare(N)
    fresh = yr.put(np.full(N // 2, 9, np.uint8))   # a quarter to all of the spare's size takes it
    assert _inode(fresh) == ino
    out = yr.get(fresh)
    assert out.nbytes == N // 2 and int(out.sum()) == 9 * (N // 2)


def test_a_value_still_mapped_is_never_reused(driver):
    first = yr.get(yr.put(np.full(N, 4, np.uint8)))   # its ref is gone, its mapping is not
    for k in range(3):
        assert int(yr.get(yr.put(np.full(N, 5 + k, np.uint8))).sum()) == (5 + k) * N
    assert int(first.sum()) == 4 * N


def test_nothing_is_left_in_dev_shm_after_finalize_with_values_alive(tmp_path):
    code = """
import glob, os, numpy as np, yr
from yr import _serialization
yr.init()
alive = yr.get(yr.put(np.ones(24 << 20, np.uint8)))       # held: read, still mapped
dropped = yr.get(yr.put(np.ones(24 << 20, np.uint8)))
del dropped                                               # recycled as the spare
yr.finalize()
left = glob.glob(f"{_serialization.SHM_DIR}/{_serialization.SHM_PREFIX}-*")
assert left == [], left
assert int(alive.sum()) == 24 << 20                       # still readable
print("CLEAN")
"""
    res = run_script(code, env={"YR_SHM_PREFIX": f"yr-recycle-{os.getpid()}", "YR_SESSION_ROOT": str(tmp_path)},
                     timeout=120)
    assert res.returncode == 0, res.stderr
    assert "CLEAN" in res.stdout
